"""Filter `backup_on_calendar`: systemd OnCalendar from a kommuner/ backup schedule.

The logic lives in regionhus.backup.schedule (unit-tested, shared with `backup status`).
"""

from __future__ import annotations

from typing import Any

from regionhus.backup.schedule import on_calendar


def backup_on_calendar(schedule: dict[str, Any]) -> str:
    return on_calendar(int(schedule["every_hours"]), str(schedule["at"]))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"backup_on_calendar": backup_on_calendar}
