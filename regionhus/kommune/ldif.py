"""An OU's objects (as dc_script.py reads them) as LDIF (RFC 2849) and CSV."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

UF_ACCOUNTDISABLE = 0x2
# RFC 2849 SAFE-STRING: no leading space, colon or '<'; printable ASCII, no CR/LF.
_SAFE_FIRST = set(range(0x01, 0x7F)) - {0x0A, 0x0D, 0x20, 0x3A, 0x3C}
_SAFE = set(range(0x01, 0x7F)) - {0x0A, 0x0D}


def _line(attr: str, value: str) -> str:
    raw = value.encode("utf-8")
    safe = not raw or (raw[0] in _SAFE_FIRST and all(b in _SAFE for b in raw) and raw[-1] != 0x20)
    if safe:
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(raw).decode()}"


def _fold(line: str) -> list[str]:
    """Lines longer than 76 characters continue on the next, after one space."""
    out = [line[:76]]
    rest = line[76:]
    while rest:
        out.append(" " + rest[:75])
        rest = rest[75:]
    return out


def to_ldif(objects: list[dict[str, Any]]) -> str:
    lines = ["version: 1", ""]
    for obj in objects:
        lines += _fold(_line("dn", obj["dn"]))
        for attr, values in obj["attrs"].items():
            for value in values:
                lines += _fold(_line(attr, value))
        lines.append("")
    return "\n".join(lines)


def _first(obj: dict[str, Any], attr: str) -> str:
    values = obj["attrs"].get(attr) or [""]
    return str(values[0])


def _kind(obj: dict[str, Any]) -> str:
    classes = obj["attrs"].get("objectClass", [])
    for kind in ("computer", "user", "group", "organizationalUnit"):
        if kind in classes:
            return kind
    return "other"


def _table(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    # BOM: Excel in Norwegian locales opens UTF-8 CSV correctly only with it.
    return "\ufeff" + buffer.getvalue()


def to_csvs(objects: list[dict[str, Any]]) -> dict[str, str]:
    users = [o for o in objects if _kind(o) == "user"]
    groups = [o for o in objects if _kind(o) == "group"]
    computers = [o for o in objects if _kind(o) == "computer"]
    names = {o["dn"].lower(): _first(o, "sAMAccountName") for o in objects}
    user_rows = [
        [
            _first(u, "sAMAccountName"),
            _first(u, "displayName"),
            _first(u, "givenName"),
            _first(u, "sn"),
            _first(u, "mail"),
            _first(u, "userPrincipalName"),
            "nei" if int(_first(u, "userAccountControl") or 0) & UF_ACCOUNTDISABLE else "ja",
            _first(u, "description"),
            _first(u, "whenCreated"),
            u["dn"],
        ]
        for u in users
    ]
    group_rows = [
        [
            _first(g, "sAMAccountName"),
            _first(g, "description"),
            str(len(g["attrs"].get("member", []))),
            g["dn"],
        ]
        for g in groups
    ]
    member_rows = [
        [_first(g, "sAMAccountName"), names.get(m.lower(), ""), m]
        for g in groups
        for m in g["attrs"].get("member", [])
    ]
    computer_rows = [
        [
            _first(c, "sAMAccountName"),
            _first(c, "dNSHostName"),
            _first(c, "operatingSystem"),
            c["dn"],
        ]
        for c in computers
    ]
    return {
        "users.csv": _table(
            [
                "brukernavn",
                "visningsnavn",
                "fornavn",
                "etternavn",
                "e-post",
                "upn",
                "aktiv",
                "beskrivelse",
                "opprettet",
                "dn",
            ],
            user_rows,
        ),
        "groups.csv": _table(["gruppe", "beskrivelse", "medlemmer", "dn"], group_rows),
        "memberships.csv": _table(["gruppe", "medlem", "medlem_dn"], member_rows),
        "computers.csv": _table(["maskinkonto", "dns-navn", "operativsystem", "dn"], computer_rows),
    }
