"""`regionhus lab …`: the local lab of real Debian hosts."""

from __future__ import annotations

import dataclasses
import json
import time

import click

from regionhus.cli_options import format_option
from regionhus.lab import lifecycle


def echo(line: str) -> None:
    click.echo(f"[lab] {line}", err=True)


@click.group("lab")
def lab() -> None:
    """Lab: real Debian hosts of the region in network namespaces."""


@lab.command("up")
def up_cmd() -> None:
    """Boot every lab host (builds the base image on first use); waits for SSH."""
    started = time.monotonic()
    lifecycle.up(echo)
    echo(f"done in {time.monotonic() - started:.1f} s")


@lab.command("down")
@click.option("--wipe", is_flag=True, help="Also delete each host's disk (overlay upper dir).")
def down_cmd(wipe: bool) -> None:
    """Stop every host and remove namespaces, links, mounts and processes the lab made."""
    lifecycle.down(echo, wipe=wipe)


@lab.command("status")
@format_option("json")
def status_cmd(fmt: str) -> None:
    """Show the guard route, bridge, apt proxy and each host's state."""
    lines, hosts = lifecycle.status()
    if fmt == "json":
        rows = [{**dataclasses.asdict(h), "state": h.state} for h in hosts]
        click.echo(json.dumps({"checks": lines, "hosts": rows}, indent=2))
        return
    for line in lines:
        click.echo(line)
    click.echo(f"{'host':<18}{'address':<14}{'netns':<7}{'pid':<9}{'ssh':<6}state")
    for h in hosts:
        ssh = {True: "yes", False: "no", None: "-"}[h.ssh]
        click.echo(
            f"{h.name:<18}{h.address:<14}{'yes' if h.netns else 'no':<7}"
            f"{h.pid or '-'!s:<9}{ssh:<6}{h.state}"
        )


@lab.command("ssh", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh_cmd(host: str, command: tuple[str, ...]) -> None:
    """Log in to a lab host as root, or run COMMAND there (after checking the bridge)."""
    import os

    from regionhus.lab import require_lab_bridge, ssh_command

    require_lab_bridge()
    argv = ssh_command(host, " ".join(command) if command else None)
    if not command:
        argv.remove("-n")  # interactive login needs stdin
    os.execvp(argv[0], argv)
