"""`regionhus kommune`: a municipality joins (new), leaves with its data (export), is purged."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from regionhus.config import today
from regionhus.validate import validate_tree


@click.group("kommune")
def kommune() -> None:
    """A municipality's life: new file, exit package, purge after the retention period."""


@kommune.command("new")
@click.argument("slug")
@click.option("--name", help="The municipality's name without «kommune» (default: from the slug).")
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
    text = render(slug, name or default_name(slug), kommunenummer, population, start)
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
