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
from binascii import Error as HexError
from binascii import unhexlify
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from regionhus.backup.repositories import repositories
from regionhus.config import RegionConfig
from regionhus.errors import RegionhusError
from regionhus.paths import state_dir
from regionhus.privatefile import write_private
from regionhus.yamlfile import YamlSyntaxError, load_yaml_bytes

if TYPE_CHECKING:
    from ansible.parsing.vault import VaultLib

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


def _password(purpose: Purpose) -> bytes:
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
    return password.read_bytes().strip()


def _vault(purpose: Purpose) -> VaultLib:
    # Ansible's import costs more CPU than everything else a no-change plan does here:
    # only writing a vault (and reading another format than AES256) needs it.
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([(purpose, VaultSecret(_password(purpose)))])


class DecryptError(RegionhusError):
    """The vault text is damaged, or the password is not the one it was written with."""


def decrypt_aes256(text: bytes, password: bytes) -> bytes | None:
    """Ansible's vault format 1.1/1.2 with AES256, read with the same library Ansible
    uses (PBKDF2-SHA256 with 10,000 rounds, HMAC-SHA256 checked first, AES-CTR, PKCS7);
    None for any other format (Ansible then reads it). A wrong password raises."""
    lines = text.strip().splitlines()
    header = lines[0].strip().split(b";") if lines else []
    if len(header) < 3 or header[0] != b"$ANSIBLE_VAULT" or header[2].strip() != b"AES256":
        return None
    try:
        salt, mac, ciphertext = unhexlify(b"".join(lines[1:])).split(b"\n", 2)
        salt, ciphertext = unhexlify(salt), unhexlify(ciphertext)
        expected = unhexlify(mac)
    except (HexError, ValueError) as exc:
        raise DecryptError(f"the vault's text is damaged ({exc})") from None
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=salt, iterations=10000)
    derived = kdf.derive(password)
    key, sign, iv = derived[:32], derived[32:64], derived[64:80]
    check = HMAC(sign, hashes.SHA256())
    check.update(ciphertext)
    try:
        check.verify(expected)
    except InvalidSignature:
        raise DecryptError("HMAC verification failed (the wrong password?)") from None
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    return unpadder.update(plain) + unpadder.finalize()


def read_one(purpose: Purpose) -> dict[str, Any]:
    path, password = _files(purpose)
    if not path.is_file():
        env = "REGIONHUS_VAULT_FILE" if purpose == REGION else "REGIONHUS_LAB_VAULT_FILE"
        raise RegionhusError(f"the {purpose} vault {path} is missing; set {env}")
    try:
        text = path.read_bytes()
        plain = decrypt_aes256(text, _password(purpose))
        if plain is None:
            plain = _vault(purpose).decrypt(text)
    except DecryptError as exc:
        raise RegionhusError(f"cannot decrypt {path} with {password}: {exc}") from None
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
