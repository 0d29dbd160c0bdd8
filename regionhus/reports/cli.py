"""`regionhus audit`: reports for auditors (filled in by the audit work)."""

import click


@click.command("audit")
def audit() -> None:
    """Audit report per municipality and for the region."""
    raise click.ClickException("not built yet")
