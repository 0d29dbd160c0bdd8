"""Simulated municipality clients: one network namespace per municipality on the lab
bridge, sending from an address in that municipality's client network.

The lab's hosts only know their /24, so each host gets an on-link route to every
municipality's client networks (their replies go back over the bridge, never through
this machine's routing), and this machine a blackhole route for each client network
(nothing addressed to them can leave it). The product never knows about any of this:
it only reads `client_networks` from kommuner/.

    ip netns exec client-tinn <command>   # connects from 10.103.0.10, Tinn's client
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabInventory, LabNetwork
from regionhus.lab.network import BLACKHOLE_METRIC, GUEST_IF, link_exists, veth_name
from regionhus.lab.system import sh

# On the bridge: 10.47.0.200-10.47.0.239 are the lab's test clients (see inventory).
FIRST_CLIENT_OFFSET = 200
LAST_CLIENT_OFFSET = 239
# The client's own address: this many addresses into its network's first block.
CLIENT_HOST_OFFSET = 10
PREFIX = "client-"


@dataclass(frozen=True)
class LabClient:
    slug: str
    code: str
    link_address: ipaddress.IPv4Address  # on the bridge, inside the lab subnet
    address: ipaddress.IPv4Address  # in the municipality's first client network
    networks: tuple[ipaddress.IPv4Network, ...]

    @property
    def namespace(self) -> str:
        return f"{PREFIX}{self.code}"


def lab_clients(root: Path | None = None) -> tuple[LabClient, ...]:
    """One client per member municipality that declares client networks, by slug."""
    from regionhus.config import load_region
    from regionhus.lab.inventory import lab_inventory

    config = load_region(root)
    net = lab_inventory(root).network
    members = [k for k in config.kommuner.values() if k.member_on(config.on) and k.client_networks]
    if len(members) > LAST_CLIENT_OFFSET - FIRST_CLIENT_OFFSET + 1:
        raise LabError("more municipalities with client networks than lab client addresses")
    return tuple(
        LabClient(
            slug=k.slug,
            code=k.code,
            link_address=net.subnet.network_address + FIRST_CLIENT_OFFSET + index,
            address=k.client_networks[0].network_address + CLIENT_HOST_OFFSET,
            networks=tuple(k.client_networks),
        )
        for index, k in enumerate(sorted(members, key=lambda k: k.slug))
    )


def all_networks(clients: tuple[LabClient, ...]) -> list[ipaddress.IPv4Network]:
    return sorted({n for c in clients for n in c.networks}, key=lambda n: int(n.network_address))


def ensure_guard(clients: tuple[LabClient, ...]) -> None:
    """No packet for a client network leaves this machine (as for the lab subnet)."""
    for network in all_networks(clients):
        present = sh(["ip", "-4", "route", "show", "type", "blackhole", "exact", str(network)])
        if not present.stdout.strip():
            sh(["ip", "route", "add", "blackhole", str(network), "metric", str(BLACKHOLE_METRIC)])


def ensure_host_routes(inv: LabInventory, clients: tuple[LabClient, ...]) -> None:
    """Each host reaches the client networks on its own link (the bridge)."""
    for host in inv.hosts:
        for network in all_networks(clients):
            sh(["ip", "-n", host.name, "route", "replace", str(network), "dev", GUEST_IF])


def ensure_client(client: LabClient, net: LabNetwork) -> None:
    """The client's namespace, veth on the bridge, addresses and the route that makes
    every connection to the lab come from its client address."""
    ns = client.namespace
    if not Path(f"/run/netns/{ns}").exists():
        sh(["ip", "netns", "add", ns])
    veth = veth_name(ns)
    if not link_exists(GUEST_IF, ns):
        if link_exists(veth):
            sh(["ip", "link", "del", veth])
        sh(["ip", "link", "add", veth, "type", "veth", "peer", "name", GUEST_IF, "netns", ns])
    sh(["ip", "link", "set", veth, "master", net.bridge, "up"])
    cmd = ["ip", "-n", ns]
    sh([*cmd, "link", "set", "lo", "up"])
    sh([*cmd, "link", "set", GUEST_IF, "up"])
    sh([*cmd, "addr", "replace", f"{client.link_address}/{net.prefixlen}", "dev", GUEST_IF])
    sh([*cmd, "addr", "replace", f"{client.address}/32", "dev", GUEST_IF])
    sh([*cmd, "route", "replace", str(net.subnet), "dev", GUEST_IF, "src", str(client.address)])


def ensure_clients(inv: LabInventory, root: Path | None = None) -> tuple[LabClient, ...]:
    clients = lab_clients(root)
    ensure_guard(clients)
    ensure_host_routes(inv, clients)
    for client in clients:
        ensure_client(client, inv.network)
    return clients


def remove_clients() -> None:
    """Every client namespace (their veths go with them)."""
    netns = Path("/run/netns")
    if not netns.is_dir():
        return
    for path in netns.iterdir():
        if path.name.startswith(PREFIX):
            sh(["ip", "netns", "del", path.name])
