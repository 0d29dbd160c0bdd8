"""Where operators and automation reach the hosts from: declared, never guessed.

The lab's admin address is its bridge. A real region (NetBox) must say where
operators come from (region.yml access.bastion): guessing the hosts' own subnet would
let every machine on it reach sshd on every host. Checked by `plan` and `apply` before
any host, and by the base layer before it writes a firewall.
"""

from __future__ import annotations

from regionhus.errors import RegionhusError
from regionhus.inventory import Inventory


def admin_network_problem(inventory: Inventory) -> str | None:
    """Why ssh for operators has no declared source, or None."""
    if inventory.network is not None or inventory.config.region.access.bastion is not None:
        return None
    return (
        f"the inventory ({inventory.source}) has no admin network: declare where operators "
        "and automation reach the hosts from in region.yml, under access.bastion "
        "(host, address); ssh is then accepted from that address alone"
    )


def require_admin_network(inventory: Inventory) -> None:
    problem = admin_network_problem(inventory)
    if problem:
        raise RegionhusError(problem)
