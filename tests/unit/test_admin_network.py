"""Where ssh is accepted from: declared, never guessed from the hosts' subnet.

With NetBox as the source there is no lab bridge. The admin network used to be each
host's whole /24, and the backup server opened ssh to that /24 for its clients too,
so every machine on the network could reach sshd everywhere.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Network

import pytest

from regionhus.admin_network import admin_network_problem
from regionhus.baselayer import firewall_rules
from regionhus.errors import RegionhusError
from regionhus.inventory import Inventory, load_inventory
from regionhus.model import Access, Bastion


def as_netbox(inventory: Inventory, bastion: Bastion | None) -> Inventory:
    region = inventory.config.region.model_copy(update={"access": Access(bastion=bastion)})
    config = dataclasses.replace(inventory.config, region=region)
    return dataclasses.replace(inventory, config=config, network=None, source="netbox")


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_inventory(source="embedded")


def ssh_sources(inventory: Inventory, name: str) -> list[str]:
    rules = firewall_rules(inventory, inventory.host(name))
    return [r.source for r in rules if "22" in r.ports]


def test_netbox_without_a_declared_admin_network_is_refused(lab: Inventory) -> None:
    inventory = as_netbox(lab, bastion=None)
    assert admin_network_problem(inventory)
    with pytest.raises(RegionhusError, match=r"access\.bastion"):
        firewall_rules(inventory, inventory.host("vdi-kongsberg-1"))


def test_netbox_ssh_comes_only_from_the_declared_bastion(lab: Inventory) -> None:
    inventory = as_netbox(lab, Bastion(host="10.9.0.5"))
    for name in ("dc1", "vdi-kongsberg-1"):
        assert ssh_sources(inventory, name) == ["10.9.0.5/32"]


@pytest.mark.parametrize("source", ["embedded", "netbox"])
def test_the_backup_server_opens_ssh_only_to_its_clients(lab: Inventory, source: str) -> None:
    inventory = lab if source == "embedded" else as_netbox(lab, Bastion(host="10.9.0.5"))
    sources = ssh_sources(inventory, "backup1")
    clients = sources[1]
    for host in ("dc1", "dc2", "vdi-kongsberg-1", "vdi-kongsberg-2", "vdi-notodden-1"):
        assert f"{inventory.host(host).address}/32" in clients
    assert "10.47.0.0/24" not in sources
    for source_text in sources:
        for part in source_text.strip("{} ").split(", "):
            assert IPv4Network(part).prefixlen == 32, sources


def test_a_netbox_host_that_joins_ad_with_a_long_name_is_refused(lab: Inventory) -> None:
    from regionhus.inventory.build import check_hosts

    long = lab.host("vdi-kongsberg-1").model_copy(update={"name": "vdi-kongsberg-pool-1"})
    findings = check_hosts([long], None, lab.config, "NetBox")
    assert [f.field for f in findings] == ["hosts.0.name"]
    assert "NetBIOS" in findings[0].message
