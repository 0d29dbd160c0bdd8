"""Choosing the inventory source: NetBox when configured, else the embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from regionhus.errors import RegionhusError
from regionhus.inventory.embedded import EmbeddedSource
from regionhus.inventory.hosts import HostSet

SOURCES = ("auto", "embedded", "netbox")


class InventorySource(Protocol):
    name: str

    def describe(self) -> str: ...

    def load(self) -> HostSet: ...


def netbox_configured() -> bool:
    from regionhus.netbox.settings import netbox_settings_present

    return netbox_settings_present()


def make_source(root: Path, name: str | None = None) -> InventorySource:
    """The source named, or from REGIONHUS_INVENTORY; `auto` picks NetBox if configured.

    A configured NetBox that fails is an error, never a quiet fall back to the
    embedded hosts: an operator must not apply to a host list they did not mean.
    """
    name = name or os.environ.get("REGIONHUS_INVENTORY", "auto")
    if name not in SOURCES:
        raise RegionhusError(f"unknown inventory source '{name}'; use one of: {', '.join(SOURCES)}")
    if name == "auto":
        name = "netbox" if netbox_configured() else "embedded"
    if name == "embedded":
        return EmbeddedSource(root)
    from regionhus.netbox.source import NetBoxSource

    return NetBoxSource.from_settings(root)
