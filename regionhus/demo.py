"""The main job on the embedded default: lab up, apply, verify, report.

Each step prints what it does and how long it took; the first failing step stops
the run with its output, so nothing is half-applied silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click

from regionhus.config import load_region
from regionhus.engines import run_ansible, run_pyinfra
from regionhus.errors import RegionhusError
from regionhus.inventory import load_inventory
from regionhus.paths import repo_root
from regionhus.secrets import ensure_lab_vault

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


def _apply_base() -> str:
    result = run_pyinfra("deploys/base.py", stream=False)
    if not result.ok:
        raise RegionhusError(f"base layer failed:\n{result.output[-4000:]}")
    return f"base layer applied, {result.total_changed} change(s)"


def _apply_services() -> str:
    result = run_ansible("playbooks/site.yml", stream=False)
    if not result.ok:
        raise RegionhusError(f"services failed:\n{result.output[-4000:]}")
    return f"services applied, {result.total_changed} change(s)"


def _verify() -> str:
    proc = subprocess.run(
        [str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "tests/lab"],
        cwd=repo_root(),
        capture_output=True,
        text=True,
        env={**os.environ, "REGIONHUS_KEEP_LAB": "1"},
        check=False,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0:
        raise RegionhusError(f"checks failed: {summary}\n{proc.stdout[-4000:]}")
    passed = re.search(r"(\d+) passed", summary)
    return f"{passed[1] if passed else '?'} checks passed"


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
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return f"revisjonsrapport i {out} (region.html og én per kommune)"


def run_demo() -> DemoRun:
    demo = DemoRun()
    started = time.monotonic()
    config = load_region()
    demo.run("Validate region.yml and kommuner/", lambda: f"{len(config.kommuner)} kommuner OK")
    inventory = load_inventory(config=config, source="embedded")
    demo.run("Bring up the lab", _lab_up)
    demo.run("Vault", lambda: f"secrets in {ensure_lab_vault(config)}")
    demo.run("Apply the base layer (pyinfra)", _apply_base)
    demo.run("Apply the services (Ansible)", _apply_services)
    demo.run("Verify (testinfra, isolation, logins, drills)", _verify)
    demo.run("Audit report", _audit)
    click.secho("\nOppsummering", bold=True)
    click.echo(f"  verter: {len(inventory.hosts)} ({', '.join(h.name for h in inventory.hosts)})")
    for step in demo.steps:
        click.echo(f"  {step.title:<40} {step.seconds:7.1f} s  {step.detail}")
    click.echo(f"  {'i alt':<40} {time.monotonic() - started:7.1f} s")
    return demo
