"""HTML: one self-contained file (inline CSS and SVG, no scripts, no external assets).

An auditor opens it offline from a USB stick or an e-mail attachment, and prints it.
"""

# The templates are HTML; wrapping their lines at 100 would only make them harder to read.
# ruff: noqa: E501

from __future__ import annotations

import functools

import jinja2
from markupsafe import Markup

from regionhus.reports.model import AuditReport
from regionhus.reports.svg import render_svg
from regionhus.reports.texts import Texts

CSS = """
:root { --crit: #c62828; --warn: #b26a00; --info: #1f5fa8; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 0; color: #1b1f23;
       background: #ffffff; line-height: 1.4; font-size: 14px; }
header { background: #24384f; color: #ffffff; padding: 24px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 26px; }
header p { margin: 0; opacity: 0.9; }
main { padding: 8px 32px 40px 32px; max-width: 1400px; }
h2 { border-bottom: 2px solid #24384f; padding-bottom: 4px; margin-top: 36px; }
h3 { margin: 22px 0 8px 0; color: #24384f; }
table { border-collapse: collapse; margin: 8px 0 12px 0; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
table.costs { font-size: 12.5px; }
tr.sum td { font-weight: bold; background: #f6f8fa; }
tr.highlight td { background: #fff8d6; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
.sev { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #ffffff;
       font-size: 12px; font-weight: bold; white-space: nowrap; }
.sev-critical { background: var(--crit); }
.sev-warning { background: var(--warn); }
.sev-info { background: var(--info); }
.findings { border: 3px solid var(--crit); border-radius: 6px; padding: 8px 16px 12px 16px;
            background: #fff5f5; margin-top: 20px; }
.findings.clean { border-color: #2e7d32; background: #f1f8f2; }
.findings h2 { border: none; margin-top: 8px; }
.state-active { color: #2e7d32; font-weight: bold; }
.state-ended { color: #6b6b6b; }
.state-none { color: #8a8a8a; }
.flag { color: var(--crit); font-weight: bold; }
.note { color: #555555; font-size: 13px; }
.missing { color: var(--warn); font-weight: bold; }
section.kommune { border-top: 1px solid var(--line); margin-top: 28px; }
.diagram { border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
code { font-size: 12px; }
@media print { header { background: none; color: #000000; } .findings { break-inside: avoid; } }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
  <h1 id="top">{{ title }}</h1>
  <p>{{ T.t("subtitle") }}</p>
</header>
<main>
<section class="findings{{ ' clean' if not r.findings }}" id="findings">
  <h2>{{ T.t("findings") }} ({{ T.t("findings_summary", **r.counts()) }})</h2>
  {% if r.findings %}
  <table>
    <tr><th>{{ T.t("severity") }}</th><th>{{ T.t("kommune") }}</th>
        <th>{{ T.t("message") }}</th><th>{{ T.t("code") }}</th></tr>
    {% for f in r.findings %}
    <tr><td><span class="sev sev-{{ f.severity.value }}">{{ T.enum("severity", f.severity.value) }}</span></td>
        <td>{{ names.get(f.kommune, T.t("region_wide")) }}</td>
        <td>{{ f.message }}</td><td><code>{{ f.code }}</code></td></tr>
    {% endfor %}
  </table>
  {% else %}<p>{{ T.t("no_findings") }}</p>{% endif %}
</section>

<h2 id="about">{{ T.t("about") }}</h2>
<dl class="meta">
  <dt>{{ T.t("report_date") }}</dt><dd>{{ r.on.isoformat() }}</dd>
  <dt>{{ T.t("generated_at") }}</dt><dd>{{ T.when(r.generated_at) }}</dd>
  <dt>{{ T.t("period") }}</dt><dd>{{ T.when(r.period_start) }} – {{ T.when(r.period_end) }}</dd>
  <dt>{{ T.t("inventory_source") }}</dt><dd>{{ r.inventory_source }}</dd>
  <dt>{{ T.t("records_dir") }}</dt><dd><code>{{ r.records_dir }}</code></dd>
</dl>
<nav><strong>{{ T.t("contents") }}:</strong>
  <a href="#findings">{{ T.t("findings") }}</a> ·
  {% if r.is_region %}<a href="#overview">{{ T.t("overview") }}</a> · {% endif %}
  <a href="#diagram">{{ T.t("diagram") }}</a> ·
  <a href="#costs">{{ T.t("costs", year=r.costs.inputs.year) }}</a>
  {% for k in r.kommuner %} · <a href="#k-{{ k.slug }}">{{ k.name }}</a>{% endfor %}
</nav>

{% if r.is_region %}
<h2 id="overview">{{ T.t("overview") }}</h2>
<table>
  <tr><th>{{ T.t("kommune") }}</th><th>{{ T.t("kommunenummer") }}</th>
      <th class="num">{{ T.t("population") }}</th><th>{{ T.t("status") }}</th>
      {% for s in services %}<th>{{ T.enum("service", s) }}</th>{% endfor %}
      <th>{{ T.t("hosts") }}</th><th>{{ T.t("findings") }}</th></tr>
  {% for k in r.kommuner %}
  <tr><td><a href="#k-{{ k.slug }}">{{ k.name }}</a></td><td>{{ k.kommunenummer }}</td>
      <td class="num">{{ T.num(k.population) }}</td><td>{{ T.enum("status", k.status) }}</td>
      {% for s in services %}{% set st = service_state(k, s) %}
      <td class="state-{{ st }}">{{ T.enum("state", st) }}</td>{% endfor %}
      <td>{{ k.hosts | selectattr("shared", "false") | map(attribute="name") | join(", ") or "–" }}</td>
      <td>{{ finding_badges(k) }}</td></tr>
  {% endfor %}
</table>
{% endif %}

<h2 id="diagram">{{ T.t("diagram") }}</h2>
<div class="diagram">{{ svg }}</div>
<p class="note">{{ T.t("diagram_caption") }}</p>

{% if r.is_region %}
<h3>{{ T.t("all_hosts") }}</h3>
{{ host_table(r.hosts) }}
{% endif %}

<h2 id="costs">{{ T.t("costs", year=r.costs.inputs.year) }}</h2>
{% set ci = r.costs.inputs %}
<h3>{{ T.t("cost_inputs") }}</h3>
<table>
  <tr><td>{{ T.t("annual_cost") }}</td><td class="num">{{ T.kr(ci.annual_cost_nok) }}</td></tr>
  <tr><td>{{ T.t("fixed_percent") }}</td><td class="num">{{ T.num(ci.fixed_share_percent, 1) }} % = {{ T.kr(ci.fixed_total_nok) }}</td></tr>
  <tr><td>{{ T.t("per_inhabitant_percent") }}</td><td class="num">{{ T.num(ci.per_inhabitant_percent, 1) }} % = {{ T.kr(ci.per_inhabitant_total_nok) }}</td></tr>
  <tr><td>{{ T.t("member_count") }}</td><td class="num">{{ ci.member_count }}</td></tr>
  <tr><td>{{ T.t("member_population") }}</td><td class="num">{{ T.num(ci.member_population) }}</td></tr>
  <tr><td>{{ T.t("vdi_price") }}</td><td class="num">{{ T.kr(ci.vdi_seat_nok_per_year) }}</td></tr>
  <tr><td>{{ T.t("backup_price") }}</td><td class="num">{{ T.kr(ci.backup_gb_nok_per_year) }}</td></tr>
</table>
<p class="note">{{ T.t("cost_method") }}</p>
{{ cost_table(r.costs, r.scope) }}
{% set part = r.costs.rows | selectattr("calculation") | list %}
{% if part %}
<h3>{{ T.t("cost_prorated") }}</h3>
<p class="note">{{ T.t("cost_prorated_method", member_months=ci.member_months, inhabitant_months=T.num(ci.inhabitant_months)) }}</p>
<ul>{% for row in part %}<li>{{ row.name }}: {{ row.calculation }} = <strong>{{ T.num(row.total_nok) }}</strong></li>{% endfor %}</ul>
{% endif %}
<p><strong>{{ T.t("sum_check", annual=T.kr(ci.annual_cost_nok), usage=T.kr(r.costs.totals.usage_nok), total=T.kr(r.costs.totals.total_nok)) }}</strong></p>

{% for k in r.kommuner %}
<section class="kommune" id="k-{{ k.slug }}">
<h2>{{ k.name }} ({{ k.kommunenummer }})</h2>
{% if k.findings %}
<div class="findings"><strong>{{ T.t("findings") }}:</strong>
  <ul>{% for f in k.findings %}<li><span class="sev sev-{{ f.severity.value }}">{{ T.enum("severity", f.severity.value) }}</span> {{ f.message }}</li>{% endfor %}</ul>
</div>
{% endif %}

<h3>{{ T.t("lifecycle") }}</h3>
<dl class="meta">
  <dt>{{ T.t("status") }}</dt><dd>{{ T.enum("status", k.status) }}</dd>
  <dt>{{ T.t("member_from") }}</dt><dd>{{ T.when(k.member_from) }}</dd>
  {% if k.member_until %}<dt>{{ T.t("member_until") }}</dt><dd>{{ T.when(k.member_until) }}</dd>{% endif %}
  <dt>{{ T.t("population") }}</dt><dd>{{ T.num(k.population) }}</dd>
</dl>
{% if k.services %}
<table>
  <tr><th>{{ T.t("service") }}</th><th>{{ T.t("from") }}</th><th>{{ T.t("until") }}</th>
      <th>{{ T.t("state_today") }}</th><th>{{ T.t("responsible") }}</th><th>{{ T.t("sla") }}</th>
      <th>{{ T.t("measured") }}</th></tr>
  {% for s in k.services %}
  <tr><td>{{ s.title }}</td><td>{{ T.when(s.start) }}</td><td>{{ T.when(s.until) }}</td>
      <td class="state-{{ s.state }}">{{ T.enum("state", s.state) }}</td>
      <td>{{ names.get(s.responsible, s.responsible) }}</td>
      <td>{{ T.t("sla_value", availability=T.num(s.availability_percent, 1), response=T.num(s.response_time_hours)) }}</td>
      <td>{{ T.measured(s.measured_percent, s.measured_coverage_percent) }}</td></tr>
  {% endfor %}
</table>
{% else %}<p>{{ T.t("no_services") }}</p>{% endif %}

<h3>{{ T.t("hosts") }}</h3>
{{ host_table(k.hosts) }}

<h3>{{ T.t("vdi_pool") }}</h3>
<p>{{ T.t("declared") }}: {{ k.vdi.declared if k.vdi.declared is not none else "–" }} ·
   {{ T.t("present") }}: <span class="{{ 'flag' if (k.vdi.declared or 0) != k.vdi.present }}">{{ k.vdi.present }}</span>
   {% if k.vdi.hosts %}({{ k.vdi.hosts | join(", ") }}){% endif %}</p>

<h3>{{ T.t("admin_rights") }}</h3>
{% if k.admin.read %}
<p>{{ T.t("admin_group") }}: <code>{{ k.admin.admin_group }}</code> —
   {{ T.t("read_from", source=k.admin.source, read_at=T.when(k.admin.read_at)) }}</p>
{% else %}
<p class="missing">{{ T.t("admin_group") }}: {{ T.t("not_read") }}.</p>
<p class="note">{{ T.t("not_read_long") }}</p>
{% endif %}
{% set r = k.admin.regional %}
{% if r %}
<p>{{ T.t("regional_rights", group=r.group, ou=r.delegated_on) }}
   {% if r.read %}{{ T.t("read_from", source=r.source, read_at=T.when(r.read_at)) }}{% else %}
   <span class="missing">{{ T.t("not_read") }}</span>{% endif %}</p>
{% endif %}
<table>
  <tr><th>{{ T.t("username") }}</th><th>{{ T.t("name") }}</th><th>{{ T.t("origin") }}</th>
      <th>{{ T.t("group") }}</th><th>{{ T.t("in_group") }}</th></tr>
  {% for rights, group in [(k.admin, k.admin.admin_group or "–")] + ([(r, r.group)] if r else []) %}
  {% for m in rights.declared %}
  <tr><td>{{ m.username }}</td><td>{{ m.name }}</td><td>{{ T.t("origin_" + m.origin) }}</td>
      <td><code>{{ group }}</code></td>
      <td>{% if not rights.read %}<span class="missing">{{ T.t("not_read") }}</span>
          {% elif m.username in rights.missing %}<span class="flag">{{ T.t("no") }}</span>
          {% else %}{{ T.t("yes") }}{% endif %}</td></tr>
  {% endfor %}
  {% for u in rights.extra %}
  <tr class="highlight"><td>{{ u }}</td><td>–</td><td class="flag">{{ T.t("extra_member") }}</td>
      <td><code>{{ group }}</code></td><td class="flag">{{ T.t("yes") }}</td></tr>
  {% endfor %}
  {% endfor %}
</table>
{% if k.admin.removed %}
<p>{{ T.t("removed_operators") }}:</p>
<ul>{% for m in k.admin.removed %}<li>{{ m.username }} ({{ m.name or "–" }}): {{ T.t("removed_on", day=m.disabled_on.isoformat() if m.disabled_on else "–") }}</li>{% endfor %}</ul>
{% endif %}

<h3>{{ T.t("backup") }}</h3>
{% set b = k.backup %}
{% if b.every_hours %}
<dl class="meta">
  <dt>{{ T.t("state_today") }}</dt><dd class="state-{{ b.state }}">{{ T.enum("state", b.state) }}</dd>
  <dt>{{ T.t("schedule") }}</dt><dd>{{ T.t("schedule_value", every=b.every_hours, at=b.at) }}</dd>
  <dt>{{ T.t("retention") }}</dt><dd>{{ T.t("retention_value", **b.retention) }}</dd>
  <dt>{{ T.t("quota") }}</dt><dd>{{ T.num(b.quota_gb) }} GB</dd>
  <dt>{{ T.t("repository") }}</dt><dd>{{ b.repository or "–" }}</dd>
  <dt>{{ T.t("newest_archive") }}</dt><dd>{% if b.newest_archive %}{{ b.newest_archive }},
      {{ T.when(b.newest_archive_time) }} ({{ T.t("archive_age", hours=T.num(b.archive_age_hours, 1)) }})
      {% else %}<span class="missing">{{ T.t("none_recorded") }}</span>{% endif %}</dd>
  <dt>{{ T.t("last_drill") }}</dt><dd>{% if b.last_drill %}{% set d = b.last_drill %}
      <span class="{{ 'flag' if d.result == 'fail' }}">{{ T.t("drill_value", when=T.when(d.started_at),
        result=T.t("result_" + d.result), files=T.num(d.files), size=T.size(d.bytes),
        duration=T.num(d.duration_s), archive=d.archive) }}</span>{% if d.detail %} — {{ d.detail }}{% endif %}
      {% else %}<span class="missing">{{ T.t("none_recorded") }}</span>{% endif %}</dd>
  <dt>{{ T.t("drill_count") }}</dt><dd>{{ b.drill_count }}</dd>
</dl>
<p class="note">{{ T.t("drill_policy", days=b.drill_max_age_days, hours=T.num(b.restore_time_hours or 0)) }}</p>
{% else %}<p>{{ T.enum("state", "none") }}</p>{% endif %}

<h3>{{ T.t("changes") }}</h3>
{% if k.changes %}
<table>
  <tr><th>{{ T.t("apply_id") }}</th><th>{{ T.t("who") }}</th><th>{{ T.t("started") }}</th>
      <th>{{ T.t("commit") }}</th><th>{{ T.t("host") }}</th><th>{{ T.t("change") }}</th></tr>
  {% for c in k.changes %}
  {% for host, text in (c.changes or [("–", "–")]) %}
  <tr><td>{{ c.id }}</td><td>{{ c.who }}</td><td>{{ T.when(c.started_at) }}</td>
      <td><code>{{ c.git_commit[:12] }}</code></td><td>{{ host }}</td><td>{{ text }}</td></tr>
  {% endfor %}{% endfor %}
</table>
{% else %}<p>{{ T.t("no_changes") }}</p>{% endif %}

<h3>{{ T.t("cost_share") }}</h3>
<p>{{ T.t("fixed_share") }} {{ T.kr(k.cost.fixed_nok) }} + {{ T.t("per_inhabitant_share") }}
   {{ T.kr(k.cost.per_inhabitant_nok) }} + {{ T.t("vdi_cost") }} {{ T.kr(k.cost.vdi_nok) }}
   + {{ T.t("backup_cost") }} {{ T.kr(k.cost.backup_nok) }} =
   <strong>{{ T.kr(k.cost.total_nok) }}</strong></p>
</section>
{% endfor %}
</main>
</body>
</html>
"""

HOST_TABLE = """<table>
  <tr><th>{{ T.t("host") }}</th><th>{{ T.t("kind") }}</th><th>{{ T.t("fqdn") }}</th>
      <th>{{ T.t("address") }}</th><th>{{ T.t("roles") }}</th><th>{{ T.t("serves") }}</th>
      <th>{{ T.t("site") }}</th></tr>
  {% for h in hosts %}
  <tr><td>{{ h.name }}</td><td>{{ T.t("shared_host" if h.shared else "own_host") }}</td>
      <td>{{ h.fqdn }}</td><td>{{ h.address }}</td>
      <td>{{ h.roles | map("role_label") | join(", ") }}</td>
      <td>{{ T.t("serves_region") if h.shared else names.get(h.serves, h.serves) }}</td>
      <td>{{ h.site }}</td></tr>
  {% else %}<tr><td colspan="7">{{ T.t("no_hosts") }}</td></tr>
  {% endfor %}
</table>"""

COST_TABLE = """<table class="costs">
  <tr><th>{{ T.t("kommune") }}</th><th>{{ T.t("member") }}</th>
      <th class="num">{{ T.t("population") }}</th>
      <th class="num">{{ T.t("fixed_share") }} ({{ T.t("exact") }})</th>
      <th class="num">{{ T.t("fixed_share") }}</th>
      <th class="num">{{ T.t("per_inhabitant_share") }} ({{ T.t("exact") }})</th>
      <th class="num">{{ T.t("per_inhabitant_share") }}</th>
      <th class="num">{{ T.t("vdi_seats") }}</th><th class="num">{{ T.t("vdi_cost") }}</th>
      <th class="num">{{ T.t("backup_gb") }}</th><th class="num">{{ T.t("backup_cost") }}</th>
      <th class="num">{{ T.t("total") }}</th></tr>
  {% for row in costs.rows %}
  <tr class="{{ 'highlight' if row.kommune == scope }}">
      <td>{{ row.name }}</td><td>{{ T.t("yes" if row.member else "no") }}</td>
      <td class="num">{{ T.num(row.population) }}</td>
      <td class="num">{{ exact(row.fixed_exact) }}</td><td class="num">{{ T.num(row.fixed_nok) }}</td>
      <td class="num">{{ exact(row.per_inhabitant_exact) }}</td>
      <td class="num">{{ T.num(row.per_inhabitant_nok) }}</td>
      <td class="num">{{ row.vdi_seats }}</td><td class="num">{{ T.num(row.vdi_nok) }}</td>
      <td class="num">{{ T.num(row.backup_gb) }}</td><td class="num">{{ T.num(row.backup_nok) }}</td>
      <td class="num"><strong>{{ T.num(row.total_nok) }}</strong></td></tr>
  {% endfor %}
  {% set t = costs.totals %}
  <tr class="sum"><td>{{ T.t("sum_row") }}</td><td>{{ costs.inputs.member_count }}</td>
      <td class="num">{{ T.num(costs.inputs.member_population) }}</td><td></td>
      <td class="num">{{ T.num(t.fixed_nok) }}</td><td></td>
      <td class="num">{{ T.num(t.per_inhabitant_nok) }}</td><td></td>
      <td class="num">{{ T.num(t.vdi_nok) }}</td><td></td>
      <td class="num">{{ T.num(t.backup_nok) }}</td><td class="num">{{ T.num(t.total_nok) }}</td></tr>
</table>"""

SERVICES = ("directory", "vdi", "backup")


@functools.cache
def _template(lang: str) -> jinja2.Template:
    """The page template for a language, compiled once per process.

    Compiling is most of the cost of a small report: one compile per report made the
    audit of a national region spend a minute in Jinja's compiler. What differs per
    report (the report, its names) is passed to render().
    """
    texts = Texts(lang)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["role_label"] = lambda role: texts.enum("role", role)

    def exact(value: str) -> str:
        return texts.num(float(value), 2)

    def badges(kommune) -> Markup:  # type: ignore[no-untyped-def]
        counts: dict[str, int] = {}
        for f in kommune.findings:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
        return Markup(" ").join(
            Markup('<span class="sev sev-{0}">{1} {2}</span>').format(
                sev, n, texts.enum("severity", sev)
            )
            for sev, n in sorted(counts.items(), key=lambda kv: SEVERITY_RANK[kv[0]])
        )

    def service_state(kommune, service: str) -> str:  # type: ignore[no-untyped-def]
        return next((s.state for s in kommune.services if s.service == service), "none")

    env.globals.update(
        T=texts,
        exact=exact,
        finding_badges=badges,
        service_state=service_state,
        services=SERVICES,
    )
    macros = (
        "{% macro host_table(hosts) %}" + HOST_TABLE + "{% endmacro %}"
        "{% macro cost_table(costs, scope) %}" + COST_TABLE + "{% endmacro %}"
    )
    return env.from_string(macros + TEMPLATE)


SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def render_html(report: AuditReport) -> str:
    texts = Texts(report.lang)
    names: dict[str | None, str] = {k.slug: k.name for k in report.kommuner}
    for row in report.costs.rows:
        names.setdefault(row.kommune, row.name)
    if report.is_region:
        title = texts.t("title_region", region=report.region_name)
    else:
        title = texts.t("title_kommune", kommune=report.kommuner[0].name)
    return _template(report.lang).render(
        r=report,
        lang=report.lang,
        title=title,
        names=names,
        css=Markup(CSS),
        svg=Markup(render_svg(report, texts)),
    )
