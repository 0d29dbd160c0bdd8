"""The lab: real Debian hosts of the region on this machine (systemd-nspawn + netns).

What other code uses (pyinfra deploys, testinfra, the main command):

    from regionhus import lab
    lab.require_lab_bridge()          # LabError unless the lab bridge and guard route exist
    lab.ssh_config_path()             # ssh config: `Host <name>` for every lab host
    lab.run_on("dc1", "hostname")     # CompletedProcess of a command run as root on a host
    lab.ssh_command("dc1", ["ls", "/"])   # argv, for subprocess or logs
    lab.lab_host_names()
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from regionhus.lab.errors import LabError
from regionhus.lab.layout import ssh_config_path, ssh_key_path

__all__ = [
    "LabError",
    "lab_host_names",
    "require_lab_bridge",
    "run_on",
    "ssh_command",
    "ssh_config_path",
    "ssh_key_path",
]


def require_lab_bridge() -> None:
    """Raise LabError (saying to run `lab up`) unless the bridge and blackhole route exist.

    Call before anything connects to a lab address: without the bridge, the packet
    would otherwise leave the machine by its default route.
    """
    from regionhus.lab.inventory import lab_inventory
    from regionhus.lab.network import require_bridge

    require_bridge(lab_inventory().network)


def lab_host_names() -> list[str]:
    from regionhus.lab.inventory import lab_inventory

    return [h.name for h in lab_inventory().hosts]


def ssh_command(host: str, command: str | Sequence[str] | None = None) -> list[str]:
    """argv running command on a lab host as root (a string goes to the remote shell)."""
    from regionhus.lab import ssh

    return ssh.ssh_command(host, command)


def run_on(
    host: str, command: str | Sequence[str], check: bool = True, timeout: float | None = 600
) -> subprocess.CompletedProcess[str]:
    """Run command on a lab host as root over the lab's ssh; checks the bridge first."""
    require_lab_bridge()
    proc = subprocess.run(
        ssh_command(host, command), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise LabError(
            f"{host}: `{command}` failed ({proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()[-800:]}"
        )
    return proc
