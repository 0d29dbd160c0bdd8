"""Exporters answer the monitoring host alone; its probes get through; operators and
the audit reach Prometheus and Alertmanager from the admin network only."""

from __future__ import annotations

from ipaddress import IPv4Address

from regionhus.baselayer import firewall_rules
from regionhus.inventory import Host, Inventory, Role, load_inventory


def with_monitoring(inventory: Inventory) -> Inventory:
    hosts = [h for h in inventory.hosts if Role.MONITORING not in h.roles]
    mon = Host(
        name="mon1",
        address=IPv4Address("10.47.0.6"),
        roles=[Role.MONITORING],
        serves="region",
        site="regionalt-hus",
    )
    return Inventory(
        config=inventory.config,
        source=inventory.source,
        network=inventory.network,
        hosts=(*hosts, mon),
    )


def sources(inventory: Inventory, name: str, port: str) -> set[str]:
    return {
        rule.source
        for rule in firewall_rules(inventory, inventory.host(name))
        if port in rule.ports
    }


def test_node_exporter_only_from_the_monitoring_host() -> None:
    inventory = with_monitoring(load_inventory(source="embedded"))
    for name in ("dc1", "backup1", "vdi-kongsberg-1", "mon1"):
        assert sources(inventory, name, "9100") == {"10.47.0.6/32"}


def test_without_a_monitoring_host_the_exporter_port_stays_shut() -> None:
    inventory = load_inventory(source="embedded")
    inventory = Inventory(
        config=inventory.config,
        source=inventory.source,
        network=inventory.network,
        hosts=tuple(h for h in inventory.hosts if Role.MONITORING not in h.roles),
    )
    assert sources(inventory, "dc1", "9100") == set()


def test_the_probes_get_through_and_prometheus_is_for_operators() -> None:
    inventory = with_monitoring(load_inventory(source="embedded"))
    assert "10.47.0.6/32" in sources(inventory, "vdi-kongsberg-1", "3389")
    assert "10.47.0.6/32" in sources(inventory, "backup1", "22")
    assert "10.47.0.6/32" not in sources(inventory, "vdi-kongsberg-1", "22")
    assert sources(inventory, "mon1", "9090") == {"10.47.0.1/32"}
    assert sources(inventory, "mon1", "9093") == {"10.47.0.1/32"}
