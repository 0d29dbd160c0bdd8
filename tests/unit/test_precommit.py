"""pre-commit runs the same gates as `make lint` (so a commit that passes, lints)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def lint_commands() -> list[str]:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "Makefile has no lint target"
    lines = [line.strip() for line in recipe[1].splitlines()]
    return [line.replace("$(VENV)", ".venv") for line in lines if not line.startswith("@")]


def test_every_lint_gate_is_a_pre_commit_hook() -> None:
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])  # nothing to download
    entries = {hook["entry"] for hook in hooks}
    gates = lint_commands()
    assert gates
    assert [gate for gate in gates if gate not in entries] == []
    assert [entry for entry in entries if entry not in gates] == []
