"""Secrets in an encrypted Ansible vault, never in plain text in git.

Production: REGIONHUS_VAULT_FILE (an encrypted file, may be committed) and
REGIONHUS_VAULT_PASSWORD_FILE (outside git). The lab: both live in the state dir,
and `ensure_lab_vault` generates the password and any missing secret on first use.
"""

from __future__ import annotations

import os
import secrets as random
from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from regionhus.backup.repositories import repositories
from regionhus.config import RegionConfig
from regionhus.errors import RegionhusError
from regionhus.paths import state_dir
from regionhus.privatefile import write_private


def vault_file() -> Path:
    return Path(os.environ.get("REGIONHUS_VAULT_FILE", state_dir() / "vault" / "lab.vault.yml"))


def vault_password_file() -> Path:
    default = state_dir() / "vault" / "password"
    return Path(os.environ.get("REGIONHUS_VAULT_PASSWORD_FILE", default))


def _vault() -> VaultLib:
    path = vault_password_file()
    if not path.is_file():
        raise RegionhusError(
            f"vault password file {path} is missing; set REGIONHUS_VAULT_PASSWORD_FILE "
            "to the region's vault password file (the lab creates its own on `lab up`)"
        )
    return VaultLib([("default", VaultSecret(path.read_bytes().strip()))])


def read_vault() -> dict[str, Any]:
    path = vault_file()
    if not path.is_file():
        raise RegionhusError(f"vault {path} is missing; set REGIONHUS_VAULT_FILE")
    try:
        data = yaml.safe_load(_vault().decrypt(path.read_bytes()))
    except Exception as exc:  # ansible raises its own error types here
        raise RegionhusError(f"cannot decrypt {path} with {vault_password_file()}: {exc}") from exc
    return data or {}


def _write_vault(data: dict[str, Any]) -> None:
    path = vault_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, _vault().encrypt(yaml.safe_dump(data, sort_keys=True)))


def required_secrets(config: RegionConfig) -> dict[str, list[str]]:
    """Which secrets the region needs: top-level names, and per-municipality maps."""
    # Every repository, planned ones too: a municipality's start date needs no vault edit.
    backup_repos = [repo.name for repo in repositories(config)]
    return {
        "vault_directory_admin_password": [],
        # Password of the VDI login tests' own AD users (tests/lab/test_vdi_login.py).
        "vault_vdi_test_user_password": [],
        # Lab only: initial password of the operators' AD accounts (isolation tests bind
        # as them). Production sets operators' initial passwords out of band.
        "vault_directory_operator_password": [],
        "vault_backup_passphrases": backup_repos,
    }


def _new_password() -> str:
    # Upper, lower, digit and symbol: satisfies Samba's default password complexity.
    return f"Rh-{random.token_urlsafe(18)}-9a"


def ensure_lab_vault(config: RegionConfig) -> Path:
    """Create the lab's vault password and fill in missing secrets (idempotent)."""
    password = vault_password_file()
    if not password.exists():
        write_private(password, random.token_urlsafe(32) + "\n")
    data = read_vault() if vault_file().exists() else {}
    changed = False
    for name, keys in required_secrets(config).items():
        if not keys:
            if name not in data:
                data[name], changed = _new_password(), True
            continue
        current = data.setdefault(name, {})
        for key in keys:
            if key not in current:
                current[key], changed = _new_password(), True
    if changed or not vault_file().exists():
        _write_vault(data)
    return vault_file()


def require_secrets(config: RegionConfig) -> dict[str, Any]:
    """The vault's contents, or an error naming every missing secret (before any host)."""
    data = read_vault()
    missing = []
    for name, keys in required_secrets(config).items():
        if name not in data:
            missing.append(name)
        for key in keys:
            if key not in (data.get(name) or {}):
                missing.append(f"{name}.{key}")
    if missing:
        raise RegionhusError(
            f"missing secrets in {vault_file()}: {', '.join(missing)}; add them with "
            "`ansible-vault edit` (the lab: `regionhus lab up` generates them)"
        )
    return data
