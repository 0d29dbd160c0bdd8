"""Scoped plans and applies never touch another municipality (issue #13), on the lab.

On the region the session has applied:

- `plan --kommune K` for every municipality K lists no change to another
  municipality's data on a shared host;
- `plan --host H` succeeds for every host H, a backup client alone included;
- `plan --changed-since` with a change to only K's file lists changes only for K's
  hosts and the shared hosts' K-parts;
- an apply scoped to Kongsberg that runs every engine on its hosts and the shared hosts
  leaves Notodden's and the region's backups running and Notodden's pool taking logins.

Plans run a few at a time. Municipalities whose `--kommune` scope is the same set of
hosts and layers get one plan (the command is the same run of the engines); each is
still judged against its own municipality.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from test_vdi_login import LoginUser, display, ensure_user, password, rdp_login, samba

from regionhus.inventory import REGION, Inventory
from regionhus.lab import run_on
from regionhus.paths import repo_root
from regionhus.plan.cli import build_scope
from regionhus.plan.guard import concerned
from regionhus.plan.model import Change, Kind, Layer, Status

pytestmark = pytest.mark.lab

__all__ = ["display", "password"]  # fixtures of test_vdi_login, used here

RH = str(Path(sys.executable).parent / "regionhus")
PARALLEL = 3  # plans at once: the control machine's two cores are the limit
# The shared hosts that hold something of every municipality: the DCs (its OU), the
# backup server (its repository), the gateway (its pool), monitoring (its probes, alerts).
SHARED = {"dc1", "dc2", "backup1", "gw1", "mon1"}
NOTODDEN_USER = LoginUser("vdit-notodden", "notodden", enabled=True)


def plan(*args: str, root: Path | None = None) -> tuple[int, dict[str, Any], float]:
    """Exit code, JSON report (empty when none was printed) and seconds of one plan."""
    env = {**os.environ, "REGIONHUS_OPERATOR": "pytest"}
    if root is not None:
        env["REGIONHUS_ROOT"] = str(root)
    started = time.monotonic()
    proc = subprocess.run(
        [RH, "plan", "--format", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=False,
    )
    took = time.monotonic() - started
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = {"errors": [proc.stderr[-4000:]], "hosts": {}}
    return proc.returncode, data, took


def succeeded(name: str, code: int, data: dict[str, Any]) -> None:
    failed = [
        f"{h}: {c['task']}: {c['detail'][:300]}"
        for h, e in data["hosts"].items()
        for c in e["changes"]
        if c["status"] == "failed"
    ]
    assert code in (0, 2) and not failed, f"plan {name} failed: {data['errors']} {failed}"


def changes_of(data: dict[str, Any], host: str) -> list[Change]:
    return [
        Change(
            host=host,
            layer=Layer(c["layer"]),
            task=c["task"],
            status=Status(c["status"]),
            kind=Kind(c["kind"]),
            role=c["role"],
            items=c["items"],
            diff=c["diff"],
            kommune=c["kommune"],
        )
        for c in data["hosts"][host]["changes"]
    ]


def about_others(data: dict[str, Any], inventory: Inventory, kommune: str) -> list[str]:
    """Changes on shared hosts that concern a municipality other than `kommune`."""
    serves = {h.name: h.serves for h in inventory.hosts}
    found = []
    for host, entry in data["hosts"].items():
        if entry["serves"] != REGION:
            continue
        for change in changes_of(data, host):
            others = concerned(change, inventory.config.kommuner, serves) - {kommune}
            found += [f"{host}: {change.describe()} (concerns {k})" for k in sorted(others)]
    return found


def distinct_kommune_scopes(inventory: Inventory) -> dict[str, list[str]]:
    """One representative municipality per distinct --kommune scope -> all it stands for."""
    groups: dict[tuple, list[str]] = {}
    for slug in inventory.config.kommuner:
        scope, _ = build_scope(inventory.config.root, inventory, (slug,), ())
        key = tuple(sorted((h, tuple(sorted(e.layers))) for h, e in scope.hosts.items()))
        groups.setdefault(key, []).append(slug)
    return {members[0]: members for members in groups.values()}


@pytest.fixture(scope="module")
def timings() -> Iterator[dict[str, float]]:
    found: dict[str, float] = {}
    yield found
    print("\nscope property test, seconds per plan:", json.dumps(found, indent=1))


def changed_copy(target: Path, slug: str) -> Path:
    """A copy of this checkout's files (committed or not: what is under test) as a git
    repository of its own, with only `slug`'s file changed since its one commit: one
    more day of daily retention, which the backup server holds for it."""
    source = repo_root()
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in (n.decode() for n in listed if n):
        if (source / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    git = ["git", "-c", "user.name=pytest", "-c", "user.email=pytest@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "checkout under test"]):
        subprocess.run([*git, *args], cwd=target, check=True)
    bump_retention(target, slug)
    return target


def bump_retention(root: Path, slug: str) -> None:
    path = root / "kommuner" / f"{slug}.yml"
    text = path.read_text()
    daily = int(text.split("daily:", 1)[1].split()[0])
    path.write_text(text.replace(f"daily: {daily}", f"daily: {daily + 1}", 1))


# A municipality with VDI hosts of its own, and one with only data on the shared hosts.
CHANGED = ["notodden", "tinn"]


@pytest.fixture(scope="module")
def plans(inventory: Inventory, timings: dict[str, float], tmp_path_factory):  # type: ignore[no-untyped-def]
    """Every plan of the property, a few at a time: name -> (exit code, JSON)."""
    reps = distinct_kommune_scopes(inventory)
    jobs: dict[str, tuple[tuple[str, ...], Path | None]] = {
        f"--kommune {k}": (("--kommune", k), None) for k in reps
    }
    jobs |= {f"--host {h.name}": (("--host", h.name), None) for h in inventory.hosts}
    for slug in CHANGED:
        root = changed_copy(tmp_path_factory.mktemp(f"scope-{slug}"), slug)
        jobs[f"--changed-since ({slug})"] = (("--changed-since", "HEAD"), root)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {name: pool.submit(plan, *args, root=root) for name, (args, root) in jobs.items()}
        results = {name: future.result() for name, future in futures.items()}
    timings["all plans (wall)"] = round(time.monotonic() - started, 1)
    for name, (_, _, took) in results.items():
        timings[name] = round(took, 1)
    return reps, {name: (code, data) for name, (code, data, _) in results.items()}


def test_kommune_plans_leave_other_municipalities_alone(plans, inventory: Inventory) -> None:  # type: ignore[no-untyped-def]
    reps, results = plans
    for rep, members in reps.items():
        code, data = results[f"--kommune {rep}"]
        succeeded(f"--kommune {rep}", code, data)
        for kommune in members:
            assert about_others(data, inventory, kommune) == [], f"--kommune {kommune}"
        assert data["scope_findings"] == []
        shared = {h for h, e in data["hosts"].items() if e["serves"] == REGION}
        assert shared == SHARED


def test_every_host_alone_plans(plans, inventory: Inventory) -> None:  # type: ignore[no-untyped-def]
    _, results = plans
    for host in inventory.hosts:
        code, data = results[f"--host {host.name}"]
        succeeded(f"--host {host.name}", code, data)
        assert set(data["hosts"]) == {host.name}
        assert data["scope_findings"] == [], f"--host {host.name}"


@pytest.mark.parametrize("kommune", CHANGED)
def test_changed_since_plans_only_the_changed_municipality(
    kommune: str, plans, inventory: Inventory
) -> None:  # type: ignore[no-untyped-def]
    code, data = plans[1][f"--changed-since ({kommune})"]
    succeeded(f"--changed-since ({kommune})", code, data)
    own = {h.name for h in inventory.hosts if h.serves == kommune}
    assert set(data["hosts"]) == own | SHARED
    assert about_others(data, inventory, kommune) == []
    assert data["scope_findings"] == []
    serves = {h.name: h.serves for h in inventory.hosts}
    about_it = [
        c
        for c in changes_of(data, "backup1")
        if kommune in concerned(c, inventory.config.kommuner, serves)
    ]
    assert about_it, f"the new retention of {kommune} is not planned on backup1: {data}"


# --- a scoped apply, then the others still work -------------------------------------------


def backup_succeeds(host: str, repository: str) -> None:
    unit = f"regionhus-backup@{repository}.service"
    run_on(host, f"systemctl start {unit}", timeout=900)
    state = run_on(host, f"systemctl show -p Result --value {unit}").stdout.strip()
    assert state == "success", run_on(host, f"journalctl -u {unit} -n 30 --no-pager").stdout


def test_kongsberg_apply_leaves_notodden_backing_up_and_logging_in(
    inventory: Inventory, display: str, password: str, timings: dict[str, float]
) -> None:
    env = {**os.environ, "REGIONHUS_OPERATOR": "pytest"}
    started = time.monotonic()
    # --full: every engine runs on Kongsberg's hosts and the shared hosts, the run that
    # stripped the other municipalities' client keys before (issue #13).
    proc = subprocess.run(
        [RH, "apply", "--yes", "--allow-dirty", "--full", "--kommune", "kongsberg"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    timings["apply --kommune kongsberg --full"] = round(time.monotonic() - started, 1)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    keys = run_on("backup1", "cat /var/lib/regionhus-backup/home/notodden/.ssh/authorized_keys")
    assert "vdi-notodden-1" in keys.stdout
    backup_succeeds("vdi-notodden-1", "notodden")
    backup_succeeds("dc2", "region")
    ensure_user(NOTODDEN_USER, password, inventory)
    try:
        verdict = rdp_login(display, inventory, "vdi-notodden-1", NOTODDEN_USER.name, password)
        assert verdict.allowed, verdict.evidence
    finally:
        samba("user", "disable", NOTODDEN_USER.name, check=False)
