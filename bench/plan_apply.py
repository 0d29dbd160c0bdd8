"""Benchmark: a no-change `regionhus plan` of the lab region against Ansible's own
check mode of the same services playbook, Ansible configured two ways, in one run.

    .venv/bin/python bench/plan_apply.py [--rounds 2] [--lock /tmp/regionhus-lab.lock]
        [--host H ...] [--out bench/plan_apply.md]

- Ansible's defaults: a config with only what is needed to find the hosts (the
  inventory plugin, roles path, the vault); everything else as Ansible ships it: ssh
  multiplexing on (ControlMaster=auto, ControlPersist=60s), no pipelining, 5 forks,
  implicit fact gathering, no fact cache.
- Tuned Ansible: the project's ansible.cfg as regionhus runs it: pipelining,
  ControlPersist=300s, 10 forks (more than the lab has hosts), smart gathering with a
  jsonfile fact cache, warm from the round before.
- `regionhus plan`: both layers (pyinfra base and the Ansible services); a host whose
  converged record matches (inputs and one probe of its state) skips the engines.
- `regionhus plan --full`: both engines' dry runs on every host.

Ansible gets only the services; regionhus also plans the base layer, so the
comparison favours Ansible. Run on a converged lab: the first `plan --full` writes the
converged records (hosts it finds nothing to do on). With --lock, each measurement
holds the shared lab lock (taken before the clock starts), so the lab is free between
measurements for others.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from regionhus.engines import engine_env, lab_extra_vars
from regionhus.paths import repo_root

BIN = Path(sys.executable).parent
DEFAULTS_CFG = """[defaults]
inventory = {root}/inventory/regionhus.yml
inventory_plugins = {root}/plugins/inventory
roles_path = {root}/roles
interpreter_python = /usr/bin/python3
retry_files_enabled = False

[inventory]
enable_plugins = regionhus
"""


@contextlib.contextmanager
def held(lock: Path | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def timed(command: list[str], env: dict[str, str], lock: Path | None) -> tuple[float, int, str]:
    with held(lock):
        started = time.monotonic()
        proc = subprocess.run(
            command, cwd=repo_root(), env=env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
    return seconds, proc.returncode, proc.stdout[-1500:] + proc.stderr[-1500:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "plan_apply.md")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lock", type=Path, help="hold this lock file for each measurement")
    parser.add_argument("--host", action="append", default=[], help="only these hosts")
    args = parser.parse_args()
    rh = [str(BIN / "regionhus")]
    scope = [a for h in args.host for a in ("--host", h)]
    limit = ["--limit", ",".join(args.host)] if args.host else []
    env = {**os.environ, "REGIONHUS_OPERATOR": "bench"}
    site = "playbooks/site.yml"
    check = [str(BIN / "ansible-playbook"), "--check", "--diff", site, *limit]
    check += lab_extra_vars("embedded")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "defaults.cfg"
        cfg.write_text(DEFAULTS_CFG.format(root=repo_root()))
        defaults_env = {**engine_env("embedded"), "ANSIBLE_CONFIG": str(cfg)}
        for key in ("ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION"):
            defaults_env.pop(key)
        tuned_env = engine_env("embedded")
        ansible = "ansible-playbook --check --diff"
        runs = [("regionhus plan --full (writes the converged records)", "full")]
        for n in range(1, args.rounds + 1):
            runs += [
                (f"round {n}: {ansible}, Ansible's defaults", "defaults"),
                (f"round {n}: {ansible}, tuned", "tuned"),
                (f"round {n}: regionhus plan", "plan"),
            ]
        runs += [("regionhus plan --full (engines on every host)", "full")]
        commands = {
            "full": ([*rh, "plan", "--full", "--quiet", *scope], env),
            "plan": ([*rh, "plan", "--quiet", *scope], env),
            "defaults": (check, defaults_env),
            "tuned": (check, tuned_env),
        }
        results = []
        for title, kind in runs:
            command, run_env = commands[kind]
            print(f"==> {title}", flush=True)
            seconds, code, tail = timed(command, run_env, args.lock)
            print(f"    {seconds:.1f} s, exit {code}", flush=True)
            if code not in (0, 2):
                print(tail, flush=True)
            results.append((title, kind, seconds, code))
            write(args, results)  # after each: an interrupted run keeps what it measured


def write(args: argparse.Namespace, results: list[tuple[str, str, float, int]]) -> None:
    kinds = ("defaults", "tuned", "plan")
    best = {kind: min([s for _, k, s, _ in results if k == kind] or [0.0]) for kind in kinds}
    if not all(best.values()):
        best = {kind: seconds or float("nan") for kind, seconds in best.items()}
    lines = [f"| {title} | {seconds:.1f} | {code} |" for title, _, seconds, code in results]
    ratios = [
        f"- regionhus plan, best of rounds: **{best['plan']:.1f} s**",
        f"- against Ansible's defaults ({best['defaults']:.1f} s): "
        f"**{best['defaults'] / best['plan']:.1f}x**",
        f"- against tuned Ansible ({best['tuned']:.1f} s): **{best['tuned'] / best['plan']:.1f}x**",
    ]
    where = f"hosts {', '.join(args.host)}" if args.host else "the whole lab region"
    text = args.out.read_text() if args.out.exists() else ""
    marker = "<!-- results -->"
    head = text.split(marker)[0] if marker in text else text
    body = "\n".join(
        [
            marker,
            f"## Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.uname().nodename}, "
            f"{where}",
            "",
            "| run | seconds | exit |",
            "|---|---|---|",
            *lines,
            "",
            *ratios,
            "",
        ]
    )
    args.out.write_text(head + body)
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
