"""Runs ON the backup server (python3), fed on stdin by `regionhus kommune`; not imported.

    python3 - info   <name>   where the repository and everything around it is (JSON)
    python3 - delete <name>   stop its units, delete it and everything around it (JSON)

Paths come from the guard's own configuration (/etc/regionhus-backup/repositories.json),
so this follows the role's layout instead of repeating it.
"""

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys

# The guard's own variable (its units set it), so a test can point both at a copy.
CONFIG = os.environ.get("REGIONHUS_BACKUP_CONFIG", "/etc/regionhus-backup/repositories.json")
# Every unit the role enables per repository (backup_server_repository_units): a purge
# that left the path unit enabled kept a guard of a deleted repository watching forever.
UNITS = (
    "regionhus-borg-guard@{}.timer",
    "regionhus-borg-prune@{}.timer",
    "regionhus-borg-guard@{}.path",
)
SERVICES = ("regionhus-borg-guard@{}.service", "regionhus-borg-prune@{}.service")


def size(path: str) -> int:
    total = 0
    for top, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(top, name)).st_size
    return total


def config() -> dict:
    with open(CONFIG) as handle:
        return json.load(handle)


def info(name: str) -> dict:
    conf = config()
    repo = conf["repositories"].get(name) or {}
    path = repo.get("path") or os.path.join("/srv/backup", name)
    user = repo.get("user") or "borg-" + name
    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        home = None
    things = {
        "repository": path if os.path.isdir(path) else None,
        "home": home if home and os.path.isdir(home) else None,
        "passphrase": os.path.join(conf["passphrase_dir"], name),
        "state": os.path.join(conf["state_dir"], name + ".json"),
        "state_lock": os.path.join(conf["state_dir"], name + ".lock"),
        "alert": os.path.join(conf["alert_dir"], name + ".json"),
    }
    if conf.get("textfile_dir"):
        # The guard's verdict for monitoring: left behind, it would be scraped forever.
        things["textfile"] = os.path.join(conf["textfile_dir"], f"regionhus_backup_{name}.prom")
    files = {k: v for k, v in things.items() if v and os.path.exists(v)}
    units = [
        u.format(name)
        for u in UNITS
        if subprocess.run(["systemctl", "is-enabled", "--quiet", u.format(name)]).returncode == 0
    ]
    return {
        "name": name,
        "configured": name in conf["repositories"],
        "state": repo.get("state"),
        "path": path,
        "user": user if home is not None else None,
        "bytes": size(path) if os.path.isdir(path) else 0,
        "files": files,
        "units": units,
    }


def delete(name: str) -> dict:
    found = info(name)
    for unit in UNITS + SERVICES:
        subprocess.run(["systemctl", "disable", "--now", unit.format(name)], capture_output=True)
    for key in ("repository", "home"):
        if key in found["files"]:
            shutil.rmtree(found["files"][key])
    for key, path in found["files"].items():
        if key not in ("repository", "home") and os.path.exists(path):
            os.unlink(path)
    if found["user"]:
        subprocess.run(["userdel", found["user"]], check=True)
    conf = config()
    if conf["repositories"].pop(name, None) is not None:
        tmp = CONFIG + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(conf, handle, indent=4, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, CONFIG)
    return {"deleted": found}


mode, name = sys.argv[1], sys.argv[2]
print(json.dumps(info(name) if mode == "info" else delete(name)))
