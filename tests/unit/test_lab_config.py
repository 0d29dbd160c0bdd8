"""Pure logic of the lab: ssh config, apt proxy config, mirrors, names, nspawn command."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from regionhus.lab import aptproxy, machines, network, system
from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabHost, LabInventory, LabNetwork, check_inventory
from regionhus.lab.mirror import Mirrors, configured_mirrors
from regionhus.lab.ssh import render_ssh_config, ssh_command

NET = LabNetwork(
    subnet=ipaddress.IPv4Network("10.47.0.0/24"),
    bridge_address=ipaddress.IPv4Address("10.47.0.1"),
    bridge="rhbr0",
)
HOSTS = (
    LabHost("dc1", ipaddress.IPv4Address("10.47.0.11")),
    LabHost("vdi-kongsberg-1", ipaddress.IPv4Address("10.47.0.31")),
)
INV = LabInventory(NET, HOSTS)
MIRRORS = Mirrors(debian="http://mirror.example/debian", security="http://mirror.example/sec")


def test_ssh_config_binds_to_bridge_and_names_every_host() -> None:
    text = render_ssh_config(INV, Path("/s/key"), Path("/s/known"), Path("/s/cm"))
    assert "Host dc1 10.47.0.11\n    HostName 10.47.0.11" in text
    assert "Host vdi-kongsberg-1 10.47.0.31\n    HostName 10.47.0.31" in text
    common = text[text.index("Host dc1 vdi-kongsberg-1 10.47.0.11 10.47.0.31") :]
    for option in (
        "User root",
        "IdentityFile /s/key",
        "BindInterface rhbr0",
        "ServerAliveInterval",
        "UserKnownHostsFile /s/known",
        "StrictHostKeyChecking accept-new",
        "ControlPath /s/cm/%C",
    ):
        assert option in common
    # No catch-all block: the config must not change ssh to anything outside the lab.
    assert "Host *" not in text


def test_ssh_command_quotes_argv() -> None:
    argv = ssh_command("dc1", ["echo", "a b"])
    assert argv[-3:] == ["dc1", "--", "echo 'a b'"]
    assert ssh_command("dc1", "hostname")[-1] == "hostname"


def test_apt_proxy_listens_on_bridge_only_with_explicit_backends() -> None:
    conf = aptproxy.render_config(NET, MIRRORS, Path("/c"), Path("/l"))
    assert "BindAddress: 10.47.0.1\n" in conf
    assert "Remap-debrep: /debian ; http://mirror.example/debian/" in conf
    assert "Remap-secdeb: /debian-security ; http://mirror.example/sec/" in conf
    sources = aptproxy.apt_sources(NET, MIRRORS, "bookworm")
    assert "deb http://10.47.0.1:3142/debian bookworm main" in sources
    assert "deb http://10.47.0.1:3142/debian-security bookworm-security main" in sources


def test_apt_sources_without_security_mirror() -> None:
    sources = aptproxy.apt_sources(NET, Mirrors("http://m/debian", None), "bookworm")
    assert "security" not in sources


def test_mirror_read_from_deb822_and_list_files(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://m.example/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://m.example/debian-security/\nSuites: bookworm-security\n"
    )
    (d / "other.list").write_text(
        "deb [signed-by=/k.gpg] https://x.example/apt cloud-bookworm main\n"
    )
    mirrors = configured_mirrors((tmp_path / "sources.list", d))
    assert mirrors == Mirrors("http://m.example/debian", "http://m.example/debian-security")


def test_mirror_from_one_line_list(tmp_path: Path) -> None:
    f = tmp_path / "sources.list"
    f.write_text("deb [arch=amd64 signed-by=/a b.gpg] http://m.example/debian bookworm main\n")
    assert configured_mirrors((f,)).debian == "http://m.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no apt source"):
        configured_mirrors((tmp_path / "none",))


def test_veth_names_fit_the_kernel_limit_and_differ() -> None:
    names = {network.veth_name(h) for h in ("vdi-kongsberg-1", "vdi-kongsberg-2", "dc1")}
    assert len(names) == 3
    assert all(len(n) <= 15 for n in names)


def test_nspawn_runs_in_the_hosts_namespace_detached() -> None:
    args = machines.nspawn_args(HOSTS[0], Path("/r"))
    assert args[0] == "systemd-nspawn"
    for arg in (
        "--boot",
        "--directory=/r",
        "--machine=dc1",
        "--register=no",
        "--keep-unit",
        "--console=passive",
        "--network-namespace-path=/run/netns/dc1",
    ):
        assert arg in args
    assert not any(a.startswith("--network-veth") for a in args)


def test_inventory_outside_private_space_is_refused() -> None:
    public = LabNetwork(
        ipaddress.IPv4Network("8.8.8.0/24"), ipaddress.IPv4Address("8.8.8.1"), "rhbr0"
    )
    with pytest.raises(LabError, match="not private"):
        check_inventory(LabInventory(public, ()), "test")
    stray = LabInventory(NET, (LabHost("x", ipaddress.IPv4Address("10.48.0.5")),))
    with pytest.raises(LabError, match="not a host address"):
        check_inventory(stray, "test")


def test_not_root_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match=re.escape("sudo .venv/bin/regionhus lab up")):
        system.require_root("up")


def test_missing_tools_map_to_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        system.shutil, "which", lambda tool: None if tool == "systemd-nspawn" else "/x"
    )
    monkeypatch.setattr(system, "package_installed", lambda pkg: True)
    assert system.missing_packages() == ["systemd-container"]
