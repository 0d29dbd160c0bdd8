"""Background processes the lab starts (nspawn, apt-cacher-ng), tracked by pid files.

The machine has no systemd to supervise them, so a pid file plus a check of the
process's command line (pids are reused) is how the lab knows what it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def tracked_pid(pidfile: Path, marker: str) -> int | None:
    """The pid in pidfile if that process is alive and its command line contains marker."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if is_zombie(pid) or not any(marker in arg for arg in cmdline(pid)):
        return None
    return pid


def start(args: Sequence[str], pidfile: Path, log: Path, user: str | None = None) -> int:
    """Start a detached process that outlives this command; record its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            user=user,
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


def reap(pid: int) -> None:
    """Collect our own child if it exited, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    reap(pid)
    return Path(f"/proc/{pid}").exists() and not is_zombie(pid)


def stop(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to timeout, then SIGKILL. True if it stopped before the kill."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(50):
        if not alive(pid):
            break
        time.sleep(0.1)
    return False


def descendants(pid: int) -> list[int]:
    """pid and every process below it (the whole container, for memory accounting)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found
