"""mk/scan_secrets.py (in `make lint`): a secret planted in any commit fails the lint.

The planted secrets are put together at run time (a key generated, strings joined), so
this file holds none the scanner would report in our own history.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

REPO = Path(__file__).resolve().parents[2]
SCANNER = REPO / "mk" / "scan_secrets.py"


def load_scanner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scan_secrets", SCANNER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["scan_secrets"] = module
    spec.loader.exec_module(module)
    return module


scan_secrets = load_scanner()

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=GIT_ENV
    ).stdout


def commit_file(repo: Path, name: str, text: str | None, message: str) -> str:
    path = repo / name
    if text is None:
        git(repo, "rm", "-q", name)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def history(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    commit_file(tmp_path, "README.md", "# a region\n", "start")
    return tmp_path


def private_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def run(repo: Path) -> tuple[int, str]:
    """The scanner in this process (a new Python per case would double the time)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = scan_secrets.main(["--repo", str(repo)])
    return code, out.getvalue() + err.getvalue()


def run_command(repo: Path) -> tuple[int, str]:
    """The scanner as `make lint` runs it."""
    result = subprocess.run(
        [sys.executable, str(SCANNER), "--repo", str(repo)], capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


def test_a_key_committed_and_deleted_later_still_fails_the_lint(history: Path) -> None:
    added = commit_file(history, "inventory/operator.key", private_key(), "oops")
    commit_file(history, "inventory/operator.key", None, "remove the key again")
    assert (history / "inventory" / "operator.key").exists() is False

    code, output = run_command(history)

    assert code == 1
    assert "inventory/operator.key:1: private-key" in output
    assert f"commit {added[:12]}" in output
    assert "change it" in output


def test_a_clean_history_passes(history: Path) -> None:
    commit_file(history, "kommuner/tinn.yml", "name: Tinn\nslug: tinn\n", "tinn")
    code, output = run_command(history)
    assert code == 0, output
    assert "no secrets" in output


# Each kind of secret the region has, as someone would paste it (joined at run time).
PLANTED = {
    "plaintext-vault": ("vault.yml", "vault_" + "directory_admin_password: Rh-real-9x2-secret\n"),
    "plaintext-vault-map": (
        "group_vars/all.yml",
        "vault_" + "backup_passphrases:\n  tinn: kx8-PQ2-zz9-aa1\n",
    ),
    "vault-password": ("ansible.cfg", "vault_" + "password = 9f8e7d6c5b4a\n"),
    "borg-passphrase": ("backup.env", "BORG_" + "PASSPHRASE=Tr0ub4dor-and-3\n"),
    "borg-passphrase-quoted": ("x.py", "env = {'BORG_" + "PASSPHRASE': 'passphrase'}\n"),
    "netbox-token": (
        "netbox.env",
        "REGIONHUS_" + "NETBOX_TOKEN=" + "0123456789abcdef" * 2 + "01234567\n",
    ),
    "netbox-token-v2": ("netbox.env", "X=nbt_" + "AbCdEf123456." + "Zz9" * 10 + "\n"),
    "netbox-token-header": (
        "client.py",
        "headers = {'Authorization': 'Token " + "ab12" * 10 + "'}\n",
    ),
    "password-on-command-line": (
        "join.sh",
        "samba-tool domain join x DC -U " + "admin%Sup3rS3cret!\n",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_each_kind_of_secret_is_found(history: Path, case: str) -> None:
    name, text = PLANTED[case]
    commit_file(history, name, text, case)
    code, output = run(history)
    assert code == 1, output
    assert f"{name}:" in output
    assert (
        case.removesuffix("-map")
        .removesuffix("-quoted")
        .removesuffix("-v2")
        .removesuffix("-header")
        in output
    )


REFERENCES = [
    "env = dict(os.environ, BORG_" + "PASSPHRASE=passphrase)\n",
    'BORG_" + "PASSPHRASE="$(cat /etc/borg/passphrase)"\n'.replace('" + "', ""),
    'samba_dc_admin_password: "{{ vault_' + 'directory_admin_password }}"\n',
    "vault_" + "password_file: /var/lib/regionhus/vault-pass\n",
    "$ANSIBLE_VAULT;1.2;AES256;region\nvault_" + "x: 6162636465\n",
    'printf "%s" "$password" | kinit administrator@EXAMPLE.ORG\n',
]


@pytest.mark.parametrize("text", REFERENCES)
def test_references_to_secrets_are_not_secrets(history: Path, text: str) -> None:
    commit_file(history, "roles/x/tasks/main.yml", text, "reference")
    code, output = run(history)
    assert code == 0, output


def test_an_uncommitted_secret_is_found_before_the_commit(history: Path) -> None:
    (history / "notes.txt").write_text("BORG_" + "PASSPHRASE=hunter2-and-more\n")
    code, output = run(history)
    assert code == 1
    assert "notes.txt:1: borg-passphrase (working tree" in output


def test_the_allowlist_covers_exactly_the_listed_fixture(history: Path) -> None:
    fixture_key, other_key = private_key(), private_key()
    commit_file(history, "tests/broken/pasted/kommuner/tinn.yml", fixture_key, "fixture")
    code, output = run(history)
    assert code == 1
    fingerprint = output.split("fingerprint ")[1].split(")")[0]
    (history / ".secrets-allowlist.yml").write_text(
        f"- fingerprint: {fingerprint}\n  reason: a throwaway key the corpus pastes on purpose\n"
    )
    assert run(history)[0] == 0

    # The same file, a second key: not covered.
    commit_file(
        history, "tests/broken/pasted/kommuner/tinn.yml", fixture_key + other_key, "another"
    )
    code, output = run(history)
    assert code == 1
    assert output.count("private-key") == 1


def test_an_allowance_needs_a_reason(history: Path) -> None:
    (history / ".secrets-allowlist.yml").write_text("- fingerprint: 0123456789abcdef\n")
    code, output = run(history)
    assert code == 1
    assert "needs a `reason:`" in output


def test_our_own_history_is_clean_but_for_the_allowed_fixtures() -> None:
    findings = list(scan_secrets.scan_history(REPO))
    allowances = scan_secrets.load_allowlist(REPO / scan_secrets.ALLOWLIST)
    assert findings, "the corpus' deliberate fixtures should be seen (and allowed)"
    assert scan_secrets.unallowed(findings, allowances) == []
