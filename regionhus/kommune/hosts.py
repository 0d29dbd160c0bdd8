"""The one way `regionhus kommune` runs something on a host.

Every command of export and purge goes through `run_on_host`, which uses the region's
one transport (regionhus.transport): the lab's ssh for the lab region, the operator's
own ssh through the bastion, then sudo, for a real one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import IO

from regionhus.errors import RegionhusError


def run_on_host(
    host: str,
    command: str | Sequence[str],
    *,
    stdin: bytes | None = None,
    stdout: IO[bytes] | None = None,
    check: bool = True,
    timeout: float = 3600,
) -> subprocess.CompletedProcess[bytes]:
    """Run `command` (a shell string or argv) as root on `host`.

    `stdin` is fed to it; with `stdout` (a binary file) the output is streamed there
    instead of kept in memory (a repository copy can be large)."""
    from regionhus.transport import region_transport

    via = region_transport()
    via.require_route(host)
    argv = via.argv(host, command, stdin=stdin is not None)
    proc = subprocess.run(
        argv,
        input=stdin,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        shown = command if isinstance(command, str) else " ".join(command)
        raise RegionhusError(
            f"{host}: `{shown[:200]}` failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()[-800:]}"
        )
    return proc


def text(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout or b"").decode("utf-8", errors="replace")
