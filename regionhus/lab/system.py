"""Running host commands, and making sure the machine can run the lab at all."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from regionhus.lab.errors import LabError

# The tools the lab calls, and the Debian package that provides each.
HOST_TOOLS: dict[str, str] = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "apt-cacher-ng": "apt-cacher-ng",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "mount": "mount",
    "nft": "nftables",
    # Not called by the lab itself: the exit package test opens a municipality's
    # repository copy here with plain borg, as the municipality would.
    "borg": "borgbackup",
}
# Not tools, but debootstrap needs them to verify and unpack the image.
HOST_EXTRA_PACKAGES = ("debian-archive-keyring", "zstd")


def sh(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command; on failure raise a LabError that shows the command and its output."""
    proc = subprocess.run(list(args), capture_output=True, text=True)
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{' '.join(args)}` failed ({proc.returncode}): {out}")
    return proc


def ok(args: Sequence[str]) -> bool:
    """True if the command succeeds; for probes whose failure is an answer, not an error."""
    return subprocess.run(list(args), capture_output=True).returncode == 0


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise LabError(
            f"`regionhus lab {action}` changes network namespaces, mounts and routes and "
            f"needs root: run `sudo .venv/bin/regionhus lab {action}`"
        )


def missing_packages(tools: dict[str, str] = HOST_TOOLS) -> list[str]:
    pkgs = {pkg for tool, pkg in tools.items() if shutil.which(tool) is None}
    pkgs.update(p for p in HOST_EXTRA_PACKAGES if not package_installed(p))
    return sorted(pkgs)


def package_installed(pkg: str) -> bool:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return proc.returncode == 0 and proc.stdout.endswith(" installed")


def ensure_host_packages(echo: Callable[[str], None]) -> None:
    """Install what the lab needs on this machine, so a fresh machine needs nothing by hand."""
    pkgs = missing_packages()
    if not pkgs:
        return
    echo(f"installing host packages: {' '.join(pkgs)}")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *pkgs]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Package scripts must not start a system-wide apt-cacher-ng on every interface: the
    # lab runs its own on the bridge address only. policy-rc.d exit 101 forbids starts.
    policy = "/usr/sbin/policy-rc.d"
    made_policy = not os.path.exists(policy)
    if made_policy:
        with open(policy, "w") as fh:
            fh.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        for attempt in (cmd, ["apt-get", "update"], cmd):
            proc = subprocess.run(attempt, capture_output=True, text=True, env=env)
            if proc.returncode == 0 and attempt is cmd:
                return
        raise LabError(
            f"could not install {' '.join(pkgs)}: {proc.stderr.strip()[-500:]}\n"
            f"fix apt, then run: apt-get install -y {' '.join(pkgs)}"
        )
    finally:
        if made_policy:
            os.unlink(policy)


# Each host's systemd holds several inotify instances, and they all count against root's
# one limit: with the default 128, the 15th or so host fails to boot ("Failed to
# allocate manager object: Too many open files").
INOTIFY_LIMITS = {"fs.inotify.max_user_instances": 1024, "fs.inotify.max_user_watches": 524288}


def ensure_inotify_limits(echo: Callable[[str], None]) -> None:
    """Raise (never lower) the kernel's inotify limits to what the lab's hosts need."""
    for key, wanted in INOTIFY_LIMITS.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        current = int(path.read_text().strip())
        if current < wanted:
            path.write_text(f"{wanted}\n")
            echo(f"{key}: {current} -> {wanted} (lab hosts need an inotify instance each)")
