"""VDI pools: members and drain states, pool_size findings, the broker's firewall, and the
session hosts' RDP only from the broker."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from regionhus.baselayer import firewall_rules
from regionhus.inventory import Host, Inventory, Role, load_inventory
from regionhus.inventory.vdi_pools import pool_findings, pool_name, vdi_pools

# Explicit: another test's `regionhus --root` may have left REGIONHUS_ROOT behind.
REPO = Path(__file__).resolve().parents[2]


def with_hosts(inventory: Inventory, hosts: list[Host]) -> Inventory:
    return Inventory(inventory.config, inventory.source, inventory.network, tuple(hosts))


def tagged(host: Host, tag: str) -> Host:
    return host.model_copy(update={"tags": [*host.tags, tag]})


def test_lab_pools_have_their_hosts_names_and_addresses() -> None:
    inventory = load_inventory(REPO, "embedded")
    pools = {p.slug: p for p in vdi_pools(inventory.config, inventory.hosts)}
    kongsberg = pools["kongsberg"]
    assert kongsberg.name == "vdi-kongsberg.ad.kongsbergregionen.internal"
    assert kongsberg.address == IPv4Address("10.47.0.100")
    assert [(m.name, m.state) for m in kongsberg.members] == [
        ("vdi-kongsberg-1", "active"),
        ("vdi-kongsberg-2", "active"),
    ]
    # Sigdal takes VDI only from 2027: no pool (and nothing to find) before then.
    assert "sigdal" not in pools
    assert pool_findings(inventory.config, inventory.hosts, "the inventory") == []


def test_draining_tag_drains_one_host_of_the_pool() -> None:
    inventory = load_inventory(REPO, "embedded")
    hosts = [tagged(h, "draining") if h.name == "vdi-kongsberg-2" else h for h in inventory.hosts]
    pool = next(p for p in vdi_pools(inventory.config, hosts) if p.slug == "kongsberg")
    assert {m.name: m.state for m in pool.members} == {
        "vdi-kongsberg-1": "active",
        "vdi-kongsberg-2": "draining",
    }


def test_pool_size_differs_from_the_hosts_is_a_finding() -> None:
    inventory = load_inventory(REPO, "embedded")
    hosts = [h for h in inventory.hosts if h.name != "vdi-kongsberg-2"]
    findings = pool_findings(inventory.config, hosts, "NetBox")
    assert [(f.kommune, f.kind) for f in findings] == [("kongsberg", "pool-size")]
    assert "pool_size 2 in kommuner/kongsberg.yml, 1 session host(s) in NetBox" in (
        findings[0].message
    )


def test_pool_name_is_one_rule() -> None:
    assert pool_name("nore-og-uvdal", "ad.example.internal") == (
        "vdi-nore-og-uvdal.ad.example.internal"
    )


def test_broker_opens_each_pool_only_to_its_municipality_and_operations() -> None:
    inventory = load_inventory(REPO, "embedded")
    rules = {
        r.destination: r for r in firewall_rules(inventory, inventory.host("gw1")) if r.destination
    }
    kongsberg, notodden = rules["10.47.0.100"], rules["10.47.0.101"]
    assert kongsberg.ports == notodden.ports == ("3389",)
    for network in inventory.config.kommuner["kongsberg"].client_networks:
        assert str(network) in kongsberg.source
        assert str(network) not in notodden.source
    for network in inventory.config.kommuner["notodden"].client_networks:
        assert str(network) in notodden.source
        assert str(network) not in kongsberg.source
    assert "10.47.0.1/32" in kongsberg.source  # operations (the lab's admin address)


def test_session_hosts_take_rdp_from_the_broker_not_from_clients() -> None:
    inventory = load_inventory(REPO, "embedded")
    rdp = [
        r for r in firewall_rules(inventory, inventory.host("vdi-kongsberg-1")) if "3389" in r.ports
    ]
    sources = " ".join(r.source for r in rdp)
    assert "10.47.0.5/32" in sources  # gw1
    assert "10.47.0.0/24" not in sources
    for network in inventory.config.kommuner["kongsberg"].client_networks:
        assert str(network) not in sources


def test_without_a_broker_session_hosts_are_reached_directly() -> None:
    inventory = load_inventory(REPO, "embedded")
    no_gateway = with_hosts(inventory, [h for h in inventory.hosts if Role.GATEWAY not in h.roles])
    rdp = [
        r
        for r in firewall_rules(no_gateway, no_gateway.host("vdi-kongsberg-1"))
        if "3389" in r.ports
    ]
    assert "10.47.0.0/24" in {r.source for r in rdp}


def test_plan_shows_a_pool_of_the_wrong_size_in_every_format() -> None:
    from regionhus.plan.model import Plan
    from regionhus.plan.report import render_json, render_markdown, render_text

    inventory = load_inventory(REPO, "embedded")
    hosts = [h for h in inventory.hosts if h.name != "vdi-kongsberg-2"]
    plan = Plan({}, pool_findings=pool_findings(inventory.config, hosts, "the inventory"))
    for render in (render_text, render_markdown, render_json):
        text = render(plan, inventory.config)
        assert "pool_size 2 in kommuner/kongsberg.yml, 1 session host(s)" in text, render
    assert int(plan.exit_code) == 0  # a finding, not a change: the plan applies nothing
