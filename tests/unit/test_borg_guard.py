"""The backup guard's decisions, on borg output recorded on the lab's backup1.

The recording (tests/fixtures/borg/record.py) is one window of repository notodden in
which the guard looked only at the start (state.json, transaction T1) and at the end:

    T1 a backup (A)   T2 client creates X   T3 client deletes X
    T4 a backup (B)   T5 client deletes A

list-<T>.json is `borg list --json` of the repository at each transaction, alert.json
what the real guard decided at the end.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SBIN = REPO / "roles" / "backup_server" / "files" / "usr" / "local" / "sbin"
RECORDED = REPO / "tests" / "fixtures" / "borg"


def load_script(name: str) -> ModuleType:
    """Import an installed script (no .py suffix) as a module."""
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(SBIN / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


guard = load_script("regionhus-borg-guard")
rollback = load_script("regionhus-borg-rollback")
drill = load_script("regionhus-borg-drill")


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


TXNS = guard.parse_transactions((RECORDED / "transactions").read_text())
STATE = recorded("state.json")
ALERT = recorded("alert.json")
AT = {t: guard.archive_ids(recorded(f"list-{t}.json")) for t in TXNS if t >= STATE["transaction"]}
T1, T2, T3, T4, T5 = sorted(AT)[-5:]


def archives_at(txn: int) -> dict[str, str] | None:
    return AT.get(txn)


def test_recording_is_the_scenario() -> None:
    assert STATE["transaction"] == T1
    assert AT[T1] == STATE["archives"]
    created = set(AT[T2]) - set(AT[T1])
    assert len(created) == 1, "T2 is the client's create of X"
    assert set(AT[T3]) == set(AT[T1]), "T3 is its delete of X"
    (b,) = set(AT[T4]) - set(AT[T3])
    (a,) = set(AT[T4]) - set(AT[T5])
    assert a in AT[T1] and b in AT[T5], "T4 is a backup (B), T5 the client's delete of A"


def test_transaction_log_is_read_in_order() -> None:
    assert sorted(TXNS) == TXNS
    assert len(TXNS) >= 5
    assert guard.parse_transactions("garbage\ntransaction 7, UTC time x\n") == [7]


def test_a_normal_backup_vanishes_nothing() -> None:
    assert guard.vanished(AT[T3], AT[T4]) == []


def test_create_then_delete_between_two_looks_is_seen() -> None:
    # Looking only at the ends (what the guard did before), nothing seems gone:
    assert guard.vanished(AT[T1], AT[T3]) == []
    # Reading every client transaction in between, X is known and gone.
    seen = [AT[t] for t in guard.between(TXNS, T1, T3 - 1)]
    known = guard.learn(AT[T1], *seen)
    (x,) = set(AT[T2]) - set(AT[T1])
    assert guard.vanished(known, AT[T3]) == [x]
    assert guard.newest_good({x: known[x]}, guard.between(TXNS, T1, T3), archives_at, T1) == T2


def test_delete_of_an_old_archive_is_seen_and_the_transaction_before_it_is_good() -> None:
    gone = sorted(set(AT[T4]) - set(AT[T5]))
    assert guard.vanished(AT[T4], AT[T5]) == gone and gone
    assert guard.newest_good(AT[T4], guard.between(TXNS, T3, T5), archives_at, T3) == T4


def test_the_guard_on_the_lab_decided_as_the_decisions_here() -> None:
    seen = [AT[t] for t in guard.between(TXNS, T1, T5 - 1)]
    known = guard.learn(STATE["archives"], *seen)
    missing = guard.vanished(known, AT[T5])
    assert missing == ALERT["missing"]
    required = {**STATE["archives"], **{n: known[n] for n in missing}}
    good = guard.newest_good(required, guard.between(TXNS, T1, T5), archives_at, T1)
    # A and X exist together only at T2: that is where a rollback brings both back.
    assert good == ALERT["good_transaction"] == T2
    assert ALERT["last_checked_transaction"] == T1 and ALERT["current_transaction"] == T5


def test_an_archive_replaced_under_the_same_name_counts_as_vanished() -> None:
    name, archive_id = next(iter(AT[T1].items()))
    assert guard.vanished({name: archive_id}, {name: "0" * 64}) == [name]


def test_checkpoints_are_not_the_clients_to_keep() -> None:
    listing = recorded(f"list-{T1}.json")
    first = listing["archives"][0]
    listing["archives"].append({**first, "name": first["name"] + ".checkpoint", "id": "c" * 64})
    listing["archives"].append({**first, "name": first["name"] + ".checkpoint.1", "id": "d" * 64})
    assert guard.archive_ids(listing) == AT[T1]


def test_an_unreadable_transaction_is_skipped_and_the_last_look_is_the_fallback() -> None:
    (x,) = set(AT[T2]) - set(AT[T1])
    required = {x: AT[T2][x]}
    assert guard.newest_good(required, [T2, T3], lambda t: None if t == T2 else AT[t], T1) == T1


# --- the rollback's and the drill's decisions ------------------------------------------


def test_rollback_moves_newer_segments_and_every_index(tmp_path: Path) -> None:
    for segment in (3, 5, 8, 9):
        (tmp_path / "data" / "0").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "0" / str(segment)).write_text("")
    for name in ("index.9", "hints.9", "integrity.9", "config", "transactions"):
        (tmp_path / name).write_text("")
    moving = [str(p.relative_to(tmp_path)) for p in rollback.to_move(tmp_path, 5)]
    assert moving == ["data/0/8", "data/0/9", "hints.9", "index.9", "integrity.9"]


def test_rollback_forgets_the_undone_transactions_in_the_log() -> None:
    log = (RECORDED / "transactions").read_text()
    kept = rollback.log_upto(log, T2)
    assert guard.parse_transactions(kept) == [t for t in TXNS if t <= T2]
    assert kept == "".join(log.splitlines(keepends=True)[: TXNS.index(T2) + 1])


def test_rollback_takes_the_alerts_transaction_unless_told(tmp_path: Path) -> None:
    (tmp_path / "notodden.json").write_text(json.dumps(ALERT))
    conf = {"alert_dir": str(tmp_path), "repositories": {"notodden": {"path": "/srv/x"}}}
    assert rollback.target_transaction(conf, "notodden", None) == (T2, ALERT["missing"])
    assert rollback.target_transaction(conf, "notodden", "4")[0] == 4
    with pytest.raises(rollback.RollbackError, match="no alert for kongsberg"):
        rollback.target_transaction(
            {**conf, "repositories": {"kongsberg": {"path": "/srv/k"}}}, "kongsberg", None
        )


def test_drill_follows_the_manifest_the_archive_names() -> None:
    archive = {"comment": "home directories; 3 files in manifest; manifest=/srv/m/notodden.jsonl"}
    assert drill.manifest_paths(archive, "notodden") == ["srv/m/notodden.jsonl"]
    # Archives written before clients named their manifest: the old fixed place.
    old = {"comment": "home directories; 3 files in manifest"}
    assert drill.manifest_paths(old, "notodden") == [
        "var/lib/regionhus-backup/manifest/notodden.jsonl"
    ]


def test_drill_fails_on_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    good, bad = tmp_path / "home" / "a", tmp_path / "home" / "b"
    good.write_text("kept")
    bad.write_text("changed")
    manifest = tmp_path / "m.jsonl"
    lines = [
        {"path": "/home/a", "sha256": drill.sha256(good), "size": 4},
        {"path": "/home/b", "sha256": "0" * 64, "size": 7},
    ]
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = drill.verify(tmp_path, ["m.jsonl"])
    assert not result["passed"] and result["files"] == 1
    assert "checksum /home/b" in result["detail"]
