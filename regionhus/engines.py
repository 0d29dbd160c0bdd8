"""Running the two engines (Ansible for services, pyinfra for the base layer).

Both run from the checkout with the venv's binaries, the project's ansible.cfg, the
vaults (the lab's only for the lab region), and the transport's settings: for the lab
region a check that its bridge carries the route before anything connects.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regionhus.paths import repo_root, state_dir
from regionhus.secrets import lab_vault_file, vault_file, vault_identity_list

BIN = Path(sys.executable).parent
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
)


@dataclass
class EngineRun:
    command: list[str]
    returncode: int
    output: str
    changed: dict[str, int] = field(default_factory=dict)
    data: dict[str, Any] | None = None  # pyinfra --json document, when asked for
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def engine_env(source: str | None = None, events: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(repo_root() / "ansible.cfg")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    env["ANSIBLE_VAULT_IDENTITY_LIST"] = vault_identity_list(with_lab=source == "embedded")
    env["REGIONHUS_VAULT_FILE"] = str(vault_file())
    # Facts are cached per machine state, not in a path fixed in ansible.cfg.
    env["ANSIBLE_CACHE_PLUGIN"] = "jsonfile"
    env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(state_dir() / "ansible-facts")
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    # The checkout the engines read (plugins, deploys) is the one this command reads.
    env["REGIONHUS_ROOT"] = str(repo_root())
    if source:
        env["REGIONHUS_INVENTORY"] = source
    if events is not None:
        env.update(callback_env(events))
    return env


def lab_extra_vars(source: str) -> list[str]:
    """The lab vault's secrets (test users, known operator passwords): the lab only."""
    lab = lab_vault_file()
    return ["-e", f"@{lab}"] if source == "embedded" and lab.is_file() else []


def callback_env(events: Path) -> dict[str, str]:
    """Enable plugins/callback/regionhus_plan.py, writing JSON lines to `events`."""
    return {
        "ANSIBLE_CALLBACK_PLUGINS": str(repo_root() / "plugins" / "callback"),
        "ANSIBLE_CALLBACKS_ENABLED": "regionhus_plan",
        "REGIONHUS_PLAN_EVENTS": str(events),
    }


def guard_route(source: str) -> None:
    """Before an engine connects: the lab region only through the lab's bridge."""
    if source != "embedded":
        return
    from regionhus.inventory import load_inventory
    from regionhus.transport import transport_for

    inventory = load_inventory(source=source)
    transport = transport_for(inventory)
    for host in inventory.hosts:
        transport.require_route(host.name)


def _run(command: list[str], env: dict[str, str], stream: bool) -> tuple[int, str]:
    proc = subprocess.Popen(
        command,
        cwd=repo_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if stream:
            sys.stdout.write(line)
    return proc.wait(), "".join(lines)


def run_ansible(
    playbook: str,
    *,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    source: str = "embedded",
    stream: bool = True,
    extra: list[str] | None = None,
    events: Path | None = None,
) -> EngineRun:
    """`events`: a file the regionhus_plan callback fills with one JSON line per result."""
    guard_route(source)
    command = [str(BIN / "ansible-playbook"), playbook]
    command += ["--check"] if check else []
    command += ["--diff"] if diff else []
    command += ["--limit", limit] if limit else []
    command += lab_extra_vars(source)
    command += extra or []
    code, output = _run(command, engine_env(source, events), stream)
    changed = {m["host"]: int(m["changed"]) for m in map(RECAP.match, output.splitlines()) if m}
    return EngineRun(command, code, output, changed)


def run_pyinfra(
    deploy: str,
    *,
    dry: bool = False,
    limit: str | None = None,
    source: str = "embedded",
    stream: bool = True,
) -> EngineRun:
    guard_route(source)
    command = [str(BIN / "pyinfra"), "-y", "--no-wait"]
    command += ["--dry"] if dry else []
    command += _pyinfra_limit(limit)
    command += ["inventory/pyinfra_inventory.py", deploy]
    code, output = _run(command, engine_env(source), stream)
    if code == 0 and PYINFRA_FAILED.search(output):
        # pyinfra can exit 0 after an operation failed on some hosts; never report
        # a partly applied layer as success.
        code = 1
    return EngineRun(command, code, output, parse_pyinfra_changes(output))


def _pyinfra_limit(limit: str | None) -> list[str]:
    """pyinfra takes one --limit per host or group (Ansible takes a comma list)."""
    return [arg for name in (limit or "").split(",") if name for arg in ("--limit", name)]


def run_pyinfra_json(
    deploy: str,
    *,
    dry: bool,
    limit: str | None = None,
    source: str = "embedded",
    on_line: Callable[[str], None] | None = None,
    watch: Callable[[], str | None] | None = None,
    parallel: int | None = None,
) -> EngineRun:
    """pyinfra with --json: `dry` is a plan with change detection and --diff (the diff
    log is `output`), else an apply whose per-operation results are in `data`.
    `parallel` bounds the hosts connected to at once (through a bastion).
    `on_line` sees each line of pyinfra's log as it comes (live progress). `watch` is
    asked, whenever pyinfra has been silent for WATCH_SILENCE seconds, whether a host
    has gone away (its answer: why, or None); then pyinfra is stopped (see below)."""
    guard_route(source)
    command = [str(BIN / "pyinfra"), "--no-wait", "--json"]
    command += ["--parallel", str(parallel)] if parallel else []
    command += ["--dry", "--diff"] if dry else ["-y"]
    command += _pyinfra_limit(limit)
    command += ["inventory/pyinfra_inventory.py", deploy]
    proc = _run_split(command, engine_env(source), on_line, watch)
    try:
        data = _last_json(proc.stdout)
    except ValueError:
        data = None
    code = proc.returncode
    if code == 0 and (data is None or PYINFRA_FAILED.search(proc.stderr)):
        code = 1
    results = (data or {}).get("results") or {}
    if code == 0 and (results.get("failed_hosts") or results.get("totals", {}).get("error")):
        code = 1
    return EngineRun(command, code, proc.stderr + proc.stdout[-2000:] * (data is None), data=data)


# pyinfra (paramiko) sends keepalives but never gives up on a host that stops
# answering mid-command: TCP retries for about 15 minutes while every other host waits
# for the same operation. After this long without a line of output, `watch` is asked.
WATCH_SILENCE = 20.0


def _watchdog(
    proc: subprocess.Popen[str],
    last_line: list[float],
    watch: Callable[[], str | None],
    stopped: list[str],
) -> None:
    while proc.poll() is None:
        time.sleep(2)
        if time.monotonic() - last_line[0] < WATCH_SILENCE or proc.poll() is not None:
            continue
        gone = watch()
        if gone and proc.poll() is None:
            stopped.append(gone)
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            return
        last_line[0] = time.monotonic()


def _run_split(
    command: list[str],
    env: dict[str, str],
    on_line: Callable[[str], None] | None,
    watch: Callable[[], str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run with stdout and stderr apart, handing each stderr line to `on_line` live;
    with `watch`, stop the engine when it says a host has gone away (_watchdog)."""
    with subprocess.Popen(
        command,
        cwd=repo_root(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        pipe = proc.stdout
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(pipe.read()), daemon=True)
        reader.start()
        last_line = [time.monotonic()]
        stopped: list[str] = []
        if watch is not None:
            threading.Thread(
                target=_watchdog, args=(proc, last_line, watch, stopped), daemon=True
            ).start()
        stderr = []
        for line in proc.stderr:
            last_line[0] = time.monotonic()
            stderr.append(line)
            if on_line is not None:
                on_line(line)
        reader.join()
        code = proc.wait()
    if stopped:
        code = code or 1
        stderr.append(
            f"\nregionhus stopped {command[0].rsplit('/', 1)[-1]}: {stopped[0]}; it cannot "
            "give up one host, so every host of this run has its layer unfinished\n"
        )
    return subprocess.CompletedProcess(command, code, "".join(stdout), "".join(stderr))


def _last_json(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.lstrip().startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return json.loads(stdout)


PYINFRA_FAILED = re.compile(r"^\s*\[[a-z][\w.-]*\] Error|Error in operation", re.MULTILINE)
PYINFRA_RESULT = re.compile(r"^\s*\[(?P<host>[a-z][\w.-]*)\]\s+(?P<result>Success|No changes)\s*$")


def parse_pyinfra_changes(output: str) -> dict[str, int]:
    """Per-host change counts: pyinfra prints `[host] Success` for an operation that
    executed commands and `[host] No changes` for one that had nothing to do."""
    changed: dict[str, int] = {}
    for match in filter(None, map(PYINFRA_RESULT.match, output.splitlines())):
        changed[match["host"]] = changed.get(match["host"], 0) + (match["result"] == "Success")
    return changed


if __name__ == "__main__":
    # Development aid: python -m regionhus.engines playbooks/x.yml [ansible args...]
    result = run_ansible(sys.argv[1], extra=sys.argv[2:])
    sys.exit(result.returncode)
