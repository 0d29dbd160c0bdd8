"""Backup on the lab: repositories, timers, backup + drill, tamper and isolation probes.

Needs the lab up with the base layer and `playbooks/backup.yml` applied.
Probes run real borg from the clients with their own keys.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from regionhus.backup.cli import backup
from regionhus.backup.remote import server_status
from regionhus.backup.status import classify, expected_schedules
from regionhus.config import load_region
from regionhus.lab import run_on

pytestmark = pytest.mark.lab

SERVER = "backup1"
SERVER_ADDRESS = "10.47.0.21"
# One writer per repository that exists in the lab.
WRITERS = {"kongsberg": "vdi-kongsberg-1", "notodden": "vdi-notodden-1", "region": "dc1"}
CLIENTS = {
    "dc1": "region",
    "dc2": "region",
    "vdi-kongsberg-1": "kongsberg",
    "vdi-kongsberg-2": "kongsberg",
    "vdi-notodden-1": "notodden",
}


def borg_env(own_repo: str) -> str:
    rsh = (
        "ssh -i /root/.ssh/regionhus-backup_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes "
        "-o UserKnownHostsFile=/etc/regionhus-backup/known_hosts -o StrictHostKeyChecking=yes"
    )
    return (
        f"BORG_RSH='{rsh}' BORG_PASSCOMMAND='cat /etc/regionhus-backup/passphrases/{own_repo}' "
        "BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=YES BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=YES"
    )


def url(repo: str, user_repo: str | None = None) -> str:
    return f"ssh://borg-{user_repo or repo}@{SERVER_ADDRESS}/srv/backup/{repo}"


def client_borg(host: str, own_repo: str, args: str) -> tuple[int, str]:
    proc = run_on(host, f"{borg_env(own_repo)} borg {args}", check=False)
    return proc.returncode, proc.stdout + proc.stderr


def archive_names(repo: str) -> list[str]:
    cmd = (
        f"BORG_PASSPHRASE=$(cat /etc/regionhus-backup/passphrases/{repo}) runuser -u borg-{repo}"
        f" -- borg list --short /srv/backup/{repo}"
    )
    return run_on(SERVER, cmd).stdout.split()


def run_backup(host: str) -> None:
    run_on(host, f"systemctl start regionhus-backup@{CLIENTS[host]}.service")


def guard(action: str, repo: str) -> int:
    return run_on(SERVER, f"regionhus-borg-guard {action} {repo}", check=False).returncode


@pytest.mark.parametrize("repo", sorted(WRITERS))
def test_repository_owner_and_mode(repo: str) -> None:
    out = run_on(SERVER, f"stat -c '%U %a' /srv/backup/{repo} /srv/backup/{repo}/config").stdout
    assert out.split("\n")[0] == f"borg-{repo} 700"
    keys = run_on(
        SERVER, f"stat -c '%U %a' /var/lib/regionhus-backup/home/{repo}/.ssh/authorized_keys"
    )
    assert keys.stdout.strip() == "root 644"
    text = run_on(SERVER, f"cat /var/lib/regionhus-backup/home/{repo}/.ssh/authorized_keys").stdout
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines and all(
        f"borg serve --append-only --restrict-to-repository /srv/backup/{repo} " in line
        and ",restrict " in line
        for line in lines
    )


def test_timers_active() -> None:
    for host, repo in CLIENTS.items():
        state = run_on(host, f"systemctl is-active regionhus-backup@{repo}.timer", check=False)
        assert state.stdout.strip() == "active", host
    for repo, unit in itertools.product(
        WRITERS, ["guard@{}.timer", "prune@{}.timer", "guard@{}.path"]
    ):
        name = "regionhus-borg-" + unit.format(repo)
        state = run_on(SERVER, f"systemctl is-active {name}", check=False)
        assert state.stdout.strip() == "active", name


def test_backup_then_drill_passes() -> None:
    marker = f"/home/drill-{int(time.time())}"
    run_on(
        "vdi-notodden-1", f"mkdir -p {marker} && head -c 300000 /dev/urandom > {marker}/data.bin"
    )
    run_backup("vdi-notodden-1")
    result = CliRunner().invoke(backup, ["drill", "notodden"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PASS notodden")


def test_client_delete_and_prune_leave_every_archive_restorable() -> None:
    host, repo = "vdi-kongsberg-1", "kongsberg"
    for _ in range(2):
        run_backup(host)
    assert guard("check", repo) == 0
    before = archive_names(repo)
    assert len(before) >= 2
    victim = before[0]
    # The attack: delete one archive, prune to one, compact, delete the whole repository.
    assert client_borg(host, repo, f"delete {url(repo)}::{victim}")[0] == 0
    assert client_borg(host, repo, f"prune --keep-last 1 {url(repo)}")[0] == 0
    assert client_borg(host, repo, f"compact {url(repo)}")[0] == 0
    whole = client_borg(host, repo, f"delete {url(repo)}")
    assert whole[0] != 0, "append-only must refuse a whole-repository delete"
    assert len(archive_names(repo)) == 1, "the client's view: archives gone"
    # The server noticed, and refuses to prune or compact.
    assert guard("check", repo) == 3
    assert guard("prune", repo) == 3
    alert = json.loads(run_on(SERVER, f"cat /var/lib/regionhus-backup/alerts/{repo}.json").stdout)
    assert victim in alert["missing"]
    run_on(SERVER, f"regionhus-borg-rollback {repo} {alert['good_transaction']} --yes")
    assert archive_names(repo) == before
    # A real restore of the deleted archive, compared file by file.
    drilled = CliRunner().invoke(backup, ["drill", repo, "--archive", victim])
    assert drilled.exit_code == 0, drilled.output
    # The client must forget its cache (the repository went back in time), then goes on.
    run_on(host, f"regionhus-backup-run --forget-cache {repo}")
    run_backup(host)
    assert guard("check", repo) == 0


@pytest.mark.parametrize(("own", "other"), [pair for pair in itertools.permutations(WRITERS, 2)])
def test_other_municipality_cannot_list_read_or_write(own: str, other: str) -> None:
    host = WRITERS[own]
    count = len(archive_names(other))
    probes = {
        "list as other's user": f"list {url(other)}",
        "read as other's user": f"info {url(other)}",
        "write as other's user": f"create {url(other)}::probe-{own} /etc/hostname",
        "list other's path": f"list {url(other, own)}",
        "read other's path": f"info {url(other, own)}",
        "write other's path": f"create {url(other, own)}::probe-{own} /etc/hostname",
    }
    for what, args in probes.items():
        code, output = client_borg(host, own, args)
        assert code != 0, f"{own} -> {other}: {what} was allowed: {output[-300:]}"
    assert len(archive_names(other)) == count


def test_late_municipality_is_reported() -> None:
    rows = classify(
        server_status(SERVER),
        expected_schedules(load_region()),
        set(WRITERS),
        dt.datetime.now(dt.UTC) + dt.timedelta(days=3),
        dt.timedelta(hours=2),
    )
    late = {row.repository for row in rows if row.problem}
    assert set(WRITERS) <= late
    # Now, with a fresh backup in every repository that has a writer (on a fresh lab the
    # timers have not fired yet), nothing is late.
    for host in WRITERS.values():
        run_backup(host)
    result = CliRunner().invoke(backup, ["status"])
    assert result.exit_code == 0, result.output


def alert_of(repo: str) -> dict | None:
    text = run_on(SERVER, f"cat /var/lib/regionhus-backup/alerts/{repo}.json", check=False)
    return json.loads(text.stdout) if text.returncode == 0 else None


def wait_for(condition: Callable[[], object], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(2)


def test_create_then_delete_inside_one_window_then_one_command_rollback() -> None:
    host, repo = "vdi-notodden-1", "notodden"
    run_backup(host)
    assert guard("check", repo) == 0
    probe = f"{host}-probe-{int(time.time())}"
    # Nothing triggers the guard between the create and the delete (path unit stopped):
    # everything happens inside one window, as between two timer runs.
    run_on(SERVER, f"systemctl stop regionhus-borg-guard@{repo}.path")
    try:
        assert client_borg(host, repo, f"create {url(repo)}::{probe} /etc/hostname")[0] == 0
        assert client_borg(host, repo, f"delete {url(repo)}::{probe}")[0] == 0
    finally:
        run_on(SERVER, f"systemctl start regionhus-borg-guard@{repo}.path")
    assert probe not in archive_names(repo)
    assert guard("check", repo) == 3
    alert = alert_of(repo)
    assert alert is not None and alert["missing"] == [probe]
    # One command: server rollback, every client's cache reset, a record.
    result = CliRunner().invoke(backup, ["rollback", repo, "--yes"])
    assert result.exit_code == 0, result.output
    # Every writer of Notodden's repository in the lab: its server and its VDI host.
    writers = ["srv-notodden-1", host]
    assert f"clients reset: {', '.join(writers)}" in result.output
    assert probe in archive_names(repo)
    record = json.loads(Path(result.output.split("record: ")[1].split()[0]).read_text())
    assert record["restores"] == [probe] and record["clients_reset"] == writers
    # The client's next backup works without anyone touching it (borg exit 2 before).
    run_backup(host)
    assert guard("check", repo) == 0
    drilled = CliRunner().invoke(backup, ["drill", repo])
    assert drilled.exit_code == 0, drilled.output


def test_the_guard_looks_after_every_client_commit_by_itself() -> None:
    host, repo = "vdi-notodden-1", "notodden"
    assert guard("check", repo) == 0
    probe = f"{host}-probe-{int(time.time())}"
    assert client_borg(host, repo, f"create {url(repo)}::{probe} /etc/hostname")[0] == 0

    def guard_saw_probe() -> bool:
        state = run_on(SERVER, f"cat /var/lib/regionhus-backup/state/{repo}.json").stdout
        return probe in json.loads(state)["archives"]

    wait_for(guard_saw_probe, "the guard ran after the client's create")
    assert client_borg(host, repo, f"delete {url(repo)}::{probe}")[0] == 0
    wait_for(lambda: alert_of(repo), "the guard's alert after the client's delete")
    assert alert_of(repo)["missing"] == [probe]  # type: ignore[index]
    unit = f"regionhus-borg-guard@{repo}.service"

    def unit_failed() -> bool:
        return run_on(SERVER, f"systemctl is-failed {unit}", check=False).stdout.strip() == "failed"

    wait_for(unit_failed, "the check that found the delete fails its unit")
    # The probe held nothing of the municipality's: accept instead of rolling back.
    assert guard("accept", repo) == 0
    # Accepted is done: the host no longer reads as failed until the next check.
    assert not unit_failed()
