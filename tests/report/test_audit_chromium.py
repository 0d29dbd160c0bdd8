"""The HTML report as a browser shows it: rendered by headless Chromium, offline."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.reports.build import build_report
from regionhus.reports.evidence import RecordEvidence
from regionhus.reports.render_html import render_html

from .audit_records import NOW, ON, seed_records
from .conftest import run_chromium

SCREENSHOT = "region-audit.png"


@pytest.fixture(scope="module")
def region_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = seed_records(tmp_path_factory.mktemp("records"))
    inventory = load_inventory(source="embedded", config=load_region(on=ON))
    report = build_report(inventory, RecordEvidence(records), now=NOW, records_root=records)
    path = tmp_path_factory.mktemp("html") / "region.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel, and the rows that decode on their own.

    Pure Python (no Pillow here): rows filtered with None or Sub need no earlier row,
    so they are a cheap sample spread over the page; the others would take seconds.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        if kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6)
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * bpp
    rows = []
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        if kind in (0, 1):
            rows.append(bytes(line))
    return width, height, bpp, rows


def test_screenshot_shows_a_real_page(chromium: str, region_html: Path, tmp_path: Path) -> None:
    # Kept beside the HTML so a person can look at it after the run.
    shot = region_html.parent / SCREENSHOT
    done = run_chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,3000",
        region_html.as_uri(),
    )
    assert shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert len(data) > 100_000, "screenshot suspiciously small: blank page?"
    width, height, bpp, rows = png_rows(data)
    assert (width, height) == (1280, 3000)
    assert len(rows) > 20, "too few independently decodable rows to judge"
    colours = {row[i : i + 3] for row in rows for i in range(0, len(row), bpp)}
    assert len(colours) > 100, f"only {len(colours)} colours: not a rendered report"


def test_key_sections_render(chromium: str, region_html: Path, tmp_path: Path) -> None:
    done = run_chromium(chromium, tmp_path / "profile", "--dump-dom", region_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    for heading in (
        "Funn (",
        "Oversikt over kommunene",
        "Regionen som diagram",
        "Kostnadsfordeling 2025",
        "Administrative rettigheter",
        "Sikkerhetskopiering",
        "Endringer i perioden",
        "Øvre Eiker (3314)",
        "Nore og Uvdal (3338)",
    ):
        assert heading in dom, heading
    assert "<svg" in dom and "Det regionale huset" in dom
    assert "kbg.mallory er medlem av KBR-kongsberg-admins" in dom
    assert "Siste gjenopprettingsøvelse (2025-06-13 23:59 UTC) feilet" in dom
