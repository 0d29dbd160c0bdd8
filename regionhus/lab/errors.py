"""The one error type the lab raises: a message that tells the operator what to do next."""

from __future__ import annotations


class LabError(RuntimeError):
    """Something the operator must fix; the message says how."""
