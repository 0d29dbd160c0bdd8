"""Secrets in encrypted Ansible vaults, one per purpose, never in plain text in git.

- The region's vault (vault ID `region`): what the services need in production.
  REGIONHUS_VAULT_FILE (encrypted, may be committed) and REGIONHUS_VAULT_PASSWORD_FILE
  (outside git). `plan` and `apply` require every secret in it, and nothing else.
- The lab's vault (vault ID `lab`): what only the lab and its tests use (test users'
  passwords, known operator passwords to bind as). REGIONHUS_LAB_VAULT_FILE and
  REGIONHUS_LAB_VAULT_PASSWORD_FILE; given to the engines only for the lab region.

In the lab both live in the state dir and `ensure_lab_vault` generates them.
"""

from __future__ import annotations

import os
import secrets as random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from regionhus.backup.repositories import repositories
from regionhus.config import RegionConfig
from regionhus.errors import RegionhusError
from regionhus.paths import state_dir
from regionhus.privatefile import write_private
from regionhus.yamlfile import YamlSyntaxError, load_yaml_bytes

Purpose = Literal["region", "lab"]
REGION: Purpose = "region"
LAB: Purpose = "lab"


@dataclass(frozen=True)
class Secret:
    name: str
    purpose: Purpose
    needed_by: tuple[str, ...]  # the roles (or tests) that read it
    why: str
    keys: tuple[str, ...] = ()  # a map with one entry per key (e.g. per repository)


def secrets_needed(config: RegionConfig) -> list[Secret]:
    """Every secret, with who needs it and for what."""
    # Every repository, planned ones too: a municipality's start date needs no vault edit.
    backup_repos = tuple(repo.name for repo in repositories(config))
    return [
        Secret(
            "vault_directory_admin_password",
            REGION,
            ("samba_dc", "vdi_session_host"),
            "the domain's Administrator (provisioning, joining DCs and session hosts)",
        ),
        Secret(
            "vault_backup_passphrases",
            REGION,
            ("backup_client", "backup_server"),
            "each repository's borg passphrase",
            backup_repos,
        ),
        Secret(
            "vault_vdi_test_user_password",
            LAB,
            ("tests/lab/test_vdi_login.py",),
            "the VDI login tests' own AD users",
        ),
        Secret(
            "vault_directory_operator_password",
            LAB,
            ("directory_tenants",),
            "a known initial password for operators' AD accounts, so the isolation tests "
            "can bind as them (a real region sets initial passwords out of band)",
        ),
    ]


def required_secrets(config: RegionConfig, purpose: Purpose = REGION) -> dict[str, list[str]]:
    """Names (and per-key maps) of one vault's secrets."""
    return {s.name: list(s.keys) for s in secrets_needed(config) if s.purpose == purpose}


# --- where the vaults are -----------------------------------------------------------


def vault_file() -> Path:
    default = state_dir() / "vault" / "region.vault.yml"
    return Path(os.environ.get("REGIONHUS_VAULT_FILE", default))


def vault_password_file() -> Path:
    default = state_dir() / "vault" / "password"
    return Path(os.environ.get("REGIONHUS_VAULT_PASSWORD_FILE", default))


def lab_vault_file() -> Path:
    default = state_dir() / "vault" / "lab.vault.yml"
    return Path(os.environ.get("REGIONHUS_LAB_VAULT_FILE", default))


def lab_vault_password_file() -> Path:
    # The lab keeps one password file for both of its vaults; the IDs still tell them apart.
    default = state_dir() / "vault" / "password"
    return Path(os.environ.get("REGIONHUS_LAB_VAULT_PASSWORD_FILE", default))


def _files(purpose: Purpose) -> tuple[Path, Path]:
    if purpose == REGION:
        return vault_file(), vault_password_file()
    return lab_vault_file(), lab_vault_password_file()


def vault_identity_list(with_lab: bool) -> str:
    """ANSIBLE_VAULT_IDENTITY_LIST: `region@file` (and `lab@file` for the lab region)."""
    ids = [f"{REGION}@{vault_password_file()}"]
    if with_lab and lab_vault_file().is_file():
        ids.append(f"{LAB}@{lab_vault_password_file()}")
    return ",".join(ids)


# --- reading and writing ------------------------------------------------------------


def _vault(purpose: Purpose) -> VaultLib:
    _, password = _files(purpose)
    if not password.is_file():
        env = (
            "REGIONHUS_VAULT_PASSWORD_FILE"
            if purpose == REGION
            else ("REGIONHUS_LAB_VAULT_PASSWORD_FILE")
        )
        raise RegionhusError(
            f"vault password file {password} is missing; set {env} to the {purpose} "
            "vault's password file (the lab creates its own on `lab up`)"
        )
    return VaultLib([(purpose, VaultSecret(password.read_bytes().strip()))])


def read_one(purpose: Purpose) -> dict[str, Any]:
    path, password = _files(purpose)
    if not path.is_file():
        env = "REGIONHUS_VAULT_FILE" if purpose == REGION else "REGIONHUS_LAB_VAULT_FILE"
        raise RegionhusError(f"the {purpose} vault {path} is missing; set {env}")
    try:
        plain = _vault(purpose).decrypt(path.read_bytes())
    except RegionhusError:
        raise
    except Exception as exc:  # ansible raises its own error types here
        raise RegionhusError(f"cannot decrypt {path} with {password}: {exc}") from exc
    try:
        # The same bounded loader as region.yml: no aliases, size and depth limits.
        data = load_yaml_bytes(path, plain).data
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise RegionhusError(f"{where} (decrypted): {exc.message}") from None
    return data or {}


def read_vault() -> dict[str, Any]:
    """The region's secrets, plus the lab's where a lab vault exists (tests read both)."""
    data = read_one(REGION)
    if lab_vault_file().is_file():
        data = {**read_one(LAB), **data}
    return data


def _write(purpose: Purpose, data: dict[str, Any]) -> None:
    path, _ = _files(purpose)
    # Labelled with its vault ID (format 1.2), so the file says which vault it is.
    text = yaml.safe_dump(data, sort_keys=True)
    write_private(path, _vault(purpose).encrypt(text, vault_id=purpose))


# --- checking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    secret: Secret
    key: str | None = None

    @property
    def name(self) -> str:
        return f"{self.secret.name}.{self.key}" if self.key else self.secret.name


def missing_secrets(config: RegionConfig, purpose: Purpose) -> list[Missing]:
    path, _ = _files(purpose)
    data = read_one(purpose) if path.is_file() else {}
    missing = []
    for secret in secrets_needed(config):
        if secret.purpose != purpose:
            continue
        if secret.name not in data:
            missing.append(Missing(secret))
            continue
        missing += [Missing(secret, k) for k in secret.keys if k not in (data[secret.name] or {})]
    return missing


def require_secrets(config: RegionConfig) -> dict[str, Any]:
    """The region vault's contents, or an error naming every missing secret and the role
    that needs it (before any host is touched). Lab and test secrets are never required."""
    data = read_one(REGION)
    missing = missing_secrets(config, REGION)
    if missing:
        listed = "; ".join(f"{m.name} (for {', '.join(m.secret.needed_by)})" for m in missing)
        raise RegionhusError(
            f"missing secrets in {vault_file()}: {listed}; add them with "
            "`ansible-vault edit --vault-id region@<password file> <vault>` "
            "(`regionhus secrets check` lists them; the lab: `regionhus lab up` generates them)"
        )
    return data


# --- the lab's vaults ---------------------------------------------------------------


def _new_password() -> str:
    # Upper, lower, digit and symbol: satisfies Samba's default password complexity.
    return f"Rh-{random.token_urlsafe(18)}-9a"


def _fill(data: dict[str, Any], wanted: dict[str, list[str]]) -> bool:
    changed = False
    for name, keys in wanted.items():
        if not keys:
            if name not in data:
                data[name], changed = _new_password(), True
            continue
        current = data.setdefault(name, {})
        for key in keys:
            if key not in current:
                current[key], changed = _new_password(), True
    return changed


def ensure_lab_vault(config: RegionConfig) -> Path:
    """Create the lab's vault password and both vaults, filling in missing secrets
    (idempotent). A lab vault from before the split (all secrets in lab.vault.yml) is
    split, keeping every value: the applied lab's passwords and passphrases stay."""
    password = vault_password_file()
    if not password.exists():
        write_private(password, random.token_urlsafe(32) + "\n")
    lab = read_one(LAB) if lab_vault_file().is_file() else {}
    region = read_one(REGION) if vault_file().is_file() else {}
    region_names = required_secrets(config, REGION)
    moved = {name: lab.pop(name) for name in list(lab) if name in region_names}
    region = {**moved, **region}
    if _fill(region, region_names) or moved or not vault_file().is_file():
        _write(REGION, region)
    if _fill(lab, required_secrets(config, LAB)) or moved or not lab_vault_file().is_file():
        _write(LAB, lab)
    return vault_file()
