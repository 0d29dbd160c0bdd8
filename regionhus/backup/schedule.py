"""Pure logic of backup schedules: systemd OnCalendar and staleness.

One source for the client role (its filter plugin imports this) and for
`regionhus backup status`, so what the timers do and what is reported stale agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# A backup may start up to the timer's randomised delay late and take a while to finish.
DEFAULT_GRACE = dt.timedelta(hours=2)


def _parse_at(at: str) -> tuple[int, int]:
    try:
        hour_text, minute_text = at.split(":")
        hour, minute = int(hour_text), int(minute_text)
    except ValueError:
        raise ValueError(f"schedule.at must be HH:MM, got {at!r}") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"schedule.at must be a time of day (00:00-23:59), got {at!r}")
    return hour, minute


def run_hours(every_hours: int, at: str) -> list[int]:
    """The hours of the day a backup starts: `at`, then every `every_hours` around the clock."""
    if every_hours < 1 or 24 % every_hours:
        raise ValueError(
            f"every_hours must divide 24 (1, 2, 3, 4, 6, 8, 12, 24), got {every_hours}"
        )
    hour, _ = _parse_at(at)
    return sorted((hour + step * every_hours) % 24 for step in range(24 // every_hours))


def on_calendar(every_hours: int, at: str) -> str:
    """systemd OnCalendar for a schedule, e.g. (12, "03:00") -> "*-*-* 03,15:00:00"."""
    _, minute = _parse_at(at)
    hours = ",".join(f"{h:02d}" for h in run_hours(every_hours, at))
    return f"*-*-* {hours}:{minute:02d}:00"


@dataclass(frozen=True)
class Freshness:
    """How a repository's newest archive compares with its schedule."""

    state: str  # "ok" | "stale" | "never"
    age: dt.timedelta | None
    allowed: dt.timedelta

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def allowed_age(every_hours: int, grace: dt.timedelta = DEFAULT_GRACE) -> dt.timedelta:
    """The oldest the newest archive may be: one interval plus grace."""
    return dt.timedelta(hours=every_hours) + grace


def freshness(
    newest: dt.datetime | None,
    every_hours: int,
    now: dt.datetime,
    grace: dt.timedelta = DEFAULT_GRACE,
) -> Freshness:
    """Whether the newest archive (aware datetime, or None) is within its schedule at `now`."""
    allowed = allowed_age(every_hours, grace)
    if newest is None:
        return Freshness("never", None, allowed)
    if newest.tzinfo is None or now.tzinfo is None:
        raise ValueError("freshness needs time-zone aware datetimes (UTC)")
    age = now - newest
    return Freshness("ok" if age <= allowed else "stale", age, allowed)
