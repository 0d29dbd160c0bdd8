"""The backup server's no-change apply on the live lab: whole play and repository tasks.

Not part of the test run. Under the lab lock, from a checkout (cwd or REGIONHUS_ROOT
names the roles measured: /work/main for the role before, a worktree for after):

    flock /tmp/regionhus-lab.lock env REGIONHUS_KEEP_LAB=1 \
        .venv/bin/python bench/backup_server_lab.py [rounds]

Runs `ansible-playbook playbooks/backup.yml --limit backup1` (an apply, nothing to
change on a converged lab) `rounds` times (default 2) and prints, per round, the whole
ansible-playbook's wall time and the time of the per-repository work: from each
repository task's start event to its result on backup1 (the regionhus_plan callback),
summed: the ten loops of the role before (nine tasks, the timers' loop runs twice per
repository), the one `borg_server_repositories` call after. Asserts nothing changed on
backup1. Appends to bench/backup-server-lab-results.json (or BACKUP_BENCH_RESULTS).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
RESULTS = Path(
    os.environ.get("BACKUP_BENCH_RESULTS", HERE / "bench" / "backup-server-lab-results.json")
)
HOST = "backup1"
TASKS = (
    # before: one module call per repository each
    "One system user per repository",
    "Home directory of each repository user (borg's cache and config)",
    "The .ssh directory of each repository user, owned by root",
    "Client keys, each forced to append-only borg serve on its own repository",
    "Passphrase of each repository (root only)",
    "Repository directory per municipality, owned by its user",
    "Initialise each repository (repokey-blake2) as its user",
    "Guard and prune timers per repository",
    "Guard check after every client commit (path unit per repository)",
    # after: one call
    "Every repository's user, keys, passphrase, directory, borg init and units",
)


def task_seconds(events: Path) -> dict[str, float]:
    started: dict[str, float] = {}
    found: dict[str, float] = {}
    for line in events.read_text().splitlines():
        record = json.loads(line)
        task = record.get("task")
        if record.get("host") != HOST or task not in TASKS:
            continue
        if record.get("event") == "start":
            started[task] = record["time"]
        elif task in started:
            found[task] = round(record["time"] - started.pop(task), 2)
    return found


def one_round(tmp: Path) -> dict[str, Any]:
    from regionhus.engines import run_ansible

    events = tmp / f"events-{time.monotonic_ns()}.jsonl"
    started = time.perf_counter()
    run = run_ansible("playbooks/backup.yml", limit=HOST, stream=False, events=events)
    wall = time.perf_counter() - started
    if not run.ok:
        raise SystemExit(run.output[-5000:])
    tasks = task_seconds(events)
    assert run.changed.get(HOST) == 0, run.output[-3000:]
    return {
        "wall_s": round(wall, 1),
        "repository_tasks_s": round(sum(tasks.values()), 2),
        "tasks": tasks,
        "changed": run.changed,
    }


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    from regionhus.paths import repo_root

    root = repo_root()
    os.chdir(root)
    result: dict[str, Any] = {
        "root": str(root),
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": [],
    }
    with tempfile.TemporaryDirectory(prefix="rh-backup-bench-") as tmp:
        for _ in range(rounds):
            result["rounds"].append(one_round(Path(tmp)))
    result["loadavg"] = os.getloadavg()
    print(json.dumps(result, indent=2))
    done = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*done, result], indent=2) + "\n")


if __name__ == "__main__":
    main()
