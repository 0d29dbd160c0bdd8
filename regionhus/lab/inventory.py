"""The lab's view of the inventory: which hosts to boot, on which network.

This is the only place the lab reads the inventory. Until `regionhus.inventory`
exists it reads the embedded YAML itself; the swap is `lab_inventory()` only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml

from regionhus.lab.errors import LabError
from regionhus.paths import repo_root

INVENTORY_FILE = Path("inventory") / "lab-region.hosts.yml"


@dataclass(frozen=True)
class LabNetwork:
    subnet: ipaddress.IPv4Network
    bridge_address: ipaddress.IPv4Address
    bridge: str

    @property
    def prefixlen(self) -> int:
        return self.subnet.prefixlen


@dataclass(frozen=True)
class LabHost:
    name: str
    address: ipaddress.IPv4Address
    roles: tuple[str, ...]
    serves: str


@dataclass(frozen=True)
class LabInventory:
    network: LabNetwork
    hosts: tuple[LabHost, ...]

    def host(self, name: str) -> LabHost:
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts)
        raise LabError(f"no lab host named {name!r}; the lab has: {known}")


def lab_inventory(path: Path | None = None) -> LabInventory:
    """The hosts the lab boots (swap point for `regionhus.inventory.load_inventory`)."""
    path = path or repo_root() / INVENTORY_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise LabError(f"lab inventory {path} is missing; restore it from git") from exc
    return parse_inventory(data, source=str(path))


def parse_inventory(data: dict, source: str = "inventory") -> LabInventory:
    try:
        net = data["network"]
        network = LabNetwork(
            subnet=ipaddress.IPv4Network(net["subnet"]),
            bridge_address=ipaddress.IPv4Address(net["bridge_address"]),
            bridge=str(net["bridge"]),
        )
        hosts = tuple(
            LabHost(
                name=str(h["name"]),
                address=ipaddress.IPv4Address(h["address"]),
                roles=tuple(h.get("roles") or ()),
                serves=str(h.get("serves", "region")),
            )
            for h in data["hosts"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"{source}: malformed lab inventory ({exc}); fix the file") from exc
    check_inventory(LabInventory(network, hosts), source)
    return LabInventory(network, hosts)


def check_inventory(inv: LabInventory, source: str) -> None:
    """Refuse an inventory whose addresses could send lab traffic off the machine."""
    net = inv.network
    if not net.subnet.is_private:
        raise LabError(f"{source}: lab subnet {net.subnet} is not private; use a private /24")
    if net.bridge_address not in net.subnet:
        raise LabError(f"{source}: bridge_address {net.bridge_address} is outside {net.subnet}")
    if len(net.bridge) > 15:
        raise LabError(f"{source}: bridge name {net.bridge!r} is longer than 15 characters")
    seen: set[object] = {net.bridge_address}
    for host in inv.hosts:
        if host.address not in net.subnet:
            raise LabError(f"{source}: {host.name} address {host.address} is outside {net.subnet}")
        if host.address in seen or host.name in seen:
            raise LabError(f"{source}: {host.name} reuses a name or address")
        seen.update({host.address, host.name})
