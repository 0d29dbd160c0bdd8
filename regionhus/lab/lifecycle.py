"""`lab up`, `lab down`, `lab status`: each step checks what exists first, so `up` is
idempotent and finishes what an interrupted run left half done."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from regionhus.lab import aptproxy, clients, firewall, machines, network, rootfs, ssh
from regionhus.lab.errors import LabError
from regionhus.lab.image import ensure_image
from regionhus.lab.inventory import LabHost, LabInventory, lab_inventory
from regionhus.lab.layout import control_dir, host_dir, known_hosts_path, lab_state
from regionhus.lab.mirror import SUITE, configured_mirrors
from regionhus.lab.system import ensure_host_packages, ensure_inotify_limits, require_root

Echo = Callable[[str], None]
SSH_READY_TIMEOUT = 180.0


def up(echo: Echo, inv: LabInventory | None = None) -> None:
    require_root("up")
    ensure_host_packages(echo)
    ensure_inotify_limits(echo)
    inv = inv or lab_inventory()
    net = inv.network
    # First of all: from here on, lab addresses can never be routed off this machine.
    network.ensure_blackhole(net)
    mirrors = configured_mirrors()
    image = ensure_image(mirrors, echo)
    network.ensure_bridge(net)
    aptproxy.ensure_proxy(net, mirrors)
    firewall.ensure_firewall(net, aptproxy.PORT)
    echo(
        f"network: bridge {net.bridge} {net.bridge_address}/{net.prefixlen}, apt proxy on "
        f"{net.bridge_address}:{aptproxy.PORT}"
    )
    pubkey = ssh.ensure_key()
    ssh.write_ssh_config(inv)
    sources = aptproxy.apt_sources(net, mirrors, SUITE)
    started = time.monotonic()
    for host in inv.hosts:
        prepare_and_boot(host, inv, image, pubkey, sources, echo)
    wait_for_ssh(inv.hosts, started, echo)
    made = clients.ensure_clients(inv)
    echo(f"clients: {', '.join(f'{c.namespace} {c.address}' for c in made)}")
    refresh_package_lists(inv.hosts, echo)
    ensure_lab_secrets(echo)
    echo(f"lab up: {len(inv.hosts)} hosts; ssh -F {ssh.ssh_config_path()} <host>")


def ensure_lab_secrets(echo: Echo) -> None:
    """The lab's vault (password and generated secrets), as the secrets' errors promise."""
    from regionhus.config import load_region
    from regionhus.secrets import ensure_lab_vault

    echo(f"secrets: {ensure_lab_vault(load_region())}")


def prepare_and_boot(
    host: LabHost, inv: LabInventory, image: Path, pubkey: str, sources: str, echo: Echo
) -> None:
    network.ensure_host_network(host, inv.network)
    rootdir = rootfs.ensure_mounted(host, image, echo)
    rootfs.write_host_files(host, inv, rootdir, pubkey, sources)
    ssh.update_known_hosts(host, rootfs.host_keys(rootdir))
    if machines.running(host.name):
        echo(f"{host.name}: already running")
        return
    machines.boot(host, rootdir)
    echo(f"{host.name}: booting at {host.address}")


# apt-cacher-ng fails one of several requests for the same index that start in the same
# second ("Failure to move file ... File exists"), and apt can then hang for good. So
# the lab refreshes each host's lists itself, one host at a time, with a hard timeout;
# the engines' own refreshes (only when a package is to be installed) then find fresh lists.
APT_REFRESH = (
    "find /var/lib/apt/lists -maxdepth 1 -name '*InRelease' -mmin -50 | grep -q . || "
    "{ for try in 1 2 3; do timeout 90 apt-get update -qq && exit 0; "
    "pkill -x apt-get; pkill -f /usr/lib/apt/methods/; sleep 2; done; exit 1; }"
)


def refresh_package_lists(hosts: tuple[LabHost, ...], echo: Echo) -> None:
    for host in hosts:
        result = subprocess.run(
            ssh.ssh_command(host.name, APT_REFRESH),
            capture_output=True,
            text=True,
            timeout=400,
            check=False,
        )
        if result.returncode != 0:
            raise LabError(
                f"{host.name}: apt-get update through the lab proxy failed 3 times; see "
                f"{lab_state()}/apt-cacher-ng/log/apt-cacher.err"
            )
    echo(f"package lists fresh on {len(hosts)} hosts")


def wait_for_ssh(hosts: tuple[LabHost, ...], started: float, echo: Echo) -> None:
    waiting = list(hosts)
    deadline = time.monotonic() + SSH_READY_TIMEOUT
    while waiting:
        for host in list(waiting):
            if not machines.running(host.name):
                raise LabError(
                    f"{host.name} stopped while booting; see its console log "
                    f"{machines.console_log(host.name)}, then rerun `lab up`"
                )
            if ssh.ssh_answers(host, timeout=5):
                waiting.remove(host)
                echo(f"{host.name}: ssh ready ({time.monotonic() - started:.1f} s)")
        if waiting and time.monotonic() > deadline:
            names = ", ".join(h.name for h in waiting)
            raise LabError(
                f"no ssh answer from {names} after {SSH_READY_TIMEOUT:.0f} s; see "
                f"{host_dir(waiting[0].name)}/console.log"
            )
        if waiting:
            time.sleep(0.3)


def known_host_names(inv: LabInventory) -> list[str]:
    """Hosts in the inventory plus any the lab once made (a renamed host still gets stopped)."""
    names = [h.name for h in inv.hosts]
    hosts_dir = lab_state() / "hosts"
    if hosts_dir.is_dir():
        names += sorted(p.name for p in hosts_dir.iterdir() if p.name not in names)
    return names


def down(echo: Echo, wipe: bool = False, inv: LabInventory | None = None) -> None:
    require_root("down")
    inv = inv or lab_inventory()
    names = known_host_names(inv)
    by_name = {h.name: h for h in inv.hosts}
    for name in names:
        if name in by_name and machines.running(name):
            ssh.close_master(by_name[name])
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        results = dict(zip(names, pool.map(machines.shutdown, names), strict=True))
    for name in names:
        if not results[name]:
            echo(f"{name}: did not power off in {machines.STOP_TIMEOUT:.0f} s, killed")
        rootfs.unmount(name)
        network.remove_host_network(name)
        if wipe:
            rootfs.wipe(name)
        echo(f"{name}: down" + (" (disk wiped)" if wipe else ""))
    aptproxy.stop_proxy()
    clients.remove_clients()
    network.remove_bridge(inv.network)
    firewall.remove_firewall()
    shutil.rmtree(control_dir(), ignore_errors=True)
    if wipe:
        known_hosts_path().unlink(missing_ok=True)
    left = leftovers(inv, names)
    if left:
        raise LabError("lab down left behind: " + "; ".join(left) + " — rerun `lab down`")
    echo(
        f"lab down; kept the blackhole route for {inv.network.subnet}, the base image and "
        + ("the caches" if wipe else "each host's disk (use --wipe to delete them)")
    )


def leftovers(inv: LabInventory, names: list[str]) -> list[str]:
    left = [f"link {n}" for n in network.leftover_links(inv)]
    left += [f"netns {n} processes" for n in names if machines.netns_pids(n)]
    left += [f"netns {n}" for n in names if network.netns_path(n).exists()]
    left += [f"mount {rootfs.root(n)}" for n in names if rootfs.mounted(rootfs.root(n))]
    left += [f"process {n}" for n in names if machines.running(n)]
    if aptproxy.running():
        left.append("apt-cacher-ng")
    if firewall.table_present():
        left.append(f"nftables table {firewall.TABLE}")
    return left


@dataclass(frozen=True)
class HostStatus:
    name: str
    address: str
    netns: bool
    pid: int | None
    ssh: bool | None  # None: not checked (bridge down)

    @property
    def state(self) -> str:
        if self.pid and self.ssh:
            return "up"
        if self.pid:
            return "booting/unreachable" if self.ssh is False else "running"
        return "down"


def status(inv: LabInventory | None = None) -> tuple[list[str], list[HostStatus]]:
    inv = inv or lab_inventory()
    net = inv.network
    bridge = network.bridge_ready(net)
    guard = network.blackhole_present(net)
    proxy = aptproxy.running()
    lines = [
        f"guard: blackhole route {net.subnet} " + ("present" if guard else "MISSING"),
        f"bridge: {net.bridge} {net.bridge_address} " + ("up" if bridge else "down"),
        "apt proxy: " + (f"running (pid {proxy})" if proxy else "stopped"),
        f"host firewall: table inet {firewall.TABLE} "
        + ("loaded" if firewall.table_present() else "absent"),
    ]
    hosts = []
    for host in inv.hosts:
        pid = machines.running(host.name)
        reachable = ssh.ssh_answers(host) if (bridge and guard and pid) else None
        hosts.append(
            HostStatus(
                host.name, str(host.address), network.netns_path(host.name).exists(), pid, reachable
            )
        )
    return lines, hosts
