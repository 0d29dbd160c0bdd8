"""Running the two engines (Ansible for services, pyinfra for the base layer).

Both run from the checkout with the venv's binaries, the project's ansible.cfg, the
vault, and a check that the lab bridge is up before anything connects to the lab.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from regionhus.paths import repo_root
from regionhus.secrets import vault_file, vault_password_file

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

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def total_changed(self) -> int:
        return sum(self.changed.values())


def engine_env(source: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(repo_root() / "ansible.cfg")
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(vault_password_file())
    env["REGIONHUS_VAULT_FILE"] = str(vault_file())
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    if source:
        env["REGIONHUS_INVENTORY"] = source
    return env


def guard_lab(source: str) -> None:
    if source == "embedded":
        from regionhus.lab import require_lab_bridge

        require_lab_bridge()


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
) -> EngineRun:
    guard_lab(source)
    command = [str(BIN / "ansible-playbook"), playbook]
    command += ["--check"] if check else []
    command += ["--diff"] if diff else []
    command += ["--limit", limit] if limit else []
    command += extra or []
    code, output = _run(command, engine_env(source), stream)
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
    guard_lab(source)
    command = [str(BIN / "pyinfra"), "-y", "--no-wait"]
    command += ["--dry"] if dry else []
    command += ["--limit", limit] if limit else []
    command += ["inventory/pyinfra_inventory.py", deploy]
    code, output = _run(command, engine_env(source), stream)
    if code == 0 and PYINFRA_FAILED.search(output):
        # pyinfra can exit 0 after an operation failed on some hosts; never report
        # a partly applied layer as success.
        code = 1
    return EngineRun(command, code, output, parse_pyinfra_changes(output))


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
