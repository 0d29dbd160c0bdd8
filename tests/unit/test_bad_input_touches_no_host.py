"""`plan` and `apply` stop on bad input before anything reaches a host.

Every way to a host (the transport's preflight, both engines) is replaced by a trap;
bad kommuner/, a bad host file, a bad vault and a NetBox inventory without an admin
network must each end with the finding and exit 1 without springing one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from click.testing import CliRunner

from regionhus.cli import main

BROKEN = Path(__file__).resolve().parent.parent / "broken"


class TouchedAHost(AssertionError):
    pass


@pytest.fixture
def traps(monkeypatch: pytest.MonkeyPatch) -> None:
    def trap(*_: object, **__: object) -> None:
        raise TouchedAHost("a host would have been touched")

    import regionhus.engines as engines
    import regionhus.plan.cli as plan_cli

    for name in ("dry_run", "apply_runs", "transport_for"):
        monkeypatch.setattr(plan_cli, name, trap)
    for name in ("run_pyinfra", "run_ansible", "run_pyinfra_json"):
        if hasattr(engines, name):
            monkeypatch.setattr(engines, name, trap)


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: Path) -> Path:
    """A valid region vault in a temporary state dir (a test may spoil it)."""
    from regionhus.config import load_region
    from regionhus.secrets import required_secrets

    password = tmp_path / "vault-password"
    password.write_text("test-vault-password\n")
    data: dict = {}
    for name, keys in required_secrets(load_region(repo)).items():
        data[name] = {k: f"Rh-passphrase-{k}-0123" for k in keys} if keys else "Rh-secret-0123456"
    path = tmp_path / "region.vault.yml"
    write_vault(path, password, data)
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("REGIONHUS_VAULT_FILE", str(path))
    monkeypatch.setenv("REGIONHUS_VAULT_PASSWORD_FILE", str(password))
    monkeypatch.setenv("REGIONHUS_INVENTORY", "embedded")
    return path


def write_vault(path: Path, password: Path, data: dict) -> None:
    lib = VaultLib([("region", VaultSecret(password.read_bytes().strip()))])
    path.write_bytes(lib.encrypt(yaml.safe_dump(data), vault_id="region"))


def git_tree(root: Path) -> Path:
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    return root


def install(case: str, root: Path) -> None:
    case_dir = BROKEN / case
    for path in case_dir.rglob("*"):
        if path.is_file() and path.name != "expected.yml":
            shutil.copy(path, root / path.relative_to(case_dir))


def run(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--root", str(root), *args])
    if isinstance(result.exception, TouchedAHost):
        pytest.fail(f"{args[0]} touched a host: {result.output}")
    return result.exit_code, result.output


COMMANDS = [("plan",), ("apply", "--yes", "--allow-dirty")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    "case",
    [
        "username-root",
        "slug-region",
        "ssh-key-rsa-1024",
        "yaml-alias-bomb",
        "hosts-duplicate-address",
        "name-dn-injection",
    ],
)
def test_bad_files_stop_before_any_host(
    traps: None, vault: Path, region_copy: Path, case: str, command: tuple[str, ...]
) -> None:
    install(case, git_tree(region_copy))
    code, output = run(region_copy, *command)
    assert code == 1, output
    assert "nothing was changed" in output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_bad_vault_stops_before_any_host(
    traps: None, vault: Path, region_copy: Path, command: tuple[str, ...]
) -> None:
    import os

    password = Path(os.environ["REGIONHUS_VAULT_PASSWORD_FILE"])
    lib = VaultLib([("region", VaultSecret(password.read_bytes().strip()))])
    data = yaml.safe_load(lib.decrypt(vault.read_bytes()))
    data["vault_directory_admin_password"] = "two\nlines-of-password"
    write_vault(vault, password, data)
    code, output = run(git_tree(region_copy), *command)
    assert code == 1, output
    assert "vault_directory_admin_password" in output and "line break" in output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_shipped_files_get_past_validation_to_the_hosts(
    traps: None, vault: Path, region_copy: Path, command: tuple[str, ...]
) -> None:
    """The control: valid input does reach the trap (so the tests above can fail)."""
    result = CliRunner().invoke(main, ["--root", str(git_tree(region_copy)), *command])
    assert isinstance(result.exception, TouchedAHost), result.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_netbox_without_an_admin_network_stops_before_any_host(
    traps: None,
    vault: Path,
    region_copy: Path,
    command: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    import regionhus.plan.cli as plan_cli
    from regionhus.inventory import load_inventory

    def netbox_inventory(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return dataclasses.replace(load_inventory(*args, **kwargs), network=None, source="netbox")

    monkeypatch.setattr(plan_cli, "load_inventory", netbox_inventory)
    code, output = run(git_tree(region_copy), *command)
    assert code != 0 and "access.bastion" in output, output
