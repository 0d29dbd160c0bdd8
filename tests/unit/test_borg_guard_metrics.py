"""The guard's verdict for the monitoring host: node exporter textfiles per repository."""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUARD = (
    REPO / "roles" / "backup_server" / "files" / "usr" / "local" / "sbin" / "regionhus-borg-guard"
)
RECORDED = REPO / "tests" / "fixtures" / "borg"

loader = importlib.machinery.SourceFileLoader("regionhus_borg_guard_metrics", str(GUARD))
spec = importlib.util.spec_from_loader(loader.name, loader)
assert spec is not None
guard = importlib.util.module_from_spec(spec)
loader.exec_module(guard)


def samples(text: str) -> dict[str, float]:
    return {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_newest_archive_is_the_latest_start_in_borg_list() -> None:
    listing = json.loads((RECORDED / "list-21.json").read_text())
    starts = [a["start"] for a in listing["archives"]]
    assert guard.newest_start(listing) == max(starts)
    assert guard.newest_start({"archives": []}) is None


@pytest.fixture
def region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for sub in ("state", "alerts", "textfile"):
        (tmp_path / sub).mkdir()
    repos = {
        "kongsberg": {"path": "/nonexistent", "state": "active", "every_hours": 24},
        "flesberg": {"path": "/nonexistent", "state": "ended", "every_hours": 24},
    }
    cfg = {
        "state_dir": str(tmp_path / "state"),
        "alert_dir": str(tmp_path / "alerts"),
        "textfile_dir": str(tmp_path / "textfile"),
        "repositories": repos,
    }
    (tmp_path / "repositories.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("REGIONHUS_BACKUP_CONFIG", str(tmp_path / "repositories.json"))
    return tmp_path


def test_a_standing_client_delete_is_exported_with_the_newest_archive(region: Path) -> None:
    newest = "2026-11-29T01:00:04.000000+00:00"
    (region / "alerts" / "kongsberg.json").write_text(json.dumps({"newest_archive_start": newest}))
    guard.export_metrics("kongsberg")
    text = (region / "textfile" / "regionhus_backup_kongsberg.prom").read_text()
    got = samples(text)
    assert got['regionhus_backup_guard_client_delete{repository="kongsberg"}'] == 1
    stamp = dt.datetime(2026, 11, 29, 1, 0, 4, tzinfo=dt.UTC).timestamp()
    assert got['regionhus_backup_newest_archive_timestamp_seconds{repository="kongsberg"}'] == stamp
    assert got['regionhus_backup_schedule_interval_seconds{repository="kongsberg"}'] == 86400


def test_an_ended_repository_has_no_schedule_to_be_late_for(region: Path) -> None:
    state = {"transaction": 3, "archives": {}, "newest_archive_start": None}
    (region / "state" / "flesberg.json").write_text(json.dumps(state))
    guard.export_metrics("flesberg")
    got = samples((region / "textfile" / "regionhus_backup_flesberg.prom").read_text())
    assert got['regionhus_backup_guard_client_delete{repository="flesberg"}'] == 0
    assert not [k for k in got if "schedule_interval" in k or "newest_archive" in k]
