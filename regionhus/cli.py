"""`regionhus`: the operator's command line.

Errors are printed as messages for an operator (what is wrong, what to do), never
as tracebacks; the exit code says which kind of failure it was.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from regionhus.backup.cli import backup
from regionhus.cli_options import format_option, source_option
from regionhus.errors import RegionhusError
from regionhus.exitcodes import Exit, epilog
from regionhus.inventory import REGION, load_inventory
from regionhus.kommune.cli import kommune
from regionhus.lab.cli import lab
from regionhus.netbox.cli import netbox
from regionhus.paths import repo_root
from regionhus.plan.cli import apply, plan
from regionhus.reports.cli import audit
from regionhus.secrets_cli import secrets
from regionhus.validate import validate_tree

# Tables stay readable when piped or captured (no terminal: rich would assume 80).
console = Console(width=None if sys.stdout.isatty() else 140)


class UsageError(click.UsageError):
    """click's usage error (same message and usage line) with exit code 64."""

    exit_code = Exit.USAGE


class RegionhusGroup(click.Group):
    """Turns RegionhusError into a clean message and its exit code, and a usage error
    (click's 2) into 64, so no mistyped option can read as "changes pending"."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise UsageError(exc.format_message(), exc.ctx) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise UsageError(exc.format_message(), exc.ctx) from exc
        except RegionhusError as exc:
            click.echo(f"feil: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=RegionhusGroup, epilog=epilog(""))
@click.version_option(package_name="regionhus", prog_name="regionhus")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="REGIONHUS_ROOT",
    help="The region's checkout (default: the working directory, or the nearest folder "
    "above it that holds region.yml).",
)
@click.option(
    "--skip-bad-records",
    is_flag=True,
    envvar="REGIONHUS_SKIP_BAD_RECORDS",
    help="Leave out NetBox records the inventory cannot use (they are still listed).",
)
@click.pass_context
def main(ctx: click.Context, root: Path | None, skip_bad_records: bool) -> None:
    """Regionhus: the shared IT platform of the region, as code."""
    if skip_bad_records:
        # The engines' inventory (Ansible plugin, pyinfra) runs in child processes.
        os.environ["REGIONHUS_SKIP_BAD_RECORDS"] = "1"
    if root is not None:
        # Every part (engines, their inventory, records) reads the same checkout.
        os.environ["REGIONHUS_ROOT"] = str(root.resolve())
    ctx.obj = repo_root()


@main.command()
@click.pass_obj
def validate(root: Path) -> None:
    """Check region.yml and kommuner/ (schema and rules across files)."""
    tree, findings = validate_tree(root)
    if findings:
        for finding in findings:
            click.echo(finding.format(), err=True)
        files = len({f.file for f in findings})
        click.echo(f"\n{len(findings)} problem(s) in {files} file(s).", err=True)
        sys.exit(1)
    click.echo(f"OK: region.yml and {len(tree.kommuner)} municipality files are valid.")


@main.command()
@format_option("json")
@source_option
@click.pass_obj
def inventory(root: Path, fmt: str, source: str | None) -> None:
    """Show the region's hosts and whom each serves."""
    inv = load_inventory(root, source)
    if fmt == "json":
        out = {
            "source": inv.source,
            "hosts": [{**h.model_dump(mode="json"), "groups": inv.groups_of(h)} for h in inv.hosts],
            "groups": inv.groups(),
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    table = Table(title=f"Verter i regionen (kilde: {inv.source})")
    for column in ("Vert", "Adresse", "Roller", "Betjener", "Sted", "Tagger"):
        table.add_column(column)
    for h in inv.hosts:
        serves = "regionen (felles)" if h.serves == REGION else inv.config.kommuner[h.serves].name
        table.add_row(h.name, str(h.address), ", ".join(h.roles), serves, h.site, ", ".join(h.tags))
    console.print(table)


@main.command()
@click.option(
    "--full", is_flag=True, help="Verify with every lab test and matrix (as `make test` does)."
)
@click.option("--quiet", is_flag=True, help="Only the steps and their results, no progress.")
def demo(full: bool, quiet: bool) -> None:
    """The main job on the embedded default: lab up, apply, verify, first backups and
    drills, report. Shows live progress; the heavy matrices only with --full."""
    from regionhus.demo import run_demo

    run_demo(full=full, quiet=quiet)


main.add_command(backup)
main.add_command(lab)
main.add_command(netbox)
main.add_command(audit)
main.add_command(plan)
main.add_command(apply)
main.add_command(secrets)
main.add_command(kommune)


def _document_exit_codes(command: click.Command, path: str = "") -> None:
    """Every command's --help ends with its exit codes (from regionhus.exitcodes)."""
    if path:
        command.epilog = epilog(path)
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            _document_exit_codes(sub, f"{path} {name}".strip())


_document_exit_codes(main)


if __name__ == "__main__":
    main()
