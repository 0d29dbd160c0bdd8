"""testinfra checks of the base layer on every lab host, over SSH."""

from __future__ import annotations

import pytest

from regionhus.baselayer import OPERATOR_GROUP, firewall_rules, operators_for_host
from regionhus.engines import run_pyinfra
from regionhus.lab import lab_host_names

HOSTS = lab_host_names()


@pytest.fixture(params=HOSTS)
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_hostname_and_hosts_entries(name, lab_hosts, inventory) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    assert host.check_output("hostname") == name
    hosts_file = host.file("/etc/hosts").content_string
    for other in inventory.hosts:
        assert f"{other.address}\t{inventory.fqdn(other)} {other.name}" in hosts_file


def test_operators_have_accounts_and_keys(name, lab_hosts, inventory) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    for op in operators_for_host(inventory, inventory.host(name)):
        user = host.user(op.username)
        assert user.exists
        assert OPERATOR_GROUP in user.groups
        keys = host.file(f"/home/{op.username}/.ssh/authorized_keys")
        assert keys.exists and op.ssh_public_key.split()[1] in keys.content_string


def test_municipal_operators_of_others_have_no_account(name, lab_hosts, inventory) -> None:  # type: ignore[no-untyped-def]
    entitled = {op.username for op in operators_for_host(inventory, inventory.host(name))}
    everyone = {op.username for k in inventory.config.kommuner.values() for op in k.operators}
    host = lab_hosts[name]
    for username in everyone - entitled:
        user = host.user(username)
        assert not user.exists or OPERATOR_GROUP not in user.groups, username


def test_sshd_settings_in_effect(name, lab_hosts) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    effective = dict(
        line.split(" ", 1) for line in host.check_output("sshd -T").splitlines() if " " in line
    )
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "without-password"
    assert "cbc" not in effective["ciphers"] and "3des" not in effective["ciphers"]
    # What Lynis asks for and the engines still work with (bench/hardening.md).
    assert effective["allowtcpforwarding"] == "no"
    assert effective["loglevel"] == "VERBOSE"
    assert (effective["clientalivecountmax"], effective["tcpkeepalive"]) == ("2", "no")
    assert host.service("ssh").is_running


def test_login_hardening_in_effect(name, lab_hosts) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    login_defs = host.file("/etc/login.defs").content_string.splitlines()
    assert "UMASK 027" in login_defs
    # No maximum password age: pam_unix would expire the key-only accounts.
    assert "PASS_MAX_DAYS\t99999" in login_defs
    assert "property of" in host.file("/etc/issue.net").content_string
    # A login shell dumps no core (profile.d), and the modules no host uses are off.
    assert host.check_output("bash -lc 'ulimit -c'") == "0"
    modprobe = host.file("/etc/modprobe.d/regionhus.conf").content_string
    assert "install usb-storage /bin/false" in modprobe


def test_firewall_loaded_with_only_the_roles_ports(name, lab_hosts, inventory) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    ruleset = host.check_output("nft list table inet regionhus")
    assert "policy drop" in ruleset
    for rule in firewall_rules(inventory, inventory.host(name)):
        for port in rule.ports:
            assert port in ruleset
    # RDP only where a session host or the VDI broker (its pools' addresses) listens.
    if not {"vdi", "gateway"} & set(inventory.host(name).roles):
        assert "3389" not in ruleset
    assert host.service("nftables").is_enabled


def test_journal_is_persistent_and_upgrades_unattended(name, lab_hosts) -> None:  # type: ignore[no-untyped-def]
    host = lab_hosts[name]
    assert host.file("/var/log/journal").is_directory
    assert "Storage=persistent" in host.check_output(
        "systemd-analyze cat-config systemd/journald.conf"
    )
    assert host.package("unattended-upgrades").is_installed
    assert (
        'Unattended-Upgrade "1"' in host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    )


def test_second_apply_changes_nothing(lab_hosts) -> None:  # type: ignore[no-untyped-def]
    result = run_pyinfra("deploys/base.py", stream=False)
    assert result.ok, result.output[-3000:]
    assert result.changed, "no per-host results parsed from pyinfra's output"
    assert result.total_changed == 0, result.changed
