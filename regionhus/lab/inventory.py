"""The lab's view of the inventory: which hosts to boot, on which network.

The lab always boots the embedded lab region (never NetBox's real servers); this
is the one place it reads the inventory.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from regionhus.lab.errors import LabError


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
    roles: tuple[str, ...] = ()
    serves: str = "region"


@dataclass(frozen=True)
class LabInventory:
    network: LabNetwork
    hosts: tuple[LabHost, ...]


def lab_inventory(root: Path | None = None) -> LabInventory:
    """The hosts the lab boots: the embedded inventory, validated by regionhus.inventory."""
    from regionhus.inventory import load_inventory

    inv = load_inventory(root, source="embedded")
    if inv.network is None:
        raise LabError(
            "the embedded inventory has no `network:` section; the lab needs its subnet, "
            "bridge and bridge_address (see inventory/lab-region.hosts.yml in git)"
        )
    lab = LabInventory(
        network=LabNetwork(
            subnet=inv.network.subnet,
            bridge_address=inv.network.bridge_address,
            bridge=inv.network.bridge,
        ),
        hosts=tuple(
            LabHost(h.name, h.address, tuple(str(r) for r in h.roles), h.serves) for h in inv.hosts
        ),
    )
    check_inventory(lab, "inventory/lab-region.hosts.yml")
    return lab


def check_inventory(inv: LabInventory, source: str) -> None:
    """Refuse an inventory whose addresses could send lab traffic off the machine."""
    net = inv.network
    if not net.subnet.is_private:
        raise LabError(f"{source}: lab subnet {net.subnet} is not private; use a private /24")
    if net.bridge_address not in net.subnet:
        raise LabError(f"{source}: bridge_address {net.bridge_address} is outside {net.subnet}")
    for host in inv.hosts:
        if host.address not in net.subnet or host.address == net.bridge_address:
            raise LabError(
                f"{source}: {host.name} address {host.address} is not a host address in "
                f"{net.subnet}"
            )
