"""Where regionhus finds the region's checkout, and keeps things outside git.

The checkout (region.yml, kommuner/, inventory/, playbooks/) is found from `--root`,
REGIONHUS_ROOT, or the working directory and its parents, so a normal `pip install .`
works; an editable install also finds the checkout it was installed from.

Runtime state (lab keys, ssh configs, vault password, apply and drill records) and
caches (the lab's base image) live on the machine, so a fresh clone never carries a
secret and CI reuses the image cache.
"""

from __future__ import annotations

import os
from pathlib import Path

from regionhus.errors import RegionhusError

# What makes a folder a region's checkout.
MARKERS = ("region.yml", "kommuner")
# The package's own parent: the checkout, when installed editable from one.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent
# Kept for code written before `repo_root()`; wrong for a non-editable install.
REPO_ROOT = PACKAGE_PARENT


def is_checkout(path: Path) -> bool:
    return all((path / marker).exists() for marker in MARKERS)


def find_checkout(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if is_checkout(folder):
            return folder
    return None


def repo_root() -> Path:
    """The checkout whose kommuner/, region.yml and inventory/ are read."""
    pinned = os.environ.get("REGIONHUS_ROOT")
    if pinned:
        return Path(pinned).resolve()
    found = find_checkout(Path.cwd().resolve())
    if found is None and is_checkout(PACKAGE_PARENT):
        found = PACKAGE_PARENT
    if found is None:
        raise RegionhusError(
            f"no region checkout (a folder with {' and '.join(MARKERS)}) in "
            f"{Path.cwd()} or above it: cd into your clone of the region's repository, "
            "or pass --root PATH (or set REGIONHUS_ROOT)"
        )
    return found.resolve()


def state_dir() -> Path:
    """Machine-local state: lab keys and ssh configs, vault password, records.

    /var/lib/regionhus for root (the lab); an operator's own ~/.local/state/regionhus
    otherwise, so a plan from a laptop needs no root."""
    pinned = os.environ.get("REGIONHUS_STATE_DIR")
    if pinned:
        return Path(pinned)
    if os.geteuid() == 0:
        return Path("/var/lib/regionhus")
    xdg = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(xdg) / "regionhus"


def cache_dir() -> Path:
    """Machine-local caches that survive `lab down` and fresh clones (base image)."""
    return Path(os.environ.get("REGIONHUS_CACHE_DIR", "/var/cache/regionhus"))


def records_dir() -> Path:
    """Evidence written by apply, backup drills and checks; read by the audit report."""
    return state_dir() / "records"
