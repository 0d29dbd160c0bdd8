"""Where operators and automation reach the hosts from: declared, never guessed.

The lab's admin address is its bridge. A real region (NetBox) must say where
operators come from (region.yml access.bastion): guessing the hosts' own subnet would
let every machine on it reach sshd on every host. Checked by `plan` and `apply` before
any host, and by the base layer before it writes a firewall.
"""

from __future__ import annotations

from ipaddress import IPv4Network

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


def operations_networks(inventory: Inventory) -> list[IPv4Network]:
    """Where the regional operations unit reaches the municipalities' services from
    (servers' service ports, the VDI broker): the networks region.yml declares under
    access.operations_networks, and where operators' ssh comes from (the bastion, or
    the lab's bridge). The one answer for every firewall that opens a municipality's
    service to the region's operators."""
    found = list(inventory.config.region.access.operations_networks)
    bastion = inventory.config.region.access.bastion
    if bastion is not None and bastion.source_address is not None:
        found.append(IPv4Network(f"{bastion.source_address}/32"))
    if inventory.network is not None:
        found.append(IPv4Network(f"{inventory.network.bridge_address}/32"))
    return sorted(set(found), key=lambda n: (int(n.network_address), n.prefixlen))


def client_sources(inventory: Inventory, slug: str) -> list[IPv4Network]:
    """Who may reach a municipality's services: its own client networks (kommuner/)
    and the region's operations networks. A municipality that has left has none of
    its own, so only operations remain."""
    kommune = inventory.config.kommuner[slug]
    own = list(kommune.client_networks) if kommune.member_on(inventory.config.on) else []
    return own + [n for n in operations_networks(inventory) if n not in own]
