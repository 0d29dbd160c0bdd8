"""The NetBox source and drift check, replaying responses recorded from the real NetBox.

Fixtures in tests/fixtures/netbox/ are written by the live tests with
REGIONHUS_RECORD_NETBOX_FIXTURES=1 (see tests/netbox/test_netbox_live.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.netbox.check import check
from regionhus.netbox.client import NetBoxAuthError, NetBoxClient, Replay
from regionhus.netbox.settings import NetBoxConfigError, NetBoxSettings, load_settings
from regionhus.netbox.source import BadRecords, NetBoxSource, convert, load_host_file

REPO = Path(__file__).resolve().parent.parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "netbox"
URL = "http://netbox.invalid"


def replay_source(name: str, skip: bool = False, cache: bool = False) -> NetBoxSource:
    settings = NetBoxSettings(URL, "nbt_recorded.token", skip_bad_records=skip, use_cache=cache)
    return NetBoxSource(REPO, settings, transport=Replay(FIXTURES / name, URL), warn=lambda _: None)


def test_recorded_inventory_gives_the_lab_hosts() -> None:
    hosts = {h.name: h for h in replay_source("inventory.json").load().hosts}
    # Recorded from a NetBox seeded with the embedded hosts: every fact came back,
    # a server's service objects and data paths (its backup job) included.
    assert hosts == {h.name: h for h in load_host_file(REPO).hosts}
    assert hosts["dc1"].serves == "region" and hosts["dc1"].tags == ["ad-pdc"]
    assert hosts["srv-kongsberg-1"].data_paths and hosts["srv-kongsberg-1"].services
    assert str(hosts["vdi-notodden-1"].address) == "10.47.0.33"


def test_recorded_bad_records_are_each_named() -> None:
    with pytest.raises(BadRecords) as err:
        replay_source("bad_records.json").load()
    names = {p.split(":")[0] for p in err.value.problems}
    assert names == {"no-ip", "no-role", "foreign", "dup-addr", "dc1"}
    assert err.value.exit_code == 3


def test_recorded_bad_records_skipped_on_request() -> None:
    hosts = replay_source("bad_records.json", skip=True).load().hosts
    # dc1 was made bad (a second VM on its address); the good ones all load.
    assert {h.name for h in hosts} == {h.name for h in load_host_file(REPO).hosts} - {"dc1"}


def test_recorded_wrong_token_is_an_auth_error() -> None:
    client = NetBoxClient(URL, "nbt_bad.token", Replay(FIXTURES / "bad_token.json", URL))
    with pytest.raises(NetBoxAuthError, match="refused the token"):
        client.get("/api/status/")


def test_recorded_drift_names_both_directions() -> None:
    client = NetBoxClient(URL, "nbt_recorded.token", Replay(FIXTURES / "check_drift.json", URL))
    kinds = {(d.kind, d.subject) for d in check(client, load_region(REPO))}
    assert ("tenant-without-file", "lier") in kinds
    assert ("vdi-pool", "notodden") in kinds


def test_cache_answers_when_change_log_head_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIONHUS_CACHE_DIR", str(tmp_path))
    first = replay_source("inventory.json", cache=True)
    first.load()
    assert not first.from_cache
    again = replay_source("inventory.json", cache=True)
    assert again.load().hosts == first.load().hosts
    assert again.from_cache


def test_inactive_vms_are_not_inventory() -> None:
    rec = {
        "name": "old",
        "status": "decommissioning",
        "role": {"slug": "vdi"},
        "tenant": {"slug": "kongsberg"},
        "site": {"slug": "regionalt-hus"},
        "primary_ip4": {"address": "10.47.0.99/24"},
        "tags": [],
    }
    result = convert([rec], {"kongsberg"})
    assert result.hosts == [] and result.problems == [] and result.inactive == 1


def test_half_configured_netbox_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REGIONHUS_NETBOX_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.setenv("REGIONHUS_NETBOX_URL", "http://127.0.0.1:8470")
    monkeypatch.delenv("REGIONHUS_NETBOX_TOKEN", raising=False)
    with pytest.raises(NetBoxConfigError, match="REGIONHUS_NETBOX_TOKEN is missing"):
        load_settings()


def test_settings_file_outside_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / "netbox.env"
    env.write_text(
        "# local NetBox\n"
        "REGIONHUS_NETBOX_URL=http://127.0.0.1:8470/\n"
        "export REGIONHUS_NETBOX_TOKEN='nbt_a.b'\n"
    )
    monkeypatch.setenv("REGIONHUS_NETBOX_ENV_FILE", str(env))
    monkeypatch.delenv("REGIONHUS_NETBOX_URL", raising=False)
    monkeypatch.delenv("REGIONHUS_NETBOX_TOKEN", raising=False)
    settings = load_settings()
    assert (settings.url, settings.token) == ("http://127.0.0.1:8470", "nbt_a.b")
