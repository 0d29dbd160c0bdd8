"""`regionhus netbox …`: a local NetBox, seeding it, and drift between it and kommuner/."""

from __future__ import annotations

import json
import sys
import time

import click

from regionhus.netbox import server


def echo(line: str) -> None:
    click.echo(f"[netbox] {line}", err=True)


instance_option = click.option(
    "--instance",
    type=click.Choice(sorted(server.INSTANCES)),
    default=None,
    help="Local NetBox instance (default: REGIONHUS_NETBOX_INSTANCE or dev).",
)


@click.group("netbox")
def netbox() -> None:
    """NetBox: start a local NetBox, seed it, check drift."""


@netbox.command("up")
@instance_option
def up_cmd(instance: str | None) -> None:
    """Install (first time) and start NetBox, PostgreSQL and Redis on 127.0.0.1."""
    started = time.monotonic()
    inst = server.up(instance)
    echo(
        f"NetBox {server.NETBOX_VERSION} answers on {inst.url} ({time.monotonic() - started:.1f} s)"
    )
    echo(f"to use it as the inventory source: cp {inst.root / 'netbox.env'} ~/.config/regionhus/")


@netbox.command("down")
@instance_option
@click.option("--services", is_flag=True, help="Also stop Redis and PostgreSQL (data is kept).")
def down_cmd(instance: str | None, services: bool) -> None:
    """Stop NetBox (idempotent)."""
    server.down(instance, services=services)


@netbox.command("status")
@instance_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(instance: str | None, as_json: bool) -> None:
    """Show whether the local NetBox is installed, running and accepting its token."""
    info = server.status(instance)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key:<10}{value}")
    if info["api"] != 200:
        sys.exit(1)
