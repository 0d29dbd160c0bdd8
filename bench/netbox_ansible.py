"""The same work through Ansible: `ansible-inventory` over the national NetBox, whole process.

Not part of the test run. Needs the seeded `bench` instance and bench venv
(bench/netbox_bench.py makes both):

    .venv/bin/python bench/netbox_ansible.py [--runs 3] [--out bench/netbox-ansible-results.json]

A region checkout is built in a temporary folder: region.yml, the shipped kommuner/
plus one file per national tenant (k0001-k0357, bench/scale.py's generator), the
inventory config, the plugin and ansible.cfg. Then, each as a whole process, timed
with its peak memory:

- `ansible-inventory -i netbox.regionhus.yml --graph` and `--list`: our plugin, cold
  (cache emptied) and with nothing changed in NetBox;
- `ansible-inventory -i bench.netbox.yml --graph` and `--list`: netbox.netbox.nb_inventory
  in its fastest configuration (bench/netbox_bench.py's NB_INVENTORY);
- `ansible-inventory -i floor.py --graph` and `--list`: Ansible's floor, a script
  inventory that prints our `--list --export` output (same hosts, groups, variables)
  from a file, instantly.

Ours and the floor run the project's ansible-core (.venv), nb_inventory the bench
venv's `ansible` package (it needs pytz); both venvs hold ansible-core 2.21.5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import netbox_bench  # noqa: E402
import scale  # noqa: E402

from regionhus.netbox import server  # noqa: E402

FLOOR = """#!/bin/sh
# Ansible's floor: the inventory, already computed, printed from a file.
if [ "$1" = "--list" ]; then cat "$(dirname "$0")/floor.json"; else echo '{}'; fi
"""


def region(root: Path) -> Path:
    root.mkdir()
    for name in ("region.yml", "kommuner", "plugins", "ansible.cfg"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, root / name)
    (root / "inventory").mkdir()
    shutil.copy(REPO / "inventory" / "netbox.regionhus.yml", root / "inventory")
    for n in range(1, netbox_bench.KOMMUNER + 1):
        (root / "kommuner" / f"k{n:04d}.yml").write_text(scale.kommune_yaml(n))
    return root


def run(cmd: list[str], env: dict[str, str], cwd: Path, limit_gib: float) -> dict:
    """One whole process: wall and CPU seconds, peak RSS; killed past limit_gib."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        limit = f"--as={int(limit_gib * 2**30)}"
        proc = subprocess.Popen(["prlimit", limit, *cmd], cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return {
            "wall_s": elapsed,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024,
            "exit": code,
            "stderr_tail": err.read()[-400:].decode(errors="replace") if code else "",
            "stdout_bytes": out.seek(0, 2),
        }


def timed(cmd: list[str], env: dict[str, str], cwd: Path, runs: int, before=None) -> dict:  # type: ignore[no-untyped-def]
    results = []
    for _ in range(runs):
        if before:
            before()
        results.append(run(cmd, env, cwd, limit_gib=8))
    ok = [r for r in results if r["exit"] == 0]
    return {
        "median_wall_s": statistics.median(r["wall_s"] for r in ok) if ok else None,
        "median_cpu_s": statistics.median(r["cpu_s"] for r in ok) if ok else None,
        "max_rss_mib": max(r["rss_mib"] for r in results),
        "runs": results,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "netbox-ansible-results.json")
    args = ap.parse_args()
    inst = server.up("bench")
    token = server.read_token(inst)
    netbox_bench.ensure_bench_venv()
    inventory_bin = str(Path(sys.executable).parent / "ansible-inventory")
    nb_bin = str(netbox_bench.BENCH_VENV / "bin" / "ansible-inventory")
    results: dict = {"loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="rh-nb-ansible-") as tmp:
        root = region(Path(tmp) / "region")
        cache = Path(tmp) / "cache"
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(root / "ansible.cfg"),
            "REGIONHUS_ROOT": str(root),
            "REGIONHUS_NETBOX_URL": inst.url,
            "REGIONHUS_NETBOX_TOKEN": token,
            "REGIONHUS_CACHE_DIR": str(cache),
            "REGIONHUS_STATE_DIR": str(Path(tmp) / "state"),
        }
        ours = str(root / "inventory" / "netbox.regionhus.yml")
        nb_cfg = Path(tmp) / "bench.netbox.yml"
        nb_cfg.write_text(netbox_bench.NB_INVENTORY.format(url=inst.url, token=token))
        nb_env = {**env, "ANSIBLE_INVENTORY_ENABLED": "netbox.netbox.nb_inventory"}

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        for mode in ("--graph", "--list"):
            key = mode.strip("-")
            results[f"ours_cold_{key}"] = timed(
                [inventory_bin, "-i", ours, mode], env, root, args.runs, before=cold
            )
            results[f"ours_warm_{key}"] = timed(
                [inventory_bin, "-i", ours, mode], env, root, args.runs
            )
            results[f"nb_inventory_{key}"] = timed(
                [nb_bin, "-i", str(nb_cfg), mode], nb_env, root, args.runs
            )
            print(mode, {k: v["median_wall_s"] for k, v in results.items() if k.endswith(key)})
        export = subprocess.run(
            [inventory_bin, "-i", ours, "--list", "--export"],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        floor = Path(tmp) / "floor"
        floor.mkdir()
        (floor / "floor.json").write_text(export)
        script = floor / "floor.py"
        script.write_text(FLOOR)
        script.chmod(0o755)
        floor_env = {**env, "ANSIBLE_INVENTORY_ENABLED": "script"}
        for mode in ("--graph", "--list"):
            key = mode.strip("-")
            results[f"floor_{key}"] = timed(
                [inventory_bin, "-i", str(script), mode], floor_env, root, args.runs
            )
        results["hosts"] = len(json.loads(export)["_meta"]["hostvars"])
    results["loadavg_after"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v["median_wall_s"] for k, v in results.items() if isinstance(v, dict)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
