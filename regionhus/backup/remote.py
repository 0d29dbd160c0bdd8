"""Talking to the backup server: the guard's status and the drill script, through the
one transport (regionhus.transport): the lab's ssh, or the operator's through the bastion."""

from __future__ import annotations

import json
from typing import Any

from regionhus.errors import RegionhusError
from regionhus.inventory import load_inventory
from regionhus.transport import Transport, transport_for

DRILL = "/usr/local/sbin/regionhus-borg-drill"
GUARD = "/usr/local/sbin/regionhus-borg-guard"


def backup_server() -> str:
    """Name of the host with the backup role (the lab's backup1)."""
    for host in load_inventory().hosts:
        if "backup" in [str(role) for role in host.roles]:
            return host.name
    raise RegionhusError("no host has the backup role in the inventory; check inventory/")


def transport() -> Transport:
    """How this command reaches the region's hosts (from the inventory source)."""
    return transport_for(load_inventory())


def run_json(
    host: str,
    argv: list[str],
    ok_codes: tuple[int, ...] = (0,),
    via: Transport | None = None,
) -> dict[str, Any]:
    """Run a server script that prints one JSON object; errors say what to do."""
    proc = (via or transport()).run(host, argv, timeout=3600)
    if proc.returncode not in ok_codes and not proc.stdout.strip().startswith("{"):
        raise RegionhusError(
            f"{host}: {' '.join(argv)} failed ({proc.returncode}): "
            f"{(proc.stderr or proc.stdout).strip()[-600:]}; "
            "has `python -m regionhus.engines playbooks/backup.yml` been applied?"
        )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RegionhusError(f"{host}: {argv[0]} printed no JSON: {proc.stdout[:300]}") from exc


def server_status(host: str) -> dict[str, Any]:
    return run_json(host, [GUARD, "status"])


def server_drill(host: str, repository: str, archive: str | None = None) -> dict[str, Any]:
    argv = [DRILL, repository] + ([archive] if archive else [])
    return run_json(host, argv, ok_codes=(0, 1))
