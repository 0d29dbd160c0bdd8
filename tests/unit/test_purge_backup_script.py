"""What `kommune purge` runs on the backup server (regionhus/kommune/backup_script.py):
it finds and deletes everything the role made around one repository, and nothing of
another municipality's. Run as on the host (a python3 process, config from the guard's
variable), with `systemctl` and `userdel` replaced by recorders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from regionhus.kommune.purge import leftovers

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "regionhus" / "kommune" / "backup_script.py"
ROLE_UNITS = yaml.safe_load((ROOT / "roles/backup_server/defaults/main.yml").read_text())[
    "backup_server_repository_units"
]

# Answers `is-enabled` like systemd for what the role enabled; records every call.
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
if [ "$1" = is-enabled ]; then
  for unit in $FAKE_ENABLED; do [ "$unit" = "$3" ] && exit 0; done
  exit 1
fi
exit 0
"""


def host(tmp_path: Path) -> dict[str, Path]:
    dirs = {n: tmp_path / n for n in ("srv", "pass", "state", "alerts", "textfiles", "bin")}
    for d in dirs.values():
        d.mkdir()
    config = {
        "passphrase_dir": str(dirs["pass"]),
        "state_dir": str(dirs["state"]),
        "alert_dir": str(dirs["alerts"]),
        "textfile_dir": str(dirs["textfiles"]),
        "repositories": {
            name: {"path": str(dirs["srv"] / name), "user": f"borg-{name}", "state": "ended"}
            for name in ("proveby", "tinn")
        },
    }
    for name in ("proveby", "tinn"):
        (dirs["srv"] / name).mkdir()
        (dirs["srv"] / name / "config").write_text("[repository]\n")
        (dirs["pass"] / name).write_text("secret\n")
        (dirs["state"] / f"{name}.json").write_text("{}")
        (dirs["textfiles"] / f"regionhus_backup_{name}.prom").write_text("x 1\n")
    dirs["config"] = tmp_path / "repositories.json"
    dirs["config"].write_text(json.dumps(config))
    for tool, text in (("systemctl", FAKE_SYSTEMCTL), ("userdel", "#!/bin/sh\nexit 0\n")):
        (dirs["bin"] / tool).write_text(text)
        (dirs["bin"] / tool).chmod(0o755)
    return dirs


def run(dirs: dict[str, Path], mode: str, name: str, enabled: str = "") -> dict:
    env = {
        **os.environ,
        "PATH": f"{dirs['bin']}:{os.environ['PATH']}",
        "REGIONHUS_BACKUP_CONFIG": str(dirs["config"]),
        "FAKE_LOG": str(dirs["bin"] / "calls"),
        "FAKE_ENABLED": enabled,
    }
    proc = subprocess.run(
        [sys.executable, "-", mode, name],
        input=SCRIPT.read_text(),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_purge_knows_every_unit_the_role_enables_per_repository(tmp_path: Path) -> None:
    dirs = host(tmp_path)
    wanted = [t.replace("@.", "@proveby.", 1) for t in ROLE_UNITS]
    found = run(dirs, "info", "proveby", enabled=" ".join(wanted))
    assert sorted(found["units"]) == sorted(wanted)


def test_delete_stops_every_unit_and_removes_the_textfile_of_that_repository_only(
    tmp_path: Path,
) -> None:
    dirs = host(tmp_path)
    run(dirs, "delete", "proveby")
    calls = (dirs["bin"] / "calls").read_text().splitlines()
    for template in ROLE_UNITS:
        unit = template.replace("@.", "@proveby.", 1)
        assert f"disable --now {unit}" in calls, calls
    assert not any("tinn" in call for call in calls), calls
    assert not (dirs["textfiles"] / "regionhus_backup_proveby.prom").exists()
    assert not (dirs["srv"] / "proveby").exists()
    assert not (dirs["pass"] / "proveby").exists()
    # The other municipality's repository, secret, state and monitoring stay.
    for path in (
        dirs["srv"] / "tinn" / "config",
        dirs["pass"] / "tinn",
        dirs["state"] / "tinn.json",
        dirs["textfiles"] / "regionhus_backup_tinn.prom",
    ):
        assert path.exists(), path
    assert list(json.loads(dirs["config"].read_text())["repositories"]) == ["tinn"]


def test_a_purge_acts_when_only_an_enabled_unit_is_left() -> None:
    """An interrupted purge may leave only a unit: it is still something to delete."""
    nothing = {"files": {}, "user": None, "units": [], "configured": False}
    assert not leftovers(nothing)
    assert leftovers({**nothing, "units": ["regionhus-borg-guard@proveby.path"]})
