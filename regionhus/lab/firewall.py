"""Host firewall for the bridge: lab hosts reach the apt proxy on the bridge address, and
the lab's monitoring its alert webhooks (tests/lab/test_monitoring.py listens there),
and nothing else of this machine (its other services listen on every address)."""

from __future__ import annotations

import subprocess

from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabNetwork
from regionhus.monitoring.targets import LAB_SINK_PORT

TABLE = "regionhus_lab"


def ruleset(net: LabNetwork, proxy_port: int) -> str:
    br = net.bridge
    return f"""table inet {TABLE} {{
    chain input {{
        type filter hook input priority 0; policy accept;
        iifname "{br}" ct state established,related accept
        iifname "{br}" icmp type echo-request accept
        iifname "{br}" ip daddr {net.bridge_address} tcp dport {proxy_port} accept
        iifname "{br}" ip daddr {net.bridge_address} tcp dport {LAB_SINK_PORT} accept
        iifname "{br}" meta l4proto ipv6-icmp accept
        iifname "{br}" drop
    }}
}}
"""


def table_present() -> bool:
    return (
        subprocess.run(["nft", "list", "table", "inet", TABLE], capture_output=True).returncode == 0
    )


def ensure_firewall(net: LabNetwork, proxy_port: int) -> None:
    script = ""
    if table_present():
        script += f"delete table inet {TABLE}\n"
    script += ruleset(net, proxy_port)
    proc = subprocess.run(["nft", "-f", "-"], input=script, text=True, capture_output=True)
    if proc.returncode != 0:
        raise LabError(f"could not load the lab's nftables table: {proc.stderr.strip()}")


def remove_firewall() -> None:
    if table_present():
        subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True, check=False)
