"""The hosts' only way to packages: apt-cacher-ng on the bridge address, forwarding to the
mirror this machine is configured with.

It runs with a config directory of its own: Debian's default config answers 503 for the
debian mirror because its backends file is empty, and listens on every interface.
"""

from __future__ import annotations

import pwd
import shutil
import socket
import time
from pathlib import Path

from regionhus.lab import procs
from regionhus.lab.errors import LabError
from regionhus.lab.inventory import LabNetwork
from regionhus.lab.layout import acng_cache, acng_dir
from regionhus.lab.mirror import Mirrors

PORT = 3142
ACNG_USER = "apt-cacher-ng"


def render_config(net: LabNetwork, mirrors: Mirrors, cache: Path, logdir: Path) -> str:
    lines = [
        "# Written by `regionhus lab up`; the lab's own apt-cacher-ng, bridge address only.",
        f"CacheDir: {cache}",
        f"LogDir: {logdir}",
        "SupportDir: /usr/lib/apt-cacher-ng",
        f"Port: {PORT}",
        f"BindAddress: {net.bridge_address}",
        "ExThreshold: 4",
        f"Remap-debrep: /debian ; {mirrors.debian}/",
    ]
    if mirrors.security:
        lines.append(f"Remap-secdeb: /debian-security ; {mirrors.security}/")
    return "\n".join(lines) + "\n"


def apt_sources(net: LabNetwork, mirrors: Mirrors, suite: str) -> str:
    """The hosts' sources.list: everything through the proxy on the bridge."""
    base = f"http://{net.bridge_address}:{PORT}"
    lines = [
        "# regionhus lab: packages come through the lab's apt proxy on the bridge.",
        f"deb {base}/debian {suite} main",
        f"deb {base}/debian {suite}-updates main",
    ]
    if mirrors.security:
        lines.append(f"deb {base}/debian-security {suite}-security main")
    return "\n".join(lines) + "\n"


def pidfile() -> Path:
    return acng_dir() / "pid"


def running() -> int | None:
    return procs.tracked_pid(pidfile(), str(acng_dir()))


def ensure_proxy(net: LabNetwork, mirrors: Mirrors) -> None:
    conf_dir = acng_dir()
    logdir = conf_dir / "log"
    cache = acng_cache()
    for d in (conf_dir, logdir, cache):
        d.mkdir(parents=True, exist_ok=True)
    user = ACNG_USER if has_user(ACNG_USER) else None
    if user:
        for d in (logdir, cache):
            shutil.chown(d, user, user)
    conf = conf_dir / "acng.conf"
    wanted = render_config(net, mirrors, cache, logdir)
    changed = not conf.exists() or conf.read_text() != wanted
    conf.write_text(wanted)
    pid = running()
    if pid and not changed and listening(net):
        return
    if pid:
        procs.stop(pid, timeout=5)
    if port_taken(net):
        raise LabError(
            f"something else listens on {net.bridge_address}:{PORT} (a system-wide "
            f"apt-cacher-ng?); find it with `ss -ltnp 'sport = :{PORT}'`, stop it, then "
            f"rerun `regionhus lab up`"
        )
    procs.start(
        ["apt-cacher-ng", "-c", str(conf_dir), "ForeGround=1"],
        pidfile(),
        logdir / "daemon.log",
        user=user,
    )
    wait_listening(net)


def has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def listening(net: LabNetwork) -> bool:
    try:
        with socket.create_connection((str(net.bridge_address), PORT), timeout=1):
            return True
    except OSError:
        return False


port_taken = listening


def wait_listening(net: LabNetwork, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(net):
            return
        time.sleep(0.2)
    raise LabError(
        f"apt-cacher-ng did not start on {net.bridge_address}:{PORT}; see {acng_dir() / 'log'}"
    )


def stop_proxy() -> None:
    pid = running()
    if pid:
        procs.stop(pid, timeout=5)
    pidfile().unlink(missing_ok=True)
