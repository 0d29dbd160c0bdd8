"""Errors meant for an operator: the CLI prints them without a traceback."""

from __future__ import annotations


class RegionhusError(Exception):
    """A problem the operator can fix; the message says how."""

    exit_code = 2


class InvalidConfiguration(RegionhusError):
    """region.yml or kommuner/ failed validation; nothing was touched."""

    exit_code = 1

    def __init__(self, findings: list) -> None:  # list[Finding]; avoids an import cycle
        self.findings = findings
        lines = "\n".join(f.format() for f in findings)
        super().__init__(
            f"{len(findings)} problem(s) in the region's files; nothing was changed:\n{lines}"
        )
