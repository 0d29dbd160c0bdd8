"""The lab's network: blackhole guard, bridge, one namespace and veth pair per host.

No NAT and no default route: a lab host reaches the bridge address (the apt proxy)
and its neighbours, nothing else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabHost, LabInventory, LabNetwork
from regionhus.lab.system import ok, sh

# High enough that the bridge's connected route (metric 0) always wins while it exists.
BLACKHOLE_METRIC = 4000
NETNS_DIR = Path("/run/netns")
# The interface name inside each host.
GUEST_IF = "eth0"


def veth_name(host_name: str) -> str:
    """Root-side veth name: stable per host and within the kernel's 15-character limit."""
    return "rhv" + hashlib.sha1(host_name.encode()).hexdigest()[:10]


def netns_path(host_name: str) -> Path:
    return NETNS_DIR / host_name


# --- the guard --------------------------------------------------------------------------


def blackhole_present(net: LabNetwork) -> bool:
    out = sh(["ip", "-4", "route", "show", "type", "blackhole", "exact", str(net.subnet)]).stdout
    return bool(out.strip())


def ensure_blackhole(net: LabNetwork) -> None:
    """Traffic to lab addresses dies on this machine when the bridge is gone. Never removed."""
    if not blackhole_present(net):
        sh(["ip", "route", "add", "blackhole", str(net.subnet), "metric", str(BLACKHOLE_METRIC)])


def require_guard(net: LabNetwork) -> None:
    if not blackhole_present(net):
        raise LabError(
            f"the blackhole route for the lab subnet {net.subnet} is missing, so lab traffic "
            f"could leave this machine; run `sudo .venv/bin/regionhus lab up` (it adds it) or "
            f"`ip route add blackhole {net.subnet} metric {BLACKHOLE_METRIC}`"
        )


def link_exists(name: str, netns: str | None = None) -> bool:
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    return ok([*prefix, "link", "show", "dev", name])


def bridge_ready(net: LabNetwork) -> bool:
    if not Path(f"/sys/class/net/{net.bridge}/bridge").is_dir():
        return False
    out = sh(["ip", "-4", "-o", "addr", "show", "dev", net.bridge], check=False).stdout
    return f" {net.bridge_address}/" in out and admin_up(net.bridge)


def admin_up(name: str) -> bool:
    # A bridge without running ports has no carrier; what matters is that it is set up.
    out = sh(["ip", "-o", "link", "show", "dev", name], check=False).stdout
    flags = out.partition("<")[2].partition(">")[0].split(",")
    return "UP" in flags


def require_bridge(net: LabNetwork) -> None:
    """Refuse to talk to lab hosts unless the bridge and the guard route are in place."""
    require_guard(net)
    if not bridge_ready(net):
        raise LabError(
            f"the lab bridge {net.bridge} ({net.bridge_address}) is not up, so the lab is "
            f"down; run `sudo .venv/bin/regionhus lab up`"
        )


# --- bridge ------------------------------------------------------------------------------


def ensure_bridge(net: LabNetwork) -> None:
    if not link_exists(net.bridge):
        sh(["ip", "link", "add", net.bridge, "type", "bridge"])
    addr = f"{net.bridge_address}/{net.prefixlen}"
    current = sh(["ip", "-4", "-o", "addr", "show", "dev", net.bridge]).stdout
    if f" {addr} " not in current:
        sh(["ip", "addr", "replace", addr, "dev", net.bridge])
    sh(["ip", "link", "set", net.bridge, "up"])


def remove_bridge(net: LabNetwork) -> None:
    if link_exists(net.bridge):
        sh(["ip", "link", "del", net.bridge])


# --- per host ----------------------------------------------------------------------------


def netns_exists(host: LabHost) -> bool:
    return netns_path(host.name).exists()


def ensure_host_network(host: LabHost, net: LabNetwork) -> None:
    """Namespace, veth pair (guest end `eth0` with the host's address), bridge port."""
    if not netns_exists(host):
        sh(["ip", "netns", "add", host.name])
    veth = veth_name(host.name)
    if not link_exists(GUEST_IF, host.name):
        # A root-side end left from an earlier run lost its peer; start the pair afresh.
        if link_exists(veth):
            sh(["ip", "link", "del", veth])
        sh(
            [
                "ip",
                "link",
                "add",
                veth,
                "type",
                "veth",
                "peer",
                "name",
                GUEST_IF,
                "netns",
                host.name,
            ]
        )
    sh(["ip", "link", "set", veth, "master", net.bridge, "up"])
    ns = ["ip", "-n", host.name]
    sh([*ns, "addr", "replace", f"{host.address}/{net.prefixlen}", "dev", GUEST_IF])
    sh([*ns, "link", "set", "lo", "up"])
    sh([*ns, "link", "set", GUEST_IF, "up"])


def remove_host_network(name: str) -> None:
    if netns_path(name).exists():
        sh(["ip", "netns", "del", name])
    veth = veth_name(name)
    # Deleting the namespace makes the kernel remove the pair's root side a moment
    # later: the link can vanish between the check and the delete, which is the goal.
    if link_exists(veth):
        gone = sh(["ip", "link", "del", veth], check=False)
        if gone.returncode != 0 and link_exists(veth):
            raise LabError(f"`ip link del {veth}` failed: {gone.stderr.strip()}")


def leftover_links(inv: LabInventory) -> list[str]:
    names = [veth_name(h.name) for h in inv.hosts] + [inv.network.bridge]
    return [n for n in names if link_exists(n)]
