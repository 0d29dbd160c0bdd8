"""Scale bench on the live lab: the directory at 9, 50, 150 and 357 municipalities.

Not part of the test run; it changes the shared lab's DCs for a while and puts them
back. Run each step under the lab lock, one slice at a time (other engineers need it):

    flock /tmp/regionhus-lab.lock .venv/bin/python bench/scale_lab.py measure 50
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/scale_lab.py measure 150
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/scale_lab.py measure 357
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/scale_lab.py cleanup

`measure N` builds a copy of the checkout's region (kommuner/ and inventory/ copied,
everything else linked, as tests/lab/test_kommune_lifecycle.py does) with N - 9
generated municipalities (bench/scale.py's: active, two operators each), then runs the
real directory play on dc1 (the primary; dc2 gets the objects by replication):

1. an apply that creates whatever of the N is missing (timed, not a goal),
2. a no-change plan (`--check --diff`) and 3. a no-change apply, each asserted to change
   nothing, each timed as a whole `ansible-playbook` and for the one tenants task alone
   (from the regionhus_plan callback's start and result events).

Figures are appended to bench/scale-lab-results.json. `cleanup` deletes every generated
municipality's OU (with its users and groups) on dc1, waits until dc2 has none either,
and removes their directory records from the state dir; the region's own objects are
untouched. Then `regionhus plan --host dc1 --host dc2` must show nothing to do.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import kommune_yaml

HERE = Path(__file__).resolve().parent.parent
# SCALE_LAB_REPO: another checkout's roles and plays (a worktree of an older commit, to
# measure the role as it was); the figures still go to this checkout's bench/.
REPO = Path(os.environ.get("SCALE_LAB_REPO", HERE)).resolve()
RESULTS = HERE / "bench" / "scale-lab-results.json"
SHIPPED = 9
# The tenants task(s) on dc1: one since the batched module, two (the regional unit, a
# loop over the municipalities) before it.
TASKS = (
    "The region's and each municipality's OU, operators, groups and delegation",
    "Regional OU, regional operators and their group (delegated on all municipalities)",
    "Municipality's OU, operators, groups and delegation (ended; accounts disabled)",
)
GENERATED_OU = "Kommune "  # bench/scale.py names them "Kommune 0001", ...


def make_root(target: Path, total: int) -> Path:
    """The checkout's region plus total - 9 generated municipalities."""
    for entry in REPO.iterdir():
        if entry.name not in ("kommuner", "inventory", ".git"):
            (target / entry.name).symlink_to(entry)
    for copied in ("kommuner", "inventory"):
        shutil.copytree(REPO / copied, target / copied)
    for n in range(1, total - SHIPPED + 1):
        (target / "kommuner" / f"k{n:04d}.yml").write_text(kommune_yaml(n))
    return target


def task_seconds(events: Path, host: str, tasks: tuple[str, ...]) -> float | None:
    """The given task(s) on host: from each start event to its result, summed."""
    started: dict[str, float] = {}
    total, seen = 0.0, False
    for line in events.read_text().splitlines():
        record = json.loads(line)
        task = record.get("task")
        if record.get("host") != host or task not in tasks:
            continue
        if record.get("event") == "start":
            started[task] = record["time"]
        elif task in started:
            total += record["time"] - started.pop(task)
            seen = True
    return round(total, 2) if seen else None


def timed_play(
    root: Path, playbook: str, host: str, tasks: tuple[str, ...], check: bool, tmp: Path
) -> dict[str, Any]:
    """One whole ansible-playbook on host (a dry run with diff when check): its wall
    time, the time of `tasks` alone, and what it changed per host."""
    from regionhus.engines import run_ansible

    os.environ["REGIONHUS_ROOT"] = str(root)
    events = tmp / f"events-{time.monotonic_ns()}.jsonl"
    started = time.perf_counter()
    run = run_ansible(playbook, check=check, diff=check, limit=host, stream=False, events=events)
    wall = time.perf_counter() - started
    if not run.ok:
        raise SystemExit(run.output[-5000:])
    return {
        "wall_s": round(wall, 1),
        "task_s": task_seconds(events, host, tasks),
        "changed": run.changed,
    }


def play(root: Path, check: bool, tmp: Path) -> dict[str, Any]:
    return timed_play(root, "playbooks/directory.yml", "dc1", TASKS, check, tmp)


def measure(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"rh-scale-lab-{total}-") as tmp:
        (Path(tmp) / "region").mkdir()
        root = make_root(Path(tmp) / "region", total)
        result: dict[str, Any] = {
            "n": total,
            "repo": str(REPO),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        steps: tuple[tuple[str, bool], ...] = (
            ("plan", True),
            ("plan_again", True),
            ("apply", False),
        )
        if os.environ.get("SCALE_LAB_ONLY_PLAN"):
            # The old role, on municipalities the new one made: a no-change plan only.
            steps = (("plan", True),)
        else:
            result["first_apply"] = play(root, check=False, tmp=Path(tmp))
        for name, check in steps:
            result[name] = play(root, check=check, tmp=Path(tmp))
            assert result[name]["changed"].get("dc1") == 0, result
        result["loadavg"] = os.getloadavg()
    print(json.dumps(result))
    done = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*done, result], indent=2) + "\n")
    return result


CLEANUP = r"""
set -e
sam=/var/lib/samba/private/sam.ldb
base=$(ldbsearch -H $sam -s base -b '' defaultNamingContext | sed -n 's/^defaultNamingContext: //p')
ldbsearch -H $sam -b "OU=Kommuner,$base" -s one '(ou=Kommune 0*)' dn \
  | sed -n 's/^dn: //p' > /root/bench-generated.txt
while read -r dn; do ldbdel -H $sam -r "$dn" >/dev/null; done < /root/bench-generated.txt
echo "deleted $(wc -l < /root/bench-generated.txt)"
rm -f /root/bench-generated.txt
"""
REMAINING = (
    'ldbsearch -H /var/lib/samba/private/sam.ldb -b "$(ldbsearch -H '
    "/var/lib/samba/private/sam.ldb -s base -b '' defaultNamingContext | "
    "sed -n 's/^defaultNamingContext: //p')\" '(|(ou=Kommune 0*)(sAMAccountName=k0*))' dn "
    "| grep -c '^dn: ' || true"
)


def cleanup() -> None:
    from regionhus.lab import run_on
    from regionhus.paths import records_dir

    print(run_on("dc1", CLEANUP).stdout.strip())
    for _ in range(60):
        left = {dc: int(run_on(dc, REMAINING).stdout.strip() or 0) for dc in ("dc1", "dc2")}
        if not any(left.values()):
            break
        time.sleep(5)
    print(f"generated objects left: {left}")
    removed = 0
    for path in (records_dir() / "directory").glob("k[0-9][0-9][0-9][0-9].json"):
        path.unlink()
        removed += 1
    print(f"directory records removed: {removed}")


def run_cli(
    measure: Callable[[int], object], cleanup: Callable[[], None], usage: str | None
) -> int:
    """`measure N` or `cleanup`; anything else prints the bench's usage."""
    if len(sys.argv) >= 3 and sys.argv[1] == "measure":
        measure(int(sys.argv[2]))
        return 0
    if len(sys.argv) == 2 and sys.argv[1] == "cleanup":
        cleanup()
        return 0
    print(usage)
    return 64


if __name__ == "__main__":
    sys.exit(run_cli(measure, cleanup, __doc__))
