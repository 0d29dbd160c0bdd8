"""The README describes this tree and this command line, not an older one."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from regionhus.exitcodes import Exit

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n{title}\n")
    end = README.find("\n#", start + len(title) + 2)
    return README[start : end if end != -1 else None]


def test_layout_table_names_only_paths_that_exist() -> None:
    cells = re.findall(
        r"`([^`]+)`",
        "\n".join(
            line.split(" | ")[0]
            for line in section("## Layout").splitlines()
            if line.startswith("| `")
        ),
    )
    assert cells
    for cell in cells:
        concrete = cell.split("<", 1)[0].rstrip("/") or cell
        assert (REPO / concrete).exists(), f"README layout names {cell}, which does not exist"


def test_layout_table_covers_every_top_level_entry() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {path.split("/", 1)[0] for path in tracked}
    layout = section("## Layout")
    # README.md is this file; .gitignore is git's own.
    missing = sorted(
        t for t in top if f"`{t}" not in layout and t not in {"README.md", ".gitignore"}
    )
    assert missing == []


def test_every_role_has_a_readme_and_is_in_the_layout() -> None:
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if p.is_dir())
    assert [r for r in roles if not (REPO / "roles" / r / "README.md").is_file()] == []
    assert [r for r in roles if f"`{r}`" not in section("## Layout")] == []


def test_exit_code_table_matches_the_codes() -> None:
    rows = re.findall(r"^\| (\d+) \|", section("### Exit codes"), re.MULTILINE)
    assert sorted(int(r) for r in rows) == sorted(int(code) for code in Exit)
