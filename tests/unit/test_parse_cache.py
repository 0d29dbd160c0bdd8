"""Parses remembered by content (regionhus.yamlfile.load_yaml_cached): the same findings
and the same region as without, for every broken case; a changed file is parsed again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from broken_cases import install_case

from regionhus import yamlfile
from regionhus.config import load_region
from regionhus.validate import validate_tree

BROKEN = Path(__file__).resolve().parent.parent / "broken"
FILE_CASES = sorted(
    p.name
    for p in BROKEN.iterdir()
    if p.is_dir()
    and yaml.safe_load((p / "expected.yml").read_text()).get("kind", "files") == "files"
)


def findings(root: Path) -> list[tuple]:
    _, found = validate_tree(root)
    return [(f.file, f.line, f.field, f.message, f.hint) for f in found]


@pytest.mark.parametrize("case", FILE_CASES)
def test_a_warm_cache_reports_exactly_what_no_cache_reports(
    case: str, region_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_case(BROKEN / case, region_copy)
    monkeypatch.setenv("REGIONHUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("REGIONHUS_PARSE_CACHE", "0")
    uncached = findings(region_copy)
    monkeypatch.delenv("REGIONHUS_PARSE_CACHE")
    cold, warm = findings(region_copy), findings(region_copy)
    assert uncached, case  # a broken case: something is found
    assert cold == uncached and warm == uncached


def test_the_region_loads_the_same_from_the_cache(
    region_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIONHUS_CACHE_DIR", str(tmp_path / "cache"))
    cold = load_region(region_copy)
    entries = list((tmp_path / "cache" / "parsed").glob("*/*.json"))
    assert len(entries) == 1 + len(cold.kommuner)  # region.yml and each municipality
    warm = load_region(region_copy)
    assert warm.region == cold.region and warm.kommuner == cold.kommuner


def test_a_changed_file_is_parsed_again_and_a_damaged_entry_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = tmp_path / "k.yml"
    path.write_text("name: Tinn\nlist:\n  - a\n")
    first = yamlfile.load_yaml_cached(path, cache)
    assert yamlfile.load_yaml_cached(path, cache) == first
    # Same name, new bytes: never the old entry (an alias is refused as without a cache).
    path.write_text("name: &n Tinn\nother: *n\n")
    with pytest.raises(yamlfile.YamlSyntaxError, match="anchors and aliases"):
        yamlfile.load_yaml_cached(path, cache)
    path.write_text("name: Tinn\nlist:\n  - a\n")
    (entry,) = cache.rglob("*.json")
    entry.write_text('{"data": ')  # a run that died while writing
    assert yamlfile.load_yaml_cached(path, cache) == first


def test_what_json_cannot_hold_exactly_is_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = tmp_path / "k.yml"
    path.write_text("1: one\nname: Tinn\n")  # a number as a key would come back as "1"
    doc = yamlfile.load_yaml_cached(path, cache)
    assert doc.data == {1: "one", "name": "Tinn"}
    assert not list(cache.rglob("*.json"))
    path.write_text("name: Tinn\n")
    yamlfile.load_yaml_cached(path, cache)
    (entry,) = cache.rglob("*.json")
    assert json.loads(entry.read_text())["data"] == {"name": "Tinn"}


def test_an_accepted_key_is_remembered_and_a_refused_one_named_every_time(
    region_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIONHUS_CACHE_DIR", str(tmp_path / "cache"))
    assert findings(region_copy) == []
    (memo,) = (tmp_path / "cache" / "parsed").glob("accepted-keys-*.json")
    remembered = json.loads(memo.read_text())
    assert remembered  # the shipped operators' keys
    path = region_copy / "kommuner" / "tinn.yml"
    text = path.read_text(encoding="utf-8")
    key = next(line.split(": ", 1)[1] for line in text.splitlines() if "ssh_public_key:" in line)
    # The same key with its data cut short: refused, with or without a warm cache.
    path.write_text(text.replace(key, key[:60] + " cut"), encoding="utf-8")
    for _ in range(2):
        assert any(f[2].endswith("ssh_public_key") for f in findings(region_copy))
    assert json.loads(memo.read_text()) == remembered
