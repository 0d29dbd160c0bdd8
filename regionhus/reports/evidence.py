"""What the audit knows about the live platform: records written by other commands.

The report never asks a host itself; it reads the evidence the directory, backup and
apply work leave behind (formats in regionhus/records.py). A missing record is
reported as "not read", never filled in from the declared configuration, and an
unreadable one becomes a finding instead of stopping the whole report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from regionhus.records import (
    ApplyRecord,
    BackupRecord,
    DirectoryRecord,
    DrillRecord,
    Record,
    applies_dir,
    backup_record_path,
    directory_record_path,
    drills_dir,
    load_record,
)


@dataclass(frozen=True)
class BrokenRecord:
    path: Path
    reason: str


class Evidence(Protocol):
    """The reader interface the report builder depends on (tests may fake it)."""

    broken: list[BrokenRecord]

    def directory(self, slug: str) -> DirectoryRecord | None: ...

    def backup(self, slug: str) -> BackupRecord | None: ...

    def drills(self, slug: str) -> list[DrillRecord]: ...

    def applies(self) -> list[ApplyRecord]: ...


@dataclass
class RecordEvidence:
    """Evidence from the JSON record files under one records directory."""

    root: Path
    broken: list[BrokenRecord] = field(default_factory=list)

    def _load[R: Record](self, path: Path, model: type[R]) -> R | None:
        if not path.is_file():
            return None
        try:
            return load_record(path, model)
        except (OSError, ValueError, ValidationError) as exc:
            self.broken.append(BrokenRecord(path, _short_reason(exc)))
            return None

    def directory(self, slug: str) -> DirectoryRecord | None:
        return self._load(directory_record_path(slug, self.root), DirectoryRecord)

    def backup(self, slug: str) -> BackupRecord | None:
        return self._load(backup_record_path(slug, self.root), BackupRecord)

    def drills(self, slug: str) -> list[DrillRecord]:
        paths = sorted(drills_dir(slug, self.root).glob("*.json"))
        found = [self._load(path, DrillRecord) for path in paths]
        return sorted((d for d in found if d is not None), key=lambda d: d.started_at)

    def applies(self) -> list[ApplyRecord]:
        paths = sorted(applies_dir(self.root).glob("*.json"))
        found = [self._load(path, ApplyRecord) for path in paths]
        return sorted((a for a in found if a is not None), key=lambda a: a.started_at)


def _short_reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
