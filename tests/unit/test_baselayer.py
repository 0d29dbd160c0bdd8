"""Base layer rules: who may log in where, and which ports each host opens."""

from __future__ import annotations

from regionhus.baselayer import firewall_rules, operators_for_host
from regionhus.inventory import load_inventory


def usernames(inventory, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {op.username for op in operators_for_host(inventory, inventory.host(name))}


def test_municipal_operators_only_on_their_own_hosts() -> None:
    inventory = load_inventory(source="embedded")
    assert usernames(inventory, "vdi-kongsberg-1") == {
        "drift.kari",
        "drift.per",
        "kbg.ola",
        "kbg.ingrid",
    }
    assert usernames(inventory, "vdi-notodden-1") == {"drift.kari", "drift.per", "ntd.lars"}


def test_shared_hosts_admit_only_regional_operators() -> None:
    inventory = load_inventory(source="embedded")
    for name in ("dc1", "dc2", "backup1"):
        assert usernames(inventory, name) == {"drift.kari", "drift.per"}


def ports(inventory, name: str) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {
        (rule.protocol, port)
        for rule in firewall_rules(inventory, inventory.host(name))
        for port in rule.ports
    }


def test_firewall_opens_only_what_the_roles_need() -> None:
    inventory = load_inventory(source="embedded")
    assert ports(inventory, "vdi-kongsberg-1") == {("tcp", "22"), ("tcp", "3389"), ("tcp", "9100")}
    assert ("tcp", "3389") not in ports(inventory, "dc1")
    assert {("tcp", "88"), ("udp", "53"), ("tcp", "389")} <= ports(inventory, "dc1")
    assert ports(inventory, "backup1") == {("tcp", "22"), ("tcp", "9100")}
    assert ports(inventory, "gw1") == {("tcp", "22"), ("tcp", "3389"), ("tcp", "9100")}


def test_ssh_for_operators_comes_only_from_the_admin_address() -> None:
    inventory = load_inventory(source="embedded")
    rules = firewall_rules(inventory, inventory.host("vdi-notodden-1"))
    ssh = [r for r in rules if "22" in r.ports]
    assert [r.source for r in ssh] == ["10.47.0.1/32"]
