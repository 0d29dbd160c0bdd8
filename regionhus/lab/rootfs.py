"""Each host's root filesystem: an overlay of its own upper dir over the shared base image.

The upper dir is the host's disk and survives `lab down`; `lab down --wipe` deletes it.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabHost, LabInventory
from regionhus.lab.layout import host_dir
from regionhus.lab.system import sh


def upper(name: str) -> Path:
    return host_dir(name) / "upper"


def workdir(name: str) -> Path:
    return host_dir(name) / "work"


def root(name: str) -> Path:
    return host_dir(name) / "root"


def base_marker(name: str) -> Path:
    return host_dir(name) / "base"


def mounted(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mounts") as fh:
        return any(line.split()[1] == target for line in fh)


def ensure_mounted(host: LabHost, image: Path, echo: Callable[[str], None]) -> Path:
    name = host.name
    if mounted(root(name)):
        return root(name)
    marker = base_marker(name)
    if marker.exists() and marker.read_text().strip() != str(image):
        # Changes made on top of another base image would not fit this one.
        echo(f"{name}: base image changed, starting the host's disk afresh")
        shutil.rmtree(upper(name), ignore_errors=True)
    for d in (upper(name), workdir(name), root(name)):
        d.mkdir(parents=True, exist_ok=True)
    # A work dir left by an interrupted mount refuses reuse; it holds nothing of value.
    shutil.rmtree(workdir(name))
    workdir(name).mkdir()
    opts = f"lowerdir={image},upperdir={upper(name)},workdir={workdir(name)}"
    sh(["mount", "-t", "overlay", "overlay", "-o", opts, str(root(name))])
    marker.write_text(f"{image}\n")
    return root(name)


def unmount(name: str) -> None:
    if mounted(root(name)):
        proc = sh(["umount", str(root(name))], check=False)
        if proc.returncode != 0:
            sh(["umount", "--lazy", str(root(name))])


def wipe(name: str) -> None:
    if mounted(root(name)):
        raise LabError(f"{name} is still mounted; run `regionhus lab down` first")
    shutil.rmtree(host_dir(name), ignore_errors=True)


# When several hosts ask the proxy for the same index at once, apt-cacher-ng can fail
# one request ("Failure to move file ... File exists") and leave that client's http
# method hanging for good. No pipelining, a read timeout and retries turn that into a
# short retry.
APT_CLIENT_CONF = """// Written by `regionhus lab up`: apt through the lab's proxy.
Acquire::http::Pipeline-Depth "0";
Acquire::http::Timeout "30";
Acquire::Retries "5";
"""


def write_host_files(
    host: LabHost, inv: LabInventory, rootdir: Path, authorized_key: str, sources: str
) -> None:
    """The minimum a host needs to boot and be reached; the base layer manages them later."""
    etc = rootdir / "etc"
    if not (upper(host.name) / "etc/machine-id").exists():
        (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    write_if_changed(etc / "hostname", host.name + "\n")
    # /etc/hosts is the base layer's (templates/etc/hosts.j2) once the host has its own:
    # the lab writes only a first one, so `lab up` on a running lab leaves a plan clean.
    if not (upper(host.name) / "etc/hosts").exists():
        hosts = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        hosts += [f"{h.address}\t{h.name}" for h in inv.hosts]
        write_if_changed(etc / "hosts", "\n".join(hosts) + "\n")
    write_if_changed(etc / "apt/sources.list", sources)
    write_if_changed(etc / "apt/apt.conf.d/80regionhus-lab", APT_CLIENT_CONF)
    hold_back_apt_timers(rootdir)
    ssh_dir = rootdir / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    present = keys.read_text() if keys.exists() else ""
    if authorized_key.strip() not in present:
        keys.write_text(present + authorized_key.strip() + "\n")
    keys.chmod(0o600)


def write_if_changed(path: Path, text: str) -> None:
    # Rewriting an unchanged file would copy it up into the host's disk for nothing.
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def host_keys(rootdir: Path) -> list[str]:
    """Generate the host's own ssh host keys once; return its public keys."""
    etc_ssh = rootdir / "etc/ssh"
    if not list(etc_ssh.glob("ssh_host_*_key")):
        for kind in ("ed25519", "ecdsa", "rsa"):
            sh(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    kind,
                    "-N",
                    "",
                    "-C",
                    "",
                    "-f",
                    str(etc_ssh / f"ssh_host_{kind}_key"),
                ]
            )
    return [
        p.read_text().split()[0] + " " + p.read_text().split()[1]
        for p in sorted(etc_ssh.glob("ssh_host_*_key.pub"))
    ]


APT_TIMERS = ("apt-daily.timer", "apt-daily-upgrade.timer")


def hold_back_apt_timers(rootdir: Path) -> None:
    """Mark apt's persistent timers as just run, so booting the lab does not start an apt
    update and unattended upgrade on every host at once. Measured: 175 MB of lists per
    host and a shutdown held up to 20 s by unattended-upgrade. They run at their next
    calendar time as usual."""
    stamps = rootdir / "var/lib/systemd/timers"
    stamps.mkdir(parents=True, exist_ok=True)
    for timer in APT_TIMERS:
        (stamps / f"stamp-{timer}").touch()
