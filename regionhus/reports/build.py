"""From kommuner/, the inventory and the evidence records to the report's data model."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from regionhus import directory
from regionhus.inventory import REGION, Host, Inventory, Role
from regionhus.model import Kommune, ServiceName
from regionhus.records import ApplyRecord, DirectoryRecord, DrillRecord
from regionhus.reports.availability import SHARED_SERVICES, Availability
from regionhus.reports.costs import CostAllocation, CostRow, allocate
from regionhus.reports.evidence import BrokenRecord, Evidence, RecordEvidence
from regionhus.reports.model import (
    REGION_SCOPE,
    SEVERITY_ORDER,
    AdminMember,
    AdminRights,
    AuditReport,
    BackupEvidence,
    Change,
    Drill,
    Finding,
    HostRow,
    KommuneSection,
    RegionalRights,
    RemovedMember,
    ServiceRow,
    Severity,
    VdiPool,
)
from regionhus.reports.texts import Texts

# A restore drill at least monthly. The SLA's restore_time_hours says how fast a
# restore must be, not how often it is proven; a month bounds how long a broken
# restore path (lost key, changed repository) can go unnoticed, and matches the
# coarsest retention that every municipality keeps (monthly archives).
DRILL_MAX_AGE_DAYS = 30

# The directory reading is evidence of who holds rights *now*; older than a week
# it no longer says much about today.
DIRECTORY_MAX_AGE_DAYS = 7

# One missed scheduled run may be a busy night; two in a row is a broken backup.
MISSED_BACKUP_RUNS = 2

DEFAULT_PERIOD_DAYS = 90


@dataclass
class _Context:
    inventory: Inventory
    evidence: Evidence
    texts: Texts
    now: dt.datetime
    period_start: dt.datetime
    findings: list[Finding]
    regional: RegionalRights | None = None  # read once, shown in every municipality
    availability: Availability | None = None  # measured by the monitoring, if any
    # Shared services whose shortfall is already a finding (flagged once, for the region).
    flagged_shared: set[str] = field(default_factory=set)

    @property
    def on(self) -> dt.date:
        return self.inventory.config.on

    def flag(self, severity: Severity, code: str, kommune: str | None, key: str, **kw) -> None:  # type: ignore[no-untyped-def]
        self.findings.append(Finding(severity, code, kommune, self.texts.t(key, **kw)))


def build_report(
    inventory: Inventory,
    evidence: Evidence | None = None,
    *,
    scope: str = REGION_SCOPE,
    lang: str = "nb",
    period_days: int = DEFAULT_PERIOD_DAYS,
    now: dt.datetime | None = None,
    records_root: Path | None = None,
    availability: Availability | None = None,
) -> AuditReport:
    """The report for the region (scope "region") or for one municipality (its slug)."""
    return build_reports(
        inventory,
        evidence,
        scopes=[scope],
        lang=lang,
        period_days=period_days,
        now=now,
        records_root=records_root,
        availability=availability,
    )[0]


def build_reports(
    inventory: Inventory,
    evidence: Evidence | None = None,
    *,
    scopes: list[str],
    lang: str = "nb",
    period_days: int = DEFAULT_PERIOD_DAYS,
    now: dt.datetime | None = None,
    records_root: Path | None = None,
    availability: Availability | None = None,
) -> list[AuditReport]:
    """One report per scope ("region" or a slug), from one reading of the evidence.

    The region is assessed once; a municipality's report is its part of that: its
    section, its findings and the region-wide ones, its cost line with the totals.
    Assessing the whole region per report made the audit grow with the square of the
    region (48 s for 357 municipalities).
    """
    config = inventory.config
    for scope in scopes:
        if scope != REGION_SCOPE:
            config.kommune(scope)  # raises a clear error for an unknown slug
    if evidence is None:
        from regionhus.paths import records_dir

        records_root = records_root or records_dir()
        evidence = RecordEvidence(records_root)
    now = now or dt.datetime.now(dt.UTC)
    region = _region_report(inventory, evidence, lang, period_days, now, records_root, availability)
    return [region if scope == REGION_SCOPE else _kommune_report(region, scope) for scope in scopes]


def _region_report(
    inventory: Inventory,
    evidence: Evidence,
    lang: str,
    period_days: int,
    now: dt.datetime,
    records_root: Path | None,
    availability: Availability | None = None,
) -> AuditReport:
    config = inventory.config
    ctx = _Context(
        inventory=inventory,
        evidence=evidence,
        texts=Texts(lang),
        now=now,
        period_start=now - dt.timedelta(days=period_days),
        findings=[],
        availability=availability,
    )
    if availability is not None and availability.error:
        ctx.flag(
            Severity.WARNING,
            "availability_not_measured",
            None,
            "f_availability_not_measured",
            source=availability.source,
            error=availability.error,
        )
    ctx.regional = _regional_rights(ctx)
    kommuner = list(config.kommuner.values())
    costs = allocate(config.region, kommuner, config.on)
    cost_rows = {row.kommune: row for row in costs.rows}
    applies = evidence.applies()
    sections = [_kommune_section(ctx, k, cost_rows[k.slug], applies) for k in kommuner]
    _check_shared_hosts(ctx)
    _flag_broken_records(ctx, evidence.broken, records_root)
    findings = _sorted_findings(ctx.findings)
    by_kommune: dict[str | None, list[Finding]] = {}
    for finding in findings:
        by_kommune.setdefault(finding.kommune, []).append(finding)
    return AuditReport(
        scope=REGION_SCOPE,
        lang=lang,
        region_name=config.region.name,
        region_slug=config.region.slug,
        generated_at=now,
        on=config.on,
        period_start=ctx.period_start,
        period_end=now,
        inventory_source=inventory.source,
        records_dir=str(records_root) if records_root else "",
        hosts=[_host_row(inventory, h) for h in inventory.hosts],
        kommuner=[_with_findings(s, by_kommune.get(s.slug, [])) for s in sections],
        costs=costs,
        findings=findings,
        availability_source=availability.source if availability else None,
    )


def _kommune_report(region: AuditReport, slug: str) -> AuditReport:
    """One municipality's part of the region's report: its own content, not the region's."""
    section = next(s for s in region.kommuner if s.slug == slug)
    # Its own line, the inputs and the totals: enough to check its share against the
    # key; every other municipality's line is in the region report.
    costs = CostAllocation(
        inputs=region.costs.inputs, rows=[section.cost], totals=region.costs.totals
    )
    return dataclasses.replace(
        region,
        scope=slug,
        hosts=section.hosts,
        kommuner=[section],
        costs=costs,
        findings=[f for f in region.findings if f.kommune in (slug, None)],
    )


def _sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.kommune or "", f.code))


def _with_findings(section: KommuneSection, own: list[Finding]) -> KommuneSection:
    return dataclasses.replace(section, findings=own)


def _kommune_section(
    ctx: _Context, kommune: Kommune, cost: CostRow, applies: list[ApplyRecord]
) -> KommuneSection:
    return KommuneSection(
        slug=kommune.slug,
        name=kommune.name,
        kommunenummer=kommune.kommunenummer,
        population=kommune.population,
        status=kommune.lifecycle.status.value,
        member_from=kommune.lifecycle.member_from,
        member_until=kommune.lifecycle.member_until,
        services=_services(ctx, kommune),
        hosts=_hosts_for(ctx, kommune),
        vdi=_vdi_pool(ctx, kommune),
        admin=_admin_rights(ctx, kommune),
        backup=_backup_evidence(ctx, kommune),
        changes=_changes(ctx, kommune, applies),
        cost=cost,
        findings=[],
    )


# --- services and hosts -------------------------------------------------------------


def _services(ctx: _Context, kommune: Kommune) -> list[ServiceRow]:
    catalogue = ctx.inventory.config.region.service_catalogue
    rows = []
    for name, choice in kommune.services.chosen().items():
        entry = getattr(catalogue, name.value)
        measured = ctx.availability.of(name.value, kommune.slug) if ctx.availability else None
        row = ServiceRow(
            service=name.value,
            title=entry.title,
            start=choice.start,
            until=choice.until,
            state=kommune.service_state(name, ctx.on),
            responsible=entry.responsible,
            availability_percent=entry.sla.availability_percent,
            response_time_hours=entry.sla.response_time_hours,
            measured_percent=measured.percent if measured else None,
            measured_coverage_percent=measured.coverage_percent if measured else None,
        )
        rows.append(row)
        _check_availability(ctx, kommune, row)
    return rows


def _check_availability(ctx: _Context, kommune: Kommune, row: ServiceRow) -> None:
    """A finding when the measured availability is below the SLA (a shared service's
    once, for the region)."""
    if row.measured_percent is None or row.measured_percent >= row.availability_percent:
        return
    shared = row.service in SHARED_SERVICES
    if shared and row.service in ctx.flagged_shared:
        return
    ctx.flagged_shared.add(row.service)
    ctx.flag(
        Severity.WARNING,
        "availability_below_sla",
        None if shared else kommune.slug,
        "f_availability_below_sla",
        service=row.title,
        measured=ctx.texts.num(row.measured_percent, 2),
        sla=ctx.texts.num(row.availability_percent, 1),
        coverage=ctx.texts.coverage(row.measured_coverage_percent),
    )


def _host_row(inventory: Inventory, host: Host) -> HostRow:
    return HostRow(
        name=host.name,
        fqdn=inventory.fqdn(host),
        address=str(host.address),
        roles=[role.value for role in host.roles],
        serves=host.serves,
        site=host.site,
        tags=list(host.tags),
        shared=host.serves == REGION,
    )


# Which shared role a service needs: a municipality depends on these hosts as long as
# its data lives there, so "ended" (data kept) still counts.
SHARED_ROLE_OF = {ServiceName.DIRECTORY: Role.DIRECTORY, ServiceName.BACKUP: Role.BACKUP}


def _hosts_for(ctx: _Context, kommune: Kommune) -> list[HostRow]:
    inv = ctx.inventory
    needed = {
        role
        for service, role in SHARED_ROLE_OF.items()
        if kommune.service_state(service, ctx.on) in ("active", "ended")
    }
    own = [h for h in inv.hosts if h.serves == kommune.slug]
    shared = [h for h in inv.hosts if h.serves == REGION and needed.intersection(h.roles)]
    return [_host_row(inv, h) for h in own + shared]


def _vdi_pool(ctx: _Context, kommune: Kommune) -> VdiPool:
    state = kommune.service_state(ServiceName.VDI, ctx.on)
    choice = kommune.services.vdi
    declared = (choice.pool_size if state == "active" else 0) if choice else None
    hosts = [
        h.name for h in ctx.inventory.hosts if h.serves == kommune.slug and Role.VDI in h.roles
    ]
    if (declared or 0) != len(hosts):
        ctx.flag(
            Severity.WARNING,
            "vdi.pool_mismatch",
            kommune.slug,
            "f_vdi_mismatch",
            declared=declared or 0,
            present=len(hosts),
        )
    return VdiPool(state=state, declared=declared, present=len(hosts), hosts=hosts)


def _check_shared_hosts(ctx: _Context) -> None:
    config = ctx.inventory.config
    for service, role in SHARED_ROLE_OF.items():
        takers = config.takes(service)
        present = [h for h in ctx.inventory.hosts if h.serves == REGION and role in h.roles]
        if takers and not present:
            ctx.flag(
                Severity.CRITICAL,
                f"shared.{role.value}_missing",
                None,
                "f_shared_missing",
                role=ctx.texts.enum("role", role.value),
                count=len(takers),
            )


# --- administrative rights ----------------------------------------------------------


def _admin_rights(ctx: _Context, kommune: Kommune) -> AdminRights:
    state = kommune.service_state(ServiceName.DIRECTORY, ctx.on)
    # The municipality's own group holds exactly its operators; the regional operators'
    # rights come from the regional group (see _regional_rights), so they are not
    # expected here. Not taken yet: nothing may exist, so any member is extra.
    declared = (
        []
        if state == "none"
        else [AdminMember(o.username, o.name, "kommune") for o in kommune.operators]
    )
    # The regional group's delegation covers the OU as long as it exists.
    regional = ctx.regional if state != "none" else None
    record = ctx.evidence.directory(kommune.slug)
    if record is None:
        _flag_not_read(ctx, kommune, state)
        return AdminRights(False, None, None, None, declared, [], [], [], regional)
    extra, missing = _membership_difference(declared, record)
    _flag_membership(ctx, kommune, state, record, extra, missing)
    return AdminRights(
        read=True,
        source=record.source,
        read_at=record.read_at,
        admin_group=record.admin_group,
        declared=declared,
        actual=sorted(record.members),
        extra=extra,
        missing=missing,
        regional=regional,
        removed=[RemovedMember(r.username, r.name, r.disabled_on) for r in record.removed],
    )


def _regional_rights(ctx: _Context) -> RegionalRights | None:
    """The regional group as read from the directory, with its findings (region-wide:
    a member there holds rights over every municipality)."""
    config = ctx.inventory.config
    if not config.takes(ServiceName.DIRECTORY):
        return None
    declared = [AdminMember(o.username, o.name, "region") for o in config.region.regional_operators]
    delegated_on = f"{directory.KOMMUNER_OU},{config.region.directory.base_dn}"
    record = ctx.evidence.directory(directory.REGIONAL_RECORD)
    if record is None:
        from regionhus.records import directory_record_path

        path = directory_record_path(directory.REGIONAL_RECORD, Path("records"))
        ctx.flag(
            Severity.WARNING,
            "admin.regional_not_read",
            None,
            "f_regional_not_read",
            group=directory.REGIONAL_GROUP,
            path=path,
        )
        return RegionalRights(
            directory.REGIONAL_GROUP, delegated_on, False, None, None, declared, [], [], []
        )
    extra, missing = _membership_difference(declared, record)
    for user in extra:
        ctx.flag(
            Severity.CRITICAL,
            "admin.regional_extra_member",
            None,
            "f_admin_extra",
            user=user,
            group=record.admin_group,
        )
    for user in missing:
        ctx.flag(
            Severity.WARNING,
            "admin.regional_missing_member",
            None,
            "f_admin_missing",
            user=user,
            group=record.admin_group,
        )
    _flag_stale_reading(ctx, None, record)
    return RegionalRights(
        group=record.admin_group,
        delegated_on=delegated_on,
        read=True,
        source=record.source,
        read_at=record.read_at,
        declared=declared,
        actual=sorted(record.members),
        extra=extra,
        missing=missing,
    )


def _membership_difference(
    declared: list[AdminMember], record: DirectoryRecord
) -> tuple[list[str], list[str]]:
    # sAMAccountName is case-insensitive in AD: KBG.Ola and kbg.ola are one account.
    wanted = {m.username.lower() for m in declared}
    actual = {m.lower(): m for m in record.members}
    extra = sorted(name for key, name in actual.items() if key not in wanted)
    missing = sorted(m.username for m in declared if m.username.lower() not in actual)
    return extra, missing


def _flag_not_read(ctx: _Context, kommune: Kommune, state: str) -> None:
    if state == "none":
        return
    from regionhus.records import directory_record_path

    severity = Severity.WARNING if state == "active" else Severity.INFO
    path = directory_record_path(kommune.slug, Path("records"))
    ctx.flag(severity, "admin.not_read", kommune.slug, "f_admin_not_read", path=path)


def _flag_membership(
    ctx: _Context,
    kommune: Kommune,
    state: str,
    record: DirectoryRecord,
    extra: list[str],
    missing: list[str],
) -> None:
    group = record.admin_group
    for user in extra:
        ctx.flag(
            Severity.CRITICAL,
            "admin.extra_member",
            kommune.slug,
            "f_admin_extra",
            user=user,
            group=group,
        )
    # A municipality that has left has its accounts locked: absent members are expected.
    if state == "active":
        for user in missing:
            ctx.flag(
                Severity.WARNING,
                "admin.missing_member",
                kommune.slug,
                "f_admin_missing",
                user=user,
                group=group,
            )
    _flag_stale_reading(ctx, kommune.slug, record)


def _flag_stale_reading(ctx: _Context, slug: str | None, record: DirectoryRecord) -> None:
    age = (ctx.now - record.read_at).days
    if age > DIRECTORY_MAX_AGE_DAYS:
        ctx.flag(
            Severity.WARNING,
            "admin.stale_reading",
            slug,
            "f_admin_stale",
            read_at=ctx.texts.when(record.read_at),
            days=age,
        )


# --- backup -------------------------------------------------------------------------


def _backup_evidence(ctx: _Context, kommune: Kommune) -> BackupEvidence:
    state = kommune.service_state(ServiceName.BACKUP, ctx.on)
    choice = kommune.services.backup
    record = ctx.evidence.backup(kommune.slug)
    drills = ctx.evidence.drills(kommune.slug)
    last = drills[-1] if drills else None
    sla = ctx.inventory.config.region.service_catalogue.backup.sla
    age_hours = (
        max(0.0, (ctx.now - record.newest_archive_time).total_seconds() / 3600) if record else None
    )
    evidence = BackupEvidence(
        state=state,
        every_hours=choice.schedule.every_hours if choice else None,
        at=choice.schedule.at if choice else None,
        retention=choice.retention.model_dump() if choice else {},
        quota_gb=choice.quota_gb if choice else None,
        repository=record.repository if record else None,
        newest_archive=record.newest_archive if record else None,
        newest_archive_time=record.newest_archive_time if record else None,
        archive_age_hours=round(age_hours, 1) if age_hours is not None else None,
        last_drill=_drill(last) if last else None,
        drill_count=len(drills),
        drill_max_age_days=DRILL_MAX_AGE_DAYS,
        restore_time_hours=sla.restore_time_hours,
    )
    # Only a delivered service is held to its schedule; ended ones keep data unchanged.
    # A repository no host of the inventory writes to, and never written, has nothing to
    # back up or restore yet: said as it is, not as a late backup or a missing drill.
    # Once written, it is held to its schedule (a writer that went away stops backups).
    if state == "active" and (record is not None or _has_writer(ctx, kommune.slug)):
        _check_backup(ctx, kommune, evidence, last)
    elif state == "active":
        ctx.flag(Severity.INFO, "backup.no_client", kommune.slug, "f_backup_no_client")
    return evidence


def _has_writer(ctx: _Context, slug: str) -> bool:
    """Whether some host of the inventory backs up to the municipality's repository (the
    same clients the backup server authorises, regionhus.backup.repositories)."""
    return any(r.name == slug and r.clients for r in ctx.inventory.backup_repositories)


def _drill(record: DrillRecord) -> Drill:
    return Drill(
        started_at=record.started_at,
        archive=record.archive,
        files=record.files,
        bytes=record.bytes,
        duration_s=record.duration_s,
        result=record.result,
        detail=record.detail,
    )


def _check_backup(
    ctx: _Context, kommune: Kommune, evidence: BackupEvidence, last: DrillRecord | None
) -> None:
    from regionhus.records import backup_record_path

    slug = kommune.slug
    if evidence.newest_archive_time is None:
        path = backup_record_path(slug, Path("records"))
        ctx.flag(Severity.WARNING, "backup.no_record", slug, "f_backup_no_record", path=path)
    elif (
        evidence.archive_age_hours is not None
        and evidence.every_hours
        and evidence.archive_age_hours > MISSED_BACKUP_RUNS * evidence.every_hours
    ):
        ctx.flag(
            Severity.CRITICAL,
            "backup.stale",
            slug,
            "f_backup_stale",
            hours=round(evidence.archive_age_hours),
            every=evidence.every_hours,
        )
    _check_drill(ctx, slug, evidence, last)


def _check_drill(
    ctx: _Context, slug: str, evidence: BackupEvidence, last: DrillRecord | None
) -> None:
    if last is None:
        ctx.flag(Severity.WARNING, "drill.missing", slug, "f_drill_missing")
        return
    if last.result == "fail":
        when = ctx.texts.when(last.started_at)
        detail = last.detail or "–"
        ctx.flag(
            Severity.CRITICAL, "drill.failed", slug, "f_drill_failed", when=when, detail=detail
        )
    age = (ctx.now - last.started_at).days
    if age > DRILL_MAX_AGE_DAYS:
        ctx.flag(
            Severity.WARNING, "drill.too_old", slug, "f_drill_old", days=age, max=DRILL_MAX_AGE_DAYS
        )
    sla_hours = evidence.restore_time_hours
    if last.result == "pass" and sla_hours and last.duration_s > sla_hours * 3600:
        hours = ctx.texts.num(last.duration_s / 3600, 1)
        ctx.flag(Severity.WARNING, "drill.slow", slug, "f_drill_slow", hours=hours, sla=sla_hours)


# --- changes ------------------------------------------------------------------------


def _changes(ctx: _Context, kommune: Kommune, applies: list[ApplyRecord]) -> list[Change]:
    serves = {h.name: h.serves for h in ctx.inventory.hosts}

    def concerns(host: str, apply: ApplyRecord) -> bool:
        # A host no longer in the inventory is attributed by the record's own list.
        owner = serves.get(host)
        if owner is None:
            return kommune.slug in apply.kommuner
        return owner in (kommune.slug, REGION)

    result = []
    for apply in applies:
        if not ctx.period_start <= apply.started_at <= ctx.now:
            continue
        own_host = any(serves.get(h) == kommune.slug for h in apply.hosts)
        if kommune.slug not in apply.kommuner and not own_host:
            continue
        hosts = [h for h in apply.hosts if concerns(h, apply)]
        changes = [
            (host, text)
            for host, texts in sorted(apply.changed.items())
            if concerns(host, apply)
            for text in texts
        ]
        result.append(
            Change(
                id=apply.id,
                who=apply.who,
                started_at=apply.started_at,
                finished_at=apply.finished_at,
                git_commit=apply.git_commit,
                hosts=hosts,
                changes=changes,
            )
        )
    return result


# --- broken records -----------------------------------------------------------------


def _flag_broken_records(
    ctx: _Context, broken: list[BrokenRecord], records_root: Path | None
) -> None:
    slugs = set(ctx.inventory.config.kommuner)
    seen: set[Path] = set()
    for item in broken:
        if item.path in seen:
            continue
        seen.add(item.path)
        rel = item.path.relative_to(records_root) if records_root else item.path
        # directory/<slug>.json, backup/<slug>/..., drills/<slug>/...: the owner.
        owner = rel.parts[1].removesuffix(".json") if len(rel.parts) > 1 else None
        kommune = owner if owner in slugs and rel.parts[0] != "applies" else None
        ctx.flag(
            Severity.WARNING,
            "record.broken",
            kommune,
            "f_record_broken",
            path=Path("records") / rel,
            reason=item.reason,
        )
