"""The apply lock: overlapping hosts refused with who holds them; dead holders dropped."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from regionhus.plan.lock import LockHeld, apply_lock, holders, lock_path


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path))
    return tmp_path


def test_second_apply_on_same_hosts_stops_with_the_holder() -> None:
    with apply_lock("kari", ["dc1", "dc2"]):
        assert holders()[0]["who"] == "kari"
        with pytest.raises(LockHeld, match=r"kari .* dc2"), apply_lock("per", ["dc2", "backup1"]):
            pass
        with apply_lock("per", ["vdi-notodden-1"]):  # disjoint hosts: allowed
            assert len(holders()) == 2
    assert holders() == []


def test_holder_of_a_dead_process_is_dropped_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    dead = {"who": "x", "pid": 999999, "machine": socket.gethostname(), "hosts": ["dc1"]}
    lock_path().write_text(json.dumps([dead]))
    with apply_lock("kari", ["dc1"]) as mine:
        assert holders() == [mine]
    assert "stale apply lock: x (pid 999999" in capsys.readouterr().err


def test_wait_gives_up_only_when_free(monkeypatch: pytest.MonkeyPatch) -> None:
    other = {"who": "x", "pid": 999999, "machine": "elsewhere", "hosts": ["dc1"], "since": "t"}
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    lock_path().write_text(json.dumps([other]))
    sleeps: list[float] = []

    def free_after_first(seconds: float) -> None:
        sleeps.append(seconds)
        lock_path().write_text("[]")

    monkeypatch.setattr("regionhus.plan.lock.time.sleep", free_after_first)
    with apply_lock("kari", ["dc1"], wait=True, poll=0.01):
        pass
    assert sleeps == [0.01]
