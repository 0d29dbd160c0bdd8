"""Every test module has a basename of its own.

pytest imports test files by basename (rootdir-relative, no packages): a second
`test_x.py` in another folder stops the whole suite at collection, which a run of one
folder (`pytest tests/unit`) never shows, only `make test`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_no_two_test_modules_share_a_basename() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if "broken" not in path.relative_to(TESTS).parts:
            seen[path.name].append(str(path.relative_to(TESTS)))
    shared = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not shared, f"rename one of each (pytest cannot collect both): {shared}"
