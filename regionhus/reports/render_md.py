"""Markdown: the report as text, for a pull request, an issue or an e-mail."""

from __future__ import annotations

from collections.abc import Sequence

from regionhus.reports.model import AdminRights, AuditReport, KommuneSection, RegionalRights
from regionhus.reports.texts import Texts


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return "–" if value is None or value == "" else str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _prorated(report: AuditReport, t: Texts) -> list[str]:
    """The worked-out shares of municipalities that were members part of the year."""
    part = [r for r in report.costs.rows if r.calculation]
    if not part:
        return []
    ci = report.costs.inputs
    method = t.t(
        "cost_prorated_method",
        member_months=ci.member_months,
        inhabitant_months=t.num(ci.inhabitant_months),
    )
    out = ["", f"### {t.t('cost_prorated')}", "", method, ""]
    out += [f"- {r.name}: {r.calculation} = **{t.num(r.total_nok)}**" for r in part]
    return [*out, ""]


def render_md(report: AuditReport) -> str:
    t = Texts(report.lang)
    names = {row.kommune: row.name for row in report.costs.rows}
    if report.is_region:
        title = t.t("title_region", region=report.region_name)
    else:
        title = t.t("title_kommune", kommune=report.kommuner[0].name)
    out = [f"# {title}", "", t.t("subtitle"), ""]
    out += _findings(report, t, names)
    out += [
        f"## {t.t('about')}",
        "",
        f"- {t.t('report_date')}: {report.on.isoformat()}",
        f"- {t.t('generated_at')}: {t.when(report.generated_at)}",
        f"- {t.t('period')}: {t.when(report.period_start)} – {t.when(report.period_end)}",
        f"- {t.t('inventory_source')}: {report.inventory_source}",
        f"- {t.t('records_dir')}: `{report.records_dir}`",
        "",
    ]
    if report.is_region:
        out += _overview(report, t)
    out += _costs(report, t)
    for k in report.kommuner:
        out += _kommune(k, t, names)
    return "\n".join(out)


def _findings(report: AuditReport, t: Texts, names: dict[str, str]) -> list[str]:
    out = [f"## {t.t('findings')} ({t.t('findings_summary', **report.counts())})", ""]
    if not report.findings:
        return [*out, t.t("no_findings"), ""]
    rows = [
        [
            f"**{t.enum('severity', f.severity.value)}**",
            names.get(f.kommune or "", t.t("region_wide")),
            f.message,
            f"`{f.code}`",
        ]
        for f in report.findings
    ]
    return out + _table([t.t(k) for k in ("severity", "kommune", "message", "code")], rows)


def _overview(report: AuditReport, t: Texts) -> list[str]:
    header = [t.t("kommune"), t.t("kommunenummer"), t.t("population"), t.t("status")]
    header += [t.enum("service", s) for s in ("directory", "vdi", "backup")]
    rows = []
    for k in report.kommuner:
        states = {s.service: s.state for s in k.services}
        rows.append(
            [k.name, k.kommunenummer, t.num(k.population), t.enum("status", k.status)]
            + [t.enum("state", states.get(s, "none")) for s in ("directory", "vdi", "backup")]
        )
    return [f"## {t.t('overview')}", "", *_table(header, rows)]


def _costs(report: AuditReport, t: Texts) -> list[str]:
    ci, tot = report.costs.inputs, report.costs.totals
    out = [f"## {t.t('costs', year=ci.year)}", "", f"### {t.t('cost_inputs')}", ""]
    out += [
        f"- {t.t('annual_cost')}: {t.kr(ci.annual_cost_nok)}",
        f"- {t.t('fixed_percent')}: {t.num(ci.fixed_share_percent, 1)} % = "
        f"{t.kr(ci.fixed_total_nok)}",
        f"- {t.t('per_inhabitant_percent')}: {t.num(ci.per_inhabitant_percent, 1)} % = "
        f"{t.kr(ci.per_inhabitant_total_nok)}",
        f"- {t.t('member_count')}: {ci.member_count}",
        f"- {t.t('member_population')}: {t.num(ci.member_population)}",
        f"- {t.t('vdi_price')}: {t.kr(ci.vdi_seat_nok_per_year)}",
        f"- {t.t('backup_price')}: {t.kr(ci.backup_gb_nok_per_year)}",
        "",
        t.t("cost_method"),
        "",
    ]
    header = [
        t.t("kommune"),
        t.t("member"),
        t.t("population"),
        t.t("fixed_share"),
        t.t("per_inhabitant_share"),
        t.t("vdi_cost"),
        t.t("backup_cost"),
        t.t("total"),
    ]
    rows: list[list[object]] = [
        [
            r.name,
            t.t("yes" if r.member else "no"),
            t.num(r.population),
            t.num(r.fixed_nok),
            t.num(r.per_inhabitant_nok),
            t.num(r.vdi_nok),
            t.num(r.backup_nok),
            f"**{t.num(r.total_nok)}**",
        ]
        for r in report.costs.rows
    ]
    rows.append(
        [
            f"**{t.t('sum_row')}**",
            ci.member_count,
            t.num(ci.member_population),
            t.num(tot.fixed_nok),
            t.num(tot.per_inhabitant_nok),
            t.num(tot.vdi_nok),
            t.num(tot.backup_nok),
            f"**{t.num(tot.total_nok)}**",
        ]
    )
    out += _table(header, rows)
    out += _prorated(report, t)
    check = t.t(
        "sum_check",
        annual=t.kr(ci.annual_cost_nok),
        usage=t.kr(tot.usage_nok),
        total=t.kr(tot.total_nok),
    )
    return [*out, check, ""]


def _kommune(k: KommuneSection, t: Texts, names: dict[str, str]) -> list[str]:
    out = [f"## {k.name} ({k.kommunenummer})", ""]
    for f in k.findings:
        out.append(f"- **{t.enum('severity', f.severity.value)}** {f.message}")
    if k.findings:
        out.append("")
    out += [f"### {t.t('lifecycle')}", ""]
    until = f", {t.t('member_until').lower()} {t.when(k.member_until)}" if k.member_until else ""
    out += [
        f"{t.enum('status', k.status)}, {t.t('member_from').lower()} "
        f"{t.when(k.member_from)}{until}.",
        "",
    ]
    service_rows = [
        [
            s.title,
            t.when(s.start),
            t.when(s.until),
            t.enum("state", s.state),
            f"{t.num(s.availability_percent, 1)} %",
            t.measured(s.measured_percent, s.measured_coverage_percent),
        ]
        for s in k.services
    ]
    service_header = [
        t.t("service"),
        t.t("from"),
        t.t("until"),
        t.t("state_today"),
        t.t("sla"),
        t.t("measured"),
    ]
    out += _table(service_header, service_rows) if k.services else [t.t("no_services"), ""]
    out += [f"### {t.t('hosts')}", ""]
    host_rows = [
        [
            h.name,
            t.t("shared_host" if h.shared else "own_host"),
            h.address,
            ", ".join(t.enum("role", r) for r in h.roles),
            h.site,
        ]
        for h in k.hosts
    ]
    host_header = [t.t("host"), t.t("kind"), t.t("address"), t.t("roles"), t.t("site")]
    out += _table(host_header, host_rows) if k.hosts else [t.t("no_hosts"), ""]
    out += [
        f"### {t.t('vdi_pool')}",
        "",
        f"{t.t('declared')}: {k.vdi.declared if k.vdi.declared is not None else '–'}, "
        f"{t.t('present')}: {k.vdi.present} {tuple(k.vdi.hosts) if k.vdi.hosts else ''}",
        "",
    ]
    out += _admin(k, t)
    out += _backup(k, t)
    out += _changes(k, t)
    c = k.cost
    out += [
        f"### {t.t('cost_share')}",
        "",
        f"{t.kr(c.fixed_nok)} + {t.kr(c.per_inhabitant_nok)} + {t.kr(c.vdi_nok)} + "
        f"{t.kr(c.backup_nok)} = **{t.kr(c.total_nok)}**",
        "",
    ]
    return out


def _admin(k: KommuneSection, t: Texts) -> list[str]:
    a = k.admin
    out = [f"### {t.t('admin_rights')}", ""]
    if a.read:
        read = t.t("read_from", source=a.source, read_at=t.when(a.read_at))
        out += [f"{t.t('admin_group')}: `{a.admin_group}` ({read})", ""]
    else:
        out += [f"{t.t('admin_group')}: **{t.t('not_read')}**. {t.t('not_read_long')}", ""]
    r = a.regional
    if r is not None:
        read = (
            t.t("read_from", source=r.source, read_at=t.when(r.read_at))
            if r.read
            else f"**{t.t('not_read')}**"
        )
        out += [
            f"{t.t('regional_rights', group=f'`{r.group}`', ou=f'`{r.delegated_on}`')} ({read})",
            "",
        ]
    rows: list[list[object]] = []
    groups: list[tuple[AdminRights | RegionalRights, str]] = [(a, a.admin_group or "–")]
    groups += [(r, r.group)] if r is not None else []
    for rights, group in groups:
        missing = {m.lower() for m in rights.missing}
        for m in rights.declared:
            if not rights.read:
                in_group = t.t("not_read")
            else:
                in_group = t.t("no") if m.username.lower() in missing else t.t("yes")
            rows.append([m.username, m.name, t.t(f"origin_{m.origin}"), f"`{group}`", in_group])
        rows += [
            [u, "–", f"**{t.t('extra_member')}**", f"`{group}`", t.t("yes")] for u in rights.extra
        ]
    header = [t.t("username"), t.t("name"), t.t("origin"), t.t("group"), t.t("in_group")]
    out += _table(header, rows)
    if a.removed:
        out += ["", f"{t.t('removed_operators')}:", ""]
        out += [
            f"- {m.username} ({m.name or '–'}): "
            + t.t("removed_on", day=m.disabled_on.isoformat() if m.disabled_on else "–")
            for m in a.removed
        ]
    return out


def _backup(k: KommuneSection, t: Texts) -> list[str]:
    b = k.backup
    out = [f"### {t.t('backup')}", ""]
    if b.every_hours is None:
        return [*out, t.enum("state", "none"), ""]
    newest = (
        f"{b.newest_archive}, {t.when(b.newest_archive_time)}"
        if b.newest_archive
        else t.t("none_recorded")
    )
    d = b.last_drill
    drill = (
        t.t(
            "drill_value",
            when=t.when(d.started_at),
            result=t.t(f"result_{d.result}"),
            files=t.num(d.files),
            size=t.size(d.bytes),
            duration=t.num(d.duration_s),
            archive=d.archive,
        )
        + (f" — {d.detail}" if d.detail else "")
        if d
        else t.t("none_recorded")
    )
    sla_hours = t.num(b.restore_time_hours or 0)
    out += [
        f"- {t.t('state_today')}: {t.enum('state', b.state)}",
        f"- {t.t('schedule')}: {t.t('schedule_value', every=b.every_hours, at=b.at)}",
        f"- {t.t('retention')}: {t.t('retention_value', **b.retention)}",
        f"- {t.t('quota')}: {b.quota_gb} GB",
        f"- {t.t('newest_archive')}: {newest}",
        f"- {t.t('last_drill')}: {drill}",
        f"- {t.t('drill_count')}: {b.drill_count}",
        "- " + t.t("drill_policy", days=b.drill_max_age_days, hours=sla_hours),
        "",
    ]
    return out


def _changes(k: KommuneSection, t: Texts) -> list[str]:
    out = [f"### {t.t('changes')}", ""]
    if not k.changes:
        return [*out, t.t("no_changes"), ""]
    rows = [
        [c.id, c.who, t.when(c.started_at), f"`{c.git_commit[:12]}`", host, text]
        for c in k.changes
        for host, text in (c.changes or [("–", "–")])
    ]
    header = [t.t(x) for x in ("apply_id", "who", "started", "commit", "host", "change")]
    return out + _table(header, rows)
