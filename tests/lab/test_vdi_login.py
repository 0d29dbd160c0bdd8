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

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from logins import (
    LoginUser,
    apply_playbook,
    end_session,
    ensure_ad_user,
    rdp_login,
    retire_ad_user,
    root_with_tag,
    samba,
    user_session,
)

from regionhus.engines import EngineRun
from regionhus.inventory import Inventory
from regionhus.lab import require_lab_bridge, run_on

pytestmark = pytest.mark.lab

DESCRIPTION = "regionhus VDI login test user (tests/lab/test_vdi_login.py)"


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


def ensure_user(user: LoginUser, password: str, inventory: Inventory) -> None:
    ensure_ad_user(
        user.name,
        kommune=user.kommune,
        description=DESCRIPTION,
        password=password,
        inventory=inventory,
        groups=[f"{user.kommune}-vdi-users"] if user.in_vdi_group else [],
        enabled=user.enabled,
    )


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
        retire_ad_user(user.name)


# --- the client side ----------------------------------------------------------------


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


def apply_vdi(host: str, root: Path | None = None) -> EngineRun:
    return apply_playbook("playbooks/vdi.yml", host, root)


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
