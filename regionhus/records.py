"""Evidence records: JSON files other commands write and `regionhus audit` reads.

This module is the one place the record formats live (see
regionhus/reports/records.md). Writers are what the directory, backup and apply work
call; the models are what the audit reads. Models ignore unknown keys so a writer may
add fields without breaking older readers; the keys below are the contract.

Layout under `records_dir()`:

    directory/<slug>.json          last reading of the municipality's admin group
    directory/region.json          ... of the regional group (rights in every municipality)
    backup/<slug>/latest.json      newest archive of the municipality's repository
    drills/<slug>/<stamp>.json     one file per restore drill
    rollbacks/<repo>/<stamp>.json  one file per backup rollback (server and clients)
    applies/<id>.json              one file per apply run
    keys/<host>/<kind>.json        a public key read from the host when it was applied
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from regionhus.model import SLUG_PATTERN
from regionhus.paths import records_dir

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
RecordId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


class Record(BaseModel):
    # Unknown keys are kept out of the way rather than rejected: writers grow first,
    # the reader learns later.
    model_config = ConfigDict(extra="ignore", frozen=True)


class RemovedOperator(Record):
    """An operator account no longer declared in kommuner/ (or region.yml): disabled by
    an apply, which wrote the day on the account itself (so every later reading agrees)."""

    username: str
    name: str = ""
    disabled_on: dt.date | None = None


class DirectoryRecord(Record):
    """Who is in a municipality's admin group, as read from a domain controller."""

    read_at: AwareDatetime
    source: str
    admin_group: str
    members: list[str]
    removed: list[RemovedOperator] = []


class BackupRecord(Record):
    """The newest archive in a municipality's backup repository."""

    newest_archive: str
    newest_archive_time: AwareDatetime
    repository: str | None = None
    archive_count: int | None = None
    read_at: AwareDatetime | None = None


class DrillRecord(Record):
    """One restore drill: an archive restored to scratch space and checked."""

    kommune: Slug
    started_at: AwareDatetime
    archive: str
    files: Annotated[int, Field(ge=0)]
    bytes: Annotated[int, Field(ge=0)]
    duration_s: Annotated[float, Field(ge=0)]
    result: Literal["pass", "fail"]
    detail: str = ""


class RollbackRecord(Record):
    """One rollback of a backup repository after a client deleted archives."""

    repository: str
    started_at: AwareDatetime
    transaction: Annotated[int, Field(ge=0)]
    restores: list[str]
    archives: Annotated[int, Field(ge=0)]
    quarantine: str
    clients_reset: list[str]
    clients_failed: dict[str, str] = {}
    duration_s: Annotated[float, Field(ge=0)]


class ApplyRecord(Record):
    """One apply run: who changed what on which hosts, from which commit."""

    id: RecordId
    who: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    git_commit: str
    hosts: list[str]
    kommuner: list[str]
    changed: dict[str, list[str]] = {}
    # host -> what became of it: "applied", "nothing to apply", "FAILED ...", "services
    # layer NOT run ...", "UNKNOWN ..." (records before this field have none).
    outcome: dict[str, str] = {}


class KeyRecord(Record):
    """A host's public key as read at its last apply (a client's backup key, the backup
    server's ssh host key), so a run that does not include the host still knows it."""

    host: str
    kind: str
    public_key: str
    read_at: AwareDatetime


# --- where records live ---------------------------------------------------------------


def _root(root: Path | None) -> Path:
    return root if root is not None else records_dir()


def directory_record_path(slug: str, root: Path | None = None) -> Path:
    return _root(root) / "directory" / f"{slug}.json"


def backup_record_path(slug: str, root: Path | None = None) -> Path:
    return _root(root) / "backup" / slug / "latest.json"


def drills_dir(slug: str, root: Path | None = None) -> Path:
    return _root(root) / "drills" / slug


def rollbacks_dir(repository: str, root: Path | None = None) -> Path:
    return _root(root) / "rollbacks" / repository


def applies_dir(root: Path | None = None) -> Path:
    return _root(root) / "applies"


def key_record_path(host: str, kind: str, root: Path | None = None) -> Path:
    return _root(root) / "keys" / host / f"{kind}.json"


# --- writers ------------------------------------------------------------------------


def _utc(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if moment.tzinfo is None:
        # A naive time is ambiguous across the lab, CI and the auditor's laptop.
        raise ValueError(f"timestamp {moment.isoformat()} has no time zone; use UTC")
    return moment.astimezone(dt.UTC)


def _write(path: Path, record: Record) -> Path:
    """Write atomically: the audit may read while a drill or apply is writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_key_record(
    host: str,
    kind: str,
    public_key: str,
    *,
    read_at: dt.datetime | None = None,
    root: Path | None = None,
) -> Path:
    """Record a host's public key (replaces the last: only the current key matters)."""
    record = KeyRecord(host=host, kind=kind, public_key=public_key, read_at=_utc(read_at))
    return _write(key_record_path(host, kind, root), record)


def write_directory_record(
    slug: str,
    *,
    admin_group: str,
    members: Iterable[str],
    source: str,
    read_at: dt.datetime | None = None,
    root: Path | None = None,
    removed: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Record the admin group's members as just read from the directory (replaces the last).

    `removed`: operator accounts no longer declared ({username, name, disabled_on})."""
    record = DirectoryRecord(
        read_at=_utc(read_at),
        source=source,
        admin_group=admin_group,
        members=sorted(members),
        removed=[RemovedOperator.model_validate(r) for r in removed],
    )
    return _write(directory_record_path(slug, root), record)


def write_backup_record(
    slug: str,
    *,
    newest_archive: str,
    newest_archive_time: dt.datetime,
    repository: str | None = None,
    archive_count: int | None = None,
    read_at: dt.datetime | None = None,
    root: Path | None = None,
) -> Path:
    """Record the newest archive of the municipality's repository (replaces the last)."""
    record = BackupRecord(
        newest_archive=newest_archive,
        newest_archive_time=_utc(newest_archive_time),
        repository=repository,
        archive_count=archive_count,
        read_at=_utc(read_at),
    )
    return _write(backup_record_path(slug, root), record)


def write_drill_record(
    slug: str,
    *,
    started_at: dt.datetime,
    archive: str,
    files: int,
    bytes_restored: int,
    duration_s: float,
    passed: bool,
    detail: str = "",
    root: Path | None = None,
) -> Path:
    """Add one restore drill; drills are kept, never replaced, so the history is evidence."""
    started = _utc(started_at)
    record = DrillRecord(
        kommune=slug,
        started_at=started,
        archive=archive,
        files=files,
        bytes=bytes_restored,
        duration_s=duration_s,
        result="pass" if passed else "fail",
        detail=detail,
    )
    path = drills_dir(slug, root) / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    return _write(path, record)


def write_rollback_record(
    repository: str,
    *,
    started_at: dt.datetime,
    transaction: int,
    restores: Iterable[str],
    archives: int,
    quarantine: str,
    clients_reset: Iterable[str],
    clients_failed: Mapping[str, str],
    duration_s: float,
    root: Path | None = None,
) -> Path:
    """Add one rollback; kept, never replaced, like drills."""
    started = _utc(started_at)
    record = RollbackRecord(
        repository=repository,
        started_at=started,
        transaction=transaction,
        restores=sorted(restores),
        archives=archives,
        quarantine=quarantine,
        clients_reset=sorted(clients_reset),
        clients_failed=dict(clients_failed),
        duration_s=duration_s,
    )
    path = rollbacks_dir(repository, root) / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    return _write(path, record)


def write_apply_record(
    *,
    id: str,
    who: str,
    started_at: dt.datetime,
    finished_at: dt.datetime | None,
    git_commit: str,
    hosts: Iterable[str],
    kommuner: Iterable[str],
    changed: Mapping[str, Iterable[str]],
    root: Path | None = None,
    outcome: Mapping[str, str] | None = None,
) -> Path:
    """Record one apply run; `changed` maps host -> human-readable change descriptions,
    `outcome` host -> what became of it."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", id):
        raise ValueError(f"apply id {id!r} must be a plain file name (letters, digits, ._-)")
    record = ApplyRecord(
        id=id,
        who=who,
        started_at=_utc(started_at),
        finished_at=_utc(finished_at) if finished_at else None,
        git_commit=git_commit,
        hosts=sorted(hosts),
        kommuner=sorted(kommuner),
        changed={host: list(changes) for host, changes in changed.items()},
        outcome=dict(outcome or {}),
    )
    return _write(applies_dir(root) / f"{id}.json", record)


def load_record(path: Path, model: type[Record]) -> Any:
    """Parse one record file; raises OSError, ValueError (bad JSON or wrong shape)."""
    return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
