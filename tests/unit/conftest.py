"""Fixtures the audit report's unit tests share (test_audit_report, test_audit_availability)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report.audit_records import ON, seed_records

from regionhus.config import load_region
from regionhus.inventory import Inventory, load_inventory


@pytest.fixture(scope="module")
def audit_inventory() -> Inventory:
    """The embedded region as of the records' day (ON)."""
    return load_inventory(source="embedded", config=load_region(on=ON))


@pytest.fixture(scope="module")
def audit_records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A records_dir() holding the known evidence of report/audit_records.py."""
    return seed_records(tmp_path_factory.mktemp("records"))
