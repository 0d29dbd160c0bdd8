"""The rules every host list must keep, whichever source delivered it.

`regionhus validate` reports them with the line of the embedded host file;
`load_inventory` reports them for NetBox's records too. One list, so both say the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from regionhus.inventory.hosts import REGION, Host, Network, Role

# A host that joins AD (a DC, an sssd client) gets a computer account named after its
# first 15 characters (NetBIOS): two longer names could share one account.
NETBIOS_MAX = 15
JOINS_AD = {Role.DIRECTORY, Role.VDI}


@dataclass(frozen=True)
class HostProblem:
    index: int
    field: str
    message: str
    hint: str


def host_problems(
    hosts: Sequence[Host], network: Network | None, slugs: Collection[str] | None
) -> list[HostProblem]:
    """Problems of the host list; `slugs` None skips the municipality check (kommuner/
    is itself broken, and every host would otherwise be reported as well)."""
    problems: list[HostProblem] = []
    names = Counter(h.name for h in hosts)
    addresses = Counter(h.address for h in hosts)
    for index, host in enumerate(hosts):

        def add(field: str, message: str, hint: str, index: int = index) -> None:
            problems.append(HostProblem(index, field, message, hint))

        if names[host.name] > 1:
            add("name", f"host name '{host.name}' is used more than once", "rename one")
        if addresses[host.address] > 1:
            add(
                "address",
                f"{host.name}: address {host.address} is used more than once",
                "give each host its own address",
            )
        if slugs is not None and host.serves != REGION and host.serves not in slugs:
            add(
                "serves",
                f"{host.name} serves '{host.serves}', unknown in kommuner/",
                f"write '{REGION}' or one of: {', '.join(sorted(slugs))}",
            )
        if JOINS_AD & set(host.roles) and len(host.name) > NETBIOS_MAX:
            add(
                "name",
                f"host name '{host.name}' is {len(host.name)} characters; a host that joins "
                f"AD may have at most {NETBIOS_MAX} (its NetBIOS computer name)",
                f"shorten it to {NETBIOS_MAX} characters, e.g. vdi-kongsberg-3",
            )
        if network and host.address not in network.subnet:
            add(
                "address",
                f"{host.name}: {host.address} is outside {network.subnet}",
                f"choose an address in {network.subnet}",
            )
        elif network and host.address in (
            network.bridge_address,
            network.subnet.network_address,
            network.subnet.broadcast_address,
        ):
            add(
                "address",
                f"{host.name}: {host.address} is reserved in the lab network",
                "choose another address",
            )
    return problems
