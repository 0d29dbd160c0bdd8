"""The report's data model: findings from the evidence records, and the record helpers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from report.audit_records import NOW, ON, seed_records

from regionhus.config import load_region
from regionhus.inventory import Inventory, load_inventory
from regionhus.records import (
    DrillRecord,
    directory_record_path,
    load_record,
    write_directory_record,
    write_drill_record,
)
from regionhus.reports.build import build_report
from regionhus.reports.evidence import RecordEvidence
from regionhus.reports.model import AuditReport, Severity
from regionhus.reports.texts import TEXTS, Texts


def report_for(inventory, records: Path, scope: str = "region", lang: str = "nb") -> AuditReport:
    return build_report(
        inventory,
        RecordEvidence(records),
        scope=scope,
        lang=lang,
        now=NOW,
        records_root=records,
    )


def codes(report: AuditReport, slug: str) -> dict[str, Severity]:
    return {f.code: f.severity for f in report.findings if f.kommune == slug}


def test_extra_admin_member_is_a_critical_finding(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    kongsberg = next(k for k in report.kommuner if k.slug == "kongsberg")
    assert kongsberg.admin.extra == ["kbg.mallory"]
    assert kongsberg.admin.missing == []
    extra = [f for f in report.findings if f.code == "admin.extra_member"]
    assert len(extra) == 1 and extra[0].severity == Severity.CRITICAL
    assert "kbg.mallory" in extra[0].message and "KBR-kongsberg-admins" in extra[0].message
    # Most severe first: an auditor sees it at the top.
    assert report.findings[0].severity == Severity.CRITICAL


def test_failed_drill_is_a_critical_finding(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    assert codes(report, "kongsberg")["drill.failed"] == Severity.CRITICAL
    kongsberg = next(k for k in report.kommuner if k.slug == "kongsberg")
    assert kongsberg.backup.last_drill is not None
    assert kongsberg.backup.last_drill.archive == "kongsberg-new"  # the newest, not the first
    assert kongsberg.backup.drill_count == 2
    message = next(f.message for f in report.findings if f.code == "drill.failed")
    assert "sha256 stemmer ikke for 3 filer" in message


def test_old_drill_stale_backup_and_missing_operator_are_flagged(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    tinn = codes(report_for(audit_inventory, audit_records), "tinn")
    assert tinn["drill.too_old"] == Severity.WARNING
    assert tinn["backup.stale"] == Severity.CRITICAL
    assert tinn["admin.missing_member"] == Severity.WARNING


def test_clean_municipality_has_no_findings(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    assert codes(report, "notodden") == {}  # NTD.Lars is the declared ntd.lars


def test_missing_directory_record_says_not_read(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    flesberg = next(k for k in report.kommuner if k.slug == "flesberg")
    assert not flesberg.admin.read and flesberg.admin.actual == []
    assert codes(report, "flesberg")["admin.not_read"] == Severity.WARNING
    assert "ikke lest fra katalogen" in next(
        f.message for f in report.findings if f.kommune == "flesberg" and f.code == "admin.not_read"
    )
    # Nothing is expected before a municipality joins: no finding for Sigdal.
    assert codes(report, "sigdal") == {}


def test_broken_record_becomes_a_finding_not_a_crash(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    broken = [f for f in report.findings if f.code == "record.broken"]
    assert len(broken) == 1 and broken[0].kommune == "rollag"
    assert "drills/rollag" in broken[0].message


def test_hosts_vdi_pool_and_shared_dependencies(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    by_slug = {k.slug: k for k in report.kommuner}
    kongsberg = by_slug["kongsberg"]
    assert [h.name for h in kongsberg.hosts] == [
        "srv-kongsberg-1",
        "vdi-kongsberg-1",
        "vdi-kongsberg-2",
        "backup1",
        "dc1",
        "dc2",
    ]
    assert (kongsberg.vdi.declared, kongsberg.vdi.present) == (2, 2)
    assert [h.name for h in by_slug["sigdal"].hosts] == []
    # Left, data kept: still depends on the shared hosts that hold its data.
    assert {h.name for h in by_slug["ovre-eiker"].hosts} == {"backup1", "dc1", "dc2"}


def test_vdi_pool_difference_is_flagged(tmp_path: Path, audit_records: Path) -> None:
    region = Path(__file__).resolve().parents[2]
    root = tmp_path / "region"
    root.mkdir()
    for name in ("region.yml",):
        (root / name).write_text((region / name).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "kommuner").mkdir()
    for path in (region / "kommuner").glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "notodden":
            text = text.replace("pool_size: 1", "pool_size: 3")
        (root / "kommuner" / path.name).write_text(text, encoding="utf-8")
    (root / "inventory").mkdir()
    hosts = region / "inventory" / "lab-region.hosts.yml"
    (root / "inventory" / hosts.name).write_text(hosts.read_text(encoding="utf-8"))
    inv = load_inventory(root, "embedded", config=load_region(root, on=ON))
    report = report_for(inv, audit_records)
    mismatch = [f for f in report.findings if f.code == "vdi.pool_mismatch"]
    assert [(f.kommune, f.severity) for f in mismatch] == [("notodden", Severity.WARNING)]
    assert "3" in mismatch[0].message and "1" in mismatch[0].message


def test_changes_in_period_and_only_the_municipalitys_own(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records)
    by_slug = {k.slug: k for k in report.kommuner}
    changes = by_slug["kongsberg"].changes
    assert [c.id for c in changes] == ["20250610T101500Z-kari"]  # the old one is outside
    hosts = {host for host, _ in changes[0].changes}
    assert hosts == {"dc1", "vdi-kongsberg-1"}  # never Notodden's host
    assert by_slug["tinn"].changes == []


def test_municipality_scope_shows_only_its_own(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records, scope="tinn")
    assert [k.slug for k in report.kommuner] == ["tinn"]
    assert {f.kommune for f in report.findings} <= {"tinn", None}
    assert "kbg.mallory" not in json.dumps([f.message for f in report.findings])
    assert {h.name for h in report.hosts} == {"srv-tinn-1", "backup1", "dc1", "dc2"}


def test_every_text_exists_in_both_languages() -> None:
    for key, (nb, en) in TEXTS.items():
        assert nb and en, key
    english = Texts("en")
    assert english.t("title_region", region="X") == "Audit report for X"
    assert Texts("nb").num(4200000) == "4\u202f200\u202f000"


def test_english_report_has_english_findings(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    report = report_for(audit_inventory, audit_records, lang="en")
    extra = next(f for f in report.findings if f.code == "admin.extra_member")
    assert "is not a declared operator" in extra.message


def test_writers_store_utc_and_refuse_naive_times(tmp_path: Path) -> None:
    oslo = dt.timezone(dt.timedelta(hours=2))
    path = write_drill_record(
        "tinn",
        started_at=dt.datetime(2025, 6, 1, 12, 0, tzinfo=oslo),
        archive="a",
        files=1,
        bytes_restored=2,
        duration_s=3,
        passed=True,
        root=tmp_path,
    )
    assert path.name == "20250601T100000Z.json"
    drill = load_record(path, DrillRecord)
    assert drill.result == "pass" and drill.started_at.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError, match="no time zone"):
        write_directory_record(
            "tinn",
            admin_group="g",
            members=[],
            source="dc1",
            read_at=dt.datetime(2025, 6, 1),
            root=tmp_path,
        )
    write_directory_record("tinn", admin_group="g", members=["b", "a"], source="dc1", root=tmp_path)
    data = json.loads(directory_record_path("tinn", tmp_path).read_text())
    assert data["members"] == ["a", "b"] and data["read_at"].endswith("Z")


def test_regional_operators_hold_rights_through_the_regional_group(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    """As the directory gives them: members of region-admins (delegated on OU=Kommuner),
    not of each municipality's own group; nothing is missing in Notodden's group."""
    report = report_for(audit_inventory, audit_records)
    notodden = next(k for k in report.kommuner if k.slug == "notodden")
    assert [m.username for m in notodden.admin.declared] == ["ntd.lars"]
    regional = notodden.admin.regional
    assert regional is not None and regional.read
    assert regional.group == "KBR-region-admins"
    assert regional.delegated_on.startswith("OU=Kommuner,DC=")
    assert regional.missing == [] and regional.extra == []
    assert not [f for f in report.findings if f.code.startswith("admin.regional")]


def test_regional_group_problems_are_region_wide_findings(
    audit_inventory: Inventory, tmp_path: Path
) -> None:
    records = seed_records(tmp_path)
    write_directory_record(
        "region",
        admin_group="KBR-region-admins",
        members=["drift.kari", "eve"],
        source="dc1",
        read_at=NOW - dt.timedelta(hours=1),
        root=records,
    )
    report = report_for(audit_inventory, records)
    regional = {f.code: f for f in report.findings if f.code.startswith("admin.regional")}
    assert regional["admin.regional_extra_member"].severity == Severity.CRITICAL
    assert regional["admin.regional_extra_member"].kommune is None  # every OU is at stake
    assert "eve" in regional["admin.regional_extra_member"].message
    assert regional["admin.regional_missing_member"].severity == Severity.WARNING
    assert "drift.per" in regional["admin.regional_missing_member"].message


def test_unread_regional_group_is_said(audit_inventory: Inventory, tmp_path: Path) -> None:
    records = seed_records(tmp_path)
    (records / "directory" / "region.json").unlink()
    report = report_for(audit_inventory, records)
    assert [f.severity for f in report.findings if f.code == "admin.regional_not_read"] == [
        Severity.WARNING
    ]
    notodden = next(k for k in report.kommuner if k.slug == "notodden")
    assert notodden.admin.regional is not None and not notodden.admin.regional.read


def test_repository_nobody_writes_to_is_said_not_flagged_late(
    audit_inventory: Inventory, audit_records: Path
) -> None:
    """Flesberg takes backup; without its server (taken out of the inventory) and without
    a record nothing is late or unproven, and the report says there is nothing to back up
    yet."""
    without = [h for h in audit_inventory.hosts if h.name != "srv-flesberg-1"]
    audit_inventory = dataclasses.replace(audit_inventory, hosts=tuple(without))
    flesberg = codes(report_for(audit_inventory, audit_records), "flesberg")
    assert flesberg.get("backup.no_client") == Severity.INFO
    assert "backup.no_record" not in flesberg and "drill.missing" not in flesberg
