"""Proofs of plan and apply on the lab: dry-run purity, prediction, idempotence.

The VDI hosts only, with the base layer and a tiny fixture playbook
(tests/fixtures/plan/site.yml), so these tests never fight the directory and backup
work on dc1, dc2 and backup1. REGIONHUS_PLAN_TEST_SITE=playbooks/site.yml and
REGIONHUS_PLAN_TEST_HOSTS=all run the same proofs over the real services and the
whole region (directory objects are then part of the purity snapshot).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from regionhus.lab import run_on
from regionhus.plan.lock import apply_lock

pytestmark = pytest.mark.lab

RH = str(Path(sys.executable).parent / "regionhus")
SITE = os.environ.get("REGIONHUS_PLAN_TEST_SITE", "tests/fixtures/plan/site.yml")
HOSTS_ENV = os.environ.get("REGIONHUS_PLAN_TEST_HOSTS", "vdi-kongsberg-1,vdi-notodden-1")
FIXTURE_FILES = "/etc/regionhus-plan-fixture.conf /var/lib/regionhus-plan-fixture.stamp"

# What "nothing changed" means on a host: every file under /etc, the package list, the
# state of every service, and (on a DC) the directory's users, groups and OUs.
SNAPSHOT = r"""
set -e
find /etc -xdev -type f -print0 | sort -z | xargs -0 sha256sum
H="cut -c1-64"
echo "$(dpkg-query -W -f='${Package} ${Version} ${Status}\n' | sha256sum | $H) packages"
echo "$(systemctl list-units --type=service --all --no-legend --plain \
  | awk '{print $1, $2, $3, $4}' | sha256sum | $H) service-states"
echo "$(systemctl list-unit-files --type=service --no-legend | sha256sum | $H) service-enabled"
if command -v samba-tool >/dev/null && [ -f /var/lib/samba/private/sam.ldb ]; then
  echo "$( (samba-tool user list; samba-tool group list; samba-tool ou list) \
    | sort | sha256sum | $H) directory-objects"
fi
"""


@pytest.fixture(scope="module")
def hosts(lab: list[str]) -> list[str]:
    return lab if HOSTS_ENV == "all" else HOSTS_ENV.split(",")


def host_args(hosts: list[str]) -> list[str]:
    return [arg for h in hosts for arg in ("--host", h)]


def rh(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REGIONHUS_SITE_PLAYBOOK": SITE, "REGIONHUS_OPERATOR": "pytest"}
    return subprocess.run([RH, *args], capture_output=True, text=True, env=env, check=False)


def plan_json(hosts: list[str], *extra: str) -> tuple[int, dict]:
    proc = rh("plan", "--format", "json", *extra, *host_args(hosts))
    assert proc.returncode in (0, 2), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def apply(hosts: list[str], *extra: str) -> dict:
    """Apply --yes; returns the apply record it wrote."""
    proc = rh("apply", "--yes", "--allow-dirty", *extra, *host_args(hosts))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    found = re.search(r"^Apply record: (\S+)$", proc.stdout, re.MULTILINE)
    assert found, proc.stdout[-2000:]
    return json.loads(Path(found[1]).read_text())


def snapshot(hosts: list[str]) -> dict[str, set[str]]:
    return {h: set(run_on(h, SNAPSHOT, timeout=180).stdout.splitlines()) for h in hosts}


def assert_unchanged(before: dict[str, set[str]], after: dict[str, set[str]]) -> None:
    """Name what differs (a file, the package list...), not just that something did."""
    differ = {
        host: sorted({line.split()[-1] for line in before[host] ^ after[host]})
        for host in before
        if before[host] != after[host]
    }
    assert not differ, f"plan changed hosts (or someone else worked on them): {differ}"


def key(line: str) -> str:
    """A change without its loop items: "layer[/role]: task"."""
    return re.sub(r" \[.*\]$", "", line.removeprefix("FAILED: "))


def planned(plan: dict, statuses: set[str]) -> set[tuple[str, str]]:
    found = set()
    for host, data in plan["hosts"].items():
        for change in data["changes"]:
            if change["status"] in statuses:
                where = change["layer"] + (f"/{change['role']}" if change["role"] else "")
                found.add((host, f"{where}: {change['task']}"))
    return found


def applied(record: dict) -> set[tuple[str, str]]:
    return {(host, key(line)) for host, lines in record["changed"].items() for line in lines}


@pytest.fixture(scope="module")
def converged(hosts: list[str]) -> Iterator[dict]:
    """The hosts converged by an apply (the record of that first apply)."""
    record = apply(hosts)
    yield record
    for host in hosts:
        run_on(host, f"rm -f {FIXTURE_FILES}", check=False)


@pytest.fixture
def pending(hosts: list[str], converged: dict) -> Iterator[str]:
    """One host with pending changes: a managed file altered, the fixture's stamp gone."""
    host = hosts[-1]
    run_on(host, "cp -p /etc/hosts /root/hosts.plan-test && echo '# drift' >> /etc/hosts")
    run_on(host, "rm -f /var/lib/regionhus-plan-fixture.stamp")
    yield host
    run_on(host, "cp -p /root/hosts.plan-test /etc/hosts && rm -f /root/hosts.plan-test")


def checked(plan: dict) -> dict[str, str]:
    """host -> "fingerprint" (matched its converged record) or "engines" (dry-run)."""
    return {host: data["checked"] for host, data in plan["hosts"].items()}


@pytest.fixture
def stamp_gone(hosts: list[str], converged: dict) -> Iterator[str]:
    """One host with only a managed file outside /etc gone (the fixture's stamp, which
    the services layer reads with stat): nothing else on the host differs."""
    if not SITE.startswith("tests/fixtures"):
        pytest.skip("the stamp belongs to the fixture playbook")
    host = hosts[0]
    run_on(host, "rm -f /var/lib/regionhus-plan-fixture.stamp")
    yield host
    run_on(host, "touch /var/lib/regionhus-plan-fixture.stamp")


def test_plan_on_converged_hosts_is_pure_and_empty(hosts: list[str], converged: dict) -> None:
    """Both ways: the engines' dry runs everywhere (--full), and the converged records'
    probe, which the apply just wrote, standing in for them."""
    for extra in (("--full",), ()):
        before = snapshot(hosts)
        code, plan = plan_json(hosts, *extra)
        assert_unchanged(before, snapshot(hosts))
        assert code == 0, planned(plan, {"change", "unknown", "conditional", "failed"})
        assert set(plan["hosts"]) == set(hosts)
        expected = "engines" if extra else "fingerprint"
        assert set(checked(plan).values()) == {expected}, checked(plan)


def test_plan_finds_a_managed_file_outside_etc_changed_by_hand(
    hosts: list[str], stamp_gone: str
) -> None:
    code, plan = plan_json(hosts)
    assert code == 2
    assert checked(plan) == {h: "engines" if h == stamp_gone else "fingerprint" for h in hosts}
    tasks = {c["task"]: c["status"] for c in plan["hosts"][stamp_gone]["changes"]}
    assert tasks == {"Fixture command that cannot tell in check mode": "unknown"}


def test_plan_with_pending_changes_is_pure_and_sees_them(hosts: list[str], pending: str) -> None:
    before = snapshot(hosts)
    code, plan = plan_json(hosts)
    assert_unchanged(before, snapshot(hosts))
    assert code == 2
    changes = {c["task"]: c for c in plan["hosts"][pending]["changes"]}
    assert changes["Render /etc/hosts"]["status"] == "change"
    assert "# drift" in changes["Render /etc/hosts"]["diff"][0]
    if SITE.startswith("tests/fixtures"):
        unknown = changes["Fixture command that cannot tell in check mode"]
        assert unknown["status"] == "unknown"
    others = [h for h in hosts if h != pending]
    assert all(not plan["hosts"][h]["changes"] for h in others)
    # The hand-edited host went through the engines; the others matched their records.
    assert checked(plan) == {h: "engines" if h == pending else "fingerprint" for h in hosts}


def test_apply_does_what_the_plan_said_then_nothing(hosts: list[str], pending: str) -> None:
    _, plan = plan_json(hosts)
    record = apply(hosts)
    done = applied(record)
    must = planned(plan, {"change"})
    may = planned(plan, {"change", "conditional", "unknown"})
    assert must <= done, f"planned but not applied: {must - done}"
    assert done <= may, f"applied but not planned: {done - may}"
    assert record["who"] == "pytest" and set(record["hosts"]) == set(hosts)
    # Idempotence: the engines run on every host again and report nothing.
    again = apply(hosts, "--full")
    assert again["changed"] == {}, again["changed"]


def test_second_apply_on_held_hosts_stops_with_the_holder(hosts: list[str]) -> None:
    with apply_lock("kari (test)", hosts[:1]):
        proc = rh("apply", "--yes", "--allow-dirty", "--host", hosts[0])
    assert proc.returncode == 1
    assert "kari (test)" in proc.stderr and "--wait" in proc.stderr
