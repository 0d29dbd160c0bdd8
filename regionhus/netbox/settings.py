"""Which NetBox to use: URL and token from the environment or a file outside git.

The environment wins over the file, so a test or a one-off command can point at
another NetBox without touching the operator's file. Half a configuration (a URL
without a token) is an error, not "not configured": the operator meant NetBox.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from regionhus.errors import RegionhusError

URL_VAR = "REGIONHUS_NETBOX_URL"
TOKEN_VAR = "REGIONHUS_NETBOX_TOKEN"
FILE_VAR = "REGIONHUS_NETBOX_ENV_FILE"
SKIP_VAR = "REGIONHUS_SKIP_BAD_RECORDS"
CACHE_VAR = "REGIONHUS_NETBOX_CACHE"


class NetBoxConfigError(RegionhusError):
    """NetBox is half configured or its settings file is unreadable."""


def env_file() -> Path:
    return Path(os.environ.get(FILE_VAR) or Path.home() / ".config" / "regionhus" / "netbox.env")


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return values
    except OSError as exc:
        raise NetBoxConfigError(f"cannot read {path}: {exc.strerror}; fix its permissions") from exc
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "yes", "true", "on")


@dataclass(frozen=True)
class NetBoxSettings:
    url: str
    token: str
    skip_bad_records: bool = False
    use_cache: bool = True
    origin: str = "environment"

    @property
    def api(self) -> str:
        return self.url.rstrip("/") + "/api"


def _raw() -> tuple[dict[str, str], str]:
    from_env = {k: os.environ[k] for k in (URL_VAR, TOKEN_VAR) if os.environ.get(k)}
    if from_env:
        return from_env, "environment"
    path = env_file()
    return _read_env_file(path), str(path)


def netbox_settings_present() -> bool:
    values, _ = _raw()
    return bool(values.get(URL_VAR) or values.get(TOKEN_VAR))


def load_settings(skip_bad_records: bool | None = None) -> NetBoxSettings:
    values, origin = _raw()
    url, token = values.get(URL_VAR, ""), values.get(TOKEN_VAR, "")
    if not url or not token:
        missing = URL_VAR if not url else TOKEN_VAR
        raise NetBoxConfigError(
            f"NetBox is half configured in {origin}: {missing} is missing. Set both "
            f"{URL_VAR} and {TOKEN_VAR} (see `regionhus netbox status`), or neither "
            f"to use the embedded inventory"
        )
    if not url.startswith(("http://", "https://")):
        raise NetBoxConfigError(f"{URL_VAR}={url!r} (from {origin}) is not an http(s) URL")
    if skip_bad_records is None:
        skip_bad_records = _truthy(os.environ.get(SKIP_VAR))
    use_cache = os.environ.get(CACHE_VAR, "1") != "0"
    return NetBoxSettings(url.rstrip("/"), token, skip_bad_records, use_cache, origin)
