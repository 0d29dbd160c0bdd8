"""The apply lock: overlapping hosts refused with who holds them; dead holders dropped,
and so are holders whose pid now belongs to another process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from regionhus.plan.lock import (
    LockHeld,
    apply_lock,
    boot_id,
    holders,
    lock_path,
    process_start,
)


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


def _claim_in_child(state: Path) -> dict[str, object]:
    """A real claim made by another process, which then exits (as a killed apply)."""
    code = (
        "import json, sys\n"
        "from regionhus.plan.lock import _claim, lock_path\n"
        "print(json.dumps(_claim('ola', ['dc1'], lock_path())))\n"
    )
    env = {**os.environ, "REGIONHUS_STATE_DIR": str(state)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    return json.loads(out.stdout)


def test_claim_records_the_process_start_time_and_boot() -> None:
    with apply_lock("kari", ["dc1"]) as mine:
        assert mine["started"] == process_start(os.getpid()) is not None
        assert mine["boot_id"] == boot_id() is not None


def test_a_live_pid_with_another_start_time_is_a_reused_pid_and_stale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A process that is alive now, claimed under its pid by a process that began earlier.
    with subprocess.Popen(["sleep", "60"]) as other:
        try:
            start = process_start(other.pid)
            assert start is not None
            reused = {
                "who": "x",
                "pid": other.pid,
                "started": start - 1,
                "boot_id": boot_id(),
                "machine": socket.gethostname(),
                "hosts": ["dc1"],
            }
            lock_path().parent.mkdir(parents=True, exist_ok=True)
            lock_path().write_text(json.dumps([reused]))
            with apply_lock("kari", ["dc1"]) as mine:
                assert holders() == [mine]
            assert f"stale apply lock: x (pid {other.pid}" in capsys.readouterr().err

            # The same pid with its true start time is a live holder: refused.
            lock_path().write_text(json.dumps([{**reused, "started": start}]))
            with pytest.raises(LockHeld, match=r"x \(pid"), apply_lock("kari", ["dc1"]):
                pass
        finally:
            other.kill()


def test_a_claim_from_before_a_reboot_is_stale(capsys: pytest.CaptureFixture[str]) -> None:
    before = {
        "who": "x",
        "pid": os.getpid(),  # alive, but the claim was made in another boot
        "started": process_start(os.getpid()),
        "boot_id": "00000000-0000-0000-0000-000000000000",
        "machine": socket.gethostname(),
        "hosts": ["dc1"],
    }
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    lock_path().write_text(json.dumps([before]))
    with apply_lock("kari", ["dc1"]):
        pass
    assert "stale apply lock: x" in capsys.readouterr().err


def test_an_old_claim_without_start_time_still_counts_while_its_pid_lives() -> None:
    old = {"who": "x", "pid": os.getpid(), "machine": socket.gethostname(), "hosts": ["dc1"]}
    lock_path().parent.mkdir(parents=True, exist_ok=True)
    lock_path().write_text(json.dumps([old]))
    with pytest.raises(LockHeld), apply_lock("kari", ["dc1"]):
        pass


NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


@pytest.mark.skipif(
    not os.access(NS_LAST_PID, os.W_OK), reason="reusing a pid needs root (ns_last_pid)"
)
def test_a_killed_applys_pid_given_to_a_new_process_does_not_hold_the_lock(
    state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real thing: the claimant exits, the kernel hands its pid to a new process."""
    claim = _claim_in_child(state)
    pid = int(str(claim["pid"]))
    for _ in range(50):  # other processes on the machine may take the pid first
        NS_LAST_PID.write_text(str(pid - 1))
        successor = subprocess.Popen(["sleep", "60"])
        if successor.pid == pid:
            break
        successor.kill()
        successor.wait()
    else:
        pytest.skip("could not get the pid handed out again (a busy machine)")
    try:
        os.kill(pid, 0)  # the pid is alive: only the start time tells the claim is stale
        with apply_lock("kari", ["dc1"]) as mine:
            assert holders() == [mine]
        assert f"stale apply lock: ola (pid {pid}" in capsys.readouterr().err
    finally:
        successor.kill()
        successor.wait()
