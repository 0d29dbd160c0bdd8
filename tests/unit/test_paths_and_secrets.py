"""A normal install finds the checkout from where it runs; plan/apply never need a
test secret; `secrets check` names each missing secret and the role that needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from regionhus import secrets as vault
from regionhus.config import load_region
from regionhus.errors import RegionhusError
from regionhus.paths import repo_root

RH = str(Path(sys.executable).parent / "regionhus")


def test_checkout_is_found_from_a_subfolder(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGIONHUS_ROOT", raising=False)
    monkeypatch.chdir(repo / "kommuner")
    assert repo_root() == repo.resolve()


def test_outside_a_checkout_the_error_says_cd_or_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REGIONHUS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("regionhus.paths.PACKAGE_PARENT", tmp_path)  # as if pip-installed
    with pytest.raises(RegionhusError, match="--root"):
        repo_root()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path))
    for name in (
        "REGIONHUS_VAULT_FILE",
        "REGIONHUS_VAULT_PASSWORD_FILE",
        "REGIONHUS_LAB_VAULT_FILE",
        "REGIONHUS_LAB_VAULT_PASSWORD_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_plan_needs_no_test_secret(repo: Path, state: Path) -> None:
    config = load_region(repo)
    vault.ensure_lab_vault(config)
    vault.lab_vault_file().unlink()  # a real region has no lab vault at all
    data = vault.require_secrets(config)
    assert "vault_vdi_test_user_password" not in data
    assert vault.vault_identity_list(with_lab=True) == f"region@{state}/vault/password"


def test_old_single_lab_vault_is_split_keeping_every_value(repo: Path, state: Path) -> None:
    config = load_region(repo)
    vault.ensure_lab_vault(config)
    everything = vault.read_vault()
    # Before the split, one vault (lab.vault.yml) held every secret.
    vault._write(vault.LAB, everything)
    vault.vault_file().unlink()
    vault.ensure_lab_vault(config)
    assert vault.read_vault() == everything
    assert set(vault.read_one(vault.LAB)) == {
        "vault_vdi_test_user_password",
        "vault_directory_operator_password",
    }


def test_secrets_check_names_each_missing_secret_and_its_role(repo: Path, state: Path) -> None:
    config = load_region(repo)
    vault.ensure_lab_vault(config)
    data = vault.read_one(vault.REGION)
    del data["vault_directory_admin_password"]
    del data["vault_backup_passphrases"]["kongsberg"]
    vault._write(vault.REGION, data)
    proc = subprocess.run(
        [RH, "--root", str(repo), "secrets", "check"], capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    assert "vault_directory_admin_password: for samba_dc, vdi_session_host" in proc.stdout
    assert "vault_backup_passphrases.kongsberg: for backup_client, backup_server" in proc.stdout
    assert "vault_vdi_test_user_password" not in proc.stdout  # lab only, not asked for
    with pytest.raises(RegionhusError, match=r"vault_directory_admin_password \(for samba_dc"):
        vault.require_secrets(config)


def test_a_normal_install_finds_the_checkout_from_cwd_or_root(repo: Path, tmp_path: Path) -> None:
    """`pip install .` (not editable): the package lives apart from any checkout."""
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(repo),
        ],
        check=True,
        capture_output=True,
    )
    validate = "import sys; from regionhus.cli import main; main(sys.argv[1:])"
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", validate, *args, "validate"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )

    inside = run(repo / "kommuner")
    assert inside.returncode == 0, inside.stderr
    outside = run(tmp_path)
    assert outside.returncode == 1 and "--root" in outside.stderr
    assert run(tmp_path, "--root", str(repo)).returncode == 0
