"""Live progress while the engines run: which host, which task, how long so far.

Lines go to stderr (stdout stays the report, so `plan --format json > plan.json` still
works). On a terminal they are on by default; in CI (no terminal) off, unless asked for
with `--progress`; `--quiet` turns them off anywhere. Ansible's lines come from the
regionhus_plan callback's events file (a start event when a host begins a task, a result
when it ends); pyinfra's from its own log, one line per phase and per host result.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

POLL_SECONDS = 0.3

# pyinfra's log: phases ("--> Connecting to hosts...") and per-host lines
# ("    [dc1]  Success", "    [dc1]  Will modify /etc/hosts"); diff lines are indented
# deeper and left out.
PYINFRA_PHASE = re.compile(r"^--> (?P<text>.+?)\.*\s*$")
PYINFRA_HOST = re.compile(r"^ {4}\[(?P<host>[\w.-]+)\]\s+(?P<text>\S.*?)\s*$")
PYINFRA_OPERATION = re.compile(r"^--> Starting operation: (?P<text>.+?)\s*$")


def wanted(flag: bool | None, stream: TextIO | None = None) -> bool:
    """--progress (True), --quiet (False), or neither (None): on a terminal only."""
    if flag is not None:
        return flag
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """Prints progress lines with the time since `started`; does nothing when disabled."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:3d}:{seconds % 60:02d}"

    def say(self, layer: str, text: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self.stream.write(f"[{self.elapsed()}] {layer:<8} {text}\n")
            self.stream.flush()

    # --- pyinfra ---------------------------------------------------------------------

    def pyinfra_line(self, line: str) -> None:
        """One line of pyinfra's log (stderr), as it arrives."""
        if not self.enabled:
            return
        text = line.rstrip("\n")
        operation = PYINFRA_OPERATION.match(text)
        phase = PYINFRA_PHASE.match(text)
        host = PYINFRA_HOST.match(text)
        if operation:
            self.say("base", operation["text"])
        elif phase:
            self.say("base", phase["text"].lower())
        elif host:
            self.say("base", f"  {host['host']:<18} {host['text']}")

    # --- Ansible ---------------------------------------------------------------------

    @contextmanager
    def follow_ansible(self, events: Path) -> Iterator[None]:
        """Print the callback's events while the block runs (a thread tails the file)."""
        if not self.enabled:
            yield
            return
        follower = AnsibleFollower(self, events)
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            follower.stop.set()
            thread.join(timeout=5)


class AnsibleFollower:
    """Turns the callback's JSON lines into progress: a line when a task starts, one
    per host when it ends (with its status and how long that host took)."""

    def __init__(self, progress: Progress, events: Path) -> None:
        self.progress = progress
        self.events = events
        self.stop = threading.Event()
        self.task = ""
        self.began: dict[tuple[str, str], float] = {}

    def run(self) -> None:
        offset = 0
        while True:
            stopping = self.stop.is_set()
            offset = self._read_from(offset)
            if stopping:
                return
            self.stop.wait(POLL_SECONDS)

    def _read_from(self, offset: int) -> int:
        try:
            with self.events.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return offset
        # Only whole lines: the callback may be half-way through writing one.
        complete = data[: data.rfind(b"\n") + 1]
        for line in complete.decode("utf-8", errors="replace").splitlines():
            if line.strip():
                try:
                    self.show(json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
        return offset + len(complete)

    def show(self, event: dict[str, Any]) -> None:
        task = f"{event['role']} : {event['task']}" if event.get("role") else event.get("task", "")
        key = (str(event.get("host", "")), task)
        when = float(event.get("time") or time.time())
        if event.get("event") == "start":
            self.began[key] = when
            if task != self.task:
                self.task = task
                self.progress.say("services", task)
            return
        status = event.get("status", "")
        if status == "skipped":
            return
        if status == "ok" and (
            event.get("changed") or any(i.get("changed") for i in event.get("items") or [])
        ):
            status = "changed"
        took = when - self.began.pop(key, when)
        self.progress.say("services", f"  {key[0]:<18} {status} ({took:.1f} s)")
