"""Measured availability in the audit report: from Prometheus' HTTP API (answers
recorded in tests/fixtures/prometheus/), next to the SLA, with how much of the period
the measurement covers."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from report.audit_records import NOW

from regionhus.inventory import Inventory
from regionhus.reports.availability import Availability, measure
from regionhus.reports.build import build_report
from regionhus.reports.evidence import RecordEvidence
from regionhus.reports.model import AuditReport, ServiceRow, Severity
from regionhus.reports.render_md import render_md

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "prometheus"
PERIOD = dt.timedelta(days=90)


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


class FakePrometheus:
    """Answers as the recorded Prometheus did; `values` overrides a series' value."""

    def __init__(
        self, values: dict[tuple[str, str], float] | None = None, coverage: float | None = None
    ):
        self.values = values or {}
        self.coverage = coverage  # None: the recorded counts (minutes of lab history)
        self.queries: list[str] = []

    def __call__(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        if path == "/api/v1/status/config":
            return recorded("status-config.json")
        query = params["query"]
        self.queries.append(query)
        kind = "avg" if query.startswith("avg_over_time") else "count"
        answer = copy.deepcopy(recorded(f"{kind}.json"))
        for result in answer["data"]["result"]:
            key = (result["metric"]["service"], result["metric"]["kommune"])
            if kind == "avg" and key in self.values:
                result["value"][1] = str(self.values[key])
            if kind == "count" and self.coverage is not None:
                # evaluations over that share of the period, every 5 s (status-config.json)
                result["value"][1] = str(self.coverage * PERIOD.total_seconds() / 5)
        return answer


def availability(fake: FakePrometheus) -> Availability:
    return measure("http://mon1:9090", fake, NOW - PERIOD, NOW)


def report_with(
    inventory: Inventory, records: Path, measured: Availability | None, lang: str = "nb"
) -> AuditReport:
    """The audit report from the seeded records, with `measured` availability (or none)."""
    return build_report(
        inventory,
        RecordEvidence(records),
        now=NOW,
        records_root=records,
        availability=measured,
        lang=lang,
    )


def kongsberg_vdi(report: AuditReport) -> ServiceRow:
    kongsberg = next(k for k in report.kommuner if k.slug == "kongsberg")
    return next(s for s in kongsberg.services if s.service == "vdi")


def test_the_recorded_answers_are_read_per_service_and_municipality() -> None:
    fake = FakePrometheus()
    got = availability(fake)
    assert got.error is None
    assert ("directory", "region") in got.measured
    assert ("vdi", "kongsberg") in got.measured
    assert all(0 <= m.percent <= 100 for m in got.measured.values())
    # the whole report period is asked for, not Prometheus' default window
    assert all(f"[{int(PERIOD.total_seconds())}s]" in q for q in fake.queries)
    # the lab's Prometheus holds minutes of a 90-day period: the coverage says so
    assert all(m.coverage_percent < 1 for m in got.measured.values())


def test_below_the_sla_is_a_finding_and_the_shared_directory_is_flagged_once(
    audit_inventory: Inventory,
    audit_records: Path,
) -> None:
    fake = FakePrometheus(
        {("vdi", "kongsberg"): 0.99, ("vdi", "notodden"): 1.0, ("directory", "region"): 0.995},
        coverage=1.0,
    )
    report = report_with(audit_inventory, audit_records, availability(fake))
    below = [f for f in report.findings if f.code == "availability_below_sla"]
    assert {(f.kommune, f.severity) for f in below} == {
        ("kongsberg", Severity.WARNING),
        (None, Severity.WARNING),  # the directory, once for the region
    }
    vdi = kongsberg_vdi(report)
    assert (vdi.measured_percent, vdi.availability_percent) == (pytest.approx(99.0), 99.5)
    assert vdi.measured_coverage_percent == pytest.approx(100.0)
    assert "99,00 % (dekker 100,0 % av perioden)" in render_md(report)


def test_a_short_history_is_shown_as_the_part_of_the_period_it_covers(
    audit_inventory: Inventory,
    audit_records: Path,
) -> None:
    fake = FakePrometheus(coverage=0.25)
    report = report_with(audit_inventory, audit_records, availability(fake), lang="en")
    assert kongsberg_vdi(report).measured_coverage_percent == pytest.approx(25.0)
    assert "(covers 25.0 % of the period)" in render_md(report)


def test_a_finding_from_a_sliver_of_the_period_says_how_small_it_is(
    audit_inventory: Inventory,
    audit_records: Path,
) -> None:
    # A monitoring host that has run for an hour of a quarter: "0,0 %" would read as
    # no measurement at all, and the table beside it shows three decimals.
    fake = FakePrometheus({("vdi", "kongsberg"): 0.99}, coverage=0.0005)
    report = report_with(audit_inventory, audit_records, availability(fake))
    (finding,) = [
        f
        for f in report.findings
        if f.code == "availability_below_sla" and f.kommune == "kongsberg"
    ]
    assert "dekker 0,050 % av perioden" in finding.message
    assert "99,00 % (dekker 0,050 % av perioden)" in render_md(report)


def test_an_unreachable_prometheus_is_named_and_the_rest_of_the_report_stands(
    audit_inventory: Inventory,
    audit_records: Path,
) -> None:
    def refused(path: str, params: dict[str, str]) -> dict[str, Any]:
        raise ConnectionRefusedError(111, "Connection refused")

    refusal = measure("http://mon1:9090", refused, NOW - PERIOD, NOW)
    report = report_with(audit_inventory, audit_records, refusal)
    (finding,) = [f for f in report.findings if f.code == "availability_not_measured"]
    assert "http://mon1:9090" in finding.message and "refused" in finding.message
    assert all(s.measured_percent is None for k in report.kommuner for s in k.services)
    assert report.kommuner  # the rest of the report is there


def test_without_monitoring_nothing_is_claimed(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_with(audit_inventory, audit_records, None)
    assert not [f for f in report.findings if f.code.startswith("availability")]
    assert "ikke målt" in render_md(report)
