"""The one error type the lab raises: a message that tells the operator what to do next."""

from __future__ import annotations

from regionhus.errors import RegionhusError


class LabError(RegionhusError):
    """Something the operator must fix; the message says how (the CLI prints it, no traceback)."""
