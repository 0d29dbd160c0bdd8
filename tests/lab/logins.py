"""Test users in the AD, and the lab views their login tests apply: shared by the lab
tests that log in (test_servers: ssh; test_vdi_login, test_vdi_pools, test_scope: RDP).

Test users are made with Samba's own tooling (samba-tool on the primary DC). Each module
marks its users with a description of its own, so a run only ever touches (re-enables,
then disables) users it made, and leaves the groups the apply manages as it found them:
a test user left in a municipality's admin group is drift on dc1 that the next apply
removes (and a scoped plan shows as another municipality's change).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from regionhus.config import load_region
from regionhus.engines import EngineRun, run_ansible
from regionhus.inventory import Inventory
from regionhus.inventory.hosts import Role
from regionhus.lab import require_lab_bridge, run_on
from regionhus.paths import repo_root, state_dir
from regionhus.secrets import ensure_lab_vault, read_vault, vault_password_file

DC = "dc1"
SESMAN_LOG = "/var/log/xrdp-sesman.log"
VERDICT_TIMEOUT = 60.0  # seconds from starting the client to a desktop or a refusal


@dataclass(frozen=True)
class LoginUser:
    name: str  # sAMAccountName, at most 20 characters
    kommune: str  # slug of the municipality whose OU holds it
    enabled: bool
    in_vdi_group: bool = True


def samba(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_on(DC, shlex.join(["samba-tool", *args]), check=check, timeout=120)


def vault_test_password() -> str:
    """The vault's vault_vdi_test_user_password (the lab's vault filled in if needed)."""
    if vault_password_file() == state_dir() / "vault" / "password":
        ensure_lab_vault(load_region())  # the lab's vault: fill in the test secret
    return str(read_vault()["vault_vdi_test_user_password"])


def ou_of(inventory: Inventory, slug: str | None) -> str | None:
    """The municipality's Users OU (relative DN), or None when the directory has none
    (or `slug` is None: a regional user, in CN=Users)."""
    if slug is None:
        return None
    name = inventory.config.kommuner[slug].name
    for candidate in (f"OU=Users,OU={name},OU=Kommuner", f"OU={name},OU=Kommuner"):
        if samba("ou", "listobjects", candidate, check=False).returncode == 0:
            return candidate
    return None


def ensure_ad_user(
    name: str,
    *,
    kommune: str | None,
    description: str,
    password: str,
    inventory: Inventory,
    groups: Iterable[str] = (),
    enabled: bool = True,
) -> None:
    """`name` exists with `password`, in `kommune`'s OU (made there if new) and in
    `groups` (those that exist); enabled or not. Fails on an account of that name that
    does not carry `description` (not a test user of the caller)."""
    shown = samba("user", "show", name, "--attributes=description", check=False)
    if shown.returncode == 0:
        if description not in shown.stdout:
            pytest.fail(f"{name} exists in the AD and is not a test user of this module")
        samba("user", "setpassword", name, f"--newpassword={password}")
        samba("user", "enable", name)
    else:
        ou = ou_of(inventory, kommune)
        args = ["user", "create", name, password, f"--description={description}"]
        args += [f"--userou={ou}"] if ou else []
        samba(*args)
    for group in groups:
        samba("group", "addmembers", group, name, check=False)
    if not enabled:
        samba("user", "disable", name)
    replicate_to_every_dc(inventory)


# A member's sssd stays with whichever DC it last reached (after test_faults' dc1 outage:
# dc2), and a password set on dc1 a moment ago is not there yet: the login would be
# refused by a DC that is merely behind. Every DC pulls dc1's changes before the login.
REPLICATE = (
    'samba-tool drs replicate {dc} {source} "$(ldbsearch -H /var/lib/samba/private/sam.ldb '
    "-s base -b '' defaultNamingContext | sed -n 's/^defaultNamingContext: //p')\" --local"
)


def replicate_to_every_dc(inventory: Inventory) -> None:
    for host in inventory.hosts:
        if Role.DIRECTORY in host.roles and host.name != DC:
            run_on(host.name, REPLICATE.format(dc=host.name, source=DC), timeout=120)


def retire_ad_user(name: str, groups: Iterable[str] = ()) -> None:
    """After a module: the user disabled and out of `groups` again."""
    for group in groups:
        samba("group", "removemembers", group, name, check=False)
    samba("user", "disable", name, check=False)


def root_with_tag(tmp: Path, host: str, tag: str) -> Path:
    """A checkout view whose embedded inventory tags `host` (everything else linked)."""
    real = repo_root()
    for entry in real.iterdir():
        if entry.name not in {"inventory", ".git"}:
            (tmp / entry.name).symlink_to(entry)
    shutil.copytree(real / "inventory", tmp / "inventory")
    hosts_file = tmp / "inventory" / "lab-region.hosts.yml"
    doc = yaml.safe_load(hosts_file.read_text())
    for item in doc["hosts"]:
        if item["name"] == host:
            item["tags"] = sorted({*item.get("tags", []), tag})
    hosts_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp


def apply_playbook(playbook: str, host: str, root: Path | None = None) -> EngineRun:
    """`playbook` applied to `host`, from the checkout view `root` if given."""
    env_root = {"REGIONHUS_ROOT": str(root)} if root else {}
    old = {k: os.environ.get(k) for k in env_root}
    os.environ.update(env_root)
    try:
        return run_ansible(playbook, limit=host, stream=False)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- RDP logins (xfreerdp under the `display` fixture's Xvfb) ----------------------------


def xfreerdp(
    display: str, address: str, cert_name: str, user: str, password: str
) -> subprocess.Popen[str]:
    """xfreerdp connecting to `address`, accepting only a certificate of the region's RDP
    CA that names `cert_name`; no certificate remembered from an earlier run."""
    env = dict(os.environ, DISPLAY=display, SSL_CERT_FILE=str(state_dir() / "pki" / "ca.crt"))
    home = Path(env.get("HOME", "/root"))
    shutil.rmtree(home / ".config" / "freerdp", ignore_errors=True)
    return subprocess.Popen(
        [
            "xfreerdp",
            f"/v:{address}",
            f"/cert-name:{cert_name}",
            "/cert-deny",
            "/sec:tls",
            f"/u:{user}",
            f"/p:{password}",
            "/size:1024x768",
            "-grab-keyboard",
            "/log-level:ERROR",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class Verdict:
    allowed: bool
    evidence: str


def sesman_lines(host: str) -> int:
    out = run_on(host, f"wc -l < {SESMAN_LOG} 2>/dev/null || echo 0").stdout
    return int(out.strip() or 0)


def user_session(host: str, user: str) -> str:
    """The user's desktop processes on the host (empty if none)."""
    return run_on(host, f"pgrep -a -u {shlex.quote(user)} 'xfce4-session|Xorg'", check=False).stdout


def end_session(host: str, user: str) -> None:
    # Only the test user's own session (started by this test) is ended.
    run_on(host, f"loginctl terminate-user {shlex.quote(user)}", check=False)
    run_on(host, f"pkill -TERM -u {shlex.quote(user)}", check=False)


def rdp_login(
    display: str, inventory: Inventory, host: str, user: str, password: str, keep: bool = False
) -> Verdict:
    """A real login to the session host `host` (not through a pool): allowed or refused,
    with xrdp-sesman's and the PAM modules' lines as evidence."""
    require_lab_bridge()
    target = inventory.host(host)
    start = sesman_lines(host)
    since = run_on(host, "date +%s").stdout.strip()
    client = xfreerdp(display, str(target.address), inventory.fqdn(target), user, password)
    verdict: Verdict | None = None
    deadline = time.monotonic() + VERDICT_TIMEOUT
    try:
        while verdict is None and time.monotonic() < deadline:
            time.sleep(1.5)
            log = run_on(host, f"tail -n +{start + 1} {SESMAN_LOG}", check=False).stdout
            named = re.compile(rf"(?<![\w-]){re.escape(user)}(?![\w-])")
            mine = [line for line in log.splitlines() if named.search(line)]
            failed = [line for line in mine if "AUTHFAIL" in line or "failed" in line.lower()]
            if failed:
                verdict = Verdict(False, "\n".join(failed))
            elif any(
                "session started" in line.lower() or "created session" in line.lower()
                for line in mine
            ):
                desktop = user_session(host, user)
                if "xfce4-session" in desktop:
                    verdict = Verdict(True, desktop)
            if client.poll() is not None and verdict is None and not mine:
                stderr = client.stderr.read() if client.stderr else ""
                pytest.fail(f"xfreerdp ended before xrdp-sesman saw {user}: {stderr[-1500:]}")
    finally:
        client.terminate()
        try:
            client.wait(timeout=10)
        except subprocess.TimeoutExpired:
            client.kill()
    if verdict is None:
        log = run_on(host, f"tail -n +{start + 1} {SESMAN_LOG}", check=False).stdout
        pytest.fail(f"no verdict for {user} on {host} in {VERDICT_TIMEOUT:.0f}s:\n{log[-2000:]}")
    # Why: the PAM modules' own words (pam_access: the pool rule; pam_sss: the AD).
    journal = run_on(
        host, f"journalctl -q --no-pager -o cat --since=@{since} -t xrdp-sesman", check=False
    ).stdout
    named = re.compile(rf"(?<![\w-]){re.escape(user)}(?![\w-])")
    reasons = [line for line in journal.splitlines() if "pam_" in line and named.search(line)]
    verdict.evidence += "\n" + "\n".join(reasons)
    if verdict.allowed:
        home_dir = run_on(host, f"stat -c '%U %a' /home/{user}", check=False).stdout.strip()
        assert home_dir == f"{user} 700", f"home directory of {user} on {host}: {home_dir!r}"
        if not keep:
            end_session(host, user)
    return verdict
