"""What an apply leaves behind: an apply record (read by `regionhus audit`) and, when
NetBox is the inventory source, a journal entry on each changed host."""

from __future__ import annotations

import datetime as dt
import getpass
import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from regionhus.inventory import REGION, Inventory
from regionhus.plan.model import Change, Status
from regionhus.records import write_apply_record

# The NetBox side offers (or will offer) this function; until it exists the hook says so.
NETBOX_JOURNAL = ("regionhus.netbox.journal", "add_journal_entries")


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
) -> Path:
    return write_apply_record(
        id=record_id,
        who=operator(),
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        git_commit=commit,
        hosts=hosts,
        kommuner=kommuner,
        changed=changed,
    )


def _journal_function() -> Callable[..., Any] | None:
    module_name, function = NETBOX_JOURNAL
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, function, None)


def netbox_journal(inventory: Inventory, record_id: str, changed: Mapping[str, list[str]]) -> str:
    """Hook: one NetBox journal entry per changed host, when NetBox is the source.

    Calls `regionhus.netbox.journal.add_journal_entries(entries, record_id=...)` with
    entries {host: text}; returns what happened, for the summary."""
    if inventory.source != "netbox" or not changed:
        return ""
    add = _journal_function()
    entries = {host: "\n".join(f"- {line}" for line in lines) for host, lines in changed.items()}
    if add is None:
        return (
            f"NetBox journal not written: {'.'.join(NETBOX_JOURNAL)} does not exist yet "
            f"(apply record {record_id} has the changes)"
        )
    add(entries, record_id=record_id)
    return f"NetBox journal: entry on {len(entries)} host(s)"
