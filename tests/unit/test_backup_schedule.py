"""Pure logic of backup schedules: OnCalendar from kommuner/ and staleness."""

from __future__ import annotations

import datetime as dt

import pytest

from regionhus.backup.schedule import freshness, on_calendar, run_hours
from regionhus.backup.status import classify

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("every_hours", "at", "expected"),
    [
        (24, "01:00", "*-*-* 01:00:00"),
        (12, "03:00", "*-*-* 03,15:00:00"),
        (12, "15:30", "*-*-* 03,15:30:00"),
        (6, "02:15", "*-*-* 02,08,14,20:15:00"),
        (8, "23:00", "*-*-* 07,15,23:00:00"),
    ],
)
def test_on_calendar(every_hours: int, at: str, expected: str) -> None:
    assert on_calendar(every_hours, at) == expected


def test_every_hour_runs_24_times() -> None:
    assert run_hours(1, "00:05") == list(range(24))


@pytest.mark.parametrize(("every_hours", "at"), [(5, "01:00"), (0, "01:00"), (24, "25:00")])
def test_bad_schedules_are_refused(every_hours: int, at: str) -> None:
    with pytest.raises(ValueError):
        on_calendar(every_hours, at)


def test_fresh_within_interval_plus_grace() -> None:
    newest = NOW - dt.timedelta(hours=25)
    assert freshness(newest, 24, NOW, dt.timedelta(hours=2)).state == "ok"


def test_stale_after_interval_plus_grace() -> None:
    newest = NOW - dt.timedelta(hours=27)
    result = freshness(newest, 24, NOW, dt.timedelta(hours=2))
    assert result.state == "stale"
    assert result.age == dt.timedelta(hours=27)


def test_never_backed_up() -> None:
    assert freshness(None, 12, NOW).state == "never"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        freshness(dt.datetime(2026, 1, 1), 24, NOW)


def test_classify_reports_late_repositories_with_clients_only() -> None:
    server = {
        "kongsberg": {
            "archives": 3,
            "newest_archive": "a",
            "newest_archive_time": "2026-11-25T11:00:00+00:00",
        },
        "notodden": {
            "archives": 1,
            "newest_archive": "b",
            "newest_archive_time": "2026-11-23T11:00:00+00:00",
        },
        "tinn": {"archives": 0},
        "region": {
            "archives": 2,
            "alert": True,
            "newest_archive": "c",
            "newest_archive_time": "2026-11-25T11:00:00+00:00",
        },
    }
    schedules = {"kongsberg": 24, "notodden": 24, "tinn": 24, "region": 24}
    rows = {
        r.repository: r
        for r in classify(
            server, schedules, {"kongsberg", "notodden", "region"}, NOW, dt.timedelta(hours=2)
        )
    }
    assert not rows["kongsberg"].problem
    assert rows["notodden"].problem and rows["notodden"].freshness.state == "stale"
    assert rows["tinn"].freshness.state == "never" and not rows["tinn"].problem
    assert rows["region"].problem  # a tamper alert is always a problem
