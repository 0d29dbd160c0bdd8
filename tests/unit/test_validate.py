"""`regionhus validate`: the shipped files pass; every broken case fails as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from broken_cases import install_case
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


def case_kind(case: str) -> str:
    return str(yaml.safe_load((BROKEN / case / "expected.yml").read_text()).get("kind", "files"))


FILE_CASES = [c for c in CASES if case_kind(c) == "files"]
NETBOX_CASES = [c for c in CASES if case_kind(c) == "netbox"]
VAULT_CASES = [c for c in CASES if case_kind(c) == "vault"]


@pytest.mark.parametrize("case", FILE_CASES)
def test_broken_case_reports_every_expected_finding(case: str, region_copy: Path) -> None:
    case_dir = BROKEN / case
    expected = install_case(case_dir, region_copy)["findings"]

    code, output = run_validate(region_copy)

    assert code == 1, output
    assert "Traceback" not in output
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
    if finding["msg"].startswith("required key is missing"):
        return  # the key is not in the file: the line is that of the enclosing mapping
    parts = (finding["field"] or "").split(".")
    if parts[-1].isdigit():
        # An item of a list of values (client_networks.0): the line is the item itself.
        text = (root / finding["file"]).read_text().splitlines()[int(finding["line"]) - 1]
        item = text.lstrip().startswith("- ") or "[" in text
        assert item, f"line {finding['line']} ({text!r}) is no item"
        return
    names = [p for p in parts if p and not p.isdigit()]
    if names:
        text = (root / finding["file"]).read_text().splitlines()[int(finding["line"]) - 1]
        assert names[-1] in text, f"line {finding['line']} ({text!r}) is not about {names[-1]}"


def test_every_case_is_documented() -> None:
    for case in CASES:
        assert (BROKEN / case / "expected.yml").is_file(), case


def test_the_corpus_covers_every_input() -> None:
    """At least 60 cases, across kommuner/, region.yml, hosts, NetBox and the vault."""
    assert len(CASES) >= 60
    touched = {
        p.relative_to(BROKEN / c).parts[0] for c in FILE_CASES for p in (BROKEN / c).rglob("*.y*ml")
    }
    assert {"kommuner", "region.yml", "inventory"} <= touched
    assert len(NETBOX_CASES) >= 3 and len(VAULT_CASES) >= 3


@pytest.mark.parametrize("case", NETBOX_CASES)
def test_broken_netbox_records_are_each_named(case: str, repo: Path) -> None:
    from regionhus.netbox.source import convert

    case_dir = BROKEN / case
    expected = yaml.safe_load((case_dir / "expected.yml").read_text())["problems"]
    records = json.loads((case_dir / "records.json").read_text())
    tenants = {p.stem for p in (repo / "kommuner").glob("*.yml")}

    result = convert(records, tenants)

    assert len(result.problems) == len(expected), result.problems
    for want in expected:
        assert any(
            p.startswith(f"{want['record']}: ") and want["message"] in p for p in result.problems
        ), f"missing {want} in {result.problems}"
    assert {h.name for h in result.hosts}.isdisjoint(w["record"] for w in expected)


@pytest.mark.parametrize("case", VAULT_CASES)
def test_broken_vault_reports_every_expected_finding(case: str, repo: Path) -> None:
    from regionhus.config import load_region
    from regionhus.errors import InvalidConfiguration
    from regionhus.secrets import required_secrets
    from regionhus.vault_check import check_vault_text

    case_dir = BROKEN / case
    expected = yaml.safe_load((case_dir / "expected.yml").read_text())["findings"]
    plain = case_dir / "vault.yml"

    with pytest.raises(InvalidConfiguration) as caught:
        check_vault_text(plain, plain.read_bytes(), required_secrets(load_region(repo)))

    found = caught.value.findings
    assert len(found) == len(expected), [f.format() for f in found]
    for want in expected:
        assert any(
            f.field == want["field"] and want["message"] in f.message and f.line for f in found
        ), f"missing {want} in {[f.format() for f in found]}"
