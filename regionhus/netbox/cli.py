"""`regionhus netbox …`: a local NetBox, seeding it, and drift between it and kommuner/."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from regionhus.cli_options import format_option
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
@format_option("json")
def status_cmd(instance: str | None, fmt: str) -> None:
    """Show whether the local NetBox is installed, running and accepting its token."""
    info = server.status(instance)
    if fmt == "json":
        click.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        click.echo(f"{key:<10}{value}")
    if info["api"] != 200:
        sys.exit(1)


def _client(instance: str | None):  # type: ignore[no-untyped-def]
    """The configured NetBox, or the local instance when none is configured."""
    from regionhus.netbox.client import NetBoxClient
    from regionhus.netbox.settings import load_settings, netbox_settings_present

    if instance is None and netbox_settings_present():
        settings = load_settings()
        return NetBoxClient(settings.url, settings.token)
    inst = server.instance(instance)
    return NetBoxClient(inst.url, server.read_token(inst))


@netbox.command("seed")
@instance_option
@click.option(
    "--hosts",
    "hosts_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Host list in the embedded format (default: inventory/lab-region.hosts.yml).",
)
@click.pass_obj
def seed_cmd(root: Path, instance: str | None, hosts_file: Path | None) -> None:
    """Load kommuner/ and the host list into NetBox; a second run changes nothing.

    Uses the configured NetBox (REGIONHUS_NETBOX_URL/TOKEN or its env file), else the
    local instance started by `regionhus netbox up`.
    """
    from regionhus.config import load_region
    from regionhus.netbox.seed import plan_from_region, seed
    from regionhus.netbox.source import load_host_file

    config = load_region(root)
    host_set = load_host_file(root, hosts_file)
    client = _client(instance)
    started = time.monotonic()
    report = seed(client, plan_from_region(config, host_set))
    echo(f"{client.url}: {report.summary()} in {time.monotonic() - started:.1f} s")


@netbox.command("check")
@instance_option
@format_option("json")
@click.pass_obj
def check_cmd(root: Path, instance: str | None, fmt: str) -> None:
    """Drift between kommuner/ and NetBox, both ways; exit 1 when there is any."""
    from regionhus.config import load_region
    from regionhus.netbox import check

    config = load_region(root)
    client = _client(instance)
    drift = check.check(client, config)
    if fmt == "json":
        click.echo(json.dumps(check.as_json(drift, client.url), indent=2))
    elif drift:
        click.echo(f"{len(drift)} difference(s) between kommuner/ and NetBox at {client.url}:")
        for d in drift:
            click.echo(d.format())
    else:
        click.echo(f"OK: kommuner/ and NetBox at {client.url} agree.")
    if drift:
        sys.exit(1)
