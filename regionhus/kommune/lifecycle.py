"""Dates of a municipality's life: membership by month, and when its data may go.

Pure functions of kommuner/<slug>.yml, so the cost report, `kommune purge` and the
tests agree on one reading of the dates. `member_until` is the first day the
municipality is no longer a member (as in Kommune.service_state).
"""

from __future__ import annotations

import calendar
import datetime as dt

from regionhus.model import BackupRetention, Kommune, ServiceName


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def months_overlapping(start: dt.date, end: dt.date | None, year: int) -> list[int]:
    """Months (1-12) of `year` with at least one day in [start, end)."""
    found = []
    for month in range(1, 13):
        first = dt.date(year, month, 1)
        after = add_months(first, 1)
        if start < after and (end is None or end > first):
            found.append(month)
    return found


def member_months(kommune: Kommune, year: int) -> list[int]:
    """Months of `year` in which the municipality was a member on at least one day.

    A started month counts whole: the agreement charges by month, and joining on the
    15th uses the platform that month."""
    life = kommune.lifecycle
    return months_overlapping(life.member_from, life.member_until, year)


def service_period(kommune: Kommune, service: ServiceName) -> tuple[dt.date, dt.date | None] | None:
    """[from, until) in which the service is delivered, by the dates alone."""
    choice = kommune.services.chosen().get(service)
    if choice is None:
        return None
    ends = [d for d in (choice.until, kommune.lifecycle.member_until) if d is not None]
    return choice.start, min(ends) if ends else None


def service_months(kommune: Kommune, service: ServiceName, year: int) -> list[int]:
    period = service_period(kommune, service)
    return months_overlapping(period[0], period[1], year) if period else []


def retention_end(last_backup_day: dt.date, retention: BackupRetention) -> dt.date:
    """The day the newest archive would have left the agreed retention (daily, weekly,
    monthly, yearly archives kept): after it, keeping the data is no longer agreed."""
    candidates = [
        last_backup_day + dt.timedelta(days=retention.daily),
        last_backup_day + dt.timedelta(weeks=retention.weekly),
        add_months(last_backup_day, retention.monthly),
        add_months(last_backup_day, 12 * retention.yearly),
    ]
    return max(candidates)


def purge_allowed_from(kommune: Kommune) -> dt.date | None:
    """First day `kommune purge` may delete what is left; None while still a member.

    Membership must have ended. With backup, the agreed retention runs from the last
    day backups were taken; the directory part is kept as long (one date for all)."""
    end = kommune.lifecycle.member_until
    if end is None:
        return None
    period = service_period(kommune, ServiceName.BACKUP)
    backup = kommune.services.backup
    if period is None or backup is None:
        return end
    last = period[1] or end
    return max(end, retention_end(last, backup.retention))
