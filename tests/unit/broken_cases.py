"""The broken-input corpus (tests/broken/<case>/): putting a case over a region copy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

BROKEN = Path(__file__).resolve().parent.parent / "broken"


def install_case(case_dir: Path, root: Path) -> dict[str, Any]:
    """Copy the case's files over the region copy; returns its expected.yml."""
    expected = yaml.safe_load((case_dir / "expected.yml").read_text())
    for broken in case_dir.rglob("*"):
        if broken.is_file() and broken.name != "expected.yml":
            target = root / broken.relative_to(case_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(broken, target)
    pad = expected.get("pad")
    if pad:  # a huge file, made here rather than kept in git
        with (root / pad["file"]).open("a", encoding="utf-8") as handle:
            handle.write(("# " + "x" * 98 + "\n") * (int(pad["bytes"]) // 100 + 1))
    return expected
