"""Measure the lab: cold `lab up` (no cached image), warm ups, `lab down`, and per-host
memory (PSS of every process of the container) and disk (overlay upper dir).

Run as root from the repository:  .venv/bin/python bench/lab_up.py
It deletes the cached base image and the hosts' disks, and leaves the lab up.
Prints a Markdown table for bench/lab.md.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from regionhus.lab import machines, procs, rootfs
from regionhus.lab.image import image_dir
from regionhus.lab.inventory import lab_inventory

RH = [str(Path(sys.executable).with_name("regionhus")), "lab"]
SETTLE_SECONDS = 20  # let first-boot jobs finish before measuring memory


def timed(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([*RH, *args], check=True, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def host_pss_mib(name: str) -> float:
    pid = machines.running(name)
    if not pid:
        return 0.0
    return sum(pss_kib(p) for p in procs.descendants(pid)) / 1024


def dir_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def main() -> None:
    # --warm: keep the cached image (skip the cold measurement, about 1.5 min).
    warm_only = "--warm" in sys.argv[1:]
    hosts = [h.name for h in lab_inventory().hosts]
    timed("down", "--wipe")
    if not warm_only:
        shutil.rmtree(image_dir(), ignore_errors=True)
    cold = timed("up")
    down = timed("down")
    warm_restart = timed("up")
    timed("down", "--wipe")
    warm_fresh = timed("up")
    time.sleep(SETTLE_SECONDS)
    print(f"| step | seconds ({len(hosts)} hosts) |\n|---|---|")
    first = "warm `lab up` (cached image, fresh disks, first)" if warm_only else "cold `lab up`"
    print(f"| {first} | {cold:.1f} |")
    print(f"| warm `lab up` (cached image, fresh disks) | {warm_fresh:.1f} |")
    print(f"| warm `lab up` (cached image, disks kept) | {warm_restart:.1f} |")
    print(f"| `lab down` | {down:.1f} |")
    print(f"\nbase image: {dir_bytes(image_dir()) / 1e6:.0f} MB\n")
    print("| host | PSS MiB (idle) | disk (upper) MB |\n|---|---|---|")
    for name in hosts:
        print(f"| {name} | {host_pss_mib(name):.1f} | {dir_bytes(rootfs.upper(name)) / 1e6:.2f} |")


if __name__ == "__main__":
    main()
