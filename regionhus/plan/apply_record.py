"""What an apply leaves behind: an apply record (read by `regionhus audit`) and, when
NetBox is the inventory source, a journal entry on each applied host."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Mapping
from pathlib import Path

from regionhus.errors import RegionhusError
from regionhus.inventory import REGION, Inventory
from regionhus.plan.model import Change, Status
from regionhus.records import write_apply_record


def operator() -> str:
    """Who runs this: REGIONHUS_OPERATOR (CI sets the PR author), else the login."""
    return os.environ.get("REGIONHUS_OPERATOR") or os.environ.get("SUDO_USER") or getpass.getuser()


def apply_id(started: dt.datetime, commit: str) -> str:
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{commit[:10]}-{os.getpid()}"


def changed_by_host(changes: list[Change]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for change in changes:
        if change.status in (Status.CHANGE, Status.CONDITIONAL, Status.FAILED):
            prefix = "FAILED: " if change.status == Status.FAILED else ""
            result.setdefault(change.host, []).append(prefix + change.describe())
    return result


def kommuner_touched(changes: list[Change], hosts: list[str], inventory: Inventory) -> list[str]:
    """Municipalities the apply was for: served by its hosts, named by its changes, and
    all of them when a shared host changed in a way not tied to one municipality."""
    serves = {h.name: h.serves for h in inventory.hosts}
    found = {serves[h] for h in hosts if serves.get(h, REGION) != REGION}
    found |= {c.kommune for c in changes if c.kommune}
    if any(serves.get(c.host) == REGION and not c.kommune for c in changes):
        found |= set(inventory.config.kommuner)
    return sorted(found)


def write_record(
    *,
    record_id: str,
    started: dt.datetime,
    commit: str,
    hosts: list[str],
    kommuner: list[str],
    changed: Mapping[str, list[str]],
    who: str | None = None,
) -> Path:
    """`who`: the identity that connected (an operator's own account); without it (the
    lab's shared root key) the local operator."""
    return write_apply_record(
        id=record_id,
        who=who or operator(),
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        git_commit=commit,
        hosts=hosts,
        kommuner=kommuner,
        changed=changed,
    )


def netbox_journal(
    inventory: Inventory,
    record_id: str,
    changed: Mapping[str, list[str]],
    *,
    hosts: list[str],
    commit: str,
    failed: bool = False,
    who: str | None = None,
) -> str:
    """One NetBox journal entry per applied host (its changes, or none, and who applied
    it), when NetBox is the inventory source; returns what happened, for the summary.

    The apply has happened and its record is written: a journal NetBox refuses is
    reported, not raised, so the operator sees the apply's own result."""
    if inventory.source != "netbox" or not hosts:
        return ""
    from regionhus.netbox.journal import Apply, add_journal_entries

    apply = Apply(record_id=record_id, who=who or operator(), commit=commit, failed=failed)
    try:
        written = add_journal_entries(changed, apply=apply, hosts=hosts)
    except RegionhusError as exc:
        return f"warning: NetBox journal not written ({exc}); apply record {record_id} has it all"
    return f"NetBox journal: an entry on {len(written)} VM(s)"
