"""Options several commands share, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from regionhus.inventory.sources import SOURCES

F = TypeVar("F", bound=Callable[..., Any])

source_option = click.option(
    "--source",
    type=click.Choice(SOURCES),
    default=None,
    help="Inventory source (default: REGIONHUS_INVENTORY or auto).",
)

progress_option = click.option(
    "--progress/--quiet",
    "progress",
    default=None,
    help="Live progress (host, task, elapsed) on stderr; default: only on a terminal, "
    "so CI logs stay quiet.",
)


def _json_alias(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    # `--json` is the old spelling of `--format json`; kept so existing scripts work.
    if value:
        ctx.meta["regionhus.format_json"] = True
    return value


def format_option(*choices: str) -> Callable[[F], F]:
    """`--format text|json|...` (the machine-output spelling of every command) and the
    hidden, deprecated `--json`. The command receives `fmt`."""

    def decorate(func: F) -> F:
        func = click.option(
            "--json",
            "json_alias",
            is_flag=True,
            hidden=True,
            expose_value=False,
            is_eager=True,
            callback=_json_alias,
            help="Deprecated: use --format json.",
        )(func)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", *choices]),
            default="text",
            show_default=True,
            callback=lambda ctx, _p, v: "json" if ctx.meta.get("regionhus.format_json") else v,
            help="Output format; json is for machines (stable keys).",
        )(func)

    return decorate
