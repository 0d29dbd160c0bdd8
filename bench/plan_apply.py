"""Benchmark: `regionhus plan` and a no-change `regionhus apply` over the whole lab
region, against a stock `ansible-playbook` run of the same services playbook.

    .venv/bin/python bench/plan_apply.py [--out bench/plan_apply.md]

Stock means Ansible's defaults: a config with only what is needed to find the hosts
(the inventory plugin, roles, the vault), no pipelining, no ssh multiplexing
(ControlMaster=no), no fact cache, default forks (5). The stock run gets only the
services; regionhus runs the pyinfra base layer as well, so the comparison favours stock.
Run on a converged lab (a first apply converges it; its time is recorded too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from regionhus.engines import engine_env
from regionhus.paths import repo_root

BIN = Path(sys.executable).parent
STOCK_CFG = """[defaults]
inventory = {root}/inventory/regionhus.yml
inventory_plugins = {root}/plugins/inventory
roles_path = {root}/roles
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False

[inventory]
enable_plugins = regionhus

[ssh_connection]
ssh_args = -o ControlMaster=no
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.monotonic()
    proc = subprocess.run(
        command, cwd=repo_root(), env=env, capture_output=True, text=True, check=False
    )
    return time.monotonic() - started, proc.returncode, proc.stdout[-1500:] + proc.stderr[-1500:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=repo_root() / "bench" / "plan_apply.md")
    args = parser.parse_args()
    rh = [str(BIN / "regionhus")]
    env = {**os.environ, "REGIONHUS_OPERATOR": "bench"}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "stock.cfg"
        cfg.write_text(STOCK_CFG.format(root=repo_root()))
        stock_env = {**engine_env("embedded"), "ANSIBLE_CONFIG": str(cfg)}
        site = "playbooks/site.yml"
        runs = [
            (
                "converge first: regionhus apply --yes",
                [*rh, "apply", "--yes", "--allow-dirty"],
                env,
            ),
            ("regionhus plan (whole region)", [*rh, "plan"], env),
            ("regionhus apply --yes (no changes)", [*rh, "apply", "--yes", "--allow-dirty"], env),
            (
                "regionhus apply --yes --full (no changes, engines run everywhere)",
                [*rh, "apply", "--yes", "--allow-dirty", "--full"],
                env,
            ),
            (
                "stock ansible-playbook --check --diff site.yml",
                [str(BIN / "ansible-playbook"), "--check", "--diff", site],
                stock_env,
            ),
            (
                "stock ansible-playbook site.yml (no changes)",
                [str(BIN / "ansible-playbook"), site],
                stock_env,
            ),
        ]
        results = []
        for title, command, run_env in runs:
            print(f"==> {title}", flush=True)
            seconds, code, tail = timed(command, run_env)
            print(f"    {seconds:.1f} s, exit {code}", flush=True)
            if code not in (0, 2):
                print(tail, flush=True)
            results.append((title, seconds, code))
    by = {title: seconds for title, seconds, _ in results}
    stock_apply = by["stock ansible-playbook site.yml (no changes)"]
    stock_plan = by["stock ansible-playbook --check --diff site.yml"]
    lines = [f"| {title} | {seconds:.1f} | {code} |" for title, seconds, code in results]
    ratios = [
        f"- no-change apply: stock {stock_apply:.1f} s / regionhus "
        f"{by['regionhus apply --yes (no changes)']:.1f} s = "
        f"**{stock_apply / by['regionhus apply --yes (no changes)']:.1f}x**",
        f"- no-change apply, engines run everywhere (--full): "
        f"**{stock_apply / by[results[3][0]]:.1f}x**",
        f"- plan: stock check {stock_plan:.1f} s / regionhus plan "
        f"{by['regionhus plan (whole region)']:.1f} s = "
        f"**{stock_plan / by['regionhus plan (whole region)']:.1f}x**",
    ]
    text = args.out.read_text() if args.out.exists() else ""
    marker = "<!-- results -->"
    head = text.split(marker)[0] if marker in text else text
    body = "\n".join(
        [
            marker,
            f"## Run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {os.uname().nodename}",
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
