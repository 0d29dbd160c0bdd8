"""Shared by conftest.py and the tests: where the live test NetBox is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regionhus.netbox.client import NetBoxClient

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class LiveNetBox:
    url: str
    token: str

    @property
    def env(self) -> dict[str, str]:
        return {"REGIONHUS_NETBOX_URL": self.url, "REGIONHUS_NETBOX_TOKEN": self.token}

    def client(self) -> NetBoxClient:
        return NetBoxClient(self.url, self.token)
