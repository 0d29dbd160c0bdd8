"""The DCs' hardening as a weak client meets it: from outside (the root namespace, over
the lab's bridge), with the ordinary Debian clients, against each DC.

- LDAP: a simple bind (password in clear) without TLS is refused; over LDAPS it works,
  and the DC's certificate verifies against the region's CA under the DC's name.
- SMB1 (NT1) and SMB 2.0.2 clients are refused; SMB 3 with NTLMv2 gets in.
- NTLMv1 is refused; the same account with NTLMv2 gets in.

Each refusal has its positive control with the same account, so a refusal cannot be a
wrong password or a DC that is down. Credentials go in files (mode 0600), never on a
command line. Reuses the session's applied region; about 10 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.lab import require_lab_bridge
from regionhus.model import ServiceName
from regionhus.paths import state_dir
from regionhus.secrets import ensure_lab_vault, read_vault

pytestmark = pytest.mark.lab

DCS = ("dc1", "dc2")
CLIENT_PACKAGES = {"ldapsearch": "ldap-utils", "smbclient": "smbclient", "unshare": "util-linux"}
TIMEOUT = 30


@dataclass(frozen=True)
class Account:
    user: str
    realm: str
    netbios: str
    base_dn: str
    password_file: Path  # for ldapsearch -y
    auth_file: Path  # for smbclient -A


@pytest.fixture(scope="module")
def clients() -> None:
    missing = [pkg for cmd, pkg in CLIENT_PACKAGES.items() if shutil.which(cmd) is None]
    if missing:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            check=True,
            capture_output=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    """A municipal operator's lab account (password from the lab vault)."""
    region = load_region()
    ensure_lab_vault(region)
    password = read_vault()["vault_directory_operator_password"]
    kommune = next(k for k in region.takes(ServiceName.DIRECTORY) if k.operators)
    user = kommune.operators[0].username
    directory = region.region.directory
    folder = tmp_path_factory.mktemp("weak-clients")
    folder.chmod(0o700)
    password_file, auth_file = folder / "password", folder / "auth"
    for file, text in (
        (password_file, password),
        (
            auth_file,
            f"username = {user}\npassword = {password}\ndomain = {directory.netbios_domain}\n",
        ),
    ):
        file.touch(mode=0o600)
        file.write_text(text, encoding="utf-8")
    base_dn = ",".join(f"DC={part}" for part in directory.realm.lower().split("."))
    yield Account(
        user, directory.realm, directory.netbios_domain, base_dn, password_file, auth_file
    )
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=DCS)
def dc(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(name, address, FQDN) of each DC."""
    require_lab_bridge()
    inventory = load_inventory(source="embedded")
    host = inventory.host(request.param)
    return host.name, host.address, inventory.fqdn(host)


def run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=dict(os.environ, **(env or {})),
    )


def ldap_simple_bind(account: Account, url: str) -> list[str]:
    return [
        "ldapsearch", "-x", "-H", url, "-D", f"{account.user}@{account.realm}",
        "-y", str(account.password_file), "-b", account.base_dn, "-s", "base", "dn",
    ]  # fmt: skip


def test_simple_bind_without_tls_is_refused(clients: None, account: Account, dc) -> None:  # type: ignore[no-untyped-def]
    _, address, _ = dc
    result = run(ldap_simple_bind(account, f"ldap://{address}"))
    assert result.returncode != 0, result.stdout
    assert "Strong(er) authentication required" in result.stderr, result.stderr


def test_simple_bind_over_ldaps_with_the_regions_ca(  # type: ignore[no-untyped-def]
    clients: None, account: Account, dc, tmp_path: Path
) -> None:
    """LDAPS under the DC's name, verified against the region's CA only (demand): Samba's
    self-signed certificate, or one for another name, would fail here."""
    _, address, fqdn = dc
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{address} {fqdn}\n", encoding="utf-8")
    search = " ".join(ldap_simple_bind(account, f"ldaps://{fqdn}"))
    # The control machine has no DNS for the lab: its own /etc/hosts in a private mount
    # namespace, so the name check is the real one.
    result = run(
        ["unshare", "--mount", "--", "sh", "-c", f"mount --bind {hosts} /etc/hosts && {search}"],
        env={"LDAPTLS_CACERT": str(state_dir() / "pki" / "ca.crt"), "LDAPTLS_REQCERT": "demand"},
    )
    assert result.returncode == 0, result.stderr
    assert f"dn: {account.base_dn}" in result.stdout


def smbclient(account: Account, address: str, *options: str) -> subprocess.CompletedProcess[str]:
    return run(
        ["smbclient", f"//{address}/netlogon", "-A", str(account.auth_file),
         "--use-kerberos=disabled", *options, "-c", "ls"],
    )  # fmt: skip


def test_smb1_and_smb2_02_clients_are_refused(clients: None, account: Account, dc) -> None:  # type: ignore[no-untyped-def]
    _, address, _ = dc
    smb1 = smbclient(account, address, "-m", "NT1", "--option=client min protocol=NT1")
    assert smb1.returncode != 0
    assert "protocol negotiation failed" in smb1.stdout + smb1.stderr
    smb2_02 = smbclient(account, address, "-m", "SMB2_02")
    assert smb2_02.returncode != 0
    assert "protocol negotiation failed" in smb2_02.stdout + smb2_02.stderr
    smb3 = smbclient(account, address, "-m", "SMB3")
    assert smb3.returncode == 0, smb3.stdout + smb3.stderr


def test_ntlmv1_is_refused(clients: None, account: Account, dc) -> None:  # type: ignore[no-untyped-def]
    _, address, _ = dc
    ntlmv1 = smbclient(account, address, "--option=client ntlmv2 auth=no")
    assert ntlmv1.returncode != 0
    assert "NT_STATUS_LOGON_FAILURE" in ntlmv1.stdout + ntlmv1.stderr
    ntlmv2 = smbclient(account, address, "--option=client ntlmv2 auth=yes")
    assert ntlmv2.returncode == 0, ntlmv2.stdout + ntlmv2.stderr
