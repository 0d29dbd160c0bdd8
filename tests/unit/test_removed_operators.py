"""An operator taken out of kommuner/ shows in the audit as removed, with the day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from regionhus.config import load_region
from regionhus.directory import record_members
from regionhus.inventory import load_inventory
from regionhus.records import DirectoryRecord, directory_record_path, load_record
from regionhus.reports.build import build_report
from regionhus.reports.render_html import render_html
from regionhus.reports.render_md import render_md

DAY = dt.date(2026, 11, 25)


def test_the_directory_reading_keeps_removed_operators_with_their_day(tmp_path: Path) -> None:
    # As the directory play hands it over: the module's `removed` per municipality.
    record_members(
        {
            "rollag": {
                "admin_group": "rollag-admins",
                "members": ["rol.erik"],
                "removed": [
                    {
                        "username": "rol.gammel",
                        "name": "Gammel Operatør",
                        "disabled_on": "2026-11-20",
                    }
                ],
            }
        },
        source="dc1",
        root=tmp_path,
    )
    record = load_record(directory_record_path("rollag", tmp_path), DirectoryRecord)
    assert [(r.username, r.disabled_on) for r in record.removed] == [
        ("rol.gammel", dt.date(2026, 11, 20))
    ]
    inventory = load_inventory(source="embedded", config=load_region(on=DAY))
    report = build_report(inventory, scope="rollag", records_root=tmp_path)
    assert [m.username for m in report.kommuner[0].admin.removed] == ["rol.gammel"]
    md = render_md(report)
    assert "Fjernede operatører" in md
    assert "- rol.gammel (Gammel Operatør): fjernet og sperret 2026-11-20" in md
    assert "rol.gammel (Gammel Operatør): fjernet og sperret 2026-11-20" in render_html(report)
