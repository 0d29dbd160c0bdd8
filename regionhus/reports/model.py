"""The audit report as plain data: every output format renders this and nothing else.

Values stay raw (slugs, states, ISO dates) so the JSON is machine-readable; only
finding messages are written in the report's language, since they are prose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from regionhus.reports.costs import CostAllocation, CostRow

REGION_SCOPE = "region"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    kommune: str | None  # None: about the region's shared platform
    message: str


@dataclass(frozen=True)
class ServiceRow:
    service: str
    title: str
    start: dt.date
    until: dt.date | None
    state: str  # active | ended | none (see Kommune.service_state)
    responsible: str
    availability_percent: float
    response_time_hours: float
    # Measured by the monitoring over the report period (None: not measured), and how
    # much of the period the measurement covers (Prometheus may hold less history).
    measured_percent: float | None = None
    measured_coverage_percent: float | None = None


@dataclass(frozen=True)
class HostRow:
    name: str
    fqdn: str
    address: str
    roles: list[str]
    serves: str
    site: str
    tags: list[str]
    shared: bool


@dataclass(frozen=True)
class VdiPool:
    state: str
    declared: int | None
    present: int
    hosts: list[str]


@dataclass(frozen=True)
class AdminMember:
    username: str
    name: str
    origin: str  # kommune | region


@dataclass(frozen=True)
class RegionalRights:
    """The regional operators' rights over every municipality's OU, as the directory
    gives them: membership of the regional group, delegated on the OU above all the
    municipalities' OUs (never membership of a municipality's own admin group)."""

    group: str
    delegated_on: str
    read: bool
    source: str | None
    read_at: dt.datetime | None
    declared: list[AdminMember]
    actual: list[str]
    extra: list[str]
    missing: list[str]


@dataclass(frozen=True)
class RemovedMember:
    username: str
    name: str
    disabled_on: dt.date | None


@dataclass(frozen=True)
class AdminRights:
    """The municipality's own admin group (its operators), and the regional rights."""

    read: bool
    source: str | None
    read_at: dt.datetime | None
    admin_group: str | None
    declared: list[AdminMember]
    actual: list[str]
    extra: list[str]
    missing: list[str]
    regional: RegionalRights | None = None
    # Operator accounts removed from kommuner/, disabled by an apply on `disabled_on`.
    removed: list[RemovedMember] = field(default_factory=list)


@dataclass(frozen=True)
class Drill:
    started_at: dt.datetime
    archive: str
    files: int
    bytes: int
    duration_s: float
    result: str
    detail: str


@dataclass(frozen=True)
class BackupEvidence:
    state: str
    every_hours: int | None
    at: str | None
    retention: dict[str, int]
    quota_gb: int | None
    repository: str | None
    newest_archive: str | None
    newest_archive_time: dt.datetime | None
    archive_age_hours: float | None
    last_drill: Drill | None
    drill_count: int
    drill_max_age_days: int
    restore_time_hours: float | None


@dataclass(frozen=True)
class Change:
    id: str
    who: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    git_commit: str
    hosts: list[str]
    changes: list[tuple[str, str]]  # (host, description), only this municipality's hosts


@dataclass(frozen=True)
class KommuneSection:
    slug: str
    name: str
    kommunenummer: str
    population: int
    status: str
    member_from: dt.date
    member_until: dt.date | None
    services: list[ServiceRow]
    hosts: list[HostRow]  # its own, then the shared ones it depends on
    vdi: VdiPool
    admin: AdminRights
    backup: BackupEvidence
    changes: list[Change]
    cost: CostRow
    findings: list[Finding]


@dataclass(frozen=True)
class AuditReport:
    scope: str  # "region" or a municipality's slug
    lang: str
    region_name: str
    region_slug: str
    generated_at: dt.datetime
    on: dt.date
    period_start: dt.datetime
    period_end: dt.datetime
    inventory_source: str
    records_dir: str
    hosts: list[HostRow]  # every host in scope: the region's, or one municipality's + shared
    kommuner: list[KommuneSection]
    costs: CostAllocation
    findings: list[Finding]  # every finding in scope, most severe first
    # Where measured availability came from (Prometheus' URL), None: no monitoring.
    availability_source: str | None = None

    @property
    def is_region(self) -> bool:
        return self.scope == REGION_SCOPE

    def counts(self) -> dict[str, int]:
        return {s.value: sum(f.severity == s for f in self.findings) for s in Severity}


def to_plain(value: Any) -> Any:
    """Dataclasses, dates and enums as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value
