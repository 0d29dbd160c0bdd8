"""Seed planning and the idempotency comparison, without a NetBox."""

from __future__ import annotations

from regionhus.netbox.seed import SeedReport, _differs


def test_existing_record_shapes_compare_as_sent() -> None:
    existing = {
        "id": 7,
        "status": {"value": "active", "label": "Active"},
        "tenant": {"id": 3, "slug": "kongsberg"},
        "tags": [{"id": 2}, {"id": 1}],
        "custom_fields": {"kommunenummer": "3303", "other": None},
        "cluster": None,
    }
    same = {
        "status": "active",
        "tenant": 3,
        "tags": [1, 2],
        "cluster": None,
        "custom_fields": {"kommunenummer": "3303"},
    }
    assert not _differs(existing, same)
    assert _differs(existing, {**same, "tenant": 4})
    assert _differs(existing, {**same, "custom_fields": {"kommunenummer": "3304"}})


def test_report_says_nothing_changed() -> None:
    report = SeedReport(created={"tenants": 0}, updated={"tenants": 0})
    assert report.summary() == "0 created, 0 updated"
