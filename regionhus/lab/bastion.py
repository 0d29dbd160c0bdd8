"""A jump host in the lab, for the production rehearsal (tests/lab/test_rehearsal.py).

Not a host of the region: the region's code never manages it (a real region's bastion
is someone else's machine too). It is the base image with sshd and one operator
account, booted like any lab host at an address outside the inventory, and removed
again when the rehearsal ends, so the lab others use keeps its six hosts.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import time
from pathlib import Path

from regionhus.lab import machines, network, require_lab_bridge, rootfs, ssh
from regionhus.lab.errors import LabError
from regionhus.lab.image import ensure_image
from regionhus.lab.inventory import LabHost, lab_inventory
from regionhus.lab.mirror import configured_mirrors

NAME = "bastion"
ADDRESS = ipaddress.IPv4Address("10.47.0.40")
# A boot takes seconds on a quiet machine, minutes while a dozen lab hosts share 2 cores.
BOOT_TIMEOUT_S = 240


def host() -> LabHost:
    return LabHost(NAME, ADDRESS, roles=(), serves="region")


def ensure_bastion(username: str, public_key: str, echo=print) -> LabHost:  # type: ignore[no-untyped-def]
    """Boot the bastion with `username` (key login only) and return it once ssh answers."""
    inv = lab_inventory()
    bastion = host()
    if any(h.address == ADDRESS or h.name == NAME for h in inv.hosts):
        raise LabError(f"{NAME} {ADDRESS} is already a host of the lab region; pick another")
    image = ensure_image(configured_mirrors(), echo)
    network.ensure_host_network(bastion, inv.network)
    rootdir = rootfs.ensure_mounted(bastion, image, echo)
    rootfs.write_host_files(bastion, inv, rootdir, ssh.ensure_key(), "")
    add_user(rootdir, username, public_key)
    # pam_nologin refuses every login but root's until systemd-user-sessions has run at
    # the end of boot; the bastion is for operators from its first second.
    (rootdir / "etc/tmpfiles.d").mkdir(parents=True, exist_ok=True)
    (rootdir / "etc/tmpfiles.d/systemd-nologin.conf").write_text("")
    keys = rootfs.host_keys(rootdir)
    ssh.update_known_hosts(bastion, keys)
    machines.boot(bastion, rootdir)
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while not sshd_answers():
        if time.monotonic() > deadline:
            raise LabError(
                f"{NAME}: no ssh answer in {BOOT_TIMEOUT_S} s; the end of its console "
                f"({machines.console_log(NAME)}):\n{console_tail()}"
            )
        time.sleep(0.3)
    return bastion


def console_tail(lines: int = 30) -> str:
    """The console's last lines, for the error (remove() deletes the log with the host)."""
    try:
        text = machines.console_log(NAME).read_text(errors="replace")
    except OSError as exc:
        return f"(no console log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def sshd_answers() -> bool:
    """sshd's banner on the bastion's address (by address: its name is in no ssh config
    or DNS, and must never be looked up outside)."""
    require_lab_bridge()
    try:
        with socket.create_connection((str(ADDRESS), 22), timeout=2) as conn:
            return conn.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def host_keys() -> list[str]:
    """The bastion's public host keys (`type base64`), to pin."""
    return rootfs.host_keys(rootfs.root(NAME))


def add_user(rootdir: Path, username: str, public_key: str) -> None:
    """The operator's account on the bastion: a login for ProxyJump, nothing more."""
    passwd = (rootdir / "etc/passwd").read_text()
    if f"\n{username}:" not in f"\n{passwd}":
        subprocess.run(
            ["chroot", str(rootdir), "useradd", "--create-home", "--shell", "/bin/sh", username],
            check=True,
            capture_output=True,
        )
    home = rootdir / "home" / username / ".ssh"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "authorized_keys").write_text(public_key.strip() + "\n")
    subprocess.run(
        ["chroot", str(rootdir), "chown", "-R", f"{username}:{username}", f"/home/{username}"],
        check=True,
        capture_output=True,
    )


def remove() -> None:
    """Power it off and delete it: disk, network namespace, its lines in known_hosts."""
    machines.shutdown(NAME)
    rootfs.unmount(NAME)
    network.remove_host_network(NAME)
    rootfs.wipe(NAME)
    ssh.update_known_hosts(host(), [])
