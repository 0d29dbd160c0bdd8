"""Base layer rules: who may log in where, and which ports each host opens."""

from __future__ import annotations

import os
import subprocess

from regionhus.baselayer import (
    firewall_rules,
    legal_notice,
    operators_for_host,
    sysctl_drift_command,
)
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


def test_sysctl_drift_lists_only_writable_settings_that_differ(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A stand-in for /proc/sys: one setting right, one wrong, one read-only, one absent
    # (root may write a 0444 file: in a container the kernel's are a read-only mount).
    root = tmp_path / "proc" / "sys"
    for key, value in {"net.a.right": "1", "net.a.wrong": "0", "kernel.ro": "0"}.items():
        path = root / key.replace(".", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value + "\n")
    (root / "kernel" / "ro").chmod(0o444)
    settings = {"net.a.right": "1", "net.a.wrong": "1", "kernel.ro": "2", "fs.absent": "0"}
    command = sysctl_drift_command(settings).replace("/proc/sys/", f"{root}/")
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    expected = ["net.a.wrong=1"] if os.geteuid() != 0 else ["net.a.wrong=1", "kernel.ro=2"]
    assert out.stdout.split() == expected


def test_login_banner_names_the_owner_and_says_access_is_logged() -> None:
    text = legal_notice("Kongsbergregionen")
    assert "property of Kongsbergregionen" in text and "logged and monitored" in text
    # /etc/issue is read by agetty, which expands backslash escapes.
    assert "\\" not in text
