"""`regionhus validate`: the shipped files pass; every broken case fails as documented."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from regionhus.cli import main

BROKEN = Path(__file__).resolve().parent.parent / "broken"
CASES = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())
FINDING = re.compile(r"^(?P<file>[^:\s]+)(:(?P<line>\d+))?:(?: (?P<field>[\w.]+):)? (?P<msg>.*)$")


def run_validate(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--root", str(root), "validate"])
    return result.exit_code, result.output


def parse_findings(output: str) -> list[dict]:
    findings: list[dict] = []
    for line in output.splitlines():
        if line.startswith("    -> ") and findings:
            findings[-1]["hint"] = line.removeprefix("    -> ")
            continue
        match = FINDING.match(line)
        if match:
            findings.append({**match.groupdict(), "hint": ""})
    return findings


def test_shipped_region_is_valid(repo: Path) -> None:
    code, output = run_validate(repo)
    assert code == 0, output
    assert "9 municipality files are valid" in output


@pytest.mark.parametrize("case", CASES)
def test_broken_case_reports_every_expected_finding(case: str, region_copy: Path) -> None:
    case_dir = BROKEN / case
    for broken in case_dir.rglob("*.yml"):
        if broken.name != "expected.yml":
            shutil.copy(broken, region_copy / broken.relative_to(case_dir))
    expected = yaml.safe_load((case_dir / "expected.yml").read_text())["findings"]

    code, output = run_validate(region_copy)

    assert code == 1, output
    found = parse_findings(output)
    assert len(found) == len(expected), output
    for want in expected:
        matches = [
            f
            for f in found
            if f["file"] == want["file"]
            and (f["field"] or "") == want["field"]
            and want["message"] in f["msg"]
            and want["hint"] in f["hint"]
        ]
        assert matches, f"missing {want} in:\n{output}"
        for match in matches:
            assert_line_points_at_field(region_copy, match)


def assert_line_points_at_field(root: Path, finding: dict) -> None:
    """The reported line is where the operator must look: it names the field's key."""
    if not finding["line"]:
        pytest.fail(f"no line number in {finding}")
    text = (root / finding["file"]).read_text().splitlines()[int(finding["line"]) - 1]
    if finding["msg"].startswith("required key is missing"):
        return  # the key is not in the file: the line is that of the enclosing mapping
    names = [p for p in (finding["field"] or "").split(".") if p and not p.isdigit()]
    if names:
        assert names[-1] in text, f"line {finding['line']} ({text!r}) is not about {names[-1]}"


def test_every_case_is_documented() -> None:
    for case in CASES:
        assert (BROKEN / case / "expected.yml").is_file(), case
