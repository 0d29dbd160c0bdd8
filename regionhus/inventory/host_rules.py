"""The rules every host list must keep, whichever source delivered it.

`regionhus validate` reports them with the line of the embedded host file;
`load_inventory` reports them for NetBox's records too. One list, so both say the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from regionhus.inventory.hosts import REGION, Host, Network, Role

# A host that joins AD (a DC, an sssd client) gets a computer account named after its
# first 15 characters (NetBIOS): two longer names could share one account.
NETBIOS_MAX = 15
JOINS_AD = {Role.DIRECTORY, Role.VDI, Role.SERVER}
# The one naming rule for a municipality's hosts: <prefix>-<code>-<n>, with the short
# code from kommuner/ (at most 9 characters, so every name fits NetBIOS).
NAME_PREFIX = {Role.VDI: "vdi", Role.SERVER: "srv"}
# Ports a host's declared services may not open to clients: ssh is for operators, from
# the admin network only.
RESERVED_PORTS = {22}


@dataclass(frozen=True)
class HostProblem:
    index: int
    field: str
    message: str
    hint: str


def expected_name(prefix: str, code: str, current: str) -> str:
    """The name the rule gives a host: its current number kept, else 1."""
    number = re.search(r"-([1-9][0-9]*)$", current)
    return f"{prefix}-{code}-{number.group(1) if number else 1}"


def _name_problem(host: Host, code: str | None) -> tuple[str, str] | None:
    """(message, hint) when a municipality's VDI host or server breaks the naming rule."""
    kinds = [role for role in NAME_PREFIX if role in host.roles]
    if not kinds or host.serves == REGION:
        return None
    if len(kinds) > 1:
        return (
            f"{host.name} has both roles vdi and server",
            "give a host one of them: session hosts and servers are separate hosts",
        )
    if code is None:
        return None  # the municipality's file is broken: reported there
    prefix = NAME_PREFIX[kinds[0]]
    if re.fullmatch(rf"{prefix}-{re.escape(code)}-[1-9][0-9]*", host.name):
        return None
    wanted = expected_name(prefix, code, host.name)
    return (
        f"{host.name}: a {kinds[0]} host of {host.serves} is named {prefix}-{code}-<n> "
        f"(code '{code}' from kommuner/{host.serves}.yml)",
        f"rename it to {wanted}",
    )


def _service_problems(host: Host) -> list[tuple[str, str, str]]:
    """(field, message, hint) for services and data paths the host cannot have."""
    found: list[tuple[str, str, str]] = []
    if (host.services or host.data_paths) and Role.SERVER not in host.roles:
        field = "services" if host.services else "data_paths"
        found.append(
            (
                field,
                f"{host.name} declares {field} but has no role server",
                "add role server, or remove them (other roles' ports are the base layer's)",
            )
        )
    if Role.SERVER in host.roles and host.serves == REGION:
        found.append(
            (
                "serves",
                f"{host.name} has role server but serves the region",
                "a server belongs to one municipality: write its slug",
            )
        )
    if Role.MONITORING in host.roles and host.serves != REGION:
        found.append(
            (
                "serves",
                f"{host.name} has role monitoring but serves {host.serves}",
                f"the monitoring host watches every municipality: write '{REGION}'",
            )
        )
    seen: Counter[tuple[int, str]] = Counter((s.port, s.protocol.value) for s in host.services)
    for index, service in enumerate(host.services):
        key = (service.port, service.protocol.value)
        if service.port in RESERVED_PORTS:
            found.append(
                (
                    f"services.{index}.port",
                    f"{host.name}: service {service.name} uses port {service.port}, "
                    "which is ssh for operators",
                    "choose another port: ssh stays open from the admin network only",
                )
            )
        elif seen[key] > 1:
            found.append(
                (
                    f"services.{index}.port",
                    f"{host.name}: {service.port}/{service.protocol} is declared twice",
                    "declare each port once",
                )
            )
    return found


def host_problems(
    hosts: Sequence[Host], network: Network | None, codes: Mapping[str, str | None] | None
) -> list[HostProblem]:
    """Problems of the host list. `codes` maps each municipality's slug to its short
    code (None when its file is broken); `codes` None skips the municipality checks
    (kommuner/ is itself broken, and every host would otherwise be reported as well)."""
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
        if codes is not None and host.serves != REGION and host.serves not in codes:
            add(
                "serves",
                f"{host.name} serves '{host.serves}', unknown in kommuner/",
                f"write '{REGION}' or one of: {', '.join(sorted(codes))}",
            )
        naming = _name_problem(host, codes.get(host.serves)) if codes is not None else None
        for field, message, hint in _service_problems(host):
            add(field, message, hint)
        if JOINS_AD & set(host.roles) and len(host.name) > NETBIOS_MAX:
            # One finding per name: the naming rule's hint says what to rename it to.
            add(
                "name",
                f"host name '{host.name}' is {len(host.name)} characters; a host that joins "
                f"AD may have at most {NETBIOS_MAX} (its NetBIOS computer name)",
                naming[1]
                if naming
                else f"shorten it to {NETBIOS_MAX} characters: vdi-<code>-<n> or srv-<code>-<n>",
            )
        elif naming:
            add("name", *naming)
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
