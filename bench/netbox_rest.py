"""REST work on the national NetBox: the project's small client vs pynetbox, same requests.

Not part of the test run. Needs the seeded `bench` instance (bench/netbox_bench.py):

    .venv/bin/python bench/netbox_rest.py [--runs 3] [--out bench/netbox-rest-results.json]

Times, whole lists as the seed and `netbox check` read them (3,570 VMs, 3,570
interfaces, 3,570 IP addresses, 358 tenants):
  - `NetBoxClient.list` (pages of 1000, sequential),
  - pynetbox `.all()` as shipped (pages of the server's default size),
  - pynetbox `.all(limit=1000)` and with `threading=True`;
and one bulk create + bulk delete of 200 journal entries through each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pynetbox

from regionhus.netbox import server
from regionhus.netbox.client import NetBoxClient

LISTS = {
    "vms": ("/api/virtualization/virtual-machines/", "virtualization", "virtual_machines"),
    "interfaces": ("/api/virtualization/interfaces/", "virtualization", "interfaces"),
    "ips": ("/api/ipam/ip-addresses/", "ipam", "ip_addresses"),
    "tenants": ("/api/tenancy/tenants/", "tenancy", "tenants"),
}
JOURNAL = 200


def timed(fn: Callable[[], int], runs: int) -> dict:
    times, count = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "runs": times, "count": count}


def lists(client: NetBoxClient, url: str, token: str, runs: int) -> dict:
    plain = pynetbox.api(url, token=token)
    threaded = pynetbox.api(url, token=token, threading=True)
    results = {}
    for name, (path, app, endpoint) in LISTS.items():
        results[name] = {
            "client": timed(lambda p=path: len(list(client.list(p))), runs),
            "pynetbox_default": timed(
                lambda a=app, e=endpoint: len(list(getattr(getattr(plain, a), e).all())), runs
            ),
            "pynetbox_limit_1000": timed(
                lambda a=app, e=endpoint: len(list(getattr(getattr(plain, a), e).all(limit=1000))),
                runs,
            ),
            "pynetbox_threading": timed(
                lambda a=app, e=endpoint: len(list(getattr(getattr(threaded, a), e).all())),
                runs,
            ),
        }
        print(name, {k: round(v["median_s"], 2) for k, v in results[name].items()}, flush=True)
    return results


def journal(client: NetBoxClient, url: str, token: str, runs: int) -> dict:
    vm_ids = [vm["id"] for vm in client.list("/api/virtualization/virtual-machines/")][:JOURNAL]
    entries = [
        {
            "assigned_object_type": "virtualization.virtualmachine",
            "assigned_object_id": vm_id,
            "kind": "info",
            "comments": "bench/netbox_rest.py",
        }
        for vm_id in vm_ids
    ]
    nb = pynetbox.api(url, token=token)

    def ours() -> int:
        made = client.bulk("POST", "/api/extras/journal-entries/", entries)
        # One bulk DELETE, as pynetbox sends it (NetBox answers 204, no body).
        client.request("DELETE", "/api/extras/journal-entries/", [{"id": m["id"]} for m in made])
        return len(made)

    def theirs() -> int:
        made = nb.extras.journal_entries.create(entries)
        nb.extras.journal_entries.delete([m.id for m in made])
        return len(made)

    return {"client_bulk": timed(ours, runs), "pynetbox_bulk": timed(theirs, runs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("bench/netbox-rest-results.json"))
    args = ap.parse_args()
    inst = server.up("bench")
    token = server.read_token(inst)
    client = NetBoxClient(inst.url, token)
    results: dict = {"loadavg_before": os.getloadavg()}
    results["lists"] = lists(client, inst.url, token, args.runs)
    results["journal"] = journal(client, inst.url, token, args.runs)
    print("journal", {k: round(v["median_s"], 2) for k, v in results["journal"].items()})
    results["loadavg_after"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
