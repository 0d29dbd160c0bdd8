"""The command line as CI sees it: exit codes, --version, one machine-output spelling."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from regionhus.cli import main
from regionhus.exitcodes import Exit


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), env={})


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--kommnue", "tinn"],  # mistyped option
        ["plan", "--format", "yaml"],  # bad value
        ["plan", "extra-argument"],
        ["--no-such-global", "plan"],
        ["no-such-command"],
        ["backup", "drill"],  # missing argument in a subgroup
        ["apply", "--yes", "--hots", "dc1"],
    ],
)
def test_usage_error_is_64_never_changes_pending(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == Exit.USAGE, result.output
    assert result.exit_code != Exit.PENDING


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"regionhus, version {version('regionhus')}"


def _commands(group: click.Group, path: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        full = f"{path} {name}".strip()
        found.append((full, command))
        if isinstance(command, click.Group):
            found += _commands(command, full)
    return found


@pytest.mark.parametrize(("path", "command"), _commands(main), ids=lambda v: str(v))
def test_every_command_documents_its_exit_codes(path: str, command: click.Command) -> None:
    result = run(*path.split(), "--help")
    assert result.exit_code == 0, result.output
    assert "Exit codes:" in result.output
    assert "64  usage error" in result.output
    if path == "plan":
        assert "2   changes (or unknowns) pending" in result.output
    else:
        assert "\n  2 " not in result.output


def test_inventory_format_json_and_the_old_spelling_agree(repo: Path) -> None:
    new = run("--root", str(repo), "inventory", "--format", "json", "--source", "embedded")
    old = run("--root", str(repo), "inventory", "--json", "--source", "embedded")
    assert new.exit_code == old.exit_code == 0, new.output + old.output
    assert json.loads(new.output) == json.loads(old.output)
    assert "--json" not in run("inventory", "--help").output
