"""CSV: one file per table, for auditors who redo sums in a spreadsheet.

One file per table rather than one file with a section column: each table has its
own columns, and a merged file would be mostly empty cells that defeat sorting,
filtering and summing. Files start with a UTF-8 byte order mark so Excel shows
æ, ø and å; Norwegian reports use ';' and decimal commas because that is what a
spreadsheet in a Norwegian locale expects (',' would put everything in column A).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from regionhus.reports.model import AdminRights, AuditReport, KommuneSection, RegionalRights
from regionhus.reports.texts import Texts

BOM = "\ufeff"
Row = Sequence[object]

# A cell starting with one of these is a formula to Excel and LibreOffice, even when
# it came from a municipality's name or a host's tag (OWASP: CSV injection). Such a
# cell gets a leading apostrophe, which the spreadsheet shows as plain text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# Numbers we print ourselves (-1 234,50) stay numbers, so auditors can still sum them.
PLAIN_NUMBER = re.compile(r"^-?\d[\d\u00a0 ]*([.,]\d+)?$")


def render_csv(report: AuditReport) -> dict[str, str]:
    """File name -> content, e.g. {"region-costs.csv": "\\ufeff..."}."""
    texts = Texts(report.lang)
    tables = {
        "findings": _findings(report, texts),
        "kommuner": _kommuner(report, texts),
        "services": _services(report, texts),
        "hosts": _hosts(report, texts),
        "admins": _admins(report, texts),
        "backup": _backup(report, texts),
        "changes": _changes(report, texts),
        "cost-inputs": _cost_inputs(report, texts),
        "costs": _costs(report, texts),
    }
    return {f"{report.scope}-{name}.csv": _write(rows, texts) for name, rows in tables.items()}


def _cell(value: object, texts: Texts) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return texts.t("yes" if value else "no")
    if isinstance(value, float) and texts.lang == "nb":
        return f"{value:g}".replace(".", ",")
    return _inert(str(value))


def _inert(text: str) -> str:
    """Text a spreadsheet shows as text, never evaluates."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _write(rows: Iterable[Row], texts: Texts) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if texts.lang == "nb" else ",", lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v, texts) for v in row])
    return BOM + out.getvalue()


def _header(texts: Texts, *keys: str) -> list[str]:
    return [texts.t(k) for k in keys]


def _findings(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [_header(texts, "severity", "kommune", "code", "message")]
    rows += [
        [texts.enum("severity", f.severity.value), f.kommune or "", f.code, f.message]
        for f in report.findings
    ]
    return rows


def _kommuner(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [
        [
            "slug",
            *_header(texts, "kommune", "kommunenummer", "population", "status"),
            *_header(texts, "member_from", "member_until"),
            f"{texts.t('vdi_pool')}: {texts.t('declared')}",
            f"{texts.t('vdi_pool')}: {texts.t('present')}",
        ]
    ]
    for k in report.kommuner:
        rows.append(
            [
                k.slug,
                k.name,
                k.kommunenummer,
                k.population,
                texts.enum("status", k.status),
                k.member_from,
                k.member_until,
                k.vdi.declared,
                k.vdi.present,
            ]
        )
    return rows


def _services(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [
        [
            "slug",
            *_header(texts, "kommune", "service", "from", "until", "state_today", "responsible"),
            "sla_availability_percent",
            "measured_availability_percent",
            "measured_coverage_percent",
        ]
    ]
    for k in report.kommuner:
        rows += [
            [
                k.slug,
                k.name,
                s.title,
                s.start,
                s.until,
                texts.enum("state", s.state),
                s.responsible,
                s.availability_percent,
                "" if s.measured_percent is None else round(s.measured_percent, 3),
                ""
                if s.measured_coverage_percent is None
                else round(s.measured_coverage_percent, 1),
            ]
            for s in k.services
        ]
    return rows


def _hosts(report: AuditReport, texts: Texts) -> list[Row]:
    keys = ("kommune", "host", "kind", "fqdn", "address", "roles", "serves", "site", "tags")
    rows: list[Row] = [_header(texts, *keys)]
    for k in report.kommuner:
        for h in k.hosts:
            kind = texts.t("shared_host" if h.shared else "own_host")
            roles = ", ".join(texts.enum("role", r) for r in h.roles)
            rows.append(
                [
                    k.name,
                    h.name,
                    kind,
                    h.fqdn,
                    h.address,
                    roles,
                    h.serves,
                    h.site,
                    ", ".join(h.tags),
                ]
            )
    return rows


def _admins(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [
        _header(texts, "kommune", "admin_group", "username", "name", "origin", "declared")
        + _header(texts, "in_group", "read_at_label")
    ]
    for k in report.kommuner:
        rows += _admin_rows(k, texts)
    return rows


def _admin_rows(k: KommuneSection, texts: Texts) -> list[Row]:
    """One row per declared or actual holder of rights over the municipality's OU: its
    own admin group, then the regional group delegated on every municipality's OU."""
    rows: list[Row] = []
    groups: list[AdminRights | RegionalRights] = [k.admin]
    if k.admin.regional is not None:
        groups.append(k.admin.regional)
    for a in groups:
        name = a.group if isinstance(a, RegionalRights) else a.admin_group
        group = name or texts.t("not_read")
        read = f"{a.source} {texts.when(a.read_at)}" if a.read else texts.t("not_read")
        missing = {m.lower() for m in a.missing}
        for m in a.declared:
            in_group = (
                texts.t("not_read")
                if not a.read
                else texts.t("no" if m.username.lower() in missing else "yes")
            )
            origin = texts.t(f"origin_{m.origin}")
            rows.append([k.name, group, m.username, m.name, origin, True, in_group, read])
        rows += [
            [k.name, group, user, "", texts.t("extra_member"), False, texts.t("yes"), read]
            for user in a.extra
        ]
    return rows


def _backup(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [
        _header(texts, "kommune", "state_today", "schedule", "retention", "quota")
        + _header(texts, "repository", "newest_archive", "newest_archive_time_label")
        + _header(texts, "archive_age_label", "last_drill", "drill_result_label")
        + _header(texts, "drill_files_label", "drill_bytes_label", "drill_duration_label")
        + _header(texts, "drill_detail_label", "drill_count", "drill_policy_label")
    ]
    for k in report.kommuner:
        b, d = k.backup, k.backup.last_drill
        if b.every_hours is None:
            continue
        rows.append(
            [
                k.name,
                texts.enum("state", b.state),
                texts.t("schedule_value", every=b.every_hours, at=b.at),
                texts.t("retention_value", **b.retention),
                b.quota_gb,
                b.repository,
                b.newest_archive,
                b.newest_archive_time.isoformat() if b.newest_archive_time else None,
                b.archive_age_hours,
                d.started_at.isoformat() if d else None,
                texts.t(f"result_{d.result}") if d else texts.t("none_recorded"),
                d.files if d else None,
                d.bytes if d else None,
                d.duration_s if d else None,
                d.detail if d else None,
                b.drill_count,
                b.drill_max_age_days,
            ]
        )
    return rows


def _changes(report: AuditReport, texts: Texts) -> list[Row]:
    rows: list[Row] = [
        _header(texts, "kommune", "apply_id", "who", "started", "finished", "commit")
        + _header(texts, "host", "change")
    ]
    for k in report.kommuner:
        for c in k.changes:
            base = [
                k.name,
                c.id,
                c.who,
                c.started_at.isoformat(),
                c.finished_at.isoformat() if c.finished_at else None,
                c.git_commit,
            ]
            rows += [[*base, host, text] for host, text in c.changes] or [[*base, "", ""]]
    return rows


def _cost_inputs(report: AuditReport, texts: Texts) -> list[Row]:
    ci = report.costs.inputs
    return [
        [texts.t("name"), texts.t("value_label")],
        [texts.t("year_label"), ci.year],
        [texts.t("annual_cost"), ci.annual_cost_nok],
        [f"{texts.t('fixed_percent')} (%)", float(ci.fixed_share_percent)],
        [f"{texts.t('fixed_percent')} ({texts.t('kr')})", ci.fixed_total_nok],
        [f"{texts.t('per_inhabitant_percent')} (%)", float(ci.per_inhabitant_percent)],
        [f"{texts.t('per_inhabitant_percent')} ({texts.t('kr')})", ci.per_inhabitant_total_nok],
        [texts.t("member_count"), ci.member_count],
        [texts.t("member_population"), ci.member_population],
        [texts.t("vdi_price"), ci.vdi_seat_nok_per_year],
        [texts.t("backup_price"), ci.backup_gb_nok_per_year],
    ]


def _costs(report: AuditReport, texts: Texts) -> list[Row]:
    exact = f" ({texts.t('exact')})"
    rows: list[Row] = [
        [
            "slug",
            texts.t("kommune"),
            texts.t("member"),
            texts.t("population"),
            texts.t("fixed_share") + exact,
            texts.t("fixed_share"),
            texts.t("per_inhabitant_share") + exact,
            texts.t("per_inhabitant_share"),
            *_header(texts, "vdi_seats", "vdi_cost", "backup_gb", "backup_cost", "total"),
            *_header(texts, "months", "calculation"),
        ]
    ]
    for r in report.costs.rows:
        rows.append(
            [
                r.kommune,
                r.name,
                r.member,
                r.population,
                _decimal(r.fixed_exact, texts),
                r.fixed_nok,
                _decimal(r.per_inhabitant_exact, texts),
                r.per_inhabitant_nok,
                r.vdi_seats,
                r.vdi_nok,
                r.backup_gb,
                r.backup_nok,
                r.total_nok,
                r.months,
                r.calculation,
            ]
        )
    t = report.costs.totals
    rows.append(
        [
            "",
            texts.t("sum_row"),
            "",
            report.costs.inputs.member_population,
            *["", t.fixed_nok, "", t.per_inhabitant_nok],
            *["", t.vdi_nok, "", t.backup_nok, t.total_nok],
            report.costs.inputs.member_months,
            "",
        ]
    )
    return rows


def _decimal(text: str, texts: Texts) -> str:
    return text.replace(".", ",") if texts.lang == "nb" else text
