"""YAML loading that remembers on which line each key stands.

Operators edit these files by hand; an error that says "kommuner/tinn.yml:14"
saves them the search.

The loader is also the first line against hostile input: it bounds the file's size
and nesting, refuses anchors, aliases and merge keys (an alias bomb expands a few
lines into billions of values, and nothing in these files needs them), refuses more
than one document, and reads only UTF-8 (a byte order mark and CRLF line ends are
fine). Dates stay text until the schema parses them, so an impossible date is a
finding on its field, not a crash in the YAML library.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]


@dataclass
class YamlDocument:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest known key on the way to `loc` (1-based)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


MAX_BYTES = 1024 * 1024  # the largest file of a real region is a few kB
MAX_DEPTH = 20  # the schema needs 5 levels; deeper nesting is an attack or a mistake


class YamlSyntaxError(Exception):
    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def _key(node: yaml.Node) -> str | int:
    return node.value if isinstance(node, yaml.ScalarNode) else str(node.start_mark)


def _collect_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _key(key_node)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*loc, index), lines)


class _UniqueKeys:
    """Refuses a key written twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a key must be a plain name, not a list or mapping",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)  # type: ignore[attr-defined]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """SafeLoader with unique keys that leaves dates as text for the schema."""


class _FastUniqueKeyLoader(_UniqueKeys, yaml.CSafeLoader):
    """The same on libyaml: about 15 times faster, which a national region's 357 files
    need (three passes each); its error messages differ, so errors are reported by the
    pure-Python loader (see load_yaml_bytes)."""


# Dates are parsed by the schema (pydantic), which names the field of an impossible one.
_UniqueKeyLoader.yaml_implicit_resolvers = _FastUniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line_of_offset(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(path: Path, raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise YamlSyntaxError(
            path,
            _line_of_offset(raw, MAX_BYTES),
            f"the file is {len(raw):,} bytes, more than the limit of {MAX_BYTES:,}",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of_offset(raw, exc.start)
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.start + 1].hex().upper()
        raise YamlSyntaxError(
            path,
            line,
            f"not UTF-8: byte 0x{bad} at column {column} (save the file as UTF-8)",
        ) from None


def _screen(path: Path, text: str, loader: type) -> None:
    """Refuse what the region's files never need, before anything is built from them."""
    depth = 0
    documents = 0
    # Per open collection: True = the next node of this mapping is a key, False = a
    # value, None = a sequence.
    expect_key: list[bool | None] = []
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlSyntaxError(
                    path, line, "a second YAML document ('---'): write one document per file"
                )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlSyntaxError(
                path,
                line,
                "anchors and aliases (&name, *name) are not allowed: write each value out",
            )
        is_key = bool(expect_key) and expect_key[-1] is True
        if isinstance(event, yaml.ScalarEvent) and is_key and event.value == "<<":
            raise YamlSyntaxError(
                path, line, "merge keys ('<<') are not allowed: write each key out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlSyntaxError(path, line, f"nested more than {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        _advance(expect_key, event)


def _advance(expect_key: list[bool | None], event: yaml.Event) -> None:
    """Track whether the next node in each open mapping is a key or a value."""
    if isinstance(event, yaml.NodeEvent) and expect_key and expect_key[-1] is not None:
        expect_key[-1] = not expect_key[-1]
    if isinstance(event, yaml.MappingStartEvent):
        expect_key.append(True)
    elif isinstance(event, yaml.SequenceStartEvent):
        expect_key.append(None)
    elif isinstance(event, yaml.CollectionEndEvent):
        expect_key.pop()


def load_yaml(path: Path) -> YamlDocument:
    return load_yaml_bytes(path, path.read_bytes())


def load_yaml_bytes(path: Path, raw: bytes) -> YamlDocument:
    """Parse `raw` as the contents of `path` (a vault's decrypted text, for example)."""
    text = _decode(path, raw)
    if FAST:
        try:
            return _load(path, text, yaml.CSafeLoader, _FastUniqueKeyLoader)
        except (yaml.YAMLError, YamlSyntaxError):
            pass  # said below as the pure-Python loader says it (line and wording)
    try:
        return _load(path, text, yaml.SafeLoader, _UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlSyntaxError(path, line, f"not valid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(path, None, f"not valid YAML: {exc}") from exc


# libyaml is an optional part of PyYAML's wheel; without it every file takes the slow path.
FAST = bool(getattr(yaml, "__with_libyaml__", False))


def _load(path: Path, text: str, parser: type, loader: type) -> YamlDocument:
    _screen(path, text, parser)
    node = yaml.compose(text, Loader=parser)
    data = yaml.load(text, Loader=loader)
    lines: dict[Loc, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)


# --- remembered by content --------------------------------------------------------------
# A national region has 357 files, and a one-municipality change leaves 356 of them as
# they were: their parse (screening, two passes of libyaml, the line map) is looked up by
# the file's SHA-256 instead of repeated. Only the parse is remembered: the schema and
# every rule within and across files run on every load, so a broken file is caught as
# before. An entry exists only for bytes that parsed, and its key also holds this
# module's own source and PyYAML's version: a changed loader never reads an old entry.
CACHE_FORMAT = "1"


@functools.cache
def _loader_version() -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"\0{yaml.__version__}\0{FAST}\0{CACHE_FORMAT}".encode())
    return digest.hexdigest()


def _entry(cache: Path, raw: bytes) -> Path:
    key = hashlib.sha256(_loader_version().encode() + b"\0" + raw).hexdigest()
    return cache / key[:2] / f"{key}.json"


def _stored(path: Path, entry: Path) -> YamlDocument | None:
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"))
        lines = {tuple(loc): int(line) for loc, line in stored["lines"]}
        return YamlDocument(path=path, data=stored["data"], lines=lines)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, or written half by a run that died: parse again


def _store(entry: Path, doc: YamlDocument) -> None:
    try:
        text = json.dumps(
            {"data": doc.data, "lines": [[list(loc), line] for loc, line in doc.lines.items()]},
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError):
        return  # a value JSON cannot hold: this file is parsed every time
    if json.loads(text)["data"] != doc.data:
        return  # JSON would change it (a key that is a number, say): parsed every time
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, entry)
    except OSError:
        pass  # a read-only state dir costs speed, never correctness


def load_yaml_cached(path: Path, cache: Path | None) -> YamlDocument:
    """`load_yaml`, with the parse of bytes seen before taken from `cache` (None: off)."""
    raw = path.read_bytes()
    if cache is None:
        return load_yaml_bytes(path, raw)
    entry = _entry(cache, raw)
    doc = _stored(path, entry)
    if doc is None:
        doc = load_yaml_bytes(path, raw)
        _store(entry, doc)
    return doc
