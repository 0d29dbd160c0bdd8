"""Faults during real applies on the lab, each ending in a stated, checked outcome.

Like tests/lab/test_plan_apply.py these run the VDI hosts with the base layer and the
tiny fixture playbook (tests/fixtures/plan/site.yml), so they are short and never fight
the directory and backup work; the fixture's files are removed afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regionhus.lab import run_on
from regionhus.plan.lock import lock_path

pytestmark = pytest.mark.lab

RH = str(Path(sys.executable).parent / "regionhus")
SITE = "tests/fixtures/plan/site.yml"
FIXTURE_FILES = "/etc/regionhus-plan-fixture.conf /var/lib/regionhus-plan-fixture.stamp"
HOST = "vdi-kongsberg-1"


def env(operator: str) -> dict[str, str]:
    return {**os.environ, "REGIONHUS_SITE_PLAYBOOK": SITE, "REGIONHUS_OPERATOR": operator}


def rh(operator: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RH, *args], capture_output=True, text=True, env=env(operator), check=False, timeout=900
    )


def engines_running(group: int) -> bool:
    found = subprocess.run(
        ["pgrep", "-g", str(group), "-f", "pyinfra|ansible-playbook"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


@pytest.fixture
def fixture_cleanup(lab: list[str]) -> Iterator[None]:
    yield
    for host in ("vdi-kongsberg-1", "vdi-notodden-1"):
        run_on(host, f"rm -f {FIXTURE_FILES}", check=False)


def start_apply_and_wait_for_engines(
    operator: str, out: Path, *hosts: str
) -> subprocess.Popen[bytes]:
    """An `apply --full` in its own process group, returned once its plan is printed
    and an engine is applying (the plan's dry runs are over by then)."""
    host_args = [arg for h in hosts for arg in ("--host", h)]
    proc = subprocess.Popen(
        [RH, "apply", "--yes", "--allow-dirty", "--full", "--quiet", *host_args],
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        env=env(operator),
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if out.stat().st_size > 0 and engines_running(proc.pid):
            return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"apply never reached its engines (exit {proc.poll()}):\n{out.read_text()[-3000:]}")


def test_apply_killed_half_way_leaves_a_stale_lock_that_the_rerun_names_and_converges(
    fixture_cleanup: None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "apply.out"
        proc = start_apply_and_wait_for_engines("ola-killed", out, HOST)
        time.sleep(1.5)  # the engine is connected and working on the host
        assert proc.poll() is None, f"apply ended before the kill:\n{out.read_text()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)  # the operator's session dies with everything in it
        proc.wait()
    stale = json.loads(lock_path().read_text())
    assert any(h["pid"] == proc.pid and h["who"] == "ola-killed" for h in stale), stale

    rerun = rh("pytest", "apply", "--yes", "--allow-dirty", "--quiet", "--host", HOST)

    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert f"stale apply lock: ola-killed (pid {proc.pid}" in rerun.stderr, rerun.stderr[-2000:]
    assert not any(h["pid"] == proc.pid for h in json.loads(lock_path().read_text()))
    plan = rh("pytest", "plan", "--quiet", "--host", HOST)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]


def test_second_operator_on_overlapping_hosts_is_refused_while_the_first_applies(
    fixture_cleanup: None,
) -> None:
    both = ["vdi-kongsberg-1", "vdi-notodden-1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "apply.out"
        first = start_apply_and_wait_for_engines("kari-first", out, *both)
        second = rh("per-second", "apply", "--yes", "--allow-dirty", "--quiet", "--host", both[1])
        first.wait(timeout=900)
        first_out = out.read_text()

    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"kari-first (pid {first.pid}" in second.stderr and both[1] in second.stderr
    # Refused before its plan: nothing ran and no apply record was written for it.
    assert "Apply record:" not in second.stdout, second.stdout[-2000:]
    assert first.returncode == 0, first_out[-3000:]
    record = json.loads(Path(first_out.split("Apply record: ")[1].split()[0]).read_text())
    assert record["who"] == "kari-first" and record["hosts"] == both
    plan = rh("pytest", "plan", "--quiet", *[a for h in both for a in ("--host", h)])
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
