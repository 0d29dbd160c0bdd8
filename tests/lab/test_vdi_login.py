"""Real RDP logins to the VDI pools, from the root namespace, with Debian's xfreerdp.

xrdp has no NLA/CredSSP, so `+auth-only` cannot work: each case makes a real login
(xfreerdp under Xvfb, with a timeout) and reads the verdict on the session host: the
lines xrdp-sesman logged for that user since the attempt began, and whether a desktop
session of that user appeared. The client verifies the host's certificate against the
region's RDP CA (`/cert-deny`: no unknown certificate is accepted).

The test users are created in the AD through Samba's own tooling (samba-tool on the
primary DC), in the municipality's OU and VDI group, with the vault's
vault_vdi_test_user_password; every user carries DESCRIPTION so a run only ever
touches (re-enables, then disables) users it created.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from regionhus.config import load_region
from regionhus.engines import EngineRun, run_ansible
from regionhus.inventory import Inventory
from regionhus.lab import require_lab_bridge, run_on
from regionhus.paths import state_dir
from regionhus.secrets import ensure_lab_vault, read_vault, vault_password_file

pytestmark = pytest.mark.lab

DC = "dc1"
DESCRIPTION = "regionhus VDI login test user (tests/lab/test_vdi_login.py)"
SESMAN_LOG = "/var/log/xrdp-sesman.log"
CLIENT_PACKAGES = {"xfreerdp": "freerdp2-x11", "Xvfb": "xvfb"}
VERDICT_TIMEOUT = 60.0


@dataclass(frozen=True)
class LoginUser:
    name: str  # sAMAccountName, at most 20 characters
    kommune: str  # slug of the municipality whose OU holds it
    enabled: bool
    in_vdi_group: bool = True


# Kongsberg and Notodden take VDI; Øvre Eiker has left (its OU kept, accounts disabled).
USERS = [
    LoginUser("vdit-kongsberg", "kongsberg", enabled=True),
    LoginUser("vdit-notodden", "notodden", enabled=True),
    LoginUser("vdit-kongsberg-off", "kongsberg", enabled=False),
    LoginUser("vdit-ovre-eiker", "ovre-eiker", enabled=False),
    # A left municipality's account that is (wrongly) still enabled: the pool rule alone
    # must keep it out.
    LoginUser("vdit-ovre-eiker-on", "ovre-eiker", enabled=True),
]


def expected(user: LoginUser, pool: str) -> bool:
    return user.enabled and user.in_vdi_group and user.kommune == pool


# --- the directory side -------------------------------------------------------------


def samba(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_on(DC, shlex.join(["samba-tool", *args]), check=check, timeout=120)


def ou_of(inventory: Inventory, slug: str) -> str | None:
    """The municipality's Users OU (relative DN), or None when the directory has none."""
    name = inventory.config.kommuner[slug].name
    for candidate in (f"OU=Users,OU={name},OU=Kommuner", f"OU={name},OU=Kommuner"):
        if samba("ou", "listobjects", candidate, check=False).returncode == 0:
            return candidate
    return None


def ensure_user(user: LoginUser, password: str, inventory: Inventory) -> None:
    shown = samba("user", "show", user.name, "--attributes=description", check=False)
    if shown.returncode == 0:
        if DESCRIPTION not in shown.stdout:
            pytest.fail(f"{user.name} exists in the AD and is not a test user of this module")
        samba("user", "setpassword", user.name, f"--newpassword={password}")
        samba("user", "enable", user.name)
    else:
        ou = ou_of(inventory, user.kommune)
        args = ["user", "create", user.name, password, f"--description={DESCRIPTION}"]
        args += [f"--userou={ou}"] if ou else []
        samba(*args)
    group = f"{user.kommune}-vdi-users"
    if user.in_vdi_group and samba("group", "show", group, check=False).returncode == 0:
        samba("group", "addmembers", group, user.name, check=False)
    if not user.enabled:
        samba("user", "disable", user.name)


@pytest.fixture(scope="module")
def password(lab: list[str]) -> str:
    if vault_password_file() == state_dir() / "vault" / "password":
        ensure_lab_vault(load_region())  # the lab's vault: fill in the test secret
    return str(read_vault()["vault_vdi_test_user_password"])


@pytest.fixture(scope="module")
def test_users(password: str, inventory: Inventory) -> Iterator[dict[str, LoginUser]]:
    require_lab_bridge()
    if samba("group", "show", "kongsberg-vdi-users", check=False).returncode != 0:
        pytest.skip("the directory has no VDI groups yet (run playbooks/directory.yml)")
    for user in USERS:
        ensure_user(user, password, inventory)
    # Homes of this module's users left by an earlier run (perhaps against a rebuilt
    # domain, whose new SIDs give new UIDs): every run starts from a first login.
    homes = " ".join(f"/home/{u.name}" for u in USERS)
    for host in POOLS:
        run_on(host, f"rm -rf --one-file-system {homes}", check=False)
    yield {u.name: u for u in USERS}
    for user in USERS:
        samba("user", "disable", user.name, check=False)


# --- the client side ----------------------------------------------------------------


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    missing = [pkg for cmd, pkg in CLIENT_PACKAGES.items() if shutil.which(cmd) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            check=True,
            env=env,
            capture_output=True,
        )
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert xvfb.stdout is not None
    number = xvfb.stdout.readline().strip()
    assert number.isdigit(), "Xvfb did not report a display"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


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
    require_lab_bridge()
    target = inventory.host(host)
    start = sesman_lines(host)
    since = run_on(host, "date +%s").stdout.strip()
    env = dict(os.environ, DISPLAY=display, SSL_CERT_FILE=str(state_dir() / "pki" / "ca.crt"))
    home = Path(env.get("HOME", "/root"))
    shutil.rmtree(home / ".config" / "freerdp", ignore_errors=True)  # no remembered certs
    client = subprocess.Popen(
        [
            "xfreerdp",
            f"/v:{target.address}",
            f"/cert-name:{inventory.fqdn(target)}",
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


# --- the matrix ---------------------------------------------------------------------

POOLS = {
    "vdi-kongsberg-1": "kongsberg",
    "vdi-kongsberg-2": "kongsberg",
    "vdi-notodden-1": "notodden",
}
CASES = [(user, host) for user in USERS for host in POOLS]


@pytest.mark.parametrize(("user", "host"), CASES, ids=[f"{u.name}-on-{h}" for u, h in CASES])
def test_login_matrix(user, host, test_users, password, display, inventory) -> None:  # type: ignore[no-untyped-def]
    if host not in {h.name for h in inventory.hosts}:
        pytest.skip(f"{host} is not in the inventory")
    want = expected(user, POOLS[host])
    verdict = rdp_login(display, inventory, host, user.name, password)
    assert verdict.allowed == want, (
        f"{user.name} on {host}: expected {'login' if want else 'refusal'}, got "
        f"{'login' if verdict.allowed else 'refusal'}:\n{verdict.evidence}"
    )
    if not want:
        # Outside its pool the pool rule refuses before any password is checked; inside
        # it, a disabled account is refused by the AD (pam_sss).
        layer = "pam_sss" if user.kommune == POOLS[host] else "pam_access"
        assert f"{layer}(xrdp-sesman:auth)" in verdict.evidence, verdict.evidence


# --- memory -------------------------------------------------------------------------

PSS = "cat /proc/[0-9]*/smaps_rollup 2>/dev/null | awk '/^Pss:/ {s += $2} END {print s}'"


def host_pss_mib(host: str) -> float:
    """PSS of every process of the host (its own PID namespace), in MiB."""
    return int(run_on(host, PSS).stdout.strip()) / 1024


def test_memory_per_session_host(test_users, password, display, inventory) -> None:  # type: ignore[no-untyped-def]
    host, user = "vdi-kongsberg-1", "vdit-kongsberg"
    end_session(host, user)
    time.sleep(3)
    idle = host_pss_mib(host)
    verdict = rdp_login(display, inventory, host, user, password, keep=True)
    try:
        assert verdict.allowed
        time.sleep(10)  # let the desktop settle (panel, desktop, terminal daemons)
        one = host_pss_mib(host)
    finally:
        end_session(host, user)
    print(
        f"\nPSS {host}: idle {idle:.0f} MiB, one XFCE session {one:.0f} MiB (+{one - idle:.0f} MiB)"
    )
    assert one - idle < 400, "one desktop session should cost well under 400 MiB"


# --- drain --------------------------------------------------------------------------


def root_with_tag(tmp: Path, host: str, tag: str) -> Path:
    """A checkout view whose embedded inventory tags `host` (everything else linked)."""
    from regionhus.paths import repo_root

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


def apply_vdi(host: str, root: Path | None = None) -> EngineRun:
    env_root = {"REGIONHUS_ROOT": str(root)} if root else {}
    old = {k: os.environ.get(k) for k in env_root}
    os.environ.update(env_root)
    try:
        return run_ansible("playbooks/vdi.yml", limit=host, stream=False)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_drain_refuses_new_logins_and_keeps_sessions(
    test_users, password, display, inventory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    host, user = "vdi-kongsberg-2", "vdit-kongsberg"
    end_session(host, user)
    assert rdp_login(display, inventory, host, user, password, keep=True).allowed
    try:
        started = time.monotonic()
        drained = apply_vdi(host, root_with_tag(tmp_path, host, "draining"))
        print(f"\ndrain apply on {host}: {time.monotonic() - started:.1f} s")
        assert drained.ok, drained.output[-3000:]
        access = run_on(host, "cat /etc/security/access-xrdp-sesman.conf").stdout
        assert "state: draining" in access
        # The running session goes on ...
        assert "xfce4-session" in user_session(host, user)
        # ... and nobody logs in anew (a second login of the same user included).
        end_probe = rdp_login(display, inventory, host, user, password)
        assert not end_probe.allowed, end_probe.evidence
        assert "pam_access(xrdp-sesman:auth)" in end_probe.evidence, end_probe.evidence
        assert "xfce4-session" in user_session(host, user)
    finally:
        end_session(host, user)
        restored = apply_vdi(host)
    assert restored.ok, restored.output[-3000:]
    assert "state: active" in run_on(host, "cat /etc/security/access-xrdp-sesman.conf").stdout
    assert rdp_login(display, inventory, host, user, password).allowed
