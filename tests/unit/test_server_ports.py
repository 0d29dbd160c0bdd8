"""A municipality's server: its service ports open only from its own client networks
and the region's operations networks; its host name follows the one naming rule."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path

import pytest

from regionhus.admin_network import client_sources, operations_networks
from regionhus.baselayer import firewall_rules
from regionhus.inventory import Host, Inventory, load_inventory
from regionhus.inventory.build import check_hosts
from regionhus.paths import repo_root


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(source="embedded")


def opened_from(inventory: Inventory, host: str, port: str) -> list[IPv4Network]:
    """Every network a host's firewall lets reach `port`."""
    found: list[IPv4Network] = []
    for rule in firewall_rules(inventory, inventory.host(host)):
        if port in rule.ports:
            found += [ip_network(part) for part in rule.source.strip("{} ").split(", ")]
    return found


def reaches(sources: list[IPv4Network], address: str) -> bool:
    return any(IPv4Address(address) in network for network in sources)


def test_a_service_port_opens_from_its_municipality_and_operations_only(
    inventory: Inventory,
) -> None:
    sources = opened_from(inventory, "srv-tinn-1", "8443")
    assert reaches(sources, "10.103.0.10")  # Tinn's clients
    assert reaches(sources, "10.40.0.7")  # the operations network (region.yml)
    assert reaches(sources, "10.47.0.1")  # the lab's admin address (operators)
    assert not reaches(sources, "10.101.0.10")  # Kongsberg's clients
    assert not reaches(sources, "10.47.0.51")  # another host of the region
    assert not reaches(sources, "192.0.2.1")


def test_every_municipality_with_a_server_reaches_only_its_own(inventory: Inventory) -> None:
    servers = [h for h in inventory.hosts if "server" in h.roles]
    assert {h.serves for h in servers} >= {"tinn", "hjartdal", "flesberg", "rollag"}
    for server in servers:
        sources = opened_from(inventory, server.name, "8443")
        for slug, kommune in inventory.config.kommuner.items():
            for network in kommune.client_networks:
                own = slug == server.serves
                assert reaches(sources, str(network.network_address + 10)) is own, (
                    server.name,
                    slug,
                )


def test_a_municipality_that_left_keeps_only_the_operations_networks(
    inventory: Inventory,
) -> None:
    # Øvre Eiker has left: whatever it declares, only operations reach its services.
    assert client_sources(inventory, "ovre-eiker") == operations_networks(inventory)


def test_hosts_without_services_open_no_extra_port(inventory: Inventory) -> None:
    assert opened_from(inventory, "vdi-kongsberg-1", "8443") == []
    assert opened_from(inventory, "dc1", "8443") == []


def _finding(inventory: Inventory, **change: object) -> list[str]:
    host: Host = inventory.host("srv-tinn-1").model_copy(update=change)
    findings = check_hosts([host], None, inventory.config, "NetBox")
    return [f"{f.field}: {f.message} -> {f.hint}" for f in findings]


def test_a_server_is_named_by_its_municipalitys_code(inventory: Inventory) -> None:
    assert _finding(inventory) == []
    (found,) = _finding(inventory, name="app-tinn-1")
    assert found.startswith("hosts.0.name: app-tinn-1") and "rename it to srv-tinn-1" in found
    (found,) = _finding(inventory, name="srv-nore-og-uvdal-1", serves="nore-og-uvdal")
    assert "NetBIOS" in found and "rename it to srv-nou-1" in found


def test_a_service_on_the_ssh_port_or_on_a_shared_host_is_refused(inventory: Inventory) -> None:
    from regionhus.inventory.hosts import HostService

    ssh = HostService(name="sftp", port=22)
    (found,) = _finding(inventory, services=[ssh])
    assert found.startswith("hosts.0.services.0.port") and "ssh" in found
    dc = inventory.host("dc1").model_copy(update={"data_paths": ["/srv/x"]})
    findings = check_hosts([dc], None, inventory.config, "NetBox")
    assert [f.field for f in findings] == ["hosts.0.data_paths"]


def test_validate_names_the_line_of_a_vdi_host_that_breaks_the_rule(tmp_path: Path) -> None:
    from regionhus.validate import validate_tree

    for part in ("region.yml", "kommuner", "inventory"):
        src = repo_root() / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    hosts = tmp_path / "inventory" / "lab-region.hosts.yml"
    hosts.write_text(hosts.read_text().replace("name: vdi-notodden-1", "name: vdi-notod-1"))
    _, findings = validate_tree(tmp_path)
    (found,) = findings
    assert found.file == "inventory/lab-region.hosts.yml" and found.line
    assert "vdi-notod-1" in found.message and "rename it to vdi-notodden-1" in found.hint


def test_netbox_service_objects_become_the_vms_services() -> None:
    from regionhus.netbox.source import services_by_vm

    records = [
        {
            "name": "fagsystem",
            "protocol": {"value": "tcp", "label": "TCP"},
            "ports": [8443, 8444],
            "parent_object_type": "virtualization.virtualmachine",
            "parent": {"id": 12, "name": "srv-tinn-1"},
        },
        # Before NetBox 4.3 a service named its VM directly.
        {"name": "syslog", "protocol": "udp", "ports": [514], "virtual_machine": {"name": "x-1"}},
        # A device's service is not the inventory's.
        {
            "name": "snmp",
            "protocol": "udp",
            "ports": [161],
            "parent_object_type": "dcim.device",
            "parent": {"id": 3, "name": "switch-1"},
        },
    ]
    assert services_by_vm(records) == {
        "srv-tinn-1": [
            {"name": "fagsystem", "port": 8443, "protocol": "tcp"},
            {"name": "fagsystem", "port": 8444, "protocol": "tcp"},
        ],
        "x-1": [{"name": "syslog", "port": 514, "protocol": "udp"}],
    }


def test_a_netbox_service_the_inventory_cannot_use_names_its_vm() -> None:
    from regionhus.netbox.source import convert

    record = {
        "name": "srv-tinn-1",
        "status": "ACTIVE",
        "role": {"slug": "server"},
        "tenant": {"slug": "tinn"},
        "site": {"slug": "regionalt-hus"},
        "primary_ip4": {"address": "10.47.0.53/24"},
        "tags": [],
        "services": [{"name": "fagsystem", "port": 8443, "protocol": "sctp"}],
    }
    result = convert([record], {"tinn"})
    assert result.hosts == [] and len(result.problems) == 1
    assert result.problems[0].startswith("srv-tinn-1:") and "protocol" in result.problems[0]
