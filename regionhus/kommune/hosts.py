"""The one way `regionhus kommune` runs something on a host.

Every command of export and purge goes through `run_on_host`, so moving to the
region's shared transport (regionhus.transport, being built) is a change here only.
Until then it is the lab's ssh path (regionhus.lab), as `backup drill` uses.
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
    from regionhus.lab import require_lab_bridge, ssh_command

    require_lab_bridge()
    argv = ssh_command(host, command)
    if stdin is not None:
        argv = [a for a in argv if a != "-n"]  # -n would close the stdin we feed
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
