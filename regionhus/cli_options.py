"""Options several commands share, defined once."""

from __future__ import annotations

import click

from regionhus.inventory.sources import SOURCES

source_option = click.option(
    "--source",
    type=click.Choice(SOURCES),
    default=None,
    help="Inventory source (default: REGIONHUS_INVENTORY or auto).",
)
