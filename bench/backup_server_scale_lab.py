"""Scale bench on the live lab: the backup server at 9, 50, 150 and 357 municipalities.

Not part of the test run; it adds repositories to the shared lab's backup server for a
while and takes them away again. Run each step under the lab lock:

    flock /tmp/regionhus-lab.lock .venv/bin/python bench/backup_server_scale_lab.py measure 9
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/backup_server_scale_lab.py measure 50
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/backup_server_scale_lab.py measure 150
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/backup_server_scale_lab.py measure 357
    flock /tmp/regionhus-lab.lock .venv/bin/python bench/backup_server_scale_lab.py cleanup

`measure N` builds a copy of the checkout's region with N - 9 generated municipalities
(bench/scale.py's, each with backup; bench/scale_lab.py's copy) and a copy of the lab's
region vault with a passphrase for each of them (derived from its name, the same in every
run) (the real vault is not
touched: REGIONHUS_VAULT_FILE names the copy). Then it runs the real backup play on
backup1:

1. an apply that creates the repositories that are missing (user, home, keys,
   passphrase, directory, `borg init`, three units each; timed, not a goal),
2. a no-change plan (`--check --diff`) twice and 3. a no-change apply, each asserted to
   change nothing, each timed as a whole `ansible-playbook` and for the one repository
   task alone (from the regionhus_plan callback's start and result events),

counts the repository units and timers on backup1, and times what the guard timers do
every quarter-hour: `regionhus-borg-guard check` of every repository, one after the other.
Figures are appended to bench/backup-server-scale-lab-results.json.

`cleanup` stops and disables every generated repository's units and deletes its user,
home, repository, passphrase file and the guard's state, alert and textfile; the
region's own repositories are untouched. Then the real backup play on backup1 puts
repositories.json back, and `regionhus plan --host backup1` must show nothing to do.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_lab import REPO, make_root, run_cli, timed_play

HERE = Path(__file__).resolve().parent.parent
RESULTS = HERE / "bench" / "backup-server-scale-lab-results.json"
HOST = "backup1"
TASK = "Every repository's user, keys, passphrase, directory, borg init and units"
# bench/scale.py names the generated municipalities k0001 ... k0348.
GENERATED = "k[0-9][0-9][0-9][0-9]"

COUNT_UNITS = r"""
units=$(systemctl list-units --all --no-legend --plain 'regionhus-borg-*@*' | wc -l)
timers=$(systemctl list-units --all --no-legend --plain 'regionhus-borg-*@*.timer' | wc -l)
paths=$(systemctl list-units --all --no-legend --plain 'regionhus-borg-*@*.path' | wc -l)
repos=$(find /srv/backup -mindepth 2 -maxdepth 2 -name config | wc -l)
users=$(getent passwd | grep -c '^borg-' || true)
printf '{"units": %s, "timers": %s, "paths": %s, ' "$units" "$timers" "$paths"
printf '"repositories": %s, "users": %s}\n' "$repos" "$users"
"""


# What the guard timers do every quarter-hour (each repository within a 60 s window),
# here one after the other: the wall and CPU seconds of checking every repository once.
GUARD_ROUND = r"""
names=$(getent passwd | sed -n 's/^borg-\([^:]*\):.*/\1/p')
TIMEFORMAT='%R %U %S'
{ time (for n in $names; do
    REGIONHUS_BACKUP_CONFIG=/etc/regionhus-backup/repositories.json \
      /usr/local/sbin/regionhus-borg-guard check "$n" >/dev/null
  done) ; } 2>&1 | tail -1
echo "$names" | wc -w
"""


def guard_round() -> dict[str, float]:
    from regionhus.lab import run_on

    timing, count = run_on(HOST, GUARD_ROUND, timeout=1800).stdout.split("\n")[-3:-1]
    wall, user, system = (float(x) for x in timing.split())
    return {"repositories": int(count), "wall_s": wall, "cpu_s": round(user + system, 2)}


def vault_copy(root: Path, tmp: Path) -> Path:
    """The lab's region vault plus a passphrase per generated repository, in tmp."""
    from regionhus.config import load_region
    from regionhus.secrets import (
        REGION,
        _write,
        ensure_lab_vault,
        lab_vault_file,
        read_one,
        vault_file,
    )

    for env, source in (
        ("REGIONHUS_VAULT_FILE", vault_file()),
        ("REGIONHUS_LAB_VAULT_FILE", lab_vault_file()),
    ):
        copy = tmp / source.name
        shutil.copy(source, copy)
        os.environ[env] = str(copy)
    path = ensure_lab_vault(load_region(root))
    # The same passphrase for a generated repository in every run: a later run (a larger
    # N, the shared hosts' plan) must find the files the earlier one wrote unchanged.
    data = read_one(REGION)
    passphrases = data["vault_backup_passphrases"]
    for name in passphrases:
        if re.fullmatch(r"k\d{4}", name):
            passphrases[name] = "bench-" + hashlib.sha256(name.encode()).hexdigest()
    _write(REGION, data)
    return path


def play(root: Path, check: bool, tmp: Path) -> dict[str, Any]:
    return timed_play(root, "playbooks/backup.yml", HOST, (TASK,), check, tmp)


def counts() -> dict[str, int]:
    from regionhus.lab import run_on

    return json.loads(run_on(HOST, COUNT_UNITS).stdout.strip().splitlines()[-1])


def measure(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"rh-backup-scale-{total}-") as tmp:
        (Path(tmp) / "region").mkdir()
        root = make_root(Path(tmp) / "region", total)
        vault_copy(root, Path(tmp))
        result: dict[str, Any] = {
            "n": total,
            "repo": str(REPO),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "first_apply": play(root, check=False, tmp=Path(tmp)),
        }
        for name, check in (("plan", True), ("plan_again", True), ("apply", False)):
            result[name] = play(root, check=check, tmp=Path(tmp))
            assert result[name]["changed"].get(HOST) == 0, result
        result["on_host"] = counts()
        result["guard_rounds"] = [guard_round(), guard_round()]
        result["loadavg"] = os.getloadavg()
    print(json.dumps(result))
    done = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(json.dumps([*done, result], indent=2) + "\n")
    return result


CLEANUP = rf"""
set -e
names=$(getent passwd | sed -n 's/^borg-\({GENERATED}\):.*/\1/p')
units=""
for n in $names; do
  units="$units regionhus-borg-guard@$n.timer regionhus-borg-prune@$n.timer"
  units="$units regionhus-borg-guard@$n.path regionhus-borg-guard@$n.service"
  units="$units regionhus-borg-prune@$n.service"
done
if [ -n "$units" ]; then
  systemctl disable --now $units >/dev/null 2>&1 || true
  systemctl reset-failed $units >/dev/null 2>&1 || true
fi
for n in $names; do
  userdel "borg-$n"
  rm -rf "/var/lib/regionhus-backup/home/$n" "/srv/backup/$n" \
    "/etc/regionhus-backup/passphrases/$n" \
    "/var/lib/regionhus-backup/state/$n.json" "/var/lib/regionhus-backup/state/$n.lock" \
    "/var/lib/regionhus-backup/alerts/$n.json" \
    "/var/lib/prometheus/node-exporter/regionhus_backup_$n.prom"
done
echo "removed $(echo $names | wc -w)"
"""


def cleanup() -> None:
    from regionhus.lab import run_on

    print(run_on(HOST, CLEANUP, timeout=1800).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="rh-backup-scale-cleanup-") as tmp:
        # The region's own play puts repositories.json (all repositories) back.
        put_back = play(REPO, check=False, tmp=Path(tmp))
    print(f"backup play of the region on {HOST}: changed {put_back['changed'].get(HOST)}")
    print(f"left on {HOST}: {counts()}")
    plan = subprocess.run(
        [str(REPO / ".venv" / "bin" / "regionhus"), "plan", "--host", HOST],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    print(plan.stdout[-2000:])
    print(f"regionhus plan --host {HOST}: exit {plan.returncode}")


if __name__ == "__main__":
    sys.exit(run_cli(measure, cleanup, __doc__))
