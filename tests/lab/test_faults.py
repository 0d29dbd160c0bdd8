"""Faults during real applies on the lab, each ending in a stated, checked outcome.

Like tests/lab/test_plan_apply.py these run the VDI hosts with the base layer and the
tiny fixture playbook (tests/fixtures/plan/site.yml), so they are short and never fight
the directory and backup work; the fixture's files are removed afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from logins import ensure_ad_user, rdp_login, retire_ad_user

from regionhus.inventory import Inventory
from regionhus.lab import run_on
from regionhus.lab.network import veth_name
from regionhus.plan.lock import lock_path

pytestmark = pytest.mark.lab

RH = str(Path(sys.executable).parent / "regionhus")
SITE = "tests/fixtures/plan/site.yml"
FIXTURE_FILES = "/etc/regionhus-plan-fixture.conf /var/lib/regionhus-plan-fixture.stamp"
HOST = "vdi-kongsberg-1"


def env(operator: str) -> dict[str, str]:
    return {**os.environ, "REGIONHUS_SITE_PLAYBOOK": SITE, "REGIONHUS_OPERATOR": operator}


def rh(operator: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RH, *args], capture_output=True, text=True, env=env(operator), check=False, timeout=900
    )


def engines_running(group: int) -> bool:
    found = subprocess.run(
        ["pgrep", "-g", str(group), "-f", "pyinfra|ansible-playbook"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


@pytest.fixture
def fixture_cleanup(lab: list[str]) -> Iterator[None]:
    yield
    for host in ("vdi-kongsberg-1", "vdi-notodden-1"):
        run_on(host, f"rm -f {FIXTURE_FILES}", check=False)


def start_apply_and_wait_for_engines(
    operator: str, out: Path, *hosts: str
) -> subprocess.Popen[bytes]:
    """An `apply --full` in its own process group, returned once its plan is printed
    and an engine is applying (the plan's dry runs are over by then)."""
    host_args = [arg for h in hosts for arg in ("--host", h)]
    proc = subprocess.Popen(
        [RH, "apply", "--yes", "--allow-dirty", "--full", "--quiet", *host_args],
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
        env=env(operator),
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if out.stat().st_size > 0 and engines_running(proc.pid):
            return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"apply never reached its engines (exit {proc.poll()}):\n{out.read_text()[-3000:]}")


def test_apply_killed_half_way_leaves_a_stale_lock_that_the_rerun_names_and_converges(
    fixture_cleanup: None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "apply.out"
        proc = start_apply_and_wait_for_engines("ola-killed", out, HOST)
        time.sleep(1.5)  # the engine is connected and working on the host
        assert proc.poll() is None, f"apply ended before the kill:\n{out.read_text()[-2000:]}"
        os.killpg(proc.pid, signal.SIGKILL)  # the operator's session dies with everything in it
        proc.wait()
    stale = json.loads(lock_path().read_text())
    assert any(h["pid"] == proc.pid and h["who"] == "ola-killed" for h in stale), stale

    rerun = rh("pytest", "apply", "--yes", "--allow-dirty", "--quiet", "--host", HOST)

    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert f"stale apply lock: ola-killed (pid {proc.pid}" in rerun.stderr, rerun.stderr[-2000:]
    assert not any(h["pid"] == proc.pid for h in json.loads(lock_path().read_text()))
    plan = rh("pytest", "plan", "--quiet", "--host", HOST)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]


def test_second_operator_on_overlapping_hosts_is_refused_while_the_first_applies(
    fixture_cleanup: None,
) -> None:
    both = ["vdi-kongsberg-1", "vdi-notodden-1"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "apply.out"
        first = start_apply_and_wait_for_engines("kari-first", out, *both)
        second = rh("per-second", "apply", "--yes", "--allow-dirty", "--quiet", "--host", both[1])
        first.wait(timeout=900)
        first_out = out.read_text()

    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    assert f"kari-first (pid {first.pid}" in second.stderr and both[1] in second.stderr
    # Refused before its plan: nothing ran and no apply record was written for it.
    assert "Apply record:" not in second.stdout, second.stdout[-2000:]
    assert first.returncode == 0, first_out[-3000:]
    record = json.loads(Path(first_out.split("Apply record: ")[1].split()[0]).read_text())
    assert record["who"] == "kari-first" and record["hosts"] == both
    plan = rh("pytest", "plan", "--quiet", *[a for h in both for a in ("--host", h)])
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]


# --- a host cut off in the middle of an apply ----------------------------------------------


def set_link(host: str, state: str) -> None:
    """The host's veth on the bridge side down or up: to everyone else the host is gone
    (as a pulled cable or a dead switch port), and back exactly as it was."""
    subprocess.run(["ip", "link", "set", "dev", veth_name(host), state], check=True)


def wait_reachable(host: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if run_on(host, "true", check=False, timeout=15).returncode == 0:
            return
        time.sleep(1)
    pytest.fail(f"{host} did not answer ssh {seconds:.0f} s after its link came back")


@pytest.fixture
def cut_link(lab: list[str]) -> Iterator[Callable[[str], None]]:
    """Take a host's link down; it is up again after the test, whatever happened."""
    cut: list[str] = []

    def take_down(host: str) -> None:
        cut.append(host)
        set_link(host, "down")

    yield take_down
    for host in cut:
        set_link(host, "up")
    for host in cut:
        wait_reachable(host)


def test_host_cut_off_mid_apply_is_named_recorded_and_converges_after(
    fixture_cleanup: None, cut_link: Callable[[str], None]
) -> None:
    both = ["vdi-kongsberg-1", "vdi-notodden-1"]
    lost = "vdi-notodden-1"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "apply.out"
        started = time.monotonic()
        apply = start_apply_and_wait_for_engines("kari-cut", out, *both)
        cut_link(lost)
        try:
            apply.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(apply.pid, signal.SIGKILL)
            apply.wait()
            pytest.fail(f"apply still running 240 s after {lost} went away:\n{out.read_text()}")
        seconds = time.monotonic() - started
        text = out.read_text()
    print(f"apply with {lost} cut off ended after {seconds:.1f} s (exit {apply.returncode})")

    # Stops (exit 1) and names the host it lost.
    assert apply.returncode == 1, text[-4000:]
    failure = text.split("feil:", 1)[-1]
    assert lost in failure and "unreachable" in failure.lower(), text[-4000:]
    # The record tells each host's outcome: the lost one failed, the other one is not
    # silently "applied" with a layer missing.
    record = json.loads(Path(text.split("Apply record: ")[1].split()[0]).read_text())
    assert record["hosts"] == both
    outcome = record["outcome"]
    assert outcome[lost].startswith("FAILED") and "unreachable" in outcome[lost], outcome
    other = outcome["vdi-kongsberg-1"]
    assert other != "applied" and ("NOT run" in other or other.startswith("FAILED")), outcome
    # While it is away, the next plan names it before any engine runs, and runs nothing.
    away = rh("pytest", "plan", "--quiet", "--host", lost)
    assert away.returncode == 1 and lost in away.stderr, away.stdout[-2000:] + away.stderr[-2000:]
    assert "nothing was run on any host" in away.stderr, away.stderr[-2000:]

    # After the link is back, a plain rerun converges both.
    set_link(lost, "up")
    wait_reachable(lost)
    rerun = rh("pytest", "apply", "--yes", "--allow-dirty", "--quiet", *hosts_args(both))
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    plan = rh("pytest", "plan", "--quiet", *hosts_args(both))
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]


def hosts_args(hosts: list[str]) -> list[str]:
    return [arg for h in hosts for arg in ("--host", h)]


# --- a domain controller down during an apply and during VDI logins -----------------------

DC_DOWN_USER = "vdit-dcdown"
DC_DOWN_DESCRIPTION = "regionhus DC-down login test user (tests/lab/test_faults.py)"
VDI_HOST = "vdi-kongsberg-1"


def samba_on(dc: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_on(dc, shlex.join(["samba-tool", *args]), check=check, timeout=120)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(2)
    pytest.fail(f"{what}: not within {seconds:.0f} s")


@pytest.fixture
def dc_down_user(password: str, inventory: Inventory) -> Iterator[str]:
    """A VDI user of Kongsberg, made on dc1 and replicated to dc2 before dc1 goes away;
    disabled again afterwards (through dc1, once it is back)."""
    ensure_ad_user(
        DC_DOWN_USER,
        kommune="kongsberg",
        description=DC_DOWN_DESCRIPTION,
        password=password,
        inventory=inventory,
        groups=["kongsberg-vdi-users"],
    )
    wait_for(
        lambda: (
            "kongsberg-vdi-users"
            in samba_on("dc2", "user", "getgroups", DC_DOWN_USER, check=False).stdout
        ),
        f"{DC_DOWN_USER} and its VDI group replicated to dc2",
    )
    yield DC_DOWN_USER
    retire_ad_user(DC_DOWN_USER)


def test_dc1_down_vdi_login_goes_through_dc2_and_an_apply_of_a_member_converges(
    dc_down_user: str,  # before cut_link: disabled again through dc1 once it is back
    cut_link: Callable[[str], None],
    display: str,
    inventory: Inventory,
) -> None:
    """dc1 off the network (to its peers the same as powered off: no answer at all).
    Outcome: a VDI login with a password set on dc2 after dc1 went away succeeds (so
    it was checked by dc2, not taken from sssd's cache), sssd names dc2 as its server,
    and an apply of the session host (which reads the directory) succeeds through dc2."""
    domain = inventory.config.region.directory.dns_domain
    cut_link("dc1")
    # A new password, written on dc2 only: a cached credential cannot pass it.
    fresh = f"Rh-{secrets.token_hex(6)}-Dc2!"
    samba_on("dc2", "user", "setpassword", dc_down_user, f"--newpassword={fresh}")

    verdict = rdp_login(display, inventory, VDI_HOST, dc_down_user, fresh)

    assert verdict.allowed, verdict.evidence
    # sssd's own word on which DC it uses (when sssctl can ask it; the password above is
    # the proof either way: only dc2 knows it).
    server = run_on(VDI_HOST, f"sssctl domain-status {domain} --active-server", check=False)
    if server.returncode == 0:
        assert f"dc2.{domain}" in server.stdout, server.stdout

    started = time.monotonic()
    applied = subprocess.run(
        [RH, "apply", "--yes", "--allow-dirty", "--full", "--quiet", "--host", VDI_HOST],
        capture_output=True,
        text=True,
        env={**os.environ, "REGIONHUS_OPERATOR": "pytest"},
        check=False,
        timeout=900,
    )
    print(f"apply --full of {VDI_HOST} with dc1 down: {time.monotonic() - started:.1f} s")
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-3000:]


# --- the backup server's disk full, a repository over quota ----------------------------------

BACKUP = "backup1"
FULL_REPO = "kongsberg"
FULL_CLIENT = "vdi-kongsberg-1"
REPO_PATH = f"/srv/backup/{FULL_REPO}"
SCRATCH = "/run/regionhus-faults-disk"  # a small tmpfs inside backup1 only


def repo_borg(args: str, path: str = REPO_PATH) -> subprocess.CompletedProcess[str]:
    return run_on(
        BACKUP,
        f"BORG_PASSPHRASE=$(cat /etc/regionhus-backup/passphrases/{FULL_REPO}) "
        f"runuser -u borg-{FULL_REPO} -- borg {args} {path}",
        check=False,
        timeout=300,
    )


def status_of(repository: str) -> tuple[int, dict[str, object], str]:
    out = subprocess.run(
        [RH, "backup", "status", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    rows = {row["repository"]: row for row in json.loads(out.stdout)}
    return out.returncode, rows[repository], out.stderr


def client_backup() -> subprocess.CompletedProcess[str]:
    return run_on(FULL_CLIENT, f"systemctl start regionhus-backup@{FULL_REPO}.service", check=False)


@pytest.fixture
def full_disk(lab: list[str]) -> Iterator[str]:
    """Kongsberg's repository on a small tmpfs of its own inside backup1 (a copy bind-
    mounted over the real one, so the real repository is never written), with its guard
    paused so it records nothing about the copy. Everything is unmounted and the guard
    started again afterwards: the real repository is then exactly as it was."""
    keys = f"/var/lib/regionhus-backup/home/{FULL_REPO}/.ssh/authorized_keys"
    # Room for the copy and 32 MB more: the test fills that up itself.
    size = int(run_on(BACKUP, f"du -sm {REPO_PATH} | cut -f1").stdout.strip()) + 32
    run_on(BACKUP, f"systemctl stop regionhus-borg-guard@{FULL_REPO}.path", check=True)
    run_on(BACKUP, f"systemctl stop regionhus-borg-guard@{FULL_REPO}.timer", check=True)
    try:
        run_on(
            BACKUP,
            f"mkdir -p {SCRATCH} && mount -t tmpfs -o size={size}m,mode=0755 regionhus-faults "
            f"{SCRATCH} && cp -a {REPO_PATH} {SCRATCH}/repo && cp -a {keys} {SCRATCH}/keys && "
            f"mount --bind {SCRATCH}/repo {REPO_PATH}",
        )
        yield keys
    finally:
        run_on(
            BACKUP,
            f"umount {keys} 2>/dev/null; umount {REPO_PATH}; umount {SCRATCH}; rmdir {SCRATCH}",
            check=False,
        )
        run_on(BACKUP, f"systemctl start regionhus-borg-guard@{FULL_REPO}.timer", check=False)
        run_on(BACKUP, f"systemctl start regionhus-borg-guard@{FULL_REPO}.path", check=False)
    mounts = run_on(BACKUP, "cat /proc/self/mountinfo").stdout
    assert SCRATCH not in mounts and f" {REPO_PATH} " not in mounts, mounts
    # The client's failed attempts left it able to write the real repository.
    resumed = client_backup()
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr


def test_full_disk_and_over_quota_are_flagged_and_lose_nothing(full_disk: str) -> None:
    before = repo_borg("list --short").stdout.split()
    assert before, "kongsberg's repository has no archive to keep"
    code, row, _ = status_of(FULL_REPO)
    assert not row["disk_full"] and not row["over_quota"], row

    # Disk full: fill the tmpfs; the client's backup fails, status says DISK FULL.
    run_on(BACKUP, f"dd if=/dev/zero of={SCRATCH}/filler bs=1M 2>/dev/null; sync", check=False)
    failed = client_backup()
    assert failed.returncode != 0, "a backup onto a full disk cannot have succeeded"
    code, row, err = status_of(FULL_REPO)
    assert code == 1 and row["disk_full"] and row["problem"], row
    assert FULL_REPO in err and "disk full" in err, err

    # Over quota: space again, but the quota borg serve enforces (the client's forced
    # command) below what the repository holds: the backup fails, status says OVER QUOTA.
    run_on(BACKUP, f"rm -f {SCRATCH}/filler")
    run_on(
        BACKUP,
        f"sed -E 's/--storage-quota [0-9.]+[KMGTP]?/--storage-quota 1K/' {SCRATCH}/keys "
        f"> {SCRATCH}/keys.quota && mount --bind {SCRATCH}/keys.quota {full_disk}",
    )
    failed = client_backup()
    assert failed.returncode != 0, "a backup over the quota cannot have succeeded"
    journal = run_on(
        FULL_CLIENT,
        f"journalctl -q -o cat -n 40 -u regionhus-backup@{FULL_REPO}.service",
        check=False,
    ).stdout
    assert "quota" in journal.lower(), journal[-2000:]
    code, row, err = status_of(FULL_REPO)
    assert code == 1 and row["over_quota"] and not row["disk_full"], row
    assert row["quota_bytes"] == 1000, row

    # Quota lifted, space free: every archive is still there and borg check passes.
    run_on(BACKUP, f"umount {full_disk}")
    check = repo_borg("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert repo_borg("list --short").stdout.split() == before
    code, row, _ = status_of(FULL_REPO)
    assert not row["disk_full"] and not row["over_quota"], row
