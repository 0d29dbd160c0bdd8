"""What an apply leaves behind: an apply record (read by `regionhus audit`) and, when
NetBox is the inventory source, a journal entry on each applied host."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from regionhus.errors import RegionhusError
from regionhus.inventory import REGION, Inventory
from regionhus.plan.model import Change, Layer, Plan, Status
from regionhus.plan.run import LayerRun
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


def failed_hosts(runs: Sequence[LayerRun], applied: Plan) -> list[str]:
    """Hosts with a failed change, and every host of a layer whose engine failed
    without saying on which host (killed, hung, crashed)."""
    found = {c.host for c in applied.changes(Status.FAILED)}
    for layer_run in runs:
        if layer_run.run is not None and not layer_run.run.ok:
            named = {c.host for c in layer_run.changes if c.status == Status.FAILED}
            if not named:
                found |= set(layer_run.hosts)
    return sorted(found)


def outcomes(
    runs: Sequence[LayerRun], applied: Plan, unreachable: Mapping[str, str]
) -> dict[str, str]:
    """What became of each host in scope, for the record and the summary: an apply that
    failed somewhere must not leave another host looking done when a layer never ran."""
    base = next((r for r in runs if r.layer == Layer.BASE), None)
    services_ran = any(r.layer == Layer.SERVICES and r.run is not None for r in runs)
    base_failed = base is not None and base.run is not None and not base.run.ok
    base_failed_on = sorted(
        {c.host for c in applied.changes(Status.FAILED) if c.layer == Layer.BASE}
    )
    result: dict[str, str] = {}
    for name, host in applied.hosts.items():
        failed = host.by_status(Status.FAILED)
        gone = unreachable.get(name)
        broken = [r for r in runs if r.run is not None and not r.run.ok and name in r.hosts]
        if (
            failed
            or gone
            or (broken and not any(c.status == Status.FAILED for r in broken for c in r.changes))
        ):
            text = "FAILED"
            if failed:
                text += f" in the {failed[0].layer.value} layer at {failed[0].describe()}"
            elif broken:
                text += f": the {broken[0].layer.value} layer's engine failed (see the errors)"
            if gone:
                text += f"; unreachable now ({gone})"
            if base_failed and not services_ran:
                text += "; services layer NOT run"
            result[name] = text
        elif base_failed and not services_ran:
            where = ", ".join(base_failed_on) or "a host"
            done = "base layer applied" if base and name in base.hosts else "base layer not due"
            result[name] = f"{done}; services layer NOT run (the base layer failed on {where})"
        elif any(r.run is not None and name in r.hosts for r in runs):
            result[name] = "applied"
        else:
            result[name] = "nothing to apply"
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
    outcome: Mapping[str, str] | None = None,
) -> Path:
    """`who`: the identity that connected (an operator's own account); without it (the
    lab's shared root key) the local operator. `outcome`: host -> what became of it."""
    return write_apply_record(
        id=record_id,
        who=who or operator(),
        started_at=started,
        finished_at=dt.datetime.now(dt.UTC),
        git_commit=commit,
        hosts=hosts,
        kommuner=kommuner,
        changed=changed,
        outcome=outcome,
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
