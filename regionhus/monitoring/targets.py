"""What the monitoring host probes and scrapes, and whom its Alertmanager tells.

Pure functions of the inventory (the hosts by role) and kommuner/ (who gets alerts), so
a host or a municipality added to either is monitored on the next apply, and the
monitoring role only renders what this returns (`python -m regionhus.monitoring targets`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import yaml

from regionhus.inventory import REGION, Host, Inventory, Role
from regionhus.paths import repo_root

# Ports the probes use (the services' own, opened to the region by the base layer).
LDAP_PORT = 389
KERBEROS_PORT = 88
DNS_PORT = 53
SSH_PORT = 22
# Where the lab's webhook receiver listens: the lab bridge, never a real address.
LAB_SINK_PORT = 9099


@dataclass(frozen=True)
class Probe:
    """One check of one service on one host: one `probe_success` series."""

    service: str  # directory | vdi | backup | server (the catalogue's names, and servers)
    check: str  # ldap_bind | kerberos | dns | rdp_tls | ssh
    prober: str  # blackbox (Debian's exporter) | regionhus (protocols blackbox cannot speak)
    module: str  # the prober's module
    target: str  # address:port (dns: the server's address)
    host: str
    kommune: str  # the municipality it concerns, or "region" for shared services


@dataclass(frozen=True)
class Node:
    host: str
    address: str
    kommune: str
    roles: tuple[str, ...]


def _rdp_port() -> str:
    from regionhus.baselayer import rdp_port

    return rdp_port()


def _broker_port() -> str:
    """The pools' port on the gateway: the broker role's default is where it is set."""
    defaults = repo_root() / "roles" / "vdi_broker" / "defaults" / "main.yml"
    return str(yaml.safe_load(defaults.read_text(encoding="utf-8"))["vdi_broker_port"])


def pool_probes(inventory: Inventory) -> list[Probe]:
    """Each active pool through the broker: an RDP/TLS handshake at the pool's address
    on the gateway, as a user's client makes it (the broker picks a session host)."""
    from regionhus.inventory.vdi_pools import vdi_pools

    gateways = [h for h in inventory.hosts if Role.GATEWAY in h.roles]
    if not gateways:
        return []
    return [
        Probe(
            "vdi",
            "pool",
            "regionhus",
            "rdp_tls",
            f"{pool.address}:{_broker_port()}",
            gateways[0].name,
            pool.slug,
        )
        for pool in vdi_pools(inventory.config, inventory.hosts)
        if pool.address is not None and pool.state == "active"
    ]


def probes_for(host: Host, realm: str) -> list[Probe]:
    """The probes a host's roles call for."""
    address = str(host.address)
    found: list[Probe] = []
    if Role.DIRECTORY in host.roles:
        found += [
            Probe(
                "directory",
                "ldap_bind",
                "regionhus",
                "ldap_bind",
                f"{address}:{LDAP_PORT}",
                host.name,
                host.serves,
            ),
            Probe(
                "directory",
                "kerberos",
                "regionhus",
                "kerberos",
                f"{address}:{KERBEROS_PORT}",
                host.name,
                host.serves,
            ),
            # The SRV records clients find the DCs by: the directory's DNS answers for it.
            Probe("directory", "dns", "blackbox", "ad_dns", address, host.name, host.serves),
        ]
    if Role.VDI in host.roles:
        found.append(
            Probe(
                "vdi",
                "rdp_tls",
                "regionhus",
                "rdp_tls",
                f"{address}:{_rdp_port()}",
                host.name,
                host.serves,
            )
        )
    if Role.BACKUP in host.roles:
        found.append(
            Probe(
                "backup",
                "ssh",
                "blackbox",
                "ssh_banner",
                f"{address}:{SSH_PORT}",
                host.name,
                host.serves,
            )
        )
    if Role.SERVER in host.roles:
        found.append(
            Probe(
                "server",
                "ssh",
                "blackbox",
                "ssh_banner",
                f"{address}:{SSH_PORT}",
                host.name,
                host.serves,
            )
        )
    del realm  # the realm is in the blackbox module (the SRV name), not per probe
    return found


def probes(inventory: Inventory) -> list[Probe]:
    realm = inventory.config.region.directory.realm
    return [p for host in inventory.hosts for p in probes_for(host, realm)] + pool_probes(inventory)


def nodes(inventory: Inventory) -> list[Node]:
    """Every host's node exporter (host metrics, and the backup guard's textfile)."""
    return [
        Node(h.name, str(h.address), h.serves, tuple(str(r) for r in h.roles))
        for h in inventory.hosts
    ]


def monitoring_hosts(inventory: Inventory) -> list[Host]:
    return [h for h in inventory.hosts if Role.MONITORING in h.roles]


def receivers(inventory: Inventory) -> dict[str, dict[str, list[str]]]:
    """Per municipality with an `alerts:` contact: its e-mail addresses and webhooks."""
    found: dict[str, dict[str, list[str]]] = {}
    for slug, kommune in sorted(inventory.config.kommuner.items()):
        alerts = kommune.alerts
        if alerts is None:
            continue
        found[slug] = {
            "email": list(alerts.email),
            "webhook": [str(url) for url in alerts.webhook],
        }
    return found


def lab_sink(inventory: Inventory) -> str | None:
    """In the lab every receiver is also (and only) a webhook on the lab bridge, where
    the tests listen: no mail leaves a lab."""
    if inventory.source != "embedded" or inventory.network is None:
        return None
    return f"http://{inventory.network.bridge_address}:{LAB_SINK_PORT}"


def monitoring_vars(inventory: Inventory) -> dict[str, Any]:
    """What the monitoring play passes to the role (see roles/monitoring/README.md)."""
    region = inventory.config.region
    return {
        "realm": region.directory.realm,
        "probes": [asdict(p) for p in probes(inventory)],
        "nodes": [asdict(n) for n in nodes(inventory)],
        "regional_email": [op.email for op in region.regional_operators],
        "kommune_receivers": receivers(inventory),
        "lab_sink": lab_sink(inventory),
        "kommuner": sorted(inventory.config.kommuner),
        "region": REGION,
    }
