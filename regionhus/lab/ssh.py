"""SSH into lab hosts: the lab's key, its known hosts, and the ssh config every tool uses."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from regionhus.lab.inventory import LabHost, LabInventory
from regionhus.lab.layout import (
    control_dir,
    known_hosts_path,
    ssh_config_path,
    ssh_key_path,
)
from regionhus.lab.system import sh


def ensure_key() -> str:
    """The lab's root key (generated once, kept in the state dir); returns the public key."""
    key = ssh_key_path()
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        key.with_suffix(".pub").unlink(missing_ok=True)
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "regionhus-lab", "-f", str(key)])
    return key.with_suffix(".pub").read_text().strip()


def render_ssh_config(inv: LabInventory, key: Path, known_hosts: Path, control: Path) -> str:
    net = inv.network
    lines = [
        "# Written by `regionhus lab up`. Use with `ssh -F`, pyinfra, Ansible, testinfra.",
        "",
    ]
    for host in inv.hosts:
        lines += [f"Host {host.name} {host.address}", f"    HostName {host.address}", ""]
    lines += [
        # Applies to the lab's names and addresses only; a plain Host list (not Match)
        # so paramiko-based tools read it too.
        "Host " + " ".join([h.name for h in inv.hosts] + [str(h.address) for h in inv.hosts]),
        "    User root",
        f"    IdentityFile {key}",
        "    IdentitiesOnly yes",
        # Only via the lab bridge: if it is gone, ssh fails here instead of routing out.
        f"    BindInterface {net.bridge}",
        "    ServerAliveInterval 5",
        "    ServerAliveCountMax 3",
        "    ConnectTimeout 5",
        "    BatchMode yes",
        # The lab writes each host's keys into known_hosts when it creates them;
        # accept-new still covers a host whose disk was made some other way.
        f"    UserKnownHostsFile {known_hosts}",
        "    StrictHostKeyChecking accept-new",
        "    HashKnownHosts no",
        "    ControlMaster auto",
        f"    ControlPath {control}/%C",
        "    ControlPersist 120",
        "    LogLevel ERROR",
        "",
    ]
    return "\n".join(lines)


def write_ssh_config(inv: LabInventory) -> Path:
    control_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    path = ssh_config_path()
    path.write_text(render_ssh_config(inv, ssh_key_path(), known_hosts_path(), control_dir()))
    return path


def update_known_hosts(host: LabHost, keys: list[str]) -> None:
    """Replace the host's lines in known_hosts with its current keys."""
    path = known_hosts_path()
    names = {host.name, str(host.address)}
    kept = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line and not names & set(line.split()[0].split(",")):
                kept.append(line)
    kept += [f"{host.name},{host.address} {key}" for key in keys]
    path.write_text("\n".join(kept) + "\n")


def ssh_command(host: str, command: str | Sequence[str] | None = None) -> list[str]:
    """argv that runs command (a shell string or argv) on a lab host as root."""
    argv = ["ssh", "-F", str(ssh_config_path()), "-n", host]
    if command is None:
        return argv
    if isinstance(command, str):
        return [*argv, command]
    return [*argv, "--", shlex.join(command)]


def ssh_answers(host: LabHost, timeout: float = 5) -> bool:
    try:
        proc = subprocess.run(ssh_command(host.name, "true"), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def close_master(host: LabHost) -> None:
    """End a persistent connection so `lab down` leaves no ssh process behind."""
    subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), "-O", "exit", host.name],
        capture_output=True,
        timeout=10,
    )
