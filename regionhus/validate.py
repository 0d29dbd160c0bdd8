"""Validation of `region.yml` and `kommuner/*.yml`: schema and rules across files.

Every problem becomes a `Finding` naming file, line, field and what to write
instead. All findings of a run are collected; nothing stops at the first.
"""

from __future__ import annotations

import os
import types
import typing
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from regionhus.model import Kommune, LifecycleStatus, Region, ServiceName
from regionhus.paths import cache_dir
from regionhus.yamlfile import Loc, YamlDocument, YamlSyntaxError, load_yaml_cached

REGION_FILE = "region.yml"
KOMMUNER_DIR = "kommuner"


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    field: str
    message: str
    hint: str = ""

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        hint = f"\n    -> {self.hint}" if self.hint else ""
        return f"{where}:{field} {self.message}{hint}"


@dataclass
class ParsedTree:
    region: Region | None
    region_doc: YamlDocument | None
    kommuner: dict[Path, tuple[Kommune, YamlDocument]]
    findings: list[Finding]
    # Slugs of every file, parsed or not: a broken file must not cascade into
    # "unknown municipality" errors elsewhere.
    file_slugs: set[str]


# --- schema errors into findings ----------------------------------------------------

PATTERN_HINTS = {
    "kommunenummer": 'four digits in quotes, e.g. kommunenummer: "3303" '
    "(without quotes YAML reads 0301 as a number)",
    "slug": "lower-case letters, digits and single hyphens, e.g. nore-og-uvdal",
    "code": "2-9 lower-case letters or digits, starting with a letter, e.g. nou "
    "(host names vdi-<code>-<n> and srv-<code>-<n> must fit 15 characters)",
    "start": 'a time of day in quotes as HH:MM, e.g. start: "03:00"',
    "responsible": "the slug of a municipality, e.g. kongsberg",
    "username": "2-20 characters: lower-case letters, digits, '.' or '-', starting with a letter",
    "email": "an e-mail address, e.g. ola.nordmann@kongsberg.kommune.no",
    "webhook": "an https URL, e.g. https://varsling.kongsberg.kommune.no/regionhus",
    "ssh_public_key": "one line from a .pub file, e.g. ssh-ed25519 AAAAC3Nza... ola@laptop",
    "at": 'a time of day in quotes as HH:MM, e.g. at: "01:30"',
    "realm": "upper-case DNS name, e.g. AD.KONGSBERGREGIONEN.INTERNAL",
    "netbios_domain": "1-15 upper-case letters or digits, starting with a letter, e.g. KBR",
}

TYPE_HINTS = {
    "date_type": "a date as YYYY-MM-DD, e.g. 2026-01-01",
    "date_from_datetime_parsing": "a date as YYYY-MM-DD, e.g. 2026-01-01",
    "date_parsing": "a date as YYYY-MM-DD, e.g. 2026-01-01",
    "date_from_datetime_inexact": "a date as YYYY-MM-DD, e.g. 2026-01-01",
    "int_type": "a whole number without quotes",
    "int_parsing": "a whole number without quotes",
    "int_from_float": "a whole number without decimals",
    "float_type": "a number without quotes",
    "float_parsing": "a number without quotes",
    "string_type": "text (put numbers and times in quotes)",
    "list_type": "a list: one '- ' item per line",
    "model_type": "a mapping of keys below this one",
    "model_attributes_type": "a mapping of keys below this one",
    "dict_type": "a mapping of keys below this one",
    "bool_type": "true or false",
    "ip_v4_network": "an IPv4 network with its prefix and no host bits, e.g. 10.101.0.0/16",
}


def _unwrap(annotation: Any) -> Any:
    """The model class inside Optional[...], list[...] or Annotated[...], if any."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            found = _unwrap(arg)
            if isinstance(found, type) and issubclass(found, BaseModel):
                return found
        return None
    return annotation


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        fields = {(f.alias or name): f for name, f in current.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return None
        inner = _unwrap(field.annotation)
        current = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return current


def _allowed_keys(model: type[BaseModel], parent: Loc) -> list[str]:
    found = _model_at(model, parent)
    if found is None:
        return []
    return [f.alias or name for name, f in found.model_fields.items()]


def _hint(model: type[BaseModel], error: Any) -> str:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    last = str(loc[-1]) if loc else ""
    # A list item's hint is its list's (alerts.email.0 is an e-mail address).
    named = next((str(part) for part in reversed(loc) if not isinstance(part, int)), "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"add the required key `{last}:`"
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(model, loc[:-1]))
        return f"remove `{last}` or correct its spelling; allowed here: {allowed}"
    if kind == "string_pattern_mismatch":
        return "write " + PATTERN_HINTS.get(named, f"text matching {ctx.get('pattern')}")
    if kind == "enum":
        return f"write one of: {ctx.get('expected', '')}".replace("'", "")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low = _model_bound(model, loc, "ge")
        high = _model_bound(model, loc, "le")
        if low is not None and high is not None:
            return f"write a number from {low} to {high}"
        return f"write a number {kind.replace('_', ' ')} {next(iter(ctx.values()), '')}"
    if kind in TYPE_HINTS:
        return "write " + TYPE_HINTS[kind]
    if kind in ("string_too_short", "string_too_long"):
        return "write " + str(error["msg"]).lower().replace("string", "text")
    return ""


def _model_bound(model: type[BaseModel], loc: Loc, name: str) -> Any:
    parent = _model_at(model, loc[:-1])
    if parent is None:
        return None
    fields = {(f.alias or n): f for n, f in parent.model_fields.items()}
    field = fields.get(str(loc[-1]))
    if field is None:
        return None
    for meta in field.metadata:
        if hasattr(meta, name):
            return getattr(meta, name)
    return None


def _message(error: Any) -> str:
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        msg = "unknown key"
    elif error["type"] == "missing":
        msg = "required key is missing"
    elif error["type"] == "string_pattern_mismatch" and error["loc"][-1:] == ("ssh_public_key",):
        from regionhus.validate_security import ssh_key_message

        msg = ssh_key_message(error["input"]) or msg
    elif "input" in error and error["type"] not in ("model_type", "value_error"):
        msg = f"{msg} (got {error['input']!r})"
    return msg


def schema_findings(
    model: type[BaseModel], doc: YamlDocument, rel: str, exc: ValidationError
) -> list[Finding]:
    findings = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        findings.append(
            Finding(
                file=rel,
                line=doc.line_of(loc),
                field=".".join(str(p) for p in loc),
                message=_message(error),
                hint=_hint(model, error),
            )
        )
    return findings


# --- parsing ------------------------------------------------------------------------


def _rel(root: Path, path: Path) -> str:
    # Plain string work: Path.relative_to was a tenth of validating 357 files.
    base, full = str(root), str(path)
    if full.startswith(base.rstrip(os.sep) + os.sep):
        return full[len(base.rstrip(os.sep)) + 1 :]
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _parse_cache() -> Path | None:
    """Where parses are remembered by content (yamlfile.load_yaml_cached): the machine's
    cache dir (REGIONHUS_CACHE_DIR; /var/cache/regionhus for root, else
    ~/.cache/regionhus), never the state dir, which may lie inside a checkout and so
    in the converged records' fingerprint. None: off (REGIONHUS_PARSE_CACHE=0)."""
    if os.environ.get("REGIONHUS_PARSE_CACHE") == "0":
        return None
    if os.environ.get("REGIONHUS_CACHE_DIR") or os.geteuid() == 0:
        return cache_dir() / "parsed"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / "regionhus" / "parsed"


def _parse[M: BaseModel](
    model: type[M], root: Path, path: Path, cache: Path | None = None
) -> tuple[M | None, YamlDocument | None, list[Finding]]:
    rel = _rel(root, path)
    try:
        doc = load_yaml_cached(path, cache)
    except YamlSyntaxError as exc:
        return None, None, [Finding(rel, exc.line, "", exc.message, "fix the YAML syntax")]
    except OSError as exc:
        return None, None, [Finding(rel, None, "", f"cannot read: {exc.strerror}")]
    if not isinstance(doc.data, dict):
        return None, doc, [Finding(rel, 1, "", "the file must be a mapping of keys")]
    try:
        return model.model_validate(doc.data), doc, []
    except ValidationError as exc:
        return None, doc, schema_findings(model, doc, rel, exc)


def parse_tree(root: Path) -> ParsedTree:
    findings: list[Finding] = []
    cache = _parse_cache()
    region_path = root / REGION_FILE
    region, region_doc = None, None
    if not region_path.exists():
        findings.append(
            Finding(REGION_FILE, None, "", "the region file is missing", f"create {region_path}")
        )
    else:
        region, region_doc, found = _parse(Region, root, region_path, cache)
        findings += found
    kommuner: dict[Path, tuple[Kommune, YamlDocument]] = {}
    files = sorted((root / KOMMUNER_DIR).glob("*.yml")) + sorted(
        (root / KOMMUNER_DIR).glob("*.yaml")
    )
    if not files:
        findings.append(
            Finding(KOMMUNER_DIR, None, "", "no municipality files", "add kommuner/<slug>.yml")
        )
    for path in files:
        kommune, doc, found = _parse(Kommune, root, path, cache)
        findings += found
        if kommune is not None and doc is not None:
            kommuner[path] = (kommune, doc)
    return ParsedTree(region, region_doc, kommuner, findings, {p.stem for p in files})


# --- rules within one municipality file ---------------------------------------------


def _kommune_rules(kommune: Kommune, doc: YamlDocument, rel: str) -> Iterable[Finding]:
    def at(loc: Loc, message: str, hint: str) -> Finding:
        return Finding(rel, doc.line_of(loc), ".".join(map(str, loc)), message, hint)

    if doc.path.stem != kommune.slug:
        yield at(
            ("slug",),
            f"the file name '{doc.path.name}' does not match slug '{kommune.slug}'",
            f"rename the file to kommuner/{kommune.slug}.yml or correct the slug",
        )
    life = kommune.lifecycle
    status = life.status
    if life.member_until is not None and life.member_until < life.member_from:
        yield at(
            ("lifecycle", "member_until"),
            f"member_until {life.member_until} is before member_from {life.member_from}",
            "write a member_until on or after member_from",
        )
    if status in (LifecycleStatus.LEAVING, LifecycleStatus.LEFT) and life.member_until is None:
        yield at(
            ("lifecycle", "status"),
            f"status '{status}' needs the date the membership ends",
            "add lifecycle.member_until: YYYY-MM-DD",
        )
    if status in (LifecycleStatus.PLANNED, LifecycleStatus.ACTIVE) and life.member_until:
        yield at(
            ("lifecycle", "member_until"),
            f"status '{status}' cannot have a member_until date",
            "set status: leaving when an end date is decided, or remove member_until",
        )
    for name, choice in kommune.services.chosen().items():
        loc: Loc = ("services", name.value)
        if choice.start < life.member_from:
            yield at(
                (*loc, "from"),
                f"{name} starts {choice.start}, before the municipality joins ({life.member_from})",
                f"write a date on or after {life.member_from}",
            )
        if choice.until is not None and choice.until <= choice.start:
            yield at(
                (*loc, "until"),
                f"{name} ends {choice.until}, not after it starts ({choice.start})",
                "write an until date after from, or remove until",
            )
        if choice.until and life.member_until and choice.until > life.member_until:
            yield at(
                (*loc, "until"),
                f"{name} runs until {choice.until}, after membership ends ({life.member_until})",
                f"write a date on or before {life.member_until}",
            )
    seen: set[str] = set()
    for index, operator in enumerate(kommune.operators):
        if operator.username in seen:
            yield at(
                ("operators", index, "username"),
                f"operator '{operator.username}' is listed twice",
                "remove the duplicate entry",
            )
        seen.add(operator.username)


# --- rules across files -------------------------------------------------------------


def _unique(
    root: Path,
    kommuner: dict[Path, tuple[Kommune, YamlDocument]],
    key: str,
    what: str,
) -> Iterable[Finding]:
    owners: dict[str, list[Path]] = defaultdict(list)
    for path, (kommune, _) in kommuner.items():
        owners[getattr(kommune, key)].append(path)
    for value, paths in owners.items():
        if len(paths) < 2:
            continue
        for path in paths:
            _, doc = kommuner[path]
            others = ", ".join(_rel(root, p) for p in paths if p != path)
            yield Finding(
                _rel(root, path),
                doc.line_of((key,)),
                key,
                f"{what} '{value}' is also used by {others}",
                f"each municipality needs its own {what}",
            )


def _client_network_rules(
    root: Path, region: Region | None, kommuner: dict[Path, tuple[Kommune, YamlDocument]]
) -> Iterable[Finding]:
    """Each client network belongs to one municipality and is not the operations
    network: a server's ports are opened by who a source address belongs to."""
    owned = [
        (path, index, network)
        for path, (kommune, _) in sorted(kommuner.items())
        for index, network in enumerate(kommune.client_networks)
    ]
    operations = list(region.access.operations_networks) if region else []
    for path, index, network in owned:
        _, doc = kommuner[path]
        loc: Loc = ("client_networks", index)
        others = sorted(
            {
                f"{_rel(root, p)} ({n})"
                for p, i, n in owned
                if (p, i) != (path, index) and n.overlaps(network)
            }
        )
        if others:
            yield Finding(
                _rel(root, path),
                doc.line_of(loc),
                f"client_networks.{index}",
                f"{network} overlaps " + ", ".join(others),
                "each municipality's client networks are its own: correct one of them",
            )
        clash = [str(n) for n in operations if n.overlaps(network)]
        if clash:
            yield Finding(
                _rel(root, path),
                doc.line_of(loc),
                f"client_networks.{index}",
                f"{network} overlaps the region's operations network {', '.join(clash)} "
                f"({REGION_FILE} access.operations_networks)",
                "write the municipality's own client network",
            )


def _pool_address_rules(
    root: Path, kommuner: dict[Path, tuple[Kommune, YamlDocument]]
) -> Iterable[Finding]:
    """One address per VDI pool: two pools on one address would share the broker's
    frontend (roles/vdi_broker/README.md)."""
    owners: dict[str, list[Path]] = defaultdict(list)
    for path, (kommune, _) in sorted(kommuner.items()):
        vdi = kommune.services.vdi
        if vdi is not None and vdi.pool_address is not None:
            owners[str(vdi.pool_address)].append(path)
    for address, paths in owners.items():
        for path in paths if len(paths) > 1 else []:
            _, doc = kommuner[path]
            others = ", ".join(_rel(root, p) for p in paths if p != path)
            yield Finding(
                _rel(root, path),
                doc.line_of(("services", "vdi", "pool_address")),
                "services.vdi.pool_address",
                f"pool address {address} is also used by {others}",
                "give each municipality's pool its own address (one name, one address)",
            )


def _operator_rules(
    root: Path, region: Region | None, kommuner: dict[Path, tuple[Kommune, YamlDocument]]
) -> Iterable[Finding]:
    regional = {op.username for op in region.regional_operators} if region else set()
    where: dict[str, list[tuple[Path, int]]] = defaultdict(list)
    for path, (kommune, _) in kommuner.items():
        for index, operator in enumerate(kommune.operators):
            where[operator.username].append((path, index))
    for username, places in where.items():
        files = {p for p, _ in places}
        if len(files) < 2 or username in regional:
            continue
        for path, index in places:
            _, doc = kommuner[path]
            others = ", ".join(sorted(_rel(root, p) for p in files if p != path))
            yield Finding(
                _rel(root, path),
                doc.line_of(("operators", index, "username")),
                f"operators.{index}.username",
                f"operator '{username}' also administers {others}",
                "an operator serves one municipality; to serve several, declare them in "
                "region.yml under regional_operators",
            )


def _region_rules(
    root: Path, region: Region, doc: YamlDocument, slugs: set[str]
) -> Iterable[Finding]:
    for service in ServiceName:
        entry = getattr(region.service_catalogue, service.value)
        if slugs and entry.responsible not in slugs:
            loc: Loc = ("service_catalogue", service.value, "responsible")
            yield Finding(
                REGION_FILE,
                doc.line_of(loc),
                ".".join(map(str, loc)),
                f"no municipality '{entry.responsible}' in kommuner/",
                "write the slug of one of: " + ", ".join(sorted(slugs)),
            )


def cross_file_findings(root: Path, tree: ParsedTree) -> list[Finding]:
    findings: list[Finding] = []
    for path, (kommune, doc) in tree.kommuner.items():
        findings += _kommune_rules(kommune, doc, _rel(root, path))
    findings += _unique(root, tree.kommuner, "slug", "slug")
    findings += _unique(root, tree.kommuner, "kommunenummer", "kommunenummer")
    findings += _unique(root, tree.kommuner, "code", "code")
    findings += _client_network_rules(root, tree.region, tree.kommuner)
    findings += _pool_address_rules(root, tree.kommuner)
    findings += _operator_rules(root, tree.region, tree.kommuner)
    if tree.region is not None and tree.region_doc is not None:
        slugs = {k.slug for k, _ in tree.kommuner.values()} | tree.file_slugs
        findings += _region_rules(root, tree.region, tree.region_doc, slugs)
    from regionhus.validate_hosts import host_file_findings
    from regionhus.validate_security import security_findings

    findings += security_findings(root, tree)
    findings += host_file_findings(root, tree)
    return findings


def validate_tree(root: Path) -> tuple[ParsedTree, list[Finding]]:
    tree = parse_tree(root)
    findings = tree.findings + cross_file_findings(root, tree)
    findings.sort(key=lambda f: (f.file, f.line or 0, f.field))
    return tree, findings
