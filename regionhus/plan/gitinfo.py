"""The git facts plan and apply need: commit, dirty tree, files changed since a ref."""

from __future__ import annotations

import subprocess
from pathlib import Path

from regionhus.errors import RegionhusError


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RegionhusError(
            f"git {' '.join(args)} failed in {root}: {proc.stderr.strip()}; "
            "is this a git checkout, and does the ref exist (git fetch origin)?"
        )
    return proc.stdout


def head_commit(root: Path) -> str:
    return _git(root, "rev-parse", "HEAD").strip()


def dirty_files(root: Path) -> list[str]:
    """Modified, staged and untracked (not ignored) files: what HEAD does not describe."""
    lines = _git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    return [line[3:] for line in lines if line.strip()]


def changed_since(root: Path, ref: str) -> list[str]:
    """Files changed between `ref` and the work tree (committed, staged, unstaged, new)."""
    base = _git(root, "merge-base", ref, "HEAD").strip()
    changed = _git(root, "diff", "--name-only", base).splitlines()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted({p for p in changed + untracked if p})
