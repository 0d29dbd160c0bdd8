"""`lab up` on a running lab leaves /etc/hosts to the base layer: the lab writes only a
host's first one, so a plan right after `lab up` stays clean."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from regionhus.lab import rootfs
from regionhus.lab.inventory import LabHost, LabInventory, LabNetwork

NET = LabNetwork(ipaddress.IPv4Network("10.47.0.0/24"), ipaddress.IPv4Address("10.47.0.1"), "rhbr0")
DC1 = LabHost("dc1", ipaddress.IPv4Address("10.47.0.11"))
INV = LabInventory(NET, (DC1,))


@pytest.fixture
def rootdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "root"
    for sub in ("etc/apt/apt.conf.d", "root"):
        (root / sub).mkdir(parents=True)
    return root


def write(root: Path) -> None:
    rootfs.write_host_files(DC1, INV, root, "ssh-ed25519 AAAA lab", "deb http://x y main\n")


def test_a_new_host_gets_a_first_hosts_file(rootdir: Path) -> None:
    write(rootdir)
    assert "10.47.0.11\tdc1" in (rootdir / "etc/hosts").read_text()


def test_a_host_with_its_own_hosts_file_keeps_it(rootdir: Path) -> None:
    managed = "# Managed by regionhus (base layer): the hosts of the region.\n"
    (rootdir / "etc/hosts").write_text(managed)
    # The host's disk (overlay upper dir) holds its own /etc/hosts: the base layer's.
    upper = rootfs.upper("dc1") / "etc"
    upper.mkdir(parents=True)
    (upper / "hosts").write_text(managed)
    write(rootdir)
    assert (rootdir / "etc/hosts").read_text() == managed
