"""Which repositories are fresh, stale or never written, over their quota or on a full
disk, from the guard's status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from regionhus.backup.repositories import RepositoryState, repositories
from regionhus.backup.schedule import Freshness, freshness
from regionhus.config import RegionConfig


@dataclass(frozen=True)
class RepoStatus:
    repository: str
    every_hours: int
    archives: int
    newest_archive: str | None
    newest_archive_time: dt.datetime | None
    freshness: Freshness
    has_clients: bool
    alert: bool
    used_bytes: int | None = None
    quota_bytes: int | None = None
    disk_free_bytes: int | None = None
    over_quota: bool = False
    disk_full: bool = False

    @property
    def problem(self) -> bool:
        """Stale or never written while a host should write here, a tamper alert, or a
        repository whose next backup fails for space (over its quota, its disk full)."""
        return (
            self.alert
            or self.over_quota
            or self.disk_full
            or (self.has_clients and not self.freshness.ok)
        )


def expected_schedules(config: RegionConfig) -> dict[str, int]:
    """every_hours of each repository that should receive backups today."""
    return {
        repo.name: repo.schedule.every_hours
        for repo in repositories(config)
        if repo.state is RepositoryState.ACTIVE
    }


def parse_time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC) if text else None


def classify(
    server: dict[str, Any],
    schedules: dict[str, int],
    writers: set[str],
    now: dt.datetime,
    grace: dt.timedelta,
) -> list[RepoStatus]:
    """One RepoStatus per repository that should receive backups."""
    out = []
    for name, every_hours in sorted(schedules.items()):
        entry = server.get(name, {})
        newest = parse_time(entry.get("newest_archive_time"))
        out.append(
            RepoStatus(
                repository=name,
                every_hours=every_hours,
                archives=int(entry.get("archives", 0)),
                newest_archive=entry.get("newest_archive"),
                newest_archive_time=newest,
                freshness=freshness(newest, every_hours, now, grace),
                has_clients=name in writers,
                alert=bool(entry.get("alert")),
                used_bytes=entry.get("used_bytes"),
                quota_bytes=entry.get("quota_bytes"),
                disk_free_bytes=entry.get("disk_free_bytes"),
                over_quota=bool(entry.get("over_quota")),
                disk_full=bool(entry.get("disk_full")),
            )
        )
    return out
