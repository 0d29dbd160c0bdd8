"""`regionhus audit`: reports for auditors, per municipality and for the region."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click

from regionhus.cli_options import source_option
from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.paths import records_dir
from regionhus.reports.availability import read_availability
from regionhus.reports.build import DEFAULT_PERIOD_DAYS, build_reports
from regionhus.reports.evidence import RecordEvidence
from regionhus.reports.model import REGION_SCOPE, AuditReport
from regionhus.reports.render_csv import render_csv
from regionhus.reports.render_html import render_html
from regionhus.reports.render_json import render_json
from regionhus.reports.render_md import render_md
from regionhus.reports.texts import LANGS

RENDERERS: dict[str, Callable[[AuditReport], dict[str, str]]] = {
    "html": lambda r: {f"{r.scope}.html": render_html(r)},
    "json": lambda r: {f"{r.scope}.json": render_json(r)},
    "md": lambda r: {f"{r.scope}.md": render_md(r)},
    "csv": render_csv,
}


def report_time(on: dt.date) -> dt.datetime:
    """Ages and the change period are measured from now, or from the end of a pinned day."""
    now = dt.datetime.now(dt.UTC)
    if on == now.date():
        return now
    return dt.datetime.combine(on, dt.time(23, 59, 59), dt.UTC)


def write_reports(reports: list[AuditReport], formats: tuple[str, ...], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for report in reports:
        for fmt in formats:
            for name, content in RENDERERS[fmt](report).items():
                path = out / name
                # Content carries its own BOM where one is wanted (CSV).
                path.write_text(content, encoding="utf-8")
                written.append(path)
    return written


@click.command("audit")
@click.option("--kommune", "slug", help="Only this municipality (slug); default: region + all.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(sorted(RENDERERS)),
    multiple=True,
    help="Output format; repeat for several (default: html).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the reports (default: ./audit-<date>).",
)
@click.option("--lang", type=click.Choice(LANGS), default="nb", show_default=True)
@click.option(
    "--period-days",
    type=click.IntRange(min=1),
    default=DEFAULT_PERIOD_DAYS,
    show_default=True,
    help="How far back changes (apply records) and measured availability go.",
)
@click.option(
    "--prometheus",
    metavar="URL|auto",
    help="Read measured availability from this Prometheus (auto: the monitoring host's); "
    "default: REGIONHUS_PROMETHEUS_URL, else not measured.",
)
@source_option
@click.pass_obj
def audit(
    root: Path,
    slug: str | None,
    formats: tuple[str, ...],
    out: Path | None,
    lang: str,
    period_days: int,
    prometheus: str | None,
    source: str | None,
) -> None:
    """Audit report per municipality and for the region.

    Reads kommuner/, region.yml, the inventory and the evidence records (directory
    readings, backups, restore drills, applies) under the state directory.
    """
    config = load_region(root)
    inventory = load_inventory(root, source, config=config)
    records = records_dir()
    now = report_time(config.on)
    scopes = [slug] if slug else [REGION_SCOPE, *config.kommuner]
    start = now - dt.timedelta(days=period_days)
    availability = read_availability(inventory, start, now, prometheus)
    reports = build_reports(
        inventory,
        RecordEvidence(records),
        scopes=scopes,
        lang=lang,
        period_days=period_days,
        now=now,
        records_root=records,
        availability=availability,
    )
    out = out or Path(f"audit-{config.on.isoformat()}")
    written = write_reports(reports, formats or ("html",), out)
    for path in written:
        click.echo(path)
    for report in reports:
        counts = report.counts()
        click.echo(
            f"{report.scope}: {counts['critical']} kritiske, {counts['warning']} advarsler, "
            f"{counts['info']} info",
            err=True,
        )
