"""Where regionhus keeps things outside git.

The repository holds only reviewed facts. Runtime state (lab keys, ssh config,
vault password, apply and drill records) and caches (the lab's base image) live on
the machine, so a fresh clone never carries a secret and CI reuses the image cache.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def repo_root() -> Path:
    """The checkout whose kommuner/, region.yml and inventory/ are read."""
    return Path(os.environ.get("REGIONHUS_ROOT", REPO_ROOT)).resolve()


def state_dir() -> Path:
    """Machine-local state: lab keys and ssh config, vault password, records."""
    return Path(os.environ.get("REGIONHUS_STATE_DIR", "/var/lib/regionhus"))


def cache_dir() -> Path:
    """Machine-local caches that survive `lab down` and fresh clones (base image)."""
    return Path(os.environ.get("REGIONHUS_CACHE_DIR", "/var/cache/regionhus"))


def records_dir() -> Path:
    """Evidence written by apply, backup drills and checks; read by the audit report."""
    return state_dir() / "records"
