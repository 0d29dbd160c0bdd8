"""The main job on the embedded default: lab up, apply, verify, report.

Each step prints what it does and how long it took, and while it runs, live progress
(which host, which task or check, elapsed); the first failing step stops the run with
its output, so nothing is half-applied silently.

The verification is the quick set of lab checks (every service answers as declared);
the heavy matrices (every login on every host, every cross-municipality probe, fault
and idempotence runs) run with `demo --full`, and always in `make test`. Before the
report, each repository gets its first backup and a restore drill, so the report shows
evidence rather than its absence.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from regionhus.backup.repositories import served
from regionhus.config import load_region
from regionhus.errors import RegionhusError
from regionhus.inventory import Inventory, load_inventory
from regionhus.paths import repo_root
from regionhus.plan.run import LayerRun, run_base, run_services
from regionhus.progress import Progress
from regionhus.secrets import ensure_lab_vault
from regionhus.transport import transport_for

# run_base or run_services: (hosts, inventory, *, dry, source, progress) -> LayerRun
LayerRunner = Callable[..., LayerRun]

BIN = Path(sys.executable).parent


@dataclass
class Step:
    title: str
    seconds: float
    detail: str = ""


@dataclass
class DemoRun:
    steps: list[Step] = field(default_factory=list)

    def run(self, title: str, action: Callable[[], str]) -> None:
        click.secho(f"==> {title}", bold=True)
        started = time.monotonic()
        detail = action()
        self.steps.append(Step(title, time.monotonic() - started, detail))
        click.echo(f"    {detail} ({self.steps[-1].seconds:.1f} s)")


def _lab_up() -> str:
    subprocess.run([str(BIN / "regionhus"), "lab", "up"], check=True)
    return "lab hosts running"


def _apply(what: str, runner: LayerRunner, inventory: Inventory, progress: Progress) -> str:
    """Apply one layer to every host of the region; a failure shows the engine's end."""
    hosts = [h.name for h in inventory.hosts]
    layer = runner(hosts, inventory, dry=False, source="embedded", progress=progress)
    if layer.run is None or not layer.run.ok:
        output = layer.run.output[-4000:] if layer.run else ""
        raise RegionhusError(f"{what} failed:\n{output}")
    return f"{what} applied, {len(layer.changes)} change(s)"


# pytest -v: "tests/lab/test_base.py::test_sshd_settings_in_effect[dc1] PASSED [ 12%]"
PYTEST_RESULT = re.compile(r"^tests/lab/(?P<test>\S+) (?P<outcome>[A-Z]+)\b")


def _verify(full: bool, progress: Progress) -> str:
    command = [str(BIN / "pytest"), "-v", "-p", "no:cacheprovider", "tests/lab"]
    command += [] if full else ["-m", "not heavy"]
    env = {**os.environ, "REGIONHUS_KEEP_LAB": "1"}
    if full:
        progress.say("verify", "the session applies once more first (it must change nothing)")
    else:
        # The quick checks read the state just applied (tests/lab/conftest.py).
        env["REGIONHUS_REGION_APPLIED_BY"] = "demo"
    proc = subprocess.Popen(
        command,
        cwd=repo_root(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        match = PYTEST_RESULT.match(line)
        if match:
            progress.say("verify", f"{match['test']} {match['outcome']}")
    output = "".join(lines)
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    if proc.wait() != 0:
        raise RegionhusError(f"checks failed: {summary}\n{output[-4000:]}")
    passed = re.search(r"(\d+) passed", summary)
    kind = "all checks" if full else "quick checks (demo --full: every matrix)"
    return f"{passed[1] if passed else '?'} {kind} passed"


def _evidence(inventory: Inventory, progress: Progress) -> str:
    """A first backup of every repository, its status, and a restore drill: the records
    the audit report reads (on a fresh lab the first timer run is hours away)."""
    via = transport_for(inventory)
    repos = [r for r in served(inventory.backup_repositories) if r.clients]
    for repo in repos:
        writer = repo.clients[0].host
        progress.say("evidence", f"backup {repo.name} from {writer}")
        done = via.run(writer, f"systemctl start regionhus-backup@{repo.name}.service")
        if done.returncode != 0:
            raise RegionhusError(f"backup of {repo.name} on {writer} failed:\n{done.stderr}")
    progress.say("evidence", "backup status (writes the backup records)")
    _regionhus("backup", "status")
    for repo in repos:
        progress.say("evidence", f"restore drill {repo.name}")
        _regionhus("backup", "drill", repo.name)
    return f"{len(repos)} repositories backed up and restored (records written)"


def _regionhus(*args: str) -> None:
    proc = subprocess.run(
        [str(BIN / "regionhus"), *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RegionhusError(f"regionhus {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")


def _audit() -> str:
    out = repo_root() / "out" / "audit"
    subprocess.run(
        [
            str(BIN / "regionhus"),
            "audit",
            "--format",
            "html",
            "--format",
            "md",
            "--format",
            "json",
            "--out",
            str(out),
            # The lab's mon1: measured availability next to the SLA (minutes of history).
            "--prometheus",
            "auto",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = json.loads((out / "region.json").read_text(encoding="utf-8"))
    counts = Counter(f["severity"] for f in data.get("findings", []))
    found = ", ".join(f"{counts[s]} {s}" for s in ("critical", "warning", "info") if counts[s])
    return f"revisjonsrapport i {out} (region.html og én per kommune); funn: {found or 'ingen'}"


def run_demo(full: bool = False, quiet: bool = False) -> DemoRun:
    demo = DemoRun()
    started = time.monotonic()
    progress = Progress(enabled=not quiet, stream=sys.stdout)
    config = load_region()
    demo.run("Validate region.yml and kommuner/", lambda: f"{len(config.kommuner)} kommuner OK")
    inventory = load_inventory(config=config, source="embedded")
    demo.run("Bring up the lab", _lab_up)
    demo.run("Vault", lambda: f"secrets in {ensure_lab_vault(config)}")
    demo.run(
        "Apply the base layer (pyinfra)",
        lambda: _apply("base layer", run_base, inventory, progress),
    )
    # Reloaded: the base layer recorded the hosts' keys the services need.
    inventory = load_inventory(config=config, source="embedded")
    demo.run(
        "Apply the services (Ansible)",
        lambda: _apply("services", run_services, inventory, progress),
    )
    title = "Verify (every check and matrix)" if full else "Verify (quick checks)"
    demo.run(title, lambda: _verify(full, progress))
    inventory = load_inventory(config=config, source="embedded")
    demo.run("First backups and restore drills", lambda: _evidence(inventory, progress))
    demo.run("Audit report", _audit)
    click.secho("\nOppsummering", bold=True)
    click.echo(f"  verter: {len(inventory.hosts)} ({', '.join(h.name for h in inventory.hosts)})")
    for step in demo.steps:
        click.echo(f"  {step.title:<40} {step.seconds:7.1f} s  {step.detail}")
    click.echo(f"  {'i alt':<40} {time.monotonic() - started:7.1f} s")
    return demo
