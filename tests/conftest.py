"""Shared fixtures: a copy of the region's files that a test may break."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Tests see the embedded lab region unless a test points at the real NetBox itself:
    an operator's NetBox settings on this machine must not change what tests read."""
    os.environ.pop("REGIONHUS_NETBOX_URL", None)
    os.environ.pop("REGIONHUS_NETBOX_TOKEN", None)
    os.environ["REGIONHUS_NETBOX_ENV_FILE"] = os.devnull + ".regionhus-tests-none"
    os.environ["REGIONHUS_INVENTORY"] = "auto"


def copy_region(target: Path) -> Path:
    """A throw-away tree with the shipped region.yml, kommuner/ and embedded inventory."""
    shutil.copy(REPO / "region.yml", target / "region.yml")
    shutil.copytree(REPO / "kommuner", target / "kommuner")
    (target / "inventory").mkdir()
    shutil.copy(REPO / "inventory" / "lab-region.hosts.yml", target / "inventory")
    return target


@pytest.fixture
def region_copy(tmp_path: Path) -> Path:
    return copy_region(tmp_path)


@pytest.fixture
def repo() -> Path:
    return REPO
