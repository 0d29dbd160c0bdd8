"""Reports and exit codes of a plan."""

from __future__ import annotations

import json
from types import SimpleNamespace

from regionhus.plan import report
from regionhus.plan.model import Change, ExitCode, HostPlan, Kind, Layer, Plan, Status

CONFIG = SimpleNamespace(
    kommuner={
        "kongsberg": SimpleNamespace(name="Kongsberg"),
        "notodden": SimpleNamespace(name="Notodden"),
    }
)


def a_plan(*changes: Change) -> Plan:
    hosts = {
        "dc1": HostPlan("dc1", "region"),
        "vdi-kongsberg-1": HostPlan("vdi-kongsberg-1", "kongsberg"),
    }
    for change in changes:
        hosts[change.host].changes.append(change)
    plan = Plan(hosts, git_commit="abc", generated_at="now")
    report.attribute(plan.changes(), CONFIG.kommuner)
    return plan


def test_exit_codes() -> None:
    assert a_plan().exit_code == ExitCode.NO_CHANGES
    unknown = Change("dc1", Layer.SERVICES, "Provision", Status.UNKNOWN)
    assert a_plan(unknown).exit_code == ExitCode.CHANGES
    failed = Change("dc1", Layer.SERVICES, "x", Status.FAILED)
    assert a_plan(unknown, failed).exit_code == ExitCode.ERROR
    plan = a_plan()
    plan.errors.append("pyinfra exited 1")
    assert plan.exit_code == ExitCode.ERROR


def test_grouped_by_municipality_with_shared_changes_attributed() -> None:
    plan = a_plan(
        Change(
            "vdi-kongsberg-1",
            Layer.BASE,
            "Render /etc/hosts",
            Status.CHANGE,
            Kind.FILE,
            diff=["--- a\n+++ b\n+x"],
        ),
        Change(
            "dc1",
            Layer.SERVICES,
            "Tenant OU",
            Status.CHANGE,
            Kind.DIRECTORY,
            role="directory_tenants",
            items=["kongsberg"],
        ),
        Change(
            "dc1",
            Layer.SERVICES,
            "Provision",
            Status.UNKNOWN,
            Kind.COMMAND,
            detail="cannot tell in check mode: would have run",
        ),
    )
    text = report.render_text(plan, CONFIG)  # type: ignore[arg-type]
    assert "Kongsberg (kongsberg)" in text and "on shared hosts, about kongsberg" in text
    assert "UNKNOWN" in text and "| +x" in text
    md = report.render_markdown(plan, CONFIG)  # type: ignore[arg-type]
    assert "| Kongsberg (kongsberg) | `vdi-kongsberg-1` | 2 | 0 | 0 |" in md
    assert "```diff" in md and "**UNKNOWN**" in md
    data = json.loads(report.render_json(plan, CONFIG))  # type: ignore[arg-type]
    assert data["exit_code"] == 2
    assert data["summary"]["unknown"] == 1
    assert data["hosts"]["dc1"]["changes"][0]["kommune"] == "kongsberg"
