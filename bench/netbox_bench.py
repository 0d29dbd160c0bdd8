"""National-scale NetBox benchmark: 357 municipalities, ~10 VMs each, on the `bench` instance.

Not part of the test run (minutes of seeding). Run it with `make netbox-bench`, or:

    .venv/bin/python bench/netbox_bench.py [--reset] [--skip-seed] [--out bench/netbox-results.json]

It seeds (bulk, idempotent) the national data set into the local `bench` NetBox
instance, then times on that same NetBox, in one run:
  - the project's source, cold (cache emptied) and warm (nothing changed),
  - plain pynetbox listing of VMs and IP addresses,
  - `netbox.netbox.nb_inventory` (full `ansible` package, in a bench-only venv) in
    its fastest configuration.
The addresses are NetBox data only: nothing ever connects to them.
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
from ipaddress import IPv4Address
from pathlib import Path

from regionhus.inventory.hosts import Host
from regionhus.netbox import server
from regionhus.netbox.client import NetBoxClient
from regionhus.netbox.seed import SeedPlan, TenantSpec, seed
from regionhus.netbox.settings import NetBoxSettings
from regionhus.netbox.source import NetBoxSource

KOMMUNER = 357
VMS_PER_KOMMUNE = 10
# Per municipality: what a full member would run (session hosts dominate).
ROLE_MIX = ["directory", "backup"] + ["vdi"] * (VMS_PER_KOMMUNE - 2)
# Short enough for AD (a joined host's name is its NetBIOS name: at most 15 characters).
NAME_PREFIX = {"directory": "dc", "backup": "backup", "vdi": "vdi"}
BASE = IPv4Address("10.64.0.0")
BENCH_VENV = server.netbox_home() / "bench-venv"


def national_plan() -> SeedPlan:
    tenants = [
        TenantSpec(f"k{n:04d}", f"Kommune {n:04d}", f"{n:04d}") for n in range(1, 1 + KOMMUNER)
    ]
    hosts = []
    for i, t in enumerate(tenants):
        for j, role in enumerate(ROLE_MIX):
            hosts.append(
                Host.model_validate(
                    {
                        "name": f"{NAME_PREFIX[role]}-{t.slug}-{j + 1}",
                        "address": str(BASE + 1 + i * VMS_PER_KOMMUNE + j),
                        "roles": [role],
                        "serves": t.slug,
                        "site": "regionalt-hus",
                        "tags": ["national-bench"],
                    }
                )
            )
    return SeedPlan("norge", "Norge", tenants, hosts, prefix_length=12)


def timed(fn, runs: int = 3) -> dict:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return {"runs": times, "median_s": statistics.median(times), "result": result}


def project_source(inst: server.Instance, token: str, cached: bool):  # type: ignore[no-untyped-def]
    tenants = {t.slug for t in national_plan().tenants}

    def run() -> int:
        settings = NetBoxSettings(inst.url, token, use_cache=True)
        src = NetBoxSource(Path("."), settings, tenants=tenants)
        if not cached:
            src_cache = Path(os.environ["REGIONHUS_CACHE_DIR"]) / "netbox"
            shutil.rmtree(src_cache, ignore_errors=True)
        hosts = src.load().hosts
        assert src.from_cache == cached, "cache state not as intended"
        return len(hosts)

    return run


PYNETBOX = """
import sys, time, pynetbox
nb = pynetbox.api(sys.argv[1], token=sys.argv[2])
vms = list(nb.virtualization.virtual_machines.all())
ips = list(nb.ipam.ip_addresses.all())
print(len(vms), len(ips))
"""

# Its fastest configuration: everything optional that costs extra requests is off.
NB_INVENTORY = """\
plugin: netbox.netbox.nb_inventory
api_endpoint: {url}
token:
  type: Bearer
  value: {token}
validate_certs: false
config_context: false
interfaces: false
virtual_disks: false
services: false
prefixes: false
racks: false
site_data: false
fetch_all: true
max_uri_length: 4000
virtual_chassis_name: false
group_by: [tenants, device_roles, sites]
"""


def external(cmd: list[str], env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    def run() -> str:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
        return proc.stdout[-200:].strip()

    return run


def ensure_bench_venv() -> None:
    if (BENCH_VENV / "bin" / "ansible-inventory").exists():
        return
    py = server.find_python312()
    subprocess.run([py, "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run(
        [str(BENCH_VENV / "bin" / "pip"), "install", "-q", "ansible", "pynetbox", "pytz"],
        check=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reset", action="store_true", help="Start from an empty bench database.")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--seed-only", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("bench/netbox-results.json"))
    args = ap.parse_args()
    os.environ.setdefault("REGIONHUS_CACHE_DIR", tempfile.mkdtemp(prefix="rh-bench-cache-"))

    results: dict = {"kommuner": KOMMUNER, "vms": KOMMUNER * VMS_PER_KOMMUNE}
    inst = server.reset_database("bench") if args.reset else server.up("bench")
    token = server.read_token(inst)
    client = NetBoxClient(inst.url, token)
    if not args.skip_seed:
        plan = national_plan()
        for label in ("seed", "reseed"):
            started = time.perf_counter()
            report = seed(client, plan)
            results[label] = {"s": time.perf_counter() - started, "summary": report.summary()}
            print(f"{label}: {results[label]}", flush=True)
        (args.out.parent / "netbox-seed-results.json").write_text(json.dumps(results, indent=2))
        if args.seed_only:
            return 0

    if args.skip_seed:
        seeded = args.out.parent / "netbox-seed-results.json"
        if seeded.exists():
            results.update({k: v for k, v in json.loads(seeded.read_text()).items() if "seed" in k})
    ensure_bench_venv()
    # 2 cores shared with other work: the load says how much to trust the figures.
    results["loadavg_before"] = os.getloadavg()
    results["project_cold"] = timed(project_source(inst, token, cached=False), args.runs)
    print(f"project cold: {results['project_cold']}", flush=True)
    results["project_cached"] = timed(project_source(inst, token, cached=True), args.runs)
    print(f"project cached: {results['project_cached']}", flush=True)
    results["pynetbox"] = timed(
        external([str(BENCH_VENV / "bin" / "python"), "-c", PYNETBOX, inst.url, token]), args.runs
    )
    print(f"pynetbox: {results['pynetbox']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.netbox.yml"
        cfg.write_text(NB_INVENTORY.format(url=inst.url, token=token))
        env = {**os.environ, "ANSIBLE_INVENTORY_ENABLED": "netbox.netbox.nb_inventory"}
        results["nb_inventory"] = timed(
            external(
                [
                    str(BENCH_VENV / "bin" / "ansible-inventory"),
                    "-i",
                    str(cfg),
                    "--list",
                    "--output",
                    str(Path(tmp) / "out.json"),
                ],
                env,
            ),
            args.runs,
        )
        out = json.loads((Path(tmp) / "out.json").read_text())
        results["nb_inventory"]["hosts"] = len(out.get("_meta", {}).get("hostvars", {}))
    print(f"nb_inventory: {results['nb_inventory']}", flush=True)
    results["loadavg_after"] = os.getloadavg()
    results["ratio_nb_inventory_over_project_cached"] = (
        results["nb_inventory"]["median_s"] / results["project_cached"]["median_s"]
    )
    results["ratio_nb_inventory_over_project_cold"] = (
        results["nb_inventory"]["median_s"] / results["project_cold"]["median_s"]
    )
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k.startswith("ratio")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
