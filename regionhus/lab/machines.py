"""Booting and stopping hosts: systemd-nspawn in the host's namespace, in the background.

The machine has no systemd: no machinectl, no --network-veth, no registration. The
nspawn process is the host; SIGTERM to it powers the container's systemd off in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from regionhus.lab import procs
from regionhus.lab.inventory import LabHost
from regionhus.lab.layout import host_dir
from regionhus.lab.network import netns_path

STOP_TIMEOUT = 20.0


def pidfile(name: str) -> Path:
    return host_dir(name) / "nspawn.pid"


def console_log(name: str) -> Path:
    return host_dir(name) / "console.log"


def nspawn_args(host: LabHost, rootdir: Path) -> list[str]:
    return [
        "systemd-nspawn",
        "--boot",
        f"--directory={rootdir}",
        f"--machine={host.name}",
        "--register=no",
        "--keep-unit",
        "--console=passive",
        f"--network-namespace-path={netns_path(host.name)}",
        # The lab writes resolv.conf and the time zone into the image; keep nspawn's hands off.
        # Its own namespace, so the host's firewall (nftables) is the container's to manage;
        # nspawn grants this only with its own --private-network.
        "--capability=CAP_NET_ADMIN",
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
    ]


def running(name: str) -> int | None:
    return procs.tracked_pid(pidfile(name), f"--machine={name}")


def boot(host: LabHost, rootdir: Path) -> int:
    pid = running(host.name)
    if pid:
        return pid
    kill_orphans(host.name)
    log = console_log(host.name)
    log.unlink(missing_ok=True)
    return procs.start(nspawn_args(host, rootdir), pidfile(host.name), log)


def netns_pids(name: str) -> list[int]:
    """Every process in the host's network namespace: the container, even if its nspawn
    died (a killed nspawn leaves the container's init running, reparented to PID 1)."""
    try:
        target = netns_path(name).stat().st_ino
    except OSError:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "ns/net").stat().st_ino == target:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return [p for p in pids if not procs.is_zombie(p)]


def kill_orphans(name: str) -> int:
    """SIGKILL what is left of a host without its nspawn; killing the container's init
    takes its whole PID namespace down with it."""
    pids = netns_pids(name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for _ in range(50):
        if not netns_pids(name):
            break
        time.sleep(0.1)
    return len(pids)


def shutdown(name: str) -> bool:
    """Power the host off; True if it went down cleanly (not killed)."""
    pid = running(name)
    clean = True
    if pid:
        clean = procs.stop(pid, timeout=STOP_TIMEOUT)
    if kill_orphans(name):
        clean = False
    pidfile(name).unlink(missing_ok=True)
    return clean
