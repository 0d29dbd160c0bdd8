"""What an apply record says became of each host when part of the apply failed: no
host may look applied when a layer never ran on it; and an engine stuck on a host that
went away is stopped."""

from __future__ import annotations

import os
import sys
import time

import pytest

from regionhus import engines
from regionhus.engines import EngineRun
from regionhus.plan.apply_record import failed_hosts, outcomes
from regionhus.plan.model import Change, HostPlan, Layer, Plan, Status
from regionhus.plan.run import LayerRun

A, B = "vdi-kongsberg-1", "vdi-notodden-1"


def plan_with(changes: list[Change]) -> Plan:
    hosts = {name: HostPlan(name, "x") for name in (A, B)}
    for change in changes:
        hosts[change.host].changes.append(change)
    return Plan(hosts)


def test_a_host_lost_in_the_base_layer_fails_and_the_other_is_not_called_applied() -> None:
    lost = Change(B, Layer.BASE, "host failed", Status.FAILED, detail="error")
    done = Change(A, Layer.BASE, "Render /etc/hosts", Status.CHANGE)
    base = LayerRun(Layer.BASE, EngineRun(["pyinfra"], 1, ""), [lost, done], {}, hosts=[A, B])
    applied = plan_with([lost, done])

    said = outcomes([base], applied, {B: f"{B}: cannot connect: No route to host"})

    assert said[B].startswith("FAILED in the base layer") and "unreachable now" in said[B]
    assert (
        said[A] == "base layer applied; services layer NOT run (the base layer failed on " + B + ")"
    )
    assert failed_hosts([base], applied) == [B]


def test_an_engine_that_died_without_naming_a_host_leaves_every_host_of_it_failed() -> None:
    base = LayerRun(Layer.BASE, EngineRun(["pyinfra"], 0, ""), [], {A: 3, B: 3}, hosts=[A, B])
    services = LayerRun(Layer.SERVICES, EngineRun(["ansible"], -9, ""), [], {}, hosts=[A, B])
    applied = plan_with([])

    said = outcomes([base, services], applied, {})

    assert failed_hosts([base, services], applied) == [A, B]
    assert all(
        text.startswith("FAILED: the services layer's engine failed") for text in said.values()
    )


def test_a_clean_apply_says_applied_or_nothing_to_apply() -> None:
    base = LayerRun(Layer.BASE, EngineRun(["pyinfra"], 0, ""), [], {}, hosts=[A])
    assert outcomes([base], plan_with([]), {}) == {A: "applied", B: "nothing to apply"}


def test_a_silent_engine_is_stopped_when_the_watch_says_a_host_is_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyinfra would wait ~15 minutes on a dead TCP connection; the watch ends it."""
    monkeypatch.setattr(engines, "WATCH_SILENCE", 0.2)
    asked: list[float] = []

    def watch() -> str | None:
        asked.append(time.monotonic())
        return "vdi-notodden-1: cannot connect" if len(asked) >= 2 else None

    started = time.monotonic()
    proc = engines._run_split(
        [sys.executable, "-c", "import time; time.sleep(120)"], dict(os.environ), None, watch
    )
    assert time.monotonic() - started < 60
    assert proc.returncode != 0 and len(asked) == 2
    assert "vdi-notodden-1: cannot connect" in proc.stderr


def test_an_engine_that_talks_is_never_asked_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "WATCH_SILENCE", 5.0)
    script = (
        "import sys, time\n"
        "for _ in range(3):\n"
        "    print('x', file=sys.stderr, flush=True); time.sleep(0.5)"
    )
    proc = engines._run_split(
        [sys.executable, "-c", script], dict(os.environ), None, lambda: "gone"
    )
    assert proc.returncode == 0 and "stopped" not in proc.stderr
