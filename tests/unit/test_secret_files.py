"""Secret files are private from the moment they exist, not restricted afterwards.

The check: with a permissive umask, and every after-the-fact chmod made a no-op, each
secret file still ends up 0600. Code that writes first and restricts later fails here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from regionhus import secrets as vault
from regionhus.config import load_region
from regionhus.netbox import server


@pytest.fixture
def late_chmod_disabled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("REGIONHUS_VAULT_FILE", raising=False)
    monkeypatch.delenv("REGIONHUS_VAULT_PASSWORD_FILE", raising=False)
    late: list[Path] = []

    def no_chmod(self: Path, mode: int, **_: object) -> None:
        late.append(self)

    monkeypatch.setattr(Path, "chmod", no_chmod)
    old = os.umask(0o022)
    try:
        yield late
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_vault_and_its_password_are_created_private(late_chmod_disabled, repo: Path) -> None:  # type: ignore[no-untyped-def]
    path = vault.ensure_lab_vault(load_region(repo))
    assert mode(vault.vault_password_file()) == 0o600
    assert mode(path) == 0o600
    assert vault.read_vault()["vault_directory_admin_password"]


def test_netbox_secrets_config_token_and_env_file_are_created_private(late_chmod_disabled) -> None:  # type: ignore[no-untyped-def]
    inst = server.instance("test")
    server.write_config(inst)
    assert mode(server.netbox_home() / "secrets.json") == 0o600
    config = inst.root / "conf" / "configuration.py"
    assert mode(config) == 0o600
    assert server._secrets()["db_password"] in config.read_text()
    server.write_private(server.token_path(inst), "nbt_abc.def\n")
    env = server.write_env_file(inst)
    assert mode(env) == 0o600
    assert "REGIONHUS_NETBOX_TOKEN=nbt_abc.def" in env.read_text()


def test_a_leftover_temporary_file_cannot_widen_the_mode(tmp_path: Path) -> None:
    from regionhus.privatefile import write_private

    target = tmp_path / "password"
    leftover = tmp_path / f".password.{os.getpid()}.tmp"
    leftover.write_text("old")
    leftover.chmod(0o666)
    write_private(target, "new\n")
    assert mode(target) == 0o600 and target.read_text() == "new\n"
    assert not leftover.exists()


def test_a_vault_with_an_alias_bomb_is_refused_not_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    from regionhus.errors import RegionhusError

    password = tmp_path / "password"
    password.write_text("pw\n")
    path = tmp_path / "region.vault.yml"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    lib = VaultLib([("region", VaultSecret(b"pw"))])
    path.write_bytes(lib.encrypt(bomb, vault_id="region"))
    monkeypatch.setenv("REGIONHUS_VAULT_FILE", str(path))
    monkeypatch.setenv("REGIONHUS_VAULT_PASSWORD_FILE", str(password))
    with pytest.raises(RegionhusError, match="anchors and aliases"):
        vault.read_one(vault.REGION)
