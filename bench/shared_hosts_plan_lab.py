"""The issue's own yardstick on the live lab: `regionhus plan --full` of the three shared
hosts (dc1, dc2, backup1) at N municipalities, as a whole process.

Not part of the test run. The issue measured this plan at 45 s for 9 municipalities and
168 s for 60, when the directory and the backup server looped per municipality. Run it
after `bench/scale_lab.py measure N` and `bench/backup_server_scale_lab.py measure N`
have put N municipalities on the DCs and the backup server (so the plan finds nothing
to change), under the lab lock:

    flock /tmp/regionhus-lab.lock .venv/bin/python bench/shared_hosts_plan_lab.py 357 [runs]

It builds the same region copy (the checkout's plus N - 9 generated municipalities)
and vault copy as the backup bench, runs `regionhus --root <copy> plan --full --host dc1
--host dc2 --host backup1` `runs` times (default 2), requires exit 0 (nothing to
change) and appends the wall times to bench/shared-hosts-plan-lab-results.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backup_server_scale_lab import vault_copy
from scale_lab import REPO, make_root

HERE = Path(__file__).resolve().parent.parent
RESULTS = HERE / "bench" / "shared-hosts-plan-lab-results.json"
HOSTS = ("dc1", "dc2", "backup1")


def commit(root: Path) -> None:
    """plan names the commit it saw: make the copy a git checkout of its own."""
    git = ["git", "-C", str(root), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "region"], check=True)


def plan(root: Path) -> dict[str, Any]:
    argv = [str(REPO / ".venv" / "bin" / "regionhus"), "--root", str(root), "plan", "--full"]
    for host in HOSTS:
        argv += ["--host", host]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"plan exit {proc.returncode}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}"
        )
    return {"wall_s": round(wall, 1), "exit": proc.returncode}


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 64
    total = int(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with tempfile.TemporaryDirectory(prefix=f"rh-shared-plan-{total}-") as tmp:
        (Path(tmp) / "region").mkdir()
        root = make_root(Path(tmp) / "region", total)
        vault_copy(root, Path(tmp))
        commit(root)
        result: dict[str, Any] = {
            "n": total,
            "hosts": list(HOSTS),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": [plan(root) for _ in range(runs)],
            "loadavg": os.getloadavg(),
        }
    print(json.dumps(result))
    done = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*done, result], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
