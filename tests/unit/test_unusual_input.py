"""Valid but unusual input passes: Windows line ends, a byte order mark, decomposed
(NFD) letters and the Sámi letters of real municipality names."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from regionhus.cli import main
from regionhus.config import load_region

SAMI_NAMES = [
    "Porsanger – Porsáŋgu – Porsanki",
    "Guovdageaidnu – Kautokeino",
    "Kárášjohka – Karasjok",
    "Unjárga – Nesseby",
    "Snåase – Snåsa",
    "Gáivuotna – Kåfjord – Kaivuonu",
    "Čáhcesuolu ŧ đ ž",
]


def validate(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--root", str(root), "validate"])
    return result.exit_code, result.output


def rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(change(path.read_bytes()))


def test_crlf_line_ends_and_a_bom_pass(region_copy: Path) -> None:
    rewrite(region_copy / "kommuner" / "tinn.yml", lambda b: b.replace(b"\n", b"\r\n"))
    rewrite(region_copy / "kommuner" / "rollag.yml", lambda b: codecs.BOM_UTF8 + b)
    rewrite(region_copy / "region.yml", lambda b: codecs.BOM_UTF8 + b.replace(b"\n", b"\r\n"))
    hosts = region_copy / "inventory" / "lab-region.hosts.yml"
    rewrite(hosts, lambda b: codecs.BOM_UTF8 + b.replace(b"\n", b"\r\n"))

    code, output = validate(region_copy)

    assert code == 0, output
    config = load_region(region_copy)
    assert config.kommuner["tinn"].name == "Tinn"
    assert config.kommuner["rollag"].name == "Rollag"


@pytest.mark.parametrize("form", ["NFC", "NFD"])
@pytest.mark.parametrize("name", SAMI_NAMES)
def test_sami_letters_pass_composed_or_decomposed(region_copy: Path, name: str, form: str) -> None:
    path = region_copy / "kommuner" / "tinn.yml"
    written = unicodedata.normalize(form, name)
    path.write_text(path.read_text().replace("name: Tinn", f"name: {written}"), encoding="utf-8")

    code, output = validate(region_copy)

    assert code == 0, output
    assert load_region(region_copy).kommuner["tinn"].name == written


def test_a_sami_operator_name_passes(region_copy: Path) -> None:
    path = region_copy / "kommuner" / "tinn.yml"
    text = path.read_text().replace("name: Siri Rjukan", "name: Máret Áŋŋá Čuđe-Ŧaža")
    path.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")

    code, output = validate(region_copy)

    assert code == 0, output
