"""A known set of evidence records for the audit tests, written with the real helpers.

Kongsberg has an extra admin-group member and a failed drill; Notodden is clean;
Tinn misses an operator, has an old drill and a stale backup; Rollag has a broken
drill file. Other municipalities have no records at all. The regional operators are
in the regional group (delegated on every municipality's OU), as the directory has them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from regionhus.records import (
    drills_dir,
    write_apply_record,
    write_backup_record,
    write_directory_record,
    write_drill_record,
)

ON = dt.date(2025, 6, 15)
# What `regionhus audit` uses as "now" when REGIONHUS_TODAY pins another day.
NOW = dt.datetime(2025, 6, 15, 23, 59, 59, tzinfo=dt.UTC)
REGIONAL = ["drift.kari", "drift.per"]


def ago(**delta: float) -> dt.datetime:
    return NOW - dt.timedelta(**delta)


def seed_records(root: Path) -> Path:
    """Write the records under `root` (a records_dir()); returns root."""
    write_directory_record(
        "region",
        admin_group="KBR-region-admins",
        members=REGIONAL,
        source="dc1",
        read_at=ago(hours=2),
        root=root,
    )
    write_directory_record(
        "kongsberg",
        admin_group="KBR-kongsberg-admins",
        members=["kbg.ola", "kbg.ingrid", "kbg.mallory"],
        source="dc1",
        read_at=ago(hours=2),
        root=root,
    )
    write_directory_record(
        "notodden",
        admin_group="KBR-notodden-admins",
        members=["NTD.Lars"],  # AD names are case-insensitive
        source="dc2",
        read_at=ago(hours=2),
        root=root,
    )
    write_directory_record(
        "tinn",
        admin_group="KBR-tinn-admins",
        members=[],
        source="dc1",
        read_at=ago(hours=2),
        root=root,
    )
    for slug, hours in (("kongsberg", 3), ("notodden", 5), ("tinn", 80)):
        write_backup_record(
            slug,
            newest_archive=f"{slug}-{ago(hours=hours):%Y-%m-%dT%H:%M}",
            newest_archive_time=ago(hours=hours),
            repository=f"ssh://borg@backup1/srv/borg/{slug}",
            archive_count=30,
            read_at=ago(hours=1),
            root=root,
        )
    drill = {"files": 1234, "bytes_restored": 55_000_000, "duration_s": 42.5}
    write_drill_record(
        "kongsberg",
        started_at=ago(days=9),
        archive="kongsberg-old",
        passed=True,
        root=root,
        **drill,
    )
    write_drill_record(
        "kongsberg",
        started_at=ago(days=2),
        archive="kongsberg-new",
        passed=False,
        detail="sha256 stemmer ikke for 3 filer",
        root=root,
        **drill,
    )
    write_drill_record(
        "notodden", started_at=ago(days=5), archive="notodden-a", passed=True, root=root, **drill
    )
    write_drill_record(
        "tinn", started_at=ago(days=40), archive="tinn-a", passed=True, root=root, **drill
    )
    broken = drills_dir("rollag", root) / "20250601T000000Z.json"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("{not json", encoding="utf-8")
    write_apply_record(
        id="20250610T101500Z-kari",
        who="drift.kari",
        started_at=ago(days=5),
        finished_at=ago(days=5, minutes=-4),
        git_commit="a07a5d3c0ffee00000000000000000000000000",
        hosts=["dc1", "vdi-kongsberg-1", "vdi-notodden-1"],
        kommuner=["kongsberg", "notodden"],
        changed={
            "dc1": ["OU=Kongsberg: gruppe opprettet"],
            "vdi-kongsberg-1": ["xrdp oppgradert for Kongsberg"],
            "vdi-notodden-1": ["xrdp oppgradert for Notodden"],
        },
        root=root,
    )
    write_apply_record(
        id="20240101T000000Z-old",
        who="drift.per",
        started_at=NOW - dt.timedelta(days=500),
        finished_at=None,
        git_commit="0" * 40,
        hosts=["vdi-kongsberg-1"],
        kommuner=["kongsberg"],
        changed={"vdi-kongsberg-1": ["utenfor perioden"]},
        root=root,
    )
    return root
