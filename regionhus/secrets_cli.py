"""`regionhus secrets check`: which secrets are missing, and which role needs each."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from regionhus.config import load_region
from regionhus.secrets import LAB, REGION, lab_vault_file, missing_secrets, vault_file


@click.group("secrets")
def secrets() -> None:
    """The region's vault (production secrets) and the lab's (tests only)."""


@secrets.command()
@click.option("--lab", "with_lab", is_flag=True, help="Also check the lab's vault.")
@click.pass_obj
def check(root: Path, with_lab: bool) -> None:
    """List each missing secret and the role that needs it.

    \b
    Exit codes:
      0  the region's vault has every secret plan and apply need
      1  secrets are missing (listed), or a vault cannot be read
    """
    config = load_region(root)
    purposes = [REGION, LAB] if with_lab else [REGION]
    failed = False
    for purpose in purposes:
        path = vault_file() if purpose == REGION else lab_vault_file()
        missing = missing_secrets(config, purpose)
        if not missing:
            click.echo(f"OK {purpose} vault {path}: every secret is there")
            continue
        failed = True
        state = "" if path.is_file() else " (the file does not exist)"
        click.echo(f"MISSING in the {purpose} vault {path}{state}:")
        for item in missing:
            click.echo(f"  {item.name}: for {', '.join(item.secret.needed_by)} ({item.secret.why})")
    if failed:
        click.echo(
            "Add them with `ansible-vault edit --vault-id <purpose>@<password file> <vault>` "
            "(see README, 'Running against your region').",
            err=True,
        )
        sys.exit(1)
