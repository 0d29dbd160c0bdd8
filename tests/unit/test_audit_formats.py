"""`regionhus audit` end to end: every format's content, from the shipped region."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from report.audit_records import ON, seed_records

from regionhus.cli import main

BOM = "\ufeff"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("state")
    seed_records(state / "records")
    target = tmp_path_factory.mktemp("out")
    env = {
        "REGIONHUS_STATE_DIR": str(state),
        "REGIONHUS_TODAY": ON.isoformat(),
        "REGIONHUS_INVENTORY": "embedded",
    }
    args = ["audit", "--out", str(target)]
    for fmt in ("html", "csv", "json", "md"):
        args += ["--format", fmt]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    english = CliRunner().invoke(
        main,
        [
            "audit",
            "--kommune",
            "kongsberg",
            "--lang",
            "en",
            "--format",
            "html",
            "--format",
            "csv",
            "--out",
            str(target / "en"),
        ],
        env=env,
    )
    assert english.exit_code == 0, english.output
    return target


def read_csv(path: Path, delimiter: str = ";") -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(BOM.encode("utf-8")), f"{path.name} lacks the UTF-8 BOM"
    text = raw.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_a_report_per_municipality_and_one_for_the_region(out: Path) -> None:
    slugs = {p.stem for p in (Path(__file__).parents[2] / "kommuner").glob("*.yml")}
    for scope in {"region", *slugs}:
        for ext in ("html", "json", "md"):
            assert (out / f"{scope}.{ext}").is_file(), f"{scope}.{ext}"
        assert (out / f"{scope}-costs.csv").is_file()


def test_json_is_the_full_model_with_flagged_findings(out: Path) -> None:
    data = json.loads((out / "region.json").read_text(encoding="utf-8"))
    assert data["scope"] == "region" and data["on"] == ON.isoformat()
    kommuner = {k["slug"]: k for k in data["kommuner"]}
    assert kommuner["kongsberg"]["admin"]["extra"] == ["kbg.mallory"]
    assert kommuner["kongsberg"]["backup"]["last_drill"]["result"] == "fail"
    codes = {(f["kommune"], f["code"], f["severity"]) for f in data["findings"]}
    assert ("kongsberg", "admin.extra_member", "critical") in codes
    assert ("kongsberg", "drill.failed", "critical") in codes
    assert data["finding_counts"]["critical"] >= 2
    totals = data["costs"]["totals"]
    assert totals["total_nok"] == 4_200_000 + totals["usage_nok"]
    assert sum(r["total_nok"] for r in data["costs"]["rows"]) == totals["total_nok"]
    assert kommuner["nore-og-uvdal"]["name"] == "Nore og Uvdal"
    assert "Øvre Eiker" in (out / "region.json").read_text(encoding="utf-8")


def test_csv_keeps_norwegian_letters_and_sums(out: Path) -> None:
    rows = read_csv(out / "region-costs.csv")
    header, body, total = rows[0], rows[1:-1], rows[-1]
    names = [r[1] for r in body]
    assert "Øvre Eiker" in names and "Nore og Uvdal" in names
    column = header.index("Sum")
    assert sum(int(r[column]) for r in body) == int(total[column])
    usage = sum(int(r[header.index("VDI (kr)")]) + int(r[header.index("Kopi (kr)")]) for r in body)
    assert int(total[column]) == 4_200_000 + usage
    assert body[0][header.index("Fast andel (eksakt)")] == "180000,00"  # decimal comma


def test_csv_findings_and_admins_flag_the_discrepancies(out: Path) -> None:
    findings = read_csv(out / "region-findings.csv")
    assert findings[0] == ["Alvorlighet", "Kommune", "Kode", "Beskrivelse"]
    flagged = {(r[0], r[1], r[2]) for r in findings[1:]}
    assert ("KRITISK", "kongsberg", "admin.extra_member") in flagged
    assert ("KRITISK", "kongsberg", "drill.failed") in flagged
    admins = read_csv(out / "kongsberg-admins.csv")
    mallory = next(r for r in admins if r[2] == "kbg.mallory")
    assert mallory[4] == "ikke erklært" and mallory[6] == "ja"
    flesberg = read_csv(out / "flesberg-admins.csv")
    own = [r for r in flesberg[1:] if r[4] == "kommunens operatør"]
    regional = [r for r in flesberg[1:] if r[4] == "regional operatør (K-IKT)"]
    assert own and all(r[6] == "ikke lest fra katalogen" for r in own)
    # The regional operators' rights come from the regional group, read for the region.
    assert {r[2] for r in regional} == {"drift.kari", "drift.per"}
    assert all(r[1] == "KBR-region-admins" and r[6] == "ja" for r in regional)


def test_english_csv_uses_commas_and_english_headers(out: Path) -> None:
    rows = read_csv(out / "en" / "kongsberg-costs.csv", delimiter=",")
    assert rows[0][:3] == ["slug", "Municipality", "Member in the year"]


def test_markdown_has_every_section(out: Path) -> None:
    text = (out / "region.md").read_text(encoding="utf-8")
    for heading in (
        "# Revisjonsrapport for Kongsbergregionen",
        "## Funn (",
        "## Oversikt over kommunene",
        "## Kostnadsfordeling 2025",
        "## Øvre Eiker (3314)",
        "### Administrative rettigheter",
        "### Sikkerhetskopiering",
        "### Endringer i perioden",
    ):
        assert heading in text, heading
    assert "**KRITISK**" in text and "kbg.mallory" in text
    assert "ikke lest fra katalogen" in text


def test_html_is_self_contained_and_flags_findings(out: Path) -> None:
    html = (out / "region.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="nb">' in html
    assert "<style>" in html and "<svg" in html and "</svg>" in html
    # Offline: nothing to fetch (no scripts, stylesheets, images or fonts from outside).
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert 'class="sev sev-critical"' in html
    assert "kbg.mallory" in html and "sha256 stemmer ikke for 3 filer" in html
    assert "Øvre Eiker" in html and "Nore og Uvdal" in html


def test_municipality_html_does_not_show_other_municipalities_people(out: Path) -> None:
    html = (out / "tinn.html").read_text(encoding="utf-8")
    assert "Revisjonsrapport for Tinn kommune" in html
    assert "kbg.mallory" not in html and "kbg.ola" not in html
    english = (out / "en" / "kongsberg.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in english and "Audit report for Kongsberg" in english


def test_unknown_municipality_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["audit", "--kommune", "oslo", "--out", str(tmp_path)],
        env={"REGIONHUS_STATE_DIR": str(tmp_path), "REGIONHUS_INVENTORY": "embedded"},
    )
    assert result.exit_code != 0
    assert "oslo" in result.output and "Traceback" not in result.output
