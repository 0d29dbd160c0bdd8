"""`regionhus plan` and `regionhus apply`."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from regionhus.admin_network import require_admin_network
from regionhus.cli_options import progress_option, source_option
from regionhus.config import load_region
from regionhus.errors import RegionhusError
from regionhus.inventory import Inventory, load_inventory
from regionhus.plan import apply_record, converged, gitinfo, guard, report
from regionhus.plan.lock import apply_lock
from regionhus.plan.model import ExitCode, HostPlan, Plan, Status
from regionhus.plan.repo import read_repo
from regionhus.plan.run import apply_runs, collect, dry_run
from regionhus.plan.scope import (
    Scope,
    affected_hosts,
    full_scope,
    kommune_scope,
    restrict,
    served_kommuner,
)
from regionhus.progress import Progress, wanted
from regionhus.secrets import require_secrets, required_secrets, vault_file
from regionhus.transport import Transport, transport_for
from regionhus.vault_check import check_vault_data

KOMMUNE = click.option(
    "--kommune",
    "kommuner",
    multiple=True,
    help="Only hosts serving this municipality, and the shared hosts holding its data.",
)
HOST = click.option("--host", "hosts", multiple=True, help="Only this host (repeatable).")


def build_scope(
    root: Path,
    inventory: Inventory,
    kommuner: tuple[str, ...],
    hosts: tuple[str, ...],
    ref: str | None = None,
) -> tuple[Scope, bool]:
    """The hosts to plan/apply, each with why; and whether that is less than the region."""
    known = {h.name for h in inventory.hosts}
    unknown = [h for h in hosts if h not in known] + [
        k for k in kommuner if k not in inventory.config.kommuner
    ]
    if unknown:
        raise RegionhusError(
            f"unknown host or municipality: {', '.join(unknown)}; "
            f"hosts: {', '.join(sorted(known))}; municipalities: "
            f"{', '.join(inventory.config.kommuner)}"
        )
    everything = list(inventory.hosts)
    if ref:
        paths = gitinfo.changed_since(root, ref)
        scope = affected_hosts(paths, everything, inventory.groups(), read_repo(root))
    else:
        scope = full_scope(everything)
    if kommuner:
        scope = restrict(scope, kommune_scope(kommuner, everything))
    if hosts:
        scope = restrict(scope, names=hosts)
        if scope.kommuner is None:  # the guard: only what the named hosts serve
            scope.kommuner = served_kommuner(hosts, everything)
    limited = bool(ref or kommuner or hosts)
    return scope, limited


def _prepare(root: Path, source: str | None) -> Inventory:
    """Validate kommuner/ and the vault before any host is touched."""
    config = load_region(root)
    secrets = require_secrets(config)
    check_vault_data(vault_file(), secrets, required_secrets(config))
    inventory = load_inventory(root, source, config)
    require_admin_network(inventory)
    return inventory


def _explain_scope(scope: Scope, limited: bool) -> None:
    if not limited:
        return
    for path in scope.ignored:
        click.echo(f"not planned: {path} touches no host", err=True)
    for note in scope.notes:
        click.echo(f"note: {note}", err=True)


FULL_PLAN = click.option(
    "--full",
    is_flag=True,
    help="Dry-run both engines on every host in scope, also on hosts whose inputs and "
    "state match what they were last converged to.",
)


def fast_check(
    scope: Scope, inventory: Inventory, transport: Transport, *, full: bool
) -> converged.Check:
    """The hosts in scope that still match their converged record (none with --full)."""
    if full:
        return converged.Check()
    result = converged.check(scope.hosts, inventory, transport)
    if result.matched or any(
        not why.startswith("no converged") for why in result.unmatched.values()
    ):
        unmatched = "; ".join(f"{h}: {why}" for h, why in sorted(result.unmatched.items()))
        click.echo(
            f"converged: {len(result.matched)} of {len(scope.hosts)} host(s) match what they "
            "were last converged to (inputs and probed state); the engines skip them"
            + (f"\nto the engines: {unmatched}" if unmatched else ""),
            err=True,
        )
    return result


def without(scope: Scope, hosts: Iterable[str]) -> Scope:
    skipped = set(hosts)
    return Scope(
        hosts={h: e for h, e in scope.hosts.items() if h not in skipped},
        ignored=scope.ignored,
        notes=scope.notes,
        kommuner=scope.kommuner,
    )


def planned_with(
    scope: Scope,
    inventory: Inventory,
    fast: converged.Check,
    *,
    commit: str,
    limited: bool,
    progress: Progress,
) -> Plan:
    """The engines' dry runs on the hosts `fast` did not match; the matched hosts are in
    the plan with nothing to do and why."""
    rest = without(scope, fast.matched)
    if rest.hosts:
        result = dry_run(
            rest,
            inventory,
            source=inventory.source,
            commit=commit,
            limited=limited,
            progress=progress,
        )
    else:
        result = collect([], rest, inventory, commit=commit, limited=limited)
    serves = {h.name: h.serves for h in inventory.hosts}
    for host, why in fast.matched.items():
        reasons = [*scope.hosts[host].reasons, why]
        result.hosts[host] = HostPlan(host, serves[host], reasons=reasons, checked="fingerprint")
    result.hosts = dict(sorted(result.hosts.items()))
    return result


def record_converged(
    hosts: Iterable[str], inventory: Inventory, transport: Transport, plan: Plan, commit: str
) -> None:
    """Remember hosts an engine just found (or made) converged, for the next plan."""
    done = converged.record(hosts, inventory, transport, managed=plan.managed, commit=commit)
    if done:
        click.echo(f"converged: recorded {', '.join(done)}", err=True)


@click.command()
@KOMMUNE
@HOST
@FULL_PLAN
@click.option(
    "--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text", show_default=True
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the report here."
)
@click.option(
    "--changed-since",
    "ref",
    metavar="REF",
    help="Plan only the hosts the files changed since git REF affect (says why for each).",
)
@source_option
@progress_option
@click.pass_obj
def plan(
    root: Path,
    kommuner: tuple[str, ...],
    hosts: tuple[str, ...],
    full: bool,
    fmt: str,
    out: Path | None,
    ref: str | None,
    source: str | None,
    progress: bool | None,
) -> None:
    """Dry run of the base layer (pyinfra --dry) and the services (ansible-playbook
    --check --diff), merged per municipality and host. Touches nothing.

    Tasks that cannot tell in a dry run what they would do are reported as UNKNOWN.

    A host whose inputs (code, variables, secrets) and probed state (files, packages,
    services, directory objects) match what it was last converged to is not dry-run
    again (regionhus.plan.converged); --full dry-runs every host.
    """
    try:
        inventory = _prepare(root, source)
        scope, limited = build_scope(root, inventory, kommuner, hosts, ref)
        _explain_scope(scope, limited)
        via = transport_for(inventory)
        commit = gitinfo.head_commit(root)
        if not scope.hosts:
            click.echo("Nothing to plan: the changes touch no host.", err=True)
            result = collect([], scope, inventory, commit=commit, limited=True)
        else:
            # A host the probe matched has just run it as root: that was its login check.
            fast = fast_check(scope, inventory, via, full=full)
            # Every other host reachable as needed (bastion, host key, sudo) before either
            # engine starts: one clear error per host instead of two engines' failures.
            via.preflight(sorted(set(scope.hosts) - set(fast.matched)))
            result = planned_with(
                scope,
                inventory,
                fast,
                commit=commit,
                limited=limited,
                progress=Progress(wanted(progress)),
            )
            dirty = "+dirty" if gitinfo.dirty_files(root) else ""
            record_converged(
                converged.converged_hosts(result), inventory, via, result, commit + dirty
            )
    except RegionhusError as exc:
        click.echo(f"feil: {exc}", err=True)
        sys.exit(exc.exit_code)
    text = report.RENDERERS[fmt](result, inventory.config)
    if out:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{report.summary_line(result)} -> {out}", err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(int(result.exit_code))


def _record_applied(
    scope: Scope,
    inventory: Inventory,
    via: Transport,
    fast: converged.Check,
    planned: Plan,
    applied: Plan,
    commit: str,
    ran: bool,
) -> None:
    """After an apply: every host in scope (both layers) that the dry runs judged, or
    that matched its record, is converged now, unless something failed. Without an
    engine run, the matched hosts keep the records they have."""
    if planned.exit_code == ExitCode.ERROR or applied.exit_code == ExitCode.ERROR:
        converged.forget(scope.hosts)
        return
    hosts = [
        h
        for h, entry in scope.hosts.items()
        if entry.layers >= converged.BOTH
        and ((ran and h in fast.matched) or planned.engines_ran.get(h, set()) >= converged.BOTH)
    ]
    managed: dict[str, dict[str, set[str]]] = {}
    for host in hosts:
        entry = managed.setdefault(host, {"paths": set(), "services": set()})
        old = fast.records.get(host)
        for source in (planned.managed.get(host, {}), applied.managed.get(host, {})):
            for key in ("paths", "services"):
                entry[key].update(source.get(key, ()))
        if old is not None:
            entry["paths"].update(old.paths)
            entry["services"].update(old.services)
    done = converged.record(hosts, inventory, via, managed=managed, commit=commit)
    if done:
        click.echo(f"converged: recorded {', '.join(done)}", err=True)


def _confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RegionhusError("no terminal to confirm on: pass --yes to apply without asking")
    if not click.confirm("Apply these changes?", default=False):
        raise RegionhusError("not confirmed; nothing was applied")


def _summary(applied: Plan, outcome: dict[str, str]) -> str:
    lines = ["", "Applied:"]
    for host in applied.hosts.values():
        done = [c for c in host.changes if c.status != Status.FAILED]
        failed = host.by_status(Status.FAILED)
        state = f"{len(done)} change(s)" + (f", {len(failed)} FAILED" if failed else "")
        said = outcome.get(host.name, "applied")
        if said not in ("applied", "nothing to apply"):
            state += f": {said}"
        lines.append(f"  {host.name}: {state}")
        lines += [
            f"    {'!' if c.status == Status.FAILED else '~'} {c.describe()}" for c in host.changes
        ]
    return "\n".join(lines)


@click.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (automation).")
@KOMMUNE
@HOST
@click.option("--allow-dirty", is_flag=True, help="Apply from a work tree with uncommitted files.")
@click.option("--wait", is_flag=True, help="Wait for another apply holding these hosts.")
@click.option(
    "--full",
    is_flag=True,
    help="Run both engines on every host in scope, even where the plan found nothing to do.",
)
@click.option(
    "--changed-since",
    "ref",
    metavar="REF",
    help="Apply only the hosts the files changed since git REF affect.",
)
@source_option
@progress_option
@click.pass_obj
def apply(
    root: Path,
    yes: bool,
    kommuner: tuple[str, ...],
    hosts: tuple[str, ...],
    allow_dirty: bool,
    wait: bool,
    full: bool,
    ref: str | None,
    source: str | None,
    progress: bool | None,
) -> None:
    """Show the plan, confirm, apply (base layer, then services), and record it.

    Refuses a dirty work tree (the record names a commit) unless --allow-dirty. A lock
    keeps two applies off the same hosts. Every apply writes an apply record for
    `regionhus audit`. A scoped apply (--kommune, --host, --changed-since) stops before
    touching a host when the plan would change another municipality's data on a shared
    host, and names it (the scope guard).
    """
    try:
        _apply(
            root,
            yes,
            kommuner,
            hosts,
            allow_dirty,
            wait,
            full,
            ref,
            source,
            progress=Progress(wanted(progress)),
        )
    except RegionhusError as exc:
        click.echo(f"feil: {exc}", err=True)
        sys.exit(exc.exit_code)


def _apply(
    root: Path,
    yes: bool,
    kommuner: tuple[str, ...],
    hosts: tuple[str, ...],
    allow_dirty: bool,
    wait: bool,
    full: bool,
    ref: str | None,
    source: str | None,
    *,
    progress: Progress,
) -> None:
    dirty = gitinfo.dirty_files(root)
    if dirty and not allow_dirty:
        shown = ", ".join(dirty[:8]) + (" ..." if len(dirty) > 8 else "")
        raise RegionhusError(
            f"the work tree has {len(dirty)} uncommitted file(s) ({shown}); commit them "
            "(the apply record names a commit) or pass --allow-dirty",
        )
    inventory = _prepare(root, source)
    scope, limited = build_scope(root, inventory, kommuner, hosts, ref)
    via = transport_for(inventory)
    who = via.who(sorted(scope.hosts))
    commit = gitinfo.head_commit(root) + ("+dirty" if dirty else "")
    started = dt.datetime.now(dt.UTC)
    with apply_lock(who or apply_record.operator(), sorted(scope.hosts), wait=wait):
        fast = fast_check(scope, inventory, via, full=full)
        # The matched hosts ran the probe as root; every other one is checked before an
        # engine starts (an apply may run the services on the whole scope: all of it).
        via.preflight(sorted(scope.hosts) if full else sorted(set(scope.hosts) - set(fast.matched)))
        planned = planned_with(
            scope, inventory, fast, commit=commit, limited=limited, progress=progress
        )
        click.echo(report.render_text(planned, inventory.config))
        if planned.exit_code == ExitCode.ERROR:
            raise RegionhusError("the plan failed; nothing was applied (see above)")
        if planned.scope_findings:
            raise RegionhusError(guard.describe(planned.scope_findings))
        runs = []
        if planned.changes() or full:
            _confirm(yes)
            # Whatever an engine touches has no converged record until it succeeded.
            converged.forget(scope.hosts)
            runs = apply_runs(
                planned,
                scope,
                inventory,
                source=inventory.source,
                everything=full,
                progress=progress,
            )
        else:
            click.echo("Nothing to apply: every host in scope is converged.")
        applied = collect(runs, scope, inventory, commit=commit, limited=limited)
        _record_applied(scope, inventory, via, fast, planned, applied, commit, bool(runs))
        # A host that failed may have gone away (link, power): say so, not only "error".
        gone = via.unreachable(apply_record.failed_hosts(runs, applied))
        outcome = apply_record.outcomes(runs, applied, gone)
    changed = apply_record.changed_by_host(applied.changes())
    record_id = apply_record.apply_id(started, commit)
    path = apply_record.write_record(
        record_id=record_id,
        started=started,
        commit=commit,
        hosts=sorted(scope.hosts),
        kommuner=apply_record.kommuner_touched(applied.changes(), sorted(scope.hosts), inventory),
        changed=changed,
        who=who,
        outcome=outcome,
    )
    click.echo(_summary(applied, outcome))
    journal = apply_record.netbox_journal(
        inventory,
        record_id,
        changed,
        hosts=sorted(scope.hosts),
        commit=commit,
        failed=applied.exit_code == ExitCode.ERROR,
        who=who,
    )
    click.echo(f"\nApply record: {path}" + (f"\n{journal}" if journal else ""))
    if applied.exit_code == ExitCode.ERROR:
        failed = [f"{c.host}: {c.describe()}: {c.detail}" for c in applied.changes(Status.FAILED)]
        problems = "\n".join([*applied.errors, *failed])[-4000:]
        per_host = "\n".join(
            f"  {host}: {text}" for host, text in outcome.items() if text != "applied"
        )
        lost = "".join(
            f"\n{host} is unreachable: {why}; when it answers again, rerun the same apply "
            "(only hosts without a converged record go through the engines)"
            for host, why in gone.items()
        )
        raise RegionhusError(
            f"the apply failed (the record has what did change):{lost}\nper host:\n{per_host}"
            f"\n{problems}"
        )
