"""The VDI pools through the broker (gw1, HAProxy), with real RDP clients.

xfreerdp (under Xvfb, as in test_vdi_login.py) connects to the pool's address and
verifies the certificate against the region's RDP CA under the pool's name (/cert-name,
/cert-deny): every session host's certificate must name its pool. Where a session
landed is read on the pool's hosts (the user's xfce4-session process, and which host's
xrdp-sesman logged the user). Users of this module carry DESCRIPTION and are disabled
afterwards; their persistence entries on the broker are cleared first, so each run
starts from "never seen".

One module-scoped sequence of logins serves several proofs (lab time is CI time):
spread, reconnect to the same session, drain without reload, a dead host taken out.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from logins import (
    SESMAN_LOG,
    VERDICT_TIMEOUT,
    LoginUser,
    apply_playbook,
    end_session,
    ensure_ad_user,
    retire_ad_user,
    root_with_tag,
    samba,
    sesman_lines,
    user_session,
    xfreerdp,
)

from regionhus.engines import EngineRun
from regionhus.inventory import Inventory
from regionhus.inventory.vdi_pools import Pool, vdi_pools
from regionhus.lab import require_lab_bridge, run_on

pytestmark = pytest.mark.lab

BROKER = "gw1"
SOCKET = "/run/haproxy/admin.sock"
DESCRIPTION = "regionhus VDI pool test user (tests/lab/test_vdi_pools.py)"
# roles/vdi_broker defaults: checks every 2 s, 2 failures, 2 s timeout: a stopped xrdp
# is out after at most 2 x 2 + 2 = 6 s; the README states 10 s (load on a shared lab).
TAKEN_OUT_WITHIN = 10.0

# Three users of Kongsberg's pool (distinct RDP cookies), one of Notodden's.
KBG = [LoginUser(f"vdip-kbg-{c}", "kongsberg", enabled=True) for c in "abc"]
NTD = LoginUser("vdip-ntd", "notodden", enabled=True)


@pytest.fixture(scope="module")
def pool(inventory: Inventory) -> Pool:
    found = {p.slug: p for p in vdi_pools(inventory.config, inventory.hosts)}
    chosen = found.get("kongsberg")
    if BROKER not in {h.name for h in inventory.hosts} or chosen is None or not chosen.address:
        pytest.skip("no broker or no Kongsberg pool address in this inventory")
    if len(chosen.members) < 2:
        pytest.skip("Kongsberg's pool needs two session hosts for these proofs")
    return chosen


def haproxy(command: str) -> str:
    return run_on(BROKER, f"echo {shlex.quote(command)} | socat - {SOCKET}").stdout


def servers(pool: Pool) -> dict[str, tuple[int, int, int]]:
    """{host: (operational state, admin state, user weight)} of the pool's backend."""
    found = {}
    for line in haproxy("show servers state").splitlines():
        words = line.split()
        if len(words) > 8 and words[1] == f"vdi-{pool.slug}":
            found[words[3]] = (int(words[5]), int(words[6]), int(words[7]))
    return found


def haproxy_pids() -> str:
    return run_on(BROKER, "pgrep -x haproxy | sort | tr '\\n' ' '").stdout.strip()


@pytest.fixture(scope="module")
def pool_users(password: str, inventory: Inventory, pool: Pool) -> Iterator[list[LoginUser]]:
    require_lab_bridge()
    if samba("group", "show", "kongsberg-vdi-users", check=False).returncode != 0:
        pytest.skip("the directory has no VDI groups yet (run playbooks/directory.yml)")
    users = [*KBG, NTD]
    for user in users:
        ensure_ad_user(
            user.name,
            kommune=user.kommune,
            description=DESCRIPTION,
            password=password,
            inventory=inventory,
            groups=[f"{user.kommune}-vdi-users"],
        )
    for user in users:
        haproxy(f"clear table vdi-{pool.slug} key {user.name}")
        for member in pool.members:
            end_session(member.name, user.name)
    yield users
    for user in users:
        for member in pool.members:
            end_session(member.name, user.name)
        retire_ad_user(user.name)


# --- the client -----------------------------------------------------------------------


@dataclass
class Login:
    user: str
    host: str | None  # where the desktop appeared (None: refused)
    seconds: float  # from starting the client to the desktop (or the refusal)
    client: subprocess.Popen[str]
    evidence: str

    def disconnect(self) -> None:
        self.client.terminate()
        try:
            self.client.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.client.kill()


def rdp_connect(
    display: str, address: str, cert_name: str, user: str, password: str, hosts: list[str]
) -> Login:
    """Start xfreerdp against `address` verifying `cert_name`; wait until one of `hosts`
    shows the user's desktop (a new one, or the one it already had) or refuses the user.
    The client stays connected until Login.disconnect()."""
    start = {h: sesman_lines(h) for h in hosts}
    began = time.monotonic()
    client = xfreerdp(display, address, cert_name, user, password)
    named = re.compile(rf"(?<![\w-]){re.escape(user)}(?![\w-])")
    deadline = began + VERDICT_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for host in hosts:
            log = run_on(host, f"tail -n +{start[host] + 1} {SESMAN_LOG}").stdout
            mine = [line for line in log.splitlines() if named.search(line)]
            if any("AUTHFAIL" in line or "failed" in line.lower() for line in mine):
                return Login(user, None, time.monotonic() - began, client, "\n".join(mine))
            # A new desktop, or the user's running one (xrdp-sesman: "reconnected session").
            done = [m for m in mine if "reconnected session" in m or "started successfully" in m]
            if done and "xfce4-session" in user_session(host, user):
                return Login(user, host, time.monotonic() - began, client, "\n".join(mine))
        if client.poll() is not None:
            stderr = client.stderr.read() if client.stderr else ""
            pytest.fail(f"xfreerdp to {address} as {user} ended without a verdict: {stderr}")
    client.kill()
    pytest.fail(f"no desktop and no refusal for {user} via {address} in {VERDICT_TIMEOUT:.0f}s")


def via_pool(display: str, pool: Pool, user: str, password: str) -> Login:
    assert pool.address is not None
    hosts = [m.name for m in pool.members]
    return rdp_connect(display, str(pool.address), pool.name, user, password, hosts)


def desktop_pid(host: str, user: str) -> str:
    return run_on(
        host, f"pgrep -u {shlex.quote(user)} -x xfce4-session", check=False
    ).stdout.strip()


# --- the proofs -----------------------------------------------------------------------


def test_pool_name_in_the_ad_dns_points_at_the_broker(pool: Pool) -> None:
    # Asked of a session host: it resolves through the DCs, like a client of the AD.
    answer = run_on(pool.members[0].name, f"getent ahostsv4 {pool.name}").stdout
    assert str(pool.address) in answer, answer


def test_spread_and_reconnect_to_the_same_session(
    pool_users: list[LoginUser], pool: Pool, display: str, password: str
) -> None:
    a, b = KBG[0].name, KBG[1].name
    first = via_pool(display, pool, a, password)
    try:
        assert first.host, f"{a} was refused through the pool:\n{first.evidence}"
        # a stays connected: leastconn sends b's new session to the other host.
        second = via_pool(display, pool, b, password)
        second.disconnect()
    finally:
        first.disconnect()
    assert second.host, f"{b} was refused through the pool:\n{second.evidence}"
    assert first.host != second.host, f"{a} and {b} both landed on {first.host}"
    session = desktop_pid(first.host, a)
    assert session, f"{a}'s disconnected session is gone from {first.host}"
    # Disconnected; back through the pool's name: the same host, the same session.
    again = via_pool(display, pool, a, password)
    again.disconnect()
    assert again.host == first.host, f"{a} came back on {again.host}, had {first.host}"
    assert "reconnected session" in again.evidence, again.evidence
    assert desktop_pid(first.host, a) == session, "a second session instead of the first"
    # The measurement (bench/vdi_broker.md): the same user, direct to the host.
    direct = rdp_connect(
        display,
        str(next(m.address for m in pool.members if m.name == first.host)),
        pool.name,
        a,
        password,
        [first.host],
    )
    direct.disconnect()
    print(
        f"\nlogin to a running session: via broker {again.seconds:.2f} s, "
        f"direct {direct.seconds:.2f} s; new session via broker: {first.seconds:.2f} s"
    )


def apply_broker(root: Path | None = None) -> EngineRun:
    return apply_playbook("playbooks/vdi_broker.yml", BROKER, root)


def test_drain_takes_no_new_sessions_keeps_running_ones_without_reload(
    pool_users: list[LoginUser], pool: Pool, display: str, password: str, tmp_path: Path
) -> None:
    a, c = KBG[0].name, KBG[2].name
    running = via_pool(display, pool, a, password)
    running.disconnect()
    assert running.host, running.evidence
    drained_host = running.host
    session = desktop_pid(drained_host, a)
    pids = haproxy_pids()
    try:
        drained = apply_broker(root_with_tag(tmp_path, drained_host, "draining"))
        assert drained.ok, drained.output[-3000:]
        assert "Reload haproxy" not in drained.output, "a drain reloaded HAProxy"
        assert haproxy_pids() == pids, "HAProxy's processes changed: it was reloaded"
        _, admin, weight = servers(pool)[drained_host]
        assert admin & 0x08 or weight == 0, f"{drained_host} not draining: {servers(pool)}"
        assert re.search(
            rf"server {drained_host} \S+ check weight 0",
            run_on(BROKER, "cat /etc/haproxy/haproxy.cfg").stdout,
        ), "the configuration does not say the drain (a reload would undo it)"
        # A new user goes elsewhere, the running session stays.
        new = via_pool(display, pool, c, password)
        new.disconnect()
        assert new.host and new.host != drained_host, f"{c} on {new.host} (drained)"
        assert desktop_pid(drained_host, a) == session, "the running session did not survive"
    finally:
        restored = apply_broker()
    assert restored.ok, restored.output[-3000:]
    assert servers(pool)[drained_host][1] & 0x18 == 0, servers(pool)


def test_stopped_xrdp_is_taken_out_and_logins_go_on(
    pool_users: list[LoginUser], pool: Pool, display: str, password: str
) -> None:
    victim, other = pool.members[0].name, pool.members[1].name
    c = KBG[2].name
    haproxy(f"clear table vdi-{pool.slug} key {c}")
    run_on(victim, "systemctl stop xrdp xrdp-sesman")
    try:
        stopped = time.monotonic()
        while servers(pool)[victim][0] != 0 and time.monotonic() - stopped < 30:
            time.sleep(0.25)
        out_after = time.monotonic() - stopped
        print(f"\n{victim} taken out {out_after:.1f} s after xrdp stopped")
        assert servers(pool)[victim][0] == 0, f"{victim} still up: {servers(pool)}"
        assert out_after <= TAKEN_OUT_WITHIN, f"taken out after {out_after:.1f} s"
        # A new user, and one the broker may remember on the victim (sent elsewhere:
        # a persistence entry never points at a host that is down).
        for user in (c, KBG[0].name):
            login = via_pool(display, pool, user, password)
            login.disconnect()
            assert login.host == other, f"{user} on {login.host}: {login.evidence}"
    finally:
        run_on(victim, "systemctl start xrdp-sesman xrdp")
    deadline = time.monotonic() + 30
    while servers(pool)[victim][0] != 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert servers(pool)[victim][0] == 2, f"{victim} not back: {servers(pool)}"


def test_other_municipality_refused_through_the_broker(
    pool_users: list[LoginUser], pool: Pool, display: str, password: str
) -> None:
    login = via_pool(display, pool, NTD.name, password)
    login.disconnect()
    assert login.host is None, f"{NTD.name} got a desktop on {login.host} through {pool.name}"
    assert "AUTHFAIL" in login.evidence or "failed" in login.evidence.lower(), login.evidence


# --- the firewall, from the municipalities' simulated clients ---------------------------


def connects(namespace: str, address: str, port: int) -> bool:
    probe = (
        "import socket,sys; s=socket.socket(); s.settimeout(3); "
        f"sys.exit(s.connect_ex(({address!r}, {port})))"
    )
    return (
        subprocess.run(
            ["ip", "netns", "exec", namespace, "python3", "-c", probe], check=False
        ).returncode
        == 0
    )


def test_pools_open_only_to_their_municipality(inventory: Inventory) -> None:
    pools = {p.slug: p for p in vdi_pools(inventory.config, inventory.hosts) if p.address}
    if not {"kongsberg", "notodden"} <= set(pools):
        pytest.skip("needs the Kongsberg and Notodden pools")
    spaces = set(
        subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    )
    codes = {s: inventory.config.kommuner[s].code for s in ("kongsberg", "notodden")}
    if not {f"client-{c}" for c in codes.values()} <= spaces:
        pytest.skip("no lab client namespaces (regionhus lab up makes them)")
    kbg, ntd = f"client-{codes['kongsberg']}", f"client-{codes['notodden']}"
    kbg_pool, ntd_pool = str(pools["kongsberg"].address), str(pools["notodden"].address)
    assert connects(kbg, kbg_pool, 3389)
    assert connects(ntd, ntd_pool, 3389)
    assert not connects(ntd, kbg_pool, 3389), "Notodden's clients reach Kongsberg's pool"
    assert not connects(kbg, ntd_pool, 3389), "Kongsberg's clients reach Notodden's pool"
    # Session hosts take RDP from the broker only (and operations), not from clients.
    host = str(pools["kongsberg"].members[0].address)
    assert not connects(kbg, host, 3389), "a client reaches a session host past the broker"
