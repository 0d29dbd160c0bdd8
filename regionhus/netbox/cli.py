"""`regionhus netbox …`: the NetBox source of truth (filled in by the NetBox work)."""

import click


@click.group("netbox")
def netbox() -> None:
    """NetBox: start a local NetBox, seed it, check drift."""
