"""The apply lock: two operators cannot apply to the same hosts at once.

`state_dir()/apply.lock` holds a JSON list of holders (who, pid, since, hosts). Each
change to the list is made under an fcntl lock on the file, so claims never race;
a claim whose process is gone (crash, kill -9) is dropped by the next apply, which says
so on stderr, naming the old holder. Applies to disjoint hosts may run side by side.

A pid alone does not prove the holder lives: after a crash the kernel may give the
same pid to any later process (an editor, a shell, another apply). Each claim records
its process's start time (`/proc/<pid>/stat`, clock ticks since boot) and the boot id,
so a claim whose pid now belongs to another process, or that was made before a reboot,
is stale too.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from regionhus.errors import RegionhusError
from regionhus.paths import state_dir


class LockHeld(RegionhusError):
    exit_code = 1

    def __init__(self, holder: dict[str, Any], overlap: list[str]) -> None:
        self.holder = holder
        super().__init__(
            f"{holder.get('who')} (pid {holder.get('pid')} on {holder.get('machine')}) has "
            f"been applying to {', '.join(overlap)} since {holder.get('since')}; wait for it "
            "to finish, or rerun with --wait"
        )


def lock_path() -> Path:
    return state_dir() / "apply.lock"


_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of
    /proc/<pid>/stat), or None when it is gone or /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(holder: dict[str, Any]) -> bool:
    if holder.get("machine") != socket.gethostname():
        return True  # another machine's claim: cannot check, respect it
    pid = int(holder["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process holds the pid: its start time decides
    recorded_boot = holder.get("boot_id")
    if recorded_boot is not None and recorded_boot != boot_id():
        return False  # claimed before a reboot: every pid since is a different process
    recorded_start = holder.get("started")
    if recorded_start is None:
        return True  # a claim from an older regionhus: the pid is all we have
    return process_start(pid) == int(recorded_start)


def stale_message(holder: dict[str, Any]) -> str:
    return (
        f"stale apply lock: {holder.get('who')} (pid {holder.get('pid')} on "
        f"{holder.get('machine')}) began applying to {', '.join(holder.get('hosts', []))} "
        f"at {holder.get('since')} and that process is gone (killed or crashed; its pid may "
        "now belong to another process); its claim "
        "is dropped. The hosts it reached have no converged record, so this run sends them "
        "through the engines again; check its apply record (none if it was killed)."
    )


@contextmanager
def _locked_holders(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The live holders, under an exclusive fcntl lock; changes are written back.
    Dead holders are dropped and named on stderr (the operator sees who was killed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            text = handle.read().strip()
            found = json.loads(text) if text else []
            holders = [h for h in found if _alive(h)]
            for holder in found:
                if holder not in holders:
                    print(stale_message(holder), file=sys.stderr, flush=True)
            yield holders
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(holders, indent=2) + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def holders() -> list[dict[str, Any]]:
    with _locked_holders(lock_path()) as current:
        return list(current)


def _claim(who: str, hosts: list[str], path: Path) -> dict[str, Any]:
    mine = {
        "who": who,
        "pid": os.getpid(),
        "started": process_start(os.getpid()),
        "boot_id": boot_id(),
        "machine": socket.gethostname(),
        "since": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "hosts": sorted(hosts),
    }
    with _locked_holders(path) as current:
        for holder in current:
            overlap = sorted(set(holder["hosts"]) & set(hosts))
            if overlap:
                raise LockHeld(holder, overlap)
        current.append(mine)
    return mine


def _release(mine: dict[str, Any], path: Path) -> None:
    with _locked_holders(path) as current:
        current[:] = [h for h in current if h != mine]


@contextmanager
def apply_lock(
    who: str, hosts: list[str], *, wait: bool = False, poll: float = 2.0
) -> Iterator[dict[str, Any]]:
    """Hold `hosts` for the duration; raise LockHeld (or wait, with `wait`)."""
    path = lock_path()
    announced = False
    while True:
        try:
            mine = _claim(who, hosts, path)
            break
        except LockHeld as held:
            if not wait:
                raise
            if not announced:
                print(f"waiting: {held}", flush=True)
                announced = True
            time.sleep(poll)
    try:
        yield mine
    finally:
        _release(mine, path)
