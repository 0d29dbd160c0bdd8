"""testinfra checks of the VDI session hosts (role vdi_session_host), over SSH.

Run after `python -m regionhus.engines playbooks/vdi.yml`: xrdp listening with the
region's certificate, the host joined to the AD, the login rule of its pool in effect.
"""

from __future__ import annotations

import datetime as dt

import pytest
import testinfra

from regionhus.engines import run_ansible
from regionhus.inventory import Inventory
from regionhus.lab import require_lab_bridge, ssh_config_path
from regionhus.model import ServiceName

pytestmark = pytest.mark.lab

REALM = "AD.KONGSBERGREGIONEN.INTERNAL"
ACCESS_FILE = "/etc/security/access-xrdp-sesman.conf"


def vdi_hosts(inventory: Inventory) -> list[str]:
    return [h.name for h in inventory.hosts if "vdi" in h.roles]


@pytest.fixture(scope="module")
def vdi(inventory: Inventory) -> dict[str, testinfra.host.Host]:
    require_lab_bridge()
    config = str(ssh_config_path())
    return {
        name: testinfra.get_host(f"ssh://{name}", ssh_config=config)
        for name in vdi_hosts(inventory)
    }


def pool_state(inventory: Inventory, name: str) -> str:
    host = inventory.host(name)
    kommune = inventory.config.kommuner[host.serves]
    active = (
        kommune.service_state(ServiceName.VDI, dt.date.today()) == "active"
        and "draining" not in host.tags
    )
    return "active" if active else "draining"


@pytest.fixture(params=["vdi-kongsberg-1", "vdi-kongsberg-2", "vdi-notodden-1"])
def name(request: pytest.FixtureRequest, inventory: Inventory) -> str:
    if request.param not in vdi_hosts(inventory):
        pytest.skip(f"{request.param} is not a VDI host in this inventory")
    return str(request.param)


def test_xrdp_listens_with_the_managed_certificate(name, vdi, inventory) -> None:  # type: ignore[no-untyped-def]
    host = vdi[name]
    assert host.service("xrdp").is_running and host.service("xrdp").is_enabled
    assert (
        host.socket("tcp://0.0.0.0:3389").is_listening or host.socket("tcp://:::3389").is_listening
    )
    ini = host.file("/etc/xrdp/xrdp.ini").content_string
    assert "certificate=/etc/xrdp/tls/cert.pem" in ini
    assert "security_layer=tls" in ini
    assert "ssl-cert" in host.user("xrdp").groups
    fqdn = inventory.fqdn(inventory.host(name))
    subject = host.check_output("openssl x509 -noout -subject -in /etc/xrdp/tls/cert.pem")
    assert fqdn in subject
    # Signed by the region's CA (installed in the host's trust store), not snakeoil.
    host.run_expect([0], "openssl verify -untrusted /etc/xrdp/tls/cert.pem /etc/xrdp/tls/cert.pem")


def _realm_list(host: testinfra.host.Host) -> str:
    """`realm list`, asked again when realmd's D-Bus activation times out (25 s): on a
    loaded machine the first start can take longer; the join itself is adcli testjoin's."""
    for _ in range(3):
        result = host.run("realm list")
        if result.rc == 0:
            return result.stdout
        # GLib says "Timeout was reached" or "... timed out", by version and by stage.
        assert any(t in result.stderr for t in ("timed out", "Timeout was reached")), result.stderr
    raise AssertionError(f"realm list: {result.stderr}")


def test_joined_to_the_domain(name, vdi) -> None:  # type: ignore[no-untyped-def]
    host = vdi[name]
    host.run_expect([0], "adcli testjoin --domain=%s", REALM.lower())
    realm = _realm_list(host)
    assert REALM.lower() in realm
    assert "configured: kerberos-member" in realm
    assert host.service("sssd").is_running
    # The domain's users resolve through sssd with plain names.
    assert host.run("getent passwd administrator").rc == 0


def test_login_rule_in_effect(name, vdi, inventory) -> None:  # type: ignore[no-untyped-def]
    host = vdi[name]
    slug = inventory.host(name).serves
    sssd = host.run("cat /etc/sssd/sssd.conf").stdout
    assert "access_provider = simple" in sssd
    allow = next(line for line in sssd.splitlines() if line.startswith("simple_allow_groups"))
    groups = [g.strip() for g in allow.split("=", 1)[1].split(",")]
    assert groups[0] == f"{slug}-vdi-users"
    others = {f"{k}-vdi-users" for k in inventory.config.kommuner} - {f"{slug}-vdi-users"}
    assert not others & set(groups)
    assert "use_fully_qualified_names = False" in sssd
    pam = host.file("/etc/pam.d/xrdp-sesman").content_string
    assert f"pam_access.so accessfile={ACCESS_FILE}" in pam
    assert "pam_mkhomedir.so" in host.file("/etc/pam.d/common-session").content_string
    access = host.file(ACCESS_FILE).content_string
    rules = [line for line in access.splitlines() if line and not line.startswith("#")]
    assert rules[-1] == "- : ALL : ALL"
    if pool_state(inventory, name) == "active":
        assert f"+ : ({slug}-vdi-users)" in access
    else:
        assert rules == ["- : ALL : ALL"]


def test_second_apply_changes_nothing(vdi) -> None:  # type: ignore[no-untyped-def]
    result = run_ansible("playbooks/vdi.yml", stream=False)
    assert result.ok, result.output[-3000:]
    assert set(vdi) <= set(result.changed), result.output[-2000:]
    assert {h: result.changed[h] for h in vdi} == dict.fromkeys(vdi, 0), result.output[-4000:]
