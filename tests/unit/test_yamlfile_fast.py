"""libyaml (fast) and pure-Python (exact messages) loading agree on every file we have."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from regionhus import yamlfile

REPO = Path(__file__).resolve().parents[2]
FILES = sorted(
    [
        REPO / "region.yml",
        *(REPO / "kommuner").glob("*.yml"),
        *(REPO / "inventory").glob("*.yml"),
        *(REPO / "tests" / "broken").rglob("*.yml"),
    ]
)


def load(path: Path, fast: bool) -> yamlfile.YamlDocument | Exception:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    parser, loader = (
        (yaml.CSafeLoader, yamlfile._FastUniqueKeyLoader)
        if fast
        else (yaml.SafeLoader, yamlfile._UniqueKeyLoader)
    )
    try:
        return yamlfile._load(path, text, parser, loader)
    except (yaml.YAMLError, yamlfile.YamlSyntaxError) as exc:
        return exc


@pytest.mark.skipif(not yamlfile.FAST, reason="PyYAML without libyaml")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_fast_loader_reads_what_the_exact_one_reads(path: Path) -> None:
    fast, slow = load(path, fast=True), load(path, fast=False)
    if isinstance(slow, Exception):
        # Never more lenient: what the exact loader refuses, the fast one refuses too.
        assert isinstance(fast, Exception), f"libyaml accepted {path}: {slow}"
        return
    assert not isinstance(fast, Exception), fast
    assert fast.data == slow.data
    assert fast.lines == slow.lines


def test_a_broken_file_gets_the_exact_loaders_message(tmp_path: Path) -> None:
    bad = tmp_path / "tinn.yml"
    bad.write_text("name: Tinn\nslug: tinn\n  population: 5\n")
    with pytest.raises(yamlfile.YamlSyntaxError) as caught:
        yamlfile.load_yaml(bad)
    assert caught.value.line == 3
    assert "mapping values are not allowed here" in caught.value.message
