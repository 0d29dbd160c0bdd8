"""Errors meant for an operator: the CLI prints them without a traceback."""

from __future__ import annotations

from regionhus.exitcodes import Exit


class RegionhusError(Exception):
    """A problem the operator can fix; the message says how."""

    # Never 2: that is `plan`'s "changes pending" (see regionhus.exitcodes).
    exit_code: int = Exit.FAILED


class InvalidConfiguration(RegionhusError):
    """region.yml or kommuner/ failed validation; nothing was touched."""

    def __init__(self, findings: list) -> None:  # list[Finding]; avoids an import cycle
        self.findings = findings
        lines = "\n".join(f.format() for f in findings)
        super().__init__(
            f"{len(findings)} problem(s) in the region's files; nothing was changed:\n{lines}"
        )
