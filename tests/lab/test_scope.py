"""Scoped plans and applies never touch another municipality (issue #13), on the lab.

On the region the session has applied:

- `plan --kommune K` lists no change to another municipality's data on a shared host;
- `plan --host H` succeeds alone, a backup client alone included;
- `plan --changed-since` with a change to only K's file lists changes only for K's
  hosts and the shared hosts' K-parts;
- an apply scoped to Kongsberg that runs every engine on its hosts and the shared hosts
  leaves Notodden's and the region's backups running and Notodden's pool taking logins.

Lean by construction (lab time is CI time):

- Every municipality's scope is computed here, with the CLI's own function, and must be
  its hosts and the shared hosts (services only there): cheap, so for all of them.
- The engines run (dry) on the shared hosts of two real scopes, not once per
  municipality: `--changed-since` plans of a municipality with VDI hosts and a server
  (Notodden) and of one with a server (Tinn) have those municipalities' scopes. Every
  municipality is judged on the plan of the smallest of the two whose own hosts' roles
  include all of its own (Kongsberg on Notodden's; the others, those without hosts of
  their own too, on Tinn's): the shared hosts run with such hosts beside them.
- `--full` where nothing changed: the engines run, not the converged records' shortcut
  (a changed file changes the fingerprint of every host in its scope: the engines run
  there anyway, asserted).
- `plan --host H --full` for each shared host alone, and for the first host of each
  other role together (backup clients without the backup server and the DCs they need).
- The plans run a few at a time, each with a timeout that says which one hung.

REGIONHUS_SCOPE_SAMPLE=all runs the whole matrix instead (`plan --kommune K --full` per
municipality, `plan --host H --full` per host), e.g. after changing
regionhus/plan/scope.py or a shared host's role.
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
from logins import ensure_ad_user, rdp_login, retire_ad_user

from regionhus.inventory import REGION, Inventory
from regionhus.lab import run_on
from regionhus.paths import repo_root
from regionhus.plan.cli import build_scope
from regionhus.plan.guard import concerned
from regionhus.plan.model import Change, Kind, Layer, Status

pytestmark = pytest.mark.lab

RH = str(Path(sys.executable).parent / "regionhus")
PARALLEL = 3  # plans at once: the control machine's two cores are the limit
PLAN_TIMEOUT = 900  # seconds for one plan (a few minutes at most on a loaded lab)
# The shared hosts that hold something of every municipality: the DCs (its OU), the
# backup server (its repository), the gateway (its pool), monitoring (its probes, alerts).
SHARED = {"dc1", "dc2", "backup1", "gw1", "mon1"}
NOTODDEN_USER = "vdis-notodden"
DESCRIPTION = "regionhus scope test user (tests/lab/test_scope.py)"
SAMPLE_ALL = os.environ.get("REGIONHUS_SCOPE_SAMPLE") == "all"


def plan(*args: str, root: Path | None = None) -> tuple[int, dict[str, Any], float]:
    """Exit code, JSON report (empty when none was printed) and seconds of one plan."""
    env = {**os.environ, "REGIONHUS_OPERATOR": "pytest"}
    if root is not None:
        env["REGIONHUS_ROOT"] = str(root)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [RH, "plan", "--format", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=root,
            check=False,
            timeout=PLAN_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        # Said, with what it printed, instead of the whole job's timeout and no output.
        stderr = exc.stderr or ""
        stderr = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
        return -1, {"errors": [f"no answer in {PLAN_TIMEOUT} s: {stderr[-3000:]}"], "hosts": {}}, 0
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


def own_hosts(inventory: Inventory, slug: str) -> set[str]:
    return {h.name for h in inventory.hosts if h.serves == slug}


def kind_of_scope(inventory: Inventory, slug: str) -> frozenset[str]:
    """What the engines meet beyond the shared hosts: the roles of the municipality's
    own hosts (none, a server, VDI hosts and a server)."""
    return frozenset(r.value for h in inventory.hosts if h.serves == slug for r in h.roles)


def representatives(inventory: Inventory) -> dict[str, list[str]]:
    """Representative -> the municipalities judged on its plan. A municipality is judged
    on the plan of the smallest changed municipality whose own hosts' roles include all
    of its own (its --changed-since plan has its scope: the shared hosts, run with such
    hosts beside them); one no changed municipality covers gets a plan of its own. With
    SAMPLE_ALL every municipality has its own."""
    slugs = sorted(inventory.config.kommuner)
    if SAMPLE_ALL:
        return {slug: [slug] for slug in slugs}
    changed = sorted(CHANGED, key=lambda c: (len(kind_of_scope(inventory, c)), c))
    found: dict[str, list[str]] = {}
    for slug in slugs:
        kind = kind_of_scope(inventory, slug)
        rep = next((c for c in changed if kind <= kind_of_scope(inventory, c)), slug)
        found.setdefault(rep, []).append(slug)
    return found


def host_plans(inventory: Inventory) -> list[tuple[str, ...]]:
    """The --host plans: each shared host alone; the others (backup clients, each without
    the backup server and the DCs it needs) the first of each role, in one plan (none
    holds anything another needs). Every host alone with SAMPLE_ALL."""
    names = sorted(h.name for h in inventory.hosts)
    if SAMPLE_ALL:
        return [(name,) for name in names]
    first: dict[tuple[str, ...], str] = {}
    for name in names:
        roles = tuple(sorted(r.value for r in inventory.host(name).roles))
        first.setdefault(roles, name)
    sampled = sorted(first.values())
    return [(h,) for h in sampled if h in SHARED] + [tuple(h for h in sampled if h not in SHARED)]


def host_plan_name(hosts: tuple[str, ...]) -> str:
    return " ".join(f"--host {h}" for h in hosts)


def kommune_plan_name(rep: str) -> str:
    return f"--changed-since ({rep})" if rep in CHANGED else f"--kommune {rep}"


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
    """Every plan of the property, a few at a time: name -> (exit code, JSON). --full
    where nothing changed (the engines run, not the converged records' shortcut); a
    changed file changes the fingerprint of every host in its scope, so --changed-since
    plans run the engines there without it (asserted)."""
    jobs: dict[str, tuple[tuple[str, ...], Path | None]] = {}
    for rep in representatives(inventory):
        if rep not in CHANGED:
            jobs[kommune_plan_name(rep)] = (("--kommune", rep, "--full"), None)
    for hosts in host_plans(inventory):
        args = tuple(a for h in hosts for a in ("--host", h))
        jobs[host_plan_name(hosts)] = ((*args, "--full"), None)
    for slug in CHANGED:
        root = changed_copy(tmp_path_factory.mktemp(f"scope-{slug}"), slug)
        jobs[kommune_plan_name(slug)] = (("--changed-since", "HEAD"), root)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {name: pool.submit(plan, *args, root=root) for name, (args, root) in jobs.items()}
        results = {name: future.result() for name, future in futures.items()}
    timings["all plans (wall)"] = round(time.monotonic() - started, 1)
    for name, (_, _, took) in results.items():
        timings[name] = round(took, 1)
    return {name: (code, data) for name, (code, data, _) in results.items()}


def test_every_municipalitys_scope_is_its_hosts_and_the_shared_hosts(
    inventory: Inventory,
) -> None:
    """The scope the CLI computes, for every municipality (no engine: milliseconds)."""
    for slug in inventory.config.kommuner:
        scope, limited = build_scope(inventory.config.root, inventory, (slug,), ())
        assert limited and scope.kommuner == frozenset({slug}), slug
        assert set(scope.hosts) == own_hosts(inventory, slug) | SHARED, slug
        for host, entry in scope.hosts.items():
            want = {Layer.SERVICES} if host in SHARED else {Layer.BASE, Layer.SERVICES}
            assert entry.layers == want, (slug, host, entry.layers)


def engines_ran_on_the_shared_hosts(name: str, data: dict[str, Any]) -> None:
    hosts = data["hosts"]
    skipped = sorted(h for h in SHARED if hosts.get(h, {}).get("checked") != "engines")
    assert not skipped, f"{name}: the engines skipped {skipped}: this plan proves nothing there"


def test_kommune_plans_leave_other_municipalities_alone(plans, inventory: Inventory) -> None:  # type: ignore[no-untyped-def]
    for rep, members in representatives(inventory).items():
        name = kommune_plan_name(rep)
        code, data = plans[name]
        succeeded(name, code, data)
        engines_ran_on_the_shared_hosts(name, data)
        assert set(data["hosts"]) == own_hosts(inventory, rep) | SHARED, name
        assert data["scope_findings"] == [], name
        # Nothing on a shared host concerns anyone but the representative (a changed
        # one has its own change there): so, for each member, no one else either.
        assert about_others(data, inventory, rep) == [], f"{name} (for {members})"


def test_every_host_alone_plans(plans, inventory: Inventory) -> None:  # type: ignore[no-untyped-def]
    for hosts in host_plans(inventory):
        name = host_plan_name(hosts)
        code, data = plans[name]
        succeeded(name, code, data)
        assert set(data["hosts"]) == set(hosts), name
        assert all(data["hosts"][h]["checked"] == "engines" for h in hosts), name
        assert data["scope_findings"] == [], name


@pytest.mark.parametrize("kommune", CHANGED)
def test_changed_since_plans_only_the_changed_municipality(
    kommune: str, plans, inventory: Inventory
) -> None:  # type: ignore[no-untyped-def]
    code, data = plans[f"--changed-since ({kommune})"]
    succeeded(f"--changed-since ({kommune})", code, data)
    engines_ran_on_the_shared_hosts(f"--changed-since ({kommune})", data)
    assert set(data["hosts"]) == own_hosts(inventory, kommune) | SHARED
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
    ensure_ad_user(
        NOTODDEN_USER,
        kommune="notodden",
        description=DESCRIPTION,
        password=password,
        inventory=inventory,
        groups=["notodden-vdi-users"],
    )
    try:
        verdict = rdp_login(display, inventory, "vdi-notodden-1", NOTODDEN_USER, password)
        assert verdict.allowed, verdict.evidence
    finally:
        retire_ad_user(NOTODDEN_USER, ["notodden-vdi-users"])
