"""What the monitoring host probes, and who gets alerts: from the inventory by role and
from kommuner/'s `alerts:` key."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from pydantic import ValidationError

from regionhus.inventory import Host, Inventory, Role, load_inventory
from regionhus.model import AlertContact
from regionhus.monitoring.targets import monitoring_vars, probes


def with_hosts(inventory: Inventory, *extra: Host) -> Inventory:
    return Inventory(
        config=inventory.config,
        source=inventory.source,
        network=inventory.network,
        hosts=(*inventory.hosts, *extra),
    )


def host(name: str, address: str, role: Role, serves: str) -> Host:
    return Host(
        name=name, address=IPv4Address(address), roles=[role], serves=serves, site="regionalt-hus"
    )


def test_every_dc_gets_ldap_kerberos_and_dns_and_every_session_host_rdp() -> None:
    inventory = load_inventory(source="embedded")
    found = {(p.host, p.check) for p in probes(inventory)}
    dcs = [h.name for h in inventory.hosts if Role.DIRECTORY in h.roles]
    vdis = [h for h in inventory.hosts if Role.VDI in h.roles]
    assert dcs and vdis
    for dc in dcs:
        assert {(dc, "ldap_bind"), (dc, "kerberos"), (dc, "dns")} <= found
    for vdi in vdis:
        (rdp,) = [p for p in probes(inventory) if p.host == vdi.name]
        assert (rdp.check, rdp.kommune, rdp.target) == (
            "rdp_tls",
            vdi.serves,
            f"{vdi.address}:3389",
        )


def test_a_new_server_is_probed_with_its_municipality() -> None:
    inventory = with_hosts(
        load_inventory(source="embedded"), host("srv-kbg-9", "10.47.0.99", Role.SERVER, "kongsberg")
    )
    (ssh,) = [p for p in probes(inventory) if p.host == "srv-kbg-9"]
    assert (ssh.service, ssh.check, ssh.kommune) == ("server", "ssh", "kongsberg")
    assert "srv-kbg-9" in {n["host"] for n in monitoring_vars(inventory)["nodes"]}


def test_receivers_come_from_alerts_and_the_lab_gets_a_sink() -> None:
    data = monitoring_vars(load_inventory(source="embedded"))
    assert data["kommune_receivers"]["kongsberg"]["email"] == ["driftsvakt@kongsberg.kommune.no"]
    assert "flesberg" not in data["kommune_receivers"]  # no alerts: regional operations only
    assert data["regional_email"] == ["kari.haugen@k-ikt.no", "per.lie@k-ikt.no"]
    assert data["lab_sink"] == "http://10.47.0.1:9099"


@pytest.mark.parametrize(
    "contact",
    [
        {},
        {"email": ["drift@kongsberg"]},
        {"webhook": ["http://varsling.example.no/x"]},
        {"email": ["a@b.no", "a@b.no"]},
        {"sms": ["12345678"]},
    ],
)
def test_alert_contacts_that_reach_no_one_or_leave_unencrypted_are_refused(
    contact: dict[str, list[str]],
) -> None:
    with pytest.raises(ValidationError):
        AlertContact.model_validate(contact)


def test_an_https_webhook_is_a_contact() -> None:
    contact = AlertContact.model_validate({"webhook": ["https://varsling.kongsberg.no/rh"]})
    assert contact.webhook == ["https://varsling.kongsberg.no/rh"]


def test_each_active_pool_is_probed_through_the_gateway() -> None:
    inventory = load_inventory(source="embedded")
    if not [h for h in inventory.hosts if Role.GATEWAY in h.roles]:
        inventory = with_hosts(inventory, host("gw1", "10.47.0.5", Role.GATEWAY, "region"))
    pools = {p.kommune: p for p in probes(inventory) if p.check == "pool"}
    assert pools["kongsberg"].target == "10.47.0.100:3389"
    assert pools["kongsberg"].host == "gw1"
    assert "sigdal" not in pools  # planned: its pool address takes no sessions yet


def test_a_monitoring_host_serving_one_municipality_is_refused() -> None:
    from regionhus.inventory.host_rules import host_problems

    inventory = load_inventory(source="embedded")
    wrong = host("mon9", "10.47.0.9", Role.MONITORING, "kongsberg")
    problems = host_problems([*inventory.hosts, wrong], inventory.network, None)
    (problem,) = [p for p in problems if p.index == len(inventory.hosts)]
    assert (problem.field, problem.hint) == (
        "serves",
        "the monitoring host watches every municipality: write 'region'",
    )
