"""`regionhus backup drill <kommune>` and `regionhus backup status`.

Register in regionhus/cli.py with:  from regionhus.backup.cli import backup
and `main.add_command(backup)`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from regionhus.backup.remote import backup_server, server_drill, server_status
from regionhus.backup.repositories import REGION_REPOSITORY
from regionhus.backup.rollback import clients_of, server_rollback
from regionhus.backup.rollback import rollback as run_rollback
from regionhus.backup.schedule import DEFAULT_GRACE
from regionhus.backup.status import RepoStatus, classify, expected_schedules
from regionhus.cli_options import format_option
from regionhus.config import load_region
from regionhus.errors import RegionhusError
from regionhus.inventory import load_inventory
from regionhus.records import write_backup_record, write_drill_record, write_rollback_record


@click.group("backup")
def backup() -> None:
    """Backups per municipality: restore drills and freshness."""


def known_repository(kommune: str) -> None:
    if kommune == REGION_REPOSITORY:
        return
    load_region().kommune(kommune)  # raises with the list of known municipalities


@backup.command()
@click.argument("kommune")
@click.option("--archive", help="Drill this archive instead of the newest.")
def drill(kommune: str, archive: str | None) -> None:
    """Restore the newest archive into scratch space and compare sha256 file by file."""
    known_repository(kommune)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = server_drill(backup_server(), kommune, archive)
    if "error" in result:
        raise RegionhusError(f"drill of {kommune} could not run: {result['error']}")
    path = write_drill_record(
        kommune,
        started_at=started,
        archive=result["archive"],
        files=int(result["files"]),
        bytes_restored=int(result["bytes"]),
        duration_s=float(result["duration_s"]),
        passed=bool(result["passed"]),
        detail=result.get("detail", ""),
    )
    verdict = "PASS" if result["passed"] else "FAIL"
    click.echo(
        f"{verdict} {kommune}: {result['archive']}: {result['files']} files, "
        f"{result['bytes']} bytes in {result['duration_s']} s ({result.get('detail', '')})"
    )
    click.echo(f"record: {path}")
    if not result["passed"]:
        sys.exit(1)


def writers() -> set[str]:
    """Repositories some host in the inventory writes to (DCs: region; VDI: its kommune)."""
    found = set()
    for host in load_inventory().hosts:
        roles = {str(role) for role in host.roles}
        if "directory" in roles:
            found.add(REGION_REPOSITORY)
        if "vdi" in roles:
            found.add(str(host.serves))
    return found


def mb(size: int | None) -> str:
    return "?" if size is None else f"{size / 10**6:.1f} MB"


def show(row: RepoStatus) -> str:
    age = row.freshness.age
    age_text = f"{age.total_seconds() / 3600:.1f} h" if age is not None else "-"
    state = row.freshness.state if row.has_clients else f"{row.freshness.state} (no client)"
    if row.alert:
        state += " TAMPER ALERT"
    if row.over_quota:
        state += f" OVER QUOTA ({mb(row.used_bytes)} of {mb(row.quota_bytes)})"
    if row.disk_full:
        state += f" DISK FULL ({mb(row.disk_free_bytes)} free)"
    return (
        f"{row.repository:<14} {row.archives:>4}  {row.newest_archive or '-':<40} "
        f"{age_text:>8}  every {row.every_hours:>2} h  {state}"
    )


def as_json(row: RepoStatus) -> dict[str, object]:
    age = row.freshness.age
    return {
        "repository": row.repository,
        "archives": row.archives,
        "newest_archive": row.newest_archive,
        "newest_archive_time": row.newest_archive_time.isoformat()
        if row.newest_archive_time
        else None,
        "age_hours": round(age.total_seconds() / 3600, 2) if age is not None else None,
        "every_hours": row.every_hours,
        "state": row.freshness.state,
        "has_clients": row.has_clients,
        "tamper_alert": row.alert,
        "used_bytes": row.used_bytes,
        "quota_bytes": row.quota_bytes,
        "disk_free_bytes": row.disk_free_bytes,
        "over_quota": row.over_quota,
        "disk_full": row.disk_full,
        "problem": row.problem,
    }


@backup.command()
@click.option("--grace-hours", type=float, default=DEFAULT_GRACE.total_seconds() / 3600)
@format_option("json")
def status(grace_hours: float, fmt: str) -> None:
    """Newest archive per repository; exit 1 if one is older than its schedule allows,
    tampered with, over its quota or on a full disk."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    server = server_status(backup_server())
    rows = classify(
        server,
        expected_schedules(load_region()),
        writers(),
        now,
        dt.timedelta(hours=grace_hours),
    )
    if fmt == "json":
        click.echo(json.dumps([as_json(row) for row in rows], indent=2))
    else:
        click.echo(f"{'repository':<14} {'arch':>4}  {'newest archive':<40} {'age':>8}  schedule")
    for row in rows:
        if fmt != "json":
            click.echo(show(row))
        if row.newest_archive and row.newest_archive_time:
            write_backup_record(
                row.repository,
                newest_archive=row.newest_archive,
                newest_archive_time=row.newest_archive_time,
                repository=row.repository,
                archive_count=row.archives,
                read_at=now,
            )
    late = [row.repository for row in rows if row.problem]
    if late:
        click.echo(f"late, tampered, over quota or disk full: {', '.join(late)}", err=True)
        if any(row.over_quota or row.disk_full for row in rows):
            click.echo(
                "Over quota or disk full: the next backups fail, the archives already "
                "there are kept. Free space on the backup server or raise the municipality's "
                "backup.quota_gb; roles/backup_server/README.md (Space).",
                err=True,
            )
        sys.exit(1)


@backup.command()
@click.argument("kommune")
@click.option(
    "--to",
    "transaction",
    type=click.IntRange(min=0),
    help="Go back to this transaction instead of the one the guard's alert names.",
)
@click.option("--yes", is_flag=True, help="Do not ask before changing anything.")
def rollback(kommune: str, transaction: int | None, yes: bool) -> None:
    """Bring back archives a client deleted: roll the repository back on the server, reset
    every client's borg cache of it, and record it (records/rollbacks/)."""
    known_repository(kommune)
    server = backup_server()
    clients = clients_of(kommune, load_region(), load_inventory().hosts)
    plan = server_rollback(server, kommune, transaction, dry_run=True)
    click.echo(
        f"{kommune}: back to transaction {plan['transaction']} on {server}; "
        f"{plan['segments_moved']} newer segment(s) go to quarantine (kept); brings back: "
        f"{', '.join(plan['restores']) or 'nothing the guard named'}; "
        f"clients to reset: {', '.join(clients) or 'none'}"
    )
    if not yes:
        click.confirm("Roll back now?", abort=True)
    done = run_rollback(server, kommune, plan["transaction"], clients)
    path = write_rollback_record(
        kommune,
        started_at=done.started_at,
        transaction=int(done.server["transaction"]),
        restores=done.server.get("restores", []),
        archives=int(done.server["archives"]),
        quarantine=str(done.server["quarantine"]),
        clients_reset=done.clients,
        clients_failed=done.failed,
        duration_s=done.duration_s,
    )
    click.echo(
        f"{kommune}: rolled back to transaction {done.server['transaction']}, "
        f"{done.server['archives']} archives, in {done.duration_s} s; moved files: "
        f"{done.server['quarantine']}; clients reset: {', '.join(sorted(done.clients)) or 'none'}"
    )
    click.echo(f"record: {path}")
    problem = done.problem()
    if problem:
        raise RegionhusError(problem)
    click.echo(f"next: a backup (or wait for the timer), then `regionhus backup drill {kommune}`")
