"""`regionhus kommune`: a municipality joins (new), leaves with its data (export), is purged."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from regionhus.cli_options import source_option
from regionhus.config import today
from regionhus.validate import validate_tree


@click.group("kommune")
def kommune() -> None:
    """A municipality's life: new file, exit package, purge after the retention period."""


@kommune.command("new")
@click.argument("slug")
@click.option("--name", help="The municipality's name without «kommune» (default: from the slug).")
@click.option(
    "--code",
    help="Short code for host names (2-9 characters; default: from the slug, e.g. nou).",
)
@click.option("--kommunenummer", required=True, help="Four digits (SSB), e.g. 3338.")
@click.option("--population", type=click.IntRange(1, 2_000_000), required=True)
@click.option(
    "--member-from",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day of membership (default: the 1st of the month after next).",
)
@click.pass_obj
def new(
    root: Path,
    slug: str,
    name: str | None,
    code: str | None,
    kommunenummer: str,
    population: int,
    member_from: dt.datetime | None,
) -> None:
    """Write kommuner/<slug>.yml (planned, every key explained) and print the next steps."""
    from regionhus.kommune.scaffold import (
        default_member_from,
        default_name,
        next_steps,
        render,
        write_new,
    )

    start = member_from.date() if member_from else default_member_from(today())
    text = render(slug, name or default_name(slug), kommunenummer, population, start, code)
    path = write_new(root, slug, text)
    _, findings = validate_tree(root)
    own = [f for f in findings if f.file == f"kommuner/{slug}.yml"]
    if own:
        path.unlink()
        for finding in own:
            click.echo(finding.format(), err=True)
        click.echo(f"\n{path} not written: fix the options above and run again.", err=True)
        sys.exit(1)
    click.echo(f"skrevet: {path} (status planned, medlem fra {start})")
    click.echo("\nNeste steg:")
    for step in next_steps(slug, path, start):
        click.echo(f"  {step}")


@kommune.command("export")
@click.argument("slug")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="A new (or empty) directory for the package.",
)
@source_option
@click.pass_obj
def export_cmd(root: Path, slug: str, out: Path, source: str | None) -> None:
    """Write the municipality's exit package: directory, inventory, audit, backup, README."""
    from regionhus.inventory import load_inventory
    from regionhus.kommune.export import export

    result = export(load_inventory(root, source), slug, out)
    parts = ", ".join(f"{k} {v} s" for k, v in result.parts.items())
    click.echo(
        f"utleveringspakke: {result.out}: {result.files} filer, {result.bytes} byte, "
        f"{result.seconds} s ({parts})"
    )
    click.echo(f"kontroll: cd {result.out} && sha256sum -c SHA256SUMS; les README.md")


@kommune.command("purge")
@click.argument("slug")
@click.option(
    "--i-understand",
    "confirmed",
    is_flag=True,
    help="Delete for real (without it: only list what would be deleted).",
)
@source_option
@click.pass_obj
def purge_cmd(root: Path, slug: str, confirmed: bool, source: str | None) -> None:
    """After the retention period: delete what is left of a municipality that has left."""
    from regionhus.inventory import load_inventory
    from regionhus.kommune.purge import purge, purge_plan

    plan = purge_plan(load_inventory(root, source), slug)
    lines = plan.lines()
    click.echo(f"{slug}: slettes av purge ({'nå' if confirmed else 'tørrkjøring'}):")
    for line in lines or ["(ingenting igjen på vertene)"]:
        click.echo(f"  - {line}")
    click.echo("  (beholdes: bevis under records/, kommuner/-filen til den fjernes ved PR)")
    if plan.refusal and confirmed:
        click.echo(f"feil: {plan.refusal}; ingenting er slettet", err=True)
        sys.exit(1)
    if not confirmed:
        verdict = f"purge nektes nå: {plan.refusal}" if plan.refusal else "purge er tillatt"
        click.echo(f"\nTørrkjøring, ingenting slettet ({verdict}).")
        return
    for line in purge(plan):
        click.echo(line)
    click.echo(
        f"\nNeste steg: fjern kommuner/{slug}.yml ved pull request; til den er borte vil "
        "en apply lage et tomt repository igjen."
    )
