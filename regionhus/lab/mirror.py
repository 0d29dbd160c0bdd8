"""Which Debian mirror this machine uses: read from its apt sources, never hard-coded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from regionhus.lab.errors import LabError

SUITE = "bookworm"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


@dataclass(frozen=True)
class Mirrors:
    debian: str  # e.g. http://<mirror>/debian
    security: str | None  # e.g. http://<mirror>/debian-security, if configured


def source_files(roots: tuple[Path, ...] = APT_SOURCES) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(sorted(p for p in root.iterdir() if p.suffix in (".list", ".sources")))
    return files


def parse_entries(path: Path, text: str) -> list[tuple[str, list[str]]]:
    """(uri, suites) for every `deb` entry of a one-line .list or a deb822 .sources file."""
    if path.suffix == ".sources":
        return parse_deb822(text)
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        if "[" in line:  # drop options such as [signed-by=...], which may contain spaces
            head, _, tail = line.partition("[")
            line = head + tail.partition("]")[2]
        words = line.split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], [words[2]]))
    return entries


def parse_deb822(text: str) -> list[tuple[str, list[str]]]:
    entries = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            for uri in fields.get("uris", "").split():
                entries.append((uri, fields.get("suites", "").split()))
    return entries


def configured_mirrors(roots: tuple[Path, ...] = APT_SOURCES) -> Mirrors:
    debian = security = None
    for path in source_files(roots):
        for uri, suites in parse_entries(path, path.read_text()):
            uri = uri.rstrip("/")
            if SUITE in suites and debian is None:
                debian = uri
            if f"{SUITE}-security" in suites and security is None:
                security = uri
    if debian is None:
        raise LabError(
            f"no apt source for Debian {SUITE} in /etc/apt/sources.list(.d); the lab builds "
            f"its image from the mirror configured there: add one, then retry"
        )
    return Mirrors(debian=debian, security=security)
