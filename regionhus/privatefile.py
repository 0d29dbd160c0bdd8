"""Files only their owner may read, restricted from the moment they exist.

Writing a file and restricting it afterwards leaves a window in which another local
user can open it (and keep the descriptor after the chmod). These helpers create the
file with its final mode, under a temporary name, and rename it into place.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600


def write_private(path: Path, data: bytes | str, mode: int = PRIVATE) -> None:
    """Atomically replace `path` with `data`; the file is never readable by others."""
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover could carry a wider mode: O_EXCL refuses it
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it further; make it exact
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
