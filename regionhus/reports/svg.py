"""The region as an inline SVG: the regional house, the municipalities, who serves whom.

Hand-written SVG (no plotting library): it must render offline inside the HTML and
stay readable when printed, so the layout is a fixed grid computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from regionhus.reports.model import AuditReport, HostRow, KommuneSection, Severity
from regionhus.reports.texts import Texts

ROLE_COLOURS = {"directory": "#1f5fa8", "backup": "#c0601a", "vdi": "#6a3d9a"}
STATUS_STYLE = {  # fill, stroke, dash
    "active": ("#eaf5ec", "#2e7d32", ""),
    "leaving": ("#fff4e0", "#b26a00", ""),
    "planned": ("#f6f6f6", "#888888", "6 4"),
    "left": ("#eeeeee", "#8a8a8a", "2 3"),
}
MARGIN = 20
HOST_W, HOST_H = 190, 46
BOX_GAP = 12
KOMMUNE_HOST_H = 34


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


def _text(x: float, y: float, value: str, size: int = 12, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(value)}</text>'


def _rect(
    box: _Box, fill: str, stroke: str, dash: str = "", rx: int = 6, width: float = 1.5
) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dashed}/>'
    )


def render_svg(report: AuditReport, texts: Texts) -> str:
    shared = [h for h in report.hosts if h.shared]
    kommuner = report.kommuner
    n = max(len(kommuner), 1)
    width = max(1000, n * 150 + 2 * MARGIN)
    col_w = min((width - 2 * MARGIN) / n, 280)
    row_x0 = (width - col_w * n) / 2
    house = _Box(MARGIN, 70, width - 2 * MARGIN, HOST_H + 60)
    k_top = house.y + house.h + 150
    most_hosts = max((len(_own_hosts(k)) for k in kommuner), default=0)
    k_h = 70 + most_hosts * (KOMMUNE_HOST_H + 6)
    height = k_top + k_h + 90

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(texts.t("diagram"))}" '
        'font-family="DejaVu Sans, Arial, sans-serif">',
        f"<title>{escape(texts.t('diagram'))}</title>",
    ]
    parts += _house(house, shared, texts)
    host_boxes = _shared_host_boxes(house, shared)
    k_boxes = {
        k.slug: _Box(row_x0 + i * col_w + BOX_GAP / 2, k_top, col_w - BOX_GAP, k_h)
        for i, k in enumerate(kommuner)
    }
    parts += _lines(kommuner, host_boxes, k_boxes)
    for host, box in host_boxes.items():
        parts += _shared_host(box, next(h for h in shared if h.name == host), texts)
    for k in kommuner:
        parts += _kommune(k_boxes[k.slug], k, texts)
    parts += _legend(MARGIN, height - 40, texts)
    parts.append("</svg>")
    return "\n".join(parts)


def _house(box: _Box, shared: list[HostRow], texts: Texts) -> list[str]:
    roof = (
        f'<polygon points="{box.x - 6:.1f},{box.y:.1f} {box.cx:.1f},{box.y - 55:.1f} '
        f'{box.x + box.w + 6:.1f},{box.y:.1f}" fill="#d9e4f2" stroke="#34495e" '
        'stroke-width="2"/>'
    )
    title = _text(
        box.cx, box.y - 14, texts.t("regional_house"), 16, text_anchor="middle", font_weight="bold"
    )
    parts = [roof, _rect(box, "#f4f7fb", "#34495e", rx=2, width=2), title]
    if not shared:
        parts.append(_text(box.cx, box.y + box.h / 2, texts.t("no_hosts"), text_anchor="middle"))
    return parts


def _shared_host_boxes(house: _Box, shared: list[HostRow]) -> dict[str, _Box]:
    gap = 30
    total = len(shared) * HOST_W + max(len(shared) - 1, 0) * gap
    x0 = house.cx - total / 2
    y = house.y + (house.h - HOST_H) / 2
    return {h.name: _Box(x0 + i * (HOST_W + gap), y, HOST_W, HOST_H) for i, h in enumerate(shared)}


def _shared_host(box: _Box, host: HostRow, texts: Texts) -> list[str]:
    colour = ROLE_COLOURS.get(host.roles[0], "#444444")
    roles = ", ".join(texts.enum("role", r) for r in host.roles)
    return [
        _rect(box, "#ffffff", colour, width=2),
        _text(box.cx, box.y + 19, host.name, 13, text_anchor="middle", font_weight="bold"),
        _text(
            box.cx,
            box.y + 36,
            f"{roles} · {host.address}",
            11,
            text_anchor="middle",
            fill="#333333",
        ),
    ]


def _own_hosts(kommune: KommuneSection) -> list[HostRow]:
    return [h for h in kommune.hosts if not h.shared]


def _kommune(box: _Box, kommune: KommuneSection, texts: Texts) -> list[str]:
    fill, stroke, dash = STATUS_STYLE.get(kommune.status, STATUS_STYLE["active"])
    parts = [
        _rect(box, fill, stroke, dash, width=2),
        _text(box.cx, box.y + 20, kommune.name, 14, text_anchor="middle", font_weight="bold"),
        _text(
            box.cx,
            box.y + 37,
            f"{kommune.kommunenummer} · {texts.enum('status', kommune.status)}",
            11,
            text_anchor="middle",
            fill="#333333",
        ),
    ]
    for i, host in enumerate(_own_hosts(kommune)):
        hb = _Box(box.x + 8, box.y + 50 + i * (KOMMUNE_HOST_H + 6), box.w - 16, KOMMUNE_HOST_H)
        colour = ROLE_COLOURS.get(host.roles[0], "#444444")
        parts += [
            _rect(hb, "#ffffff", colour, rx=4),
            _text(hb.cx, hb.y + 15, host.name, 11, text_anchor="middle", font_weight="bold"),
            _text(
                hb.cx,
                hb.y + 28,
                f"{texts.t('site').lower()}: {host.site}",
                9,
                text_anchor="middle",
                fill="#555555",
            ),
        ]
    parts += _badge(box, kommune)
    return parts


def _badge(box: _Box, kommune: KommuneSection) -> list[str]:
    """A red or amber dot with the count: problems must be visible in the picture too."""
    critical = sum(f.severity == Severity.CRITICAL for f in kommune.findings)
    warning = sum(f.severity == Severity.WARNING for f in kommune.findings)
    if not critical and not warning:
        return []
    colour = "#c62828" if critical else "#e0a100"
    x, y = box.x + box.w - 4, box.y + 4
    return [
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="12" fill="{colour}" '
        'stroke="#ffffff" stroke-width="2"/>',
        _text(
            x,
            y + 4,
            str(critical or warning),
            12,
            text_anchor="middle",
            fill="#ffffff",
            font_weight="bold",
        ),
    ]


def _lines(
    kommuner: list[KommuneSection], host_boxes: dict[str, _Box], k_boxes: dict[str, _Box]
) -> list[str]:
    parts = []
    services = {"directory": "directory", "backup": "backup"}
    for k in kommuner:
        states = {s.service: s.state for s in k.services}
        depends = [h for h in k.hosts if h.shared and h.name in host_boxes]
        target = k_boxes[k.slug]
        for i, host in enumerate(depends):
            role = next((r for r in host.roles if r in services), host.roles[0])
            state = states.get(services.get(role, ""), "active")
            dash = ' stroke-dasharray="6 5"' if state != "active" else ""
            src = host_boxes[host.name]
            # Spread arrival points so lines from several hosts stay distinguishable.
            tx = target.x + target.w * (i + 1) / (len(depends) + 1)
            bottom = src.y + src.h
            parts.append(
                f'<path d="M{src.cx:.1f},{bottom:.1f} C{src.cx:.1f},{bottom + 70:.1f} '
                f'{tx:.1f},{target.y - 70:.1f} {tx:.1f},{target.y:.1f}" fill="none" '
                f'stroke="{ROLE_COLOURS.get(role, "#444444")}" stroke-width="1.6" '
                f'stroke-opacity="0.75"{dash}/>'
            )
    return parts


def _legend(x: float, y: float, texts: Texts) -> list[str]:
    parts = []
    for role, colour in ROLE_COLOURS.items():
        parts += [
            f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 28:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>',
            _text(x + 34, y + 4, texts.enum("role", role), 12),
        ]
        x += 130
    parts += [
        f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 28:.1f}" y2="{y:.1f}" stroke="#555555" '
        'stroke-width="2" stroke-dasharray="6 5"/>',
        _text(x + 34, y + 4, texts.enum("state", "ended"), 12),
    ]
    x += 230
    for status in ("active", "planned", "left"):
        fill, stroke, dash = STATUS_STYLE[status]
        parts += [
            _rect(_Box(x, y - 9, 26, 18), fill, stroke, dash, rx=3),
            _text(x + 32, y + 4, texts.enum("status", status), 12),
        ]
        x += 105
    return parts
