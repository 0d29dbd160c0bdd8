"""The one way `regionhus kommune` runs something on a host: the region's transport.

Every command of export and purge goes through `run_on_host`, which takes the argv,
the route check and the access diagnosis from regionhus.transport (the same ssh the
engines use: the lab's, or the operator's own with bastion, pinned keys and sudo),
adding what export needs: feeding a script on stdin and streaming output to a file.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import IO

from regionhus.errors import RegionhusError
from regionhus.transport import HostAccessError, Transport, access_problem


def run_on_host(
    via: Transport,
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
    via.require_route(host)
    proc = subprocess.run(
        via.argv(host, command, stdin=stdin is not None),
        input=stdin,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    errors = proc.stderr.decode(errors="replace")
    problem = access_problem(proc.returncode, errors, host, via)
    if problem:
        raise HostAccessError(problem)
    if check and proc.returncode != 0:
        shown = command if isinstance(command, str) else " ".join(command)
        raise RegionhusError(
            f"{host}: `{shown[:200]}` failed ({proc.returncode}): {errors.strip()[-800:]}"
        )
    return proc


def text(proc: subprocess.CompletedProcess[bytes]) -> str:
    return (proc.stdout or b"").decode("utf-8", errors="replace")
