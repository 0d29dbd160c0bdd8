"""Backup repositories and jobs come from the whole region, decided in one place."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from regionhus.backup import keys
from regionhus.backup.repositories import RepositoryState, jobs_for, repositories
from regionhus.backup.status import expected_schedules
from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.secrets import required_secrets

REPO = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMgOn0aPwsD2ldPNYmxdv7LH62BZfg8LiotegPbVrh9b"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def by_name(repos):  # type: ignore[no-untyped-def]
    return {r.name: r for r in repos}


def test_region_repository_settings_come_from_region_yml(region_copy: Path) -> None:
    text = (region_copy / "region.yml").read_text().replace("quota_gb: 200", "quota_gb: 321")
    (region_copy / "region.yml").write_text(text)
    region = by_name(repositories(load_region(region_copy)))["region"]
    assert region.quota_gb == 321
    assert region.state is RepositoryState.ACTIVE
    assert region.retention.yearly == 2


def test_clients_are_every_host_of_the_region_with_their_recorded_keys(state: Path) -> None:
    inventory = load_inventory(REPO, "embedded")
    keys.record("vdi-notodden-1", keys.BACKUP_CLIENT, KEY + " regionhus-backup@vdi-notodden-1")
    repos = by_name(repositories(inventory.config, inventory.hosts, {"vdi-notodden-1": KEY}))
    assert [c.host for c in repos["region"].clients] == ["dc1", "dc2"]
    assert [c.host for c in repos["kongsberg"].clients] == [
        "srv-kongsberg-1",
        "vdi-kongsberg-1",
        "vdi-kongsberg-2",
    ]
    notodden = [(c.host, c.public_key) for c in repos["notodden"].clients]
    assert notodden == [("srv-notodden-1", None), ("vdi-notodden-1", KEY)]
    # A server writes to its own municipality's repository, and only there.
    assert [c.host for c in repos["nore-og-uvdal"].clients] == ["srv-nou-1"]
    # The inventory exports the same, with the key recorded on this control machine.
    exported = {r["name"]: r for r in inventory.global_vars()["regionhus_backup_repositories"]}
    assert exported["notodden"]["clients"][1]["public_key"] == KEY
    assert exported["kongsberg"]["clients"][0]["public_key"] is None


def test_a_server_backs_up_its_data_paths_into_its_own_repository() -> None:
    inventory = load_inventory(REPO, "embedded")
    repos = inventory.backup_repositories
    jobs = [j.to_vars() for j in jobs_for(inventory.host("srv-tinn-1"), repos)]
    assert jobs == [
        {
            "repository": "tinn",
            "kind": "data",
            "schedule": {"every_hours": 24, "at": "02:00"},
            "paths": ["/srv/data"],
        }
    ]


def test_a_municipality_that_left_keeps_its_repository_but_no_job(region_copy: Path) -> None:
    path = region_copy / "kommuner" / "notodden.yml"
    text = path.read_text().replace("status: active ", "status: left   ")
    path.write_text(
        text.replace(
            "member_from: 2008-01-01", "member_from: 2008-01-01\n  member_until: 2020-01-01"
        )
    )
    inventory = load_inventory(region_copy, "embedded")
    repos = by_name(inventory.backup_repositories)
    assert repos["notodden"].state is RepositoryState.ENDED
    assert [c.host for c in repos["notodden"].clients] == ["srv-notodden-1", "vdi-notodden-1"]
    assert jobs_for(inventory.host("vdi-notodden-1"), repos.values()) == []
    assert jobs_for(inventory.host("srv-notodden-1"), repos.values()) == []
    assert "notodden" not in expected_schedules(inventory.config)
    assert "notodden" in {
        r["name"] for r in inventory.global_vars()["regionhus_backup_repositories"]
    }


def test_a_planned_municipality_gets_a_passphrase_but_nothing_served(region_copy: Path) -> None:
    config = load_region(region_copy, on=dt.date(2012, 6, 1))  # before Rollag's backup starts
    repos = by_name(repositories(config))
    assert repos["rollag"].state is RepositoryState.PLANNED
    assert "rollag" in required_secrets(config)["vault_backup_passphrases"]
    assert "rollag" not in expected_schedules(config)


def test_jobs_secrets_and_status_agree_on_the_repositories(repo: Path) -> None:
    inventory = load_inventory(repo, "embedded")
    active = {r.name for r in inventory.backup_repositories if r.state is RepositoryState.ACTIVE}
    assert set(expected_schedules(inventory.config)) == active
    assert active <= set(required_secrets(inventory.config)["vault_backup_passphrases"])
    written = {
        job["repository"]
        for host in inventory.hosts
        for job in inventory.hostvars(host)["regionhus_backup_jobs"]
    }
    assert written <= active
    dc_jobs = inventory.hostvars(inventory.host("dc1"))["regionhus_backup_jobs"]
    assert dc_jobs == [
        {"repository": "region", "kind": "samba", "schedule": {"every_hours": 24, "at": "00:30"}}
    ]


def test_key_records_survive_and_reject_garbage(state: Path) -> None:
    assert keys.record("backup1", keys.SSH_HOST, KEY + " root@backup1") is True
    assert keys.record("backup1", keys.SSH_HOST, KEY) is False  # same key: no change
    assert keys.recorded_key("backup1", keys.SSH_HOST) == KEY
    assert load_inventory(REPO, "embedded").backup_server_vars() == {
        "name": "backup1",
        "address": "10.47.0.21",
        "host_key": KEY,
    }
    with pytest.raises(ValueError, match="not an OpenSSH public key"):
        keys.record("backup1", keys.SSH_HOST, "hello")
    with pytest.raises(ValueError, match="not a host name"):
        keys.record("../etc", keys.SSH_HOST, KEY)
