"""The base image: one debootstrapped Debian, built once, cached, the lower layer of every host."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from regionhus.lab.errors import LabError
from regionhus.lab.layout import lab_cache
from regionhus.lab.mirror import SUITE, Mirrors

# systemd and sshd to boot and be reached; python3 for pyinfra/Ansible/testinfra; the rest
# is what the base layer configures (sudo, firewall, unattended upgrades).
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "libpam-systemd",
    "dbus",
    "openssh-server",
    "python3",
    "iproute2",
    "iputils-ping",
    "procps",
    "less",
    "sudo",
    "nftables",
    "unattended-upgrades",
    "apt-listchanges",
    "ca-certificates",
    "curl",
    "gnupg",
)
# Bump when the finishing steps below change, so a new image is built.
IMAGE_REVISION = 1


def image_key() -> str:
    spec = json.dumps([SUITE, sorted(BASE_PACKAGES), IMAGE_REVISION])
    return hashlib.sha256(spec.encode()).hexdigest()[:10]


def image_dir() -> Path:
    return lab_cache() / f"base-{SUITE}-{image_key()}"


def image_ready(path: Path | None = None) -> bool:
    return ((path or image_dir()) / ".regionhus-image.json").is_file()


def ensure_image(mirrors: Mirrors, echo: Callable[[str], None]) -> Path:
    """Build the image unless a finished one is cached; a half-built one is started afresh."""
    final = image_dir()
    if image_ready(final):
        return final
    building = final.with_name(final.name + ".building")
    if building.exists():
        echo(f"removing half-built image {building}")
        shutil.rmtree(building)
    building.parent.mkdir(parents=True, exist_ok=True)
    echo(f"building base image (debootstrap {SUITE}, about a minute or two) into {final}")
    started = time.monotonic()
    debootstrap(building, mirrors.debian, echo)
    finish_image(building)
    stamp = {
        "suite": SUITE,
        "packages": sorted(BASE_PACKAGES),
        "revision": IMAGE_REVISION,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.monotonic() - started, 1),
    }
    (building / ".regionhus-image.json").write_text(json.dumps(stamp, indent=2) + "\n")
    building.rename(final)
    echo(f"base image ready in {stamp['seconds']} s")
    return final


def debootstrap(target: Path, mirror: str, echo: Callable[[str], None]) -> None:
    cmd = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        "--components=main",
        SUITE,
        str(target),
        mirror,
    ]
    log = target.with_name(target.name + ".log")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            # debootstrap's I: lines are its own progress; show the phases, not every package.
            if line.startswith("I: ") and not line.startswith(
                (
                    "I: Retrieving",
                    "I: Validating",
                    "I: Extracting",
                    "I: Unpacking",
                    "I: Configuring",
                )
            ):
                echo("  " + line[3:].rstrip())
        rc = proc.wait()
    if rc != 0:
        raise LabError(f"debootstrap failed ({rc}); see {log}, then rerun `regionhus lab up`")


def finish_image(root: Path) -> None:
    """Make the image neutral: nothing in it may be shared by accident between hosts."""
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # each host gets its own host keys
    (root / "etc/machine-id").write_text("")
    # No DNS reaches out of the lab; with no nameserver lookups fail at once instead of
    # timing out. The directory role points hosts at the lab's DCs later.
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.write_text("# regionhus lab: no DNS outside the lab\n")
    for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for p in (root / leftovers).glob("*"):
            if p.is_file():
                p.unlink()
