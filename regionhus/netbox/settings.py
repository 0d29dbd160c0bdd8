"""Where the NetBox URL and token come from: the environment or a file outside git."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SETTINGS_FILE = Path.home() / ".config" / "regionhus" / "netbox.env"


@dataclass(frozen=True)
class NetBoxSettings:
    url: str
    token: str
    origin: str  # where the settings were read, for error messages


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def netbox_settings() -> NetBoxSettings | None:
    url = os.environ.get("REGIONHUS_NETBOX_URL")
    token = os.environ.get("REGIONHUS_NETBOX_TOKEN")
    if url or token:
        return NetBoxSettings(url or "", token or "", "environment (REGIONHUS_NETBOX_*)")
    path = Path(os.environ.get("REGIONHUS_NETBOX_ENV_FILE", SETTINGS_FILE))
    if path.is_file():
        values = _read_env_file(path)
        return NetBoxSettings(
            values.get("REGIONHUS_NETBOX_URL", ""),
            values.get("REGIONHUS_NETBOX_TOKEN", ""),
            str(path),
        )
    return None


def netbox_settings_present() -> bool:
    return netbox_settings() is not None
