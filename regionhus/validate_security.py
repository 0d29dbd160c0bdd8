"""Rules that keep a value from taking over something the region or the OS owns.

Slugs and names the region uses itself, operators' usernames that are system
accounts, SSH keys that are weak or not keys, one OU for two municipalities, one
person under two usernames, and the embedded host list. Each returns `Finding`s.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import cryptography

from regionhus import sshkeys
from regionhus.model import Kommune, Operator, Region
from regionhus.names import (
    MAX_SLUG,
    RESERVED_SLUGS,
    name_problem,
    ou_key,
    person_name_problem,
    username_reserved,
)
from regionhus.sshkeys import BadKey, check_public_key
from regionhus.validate import REGION_FILE, Finding, ParsedTree, _parse_cache, _rel
from regionhus.yamlfile import Loc, YamlDocument

# Who declared an operator: (file, document, location of the operators list).
Place = tuple[str, YamlDocument, Loc]


def _at(rel: str, doc: YamlDocument, loc: Loc, message: str, hint: str) -> Finding:
    return Finding(rel, doc.line_of(loc), ".".join(map(str, loc)), message, hint)


def _slug_findings(
    rel: str, doc: YamlDocument, kommune: Kommune, region: Region | None
) -> Iterator[Finding]:
    slug = kommune.slug
    if slug in RESERVED_SLUGS or (region is not None and slug == region.slug):
        yield _at(
            rel,
            doc,
            ("slug",),
            f"slug '{slug}' is a name the region uses itself (its groups, backup "
            "repository and accounts would be this municipality's)",
            "use the municipality's own name, e.g. nore-og-uvdal",
        )
    if len(slug) > MAX_SLUG:
        yield _at(
            rel,
            doc,
            ("slug",),
            f"slug '{slug}' is {len(slug)} characters; its backup account borg-{slug} "
            "would exceed Linux's 32",
            f"shorten it to at most {MAX_SLUG} characters",
        )


def _name_findings(rel: str, doc: YamlDocument, kommune: Kommune) -> Iterator[Finding]:
    problem = name_problem(kommune.name)
    if problem:
        yield _at(rel, doc, ("name",), problem, "write the municipality's name, e.g. Øvre Eiker")


def _operators(tree: ParsedTree, root: Path) -> Iterator[tuple[Place, int, Operator]]:
    if tree.region is not None and tree.region_doc is not None:
        for index, op in enumerate(tree.region.regional_operators):
            yield (REGION_FILE, tree.region_doc, ("regional_operators",)), index, op
    for path, (kommune, doc) in tree.kommuner.items():
        for index, op in enumerate(kommune.operators):
            yield (_rel(root, path), doc, ("operators",)), index, op


# Keys check_public_key accepted before, by the SHA-256 of the line, next to the parse
# cache: parsing 700 keys was most of what a national region's rules cost. Only
# accepted keys are remembered (a refused one is checked, and named, every time), and
# the file's name holds the checker's source and cryptography's version.
@functools.cache
def _checker_version() -> str:
    digest = hashlib.sha256(Path(sshkeys.__file__).read_bytes())
    digest.update(cryptography.__version__.encode())
    return digest.hexdigest()[:32]


def _accepted_keys() -> tuple[Path | None, set[str]]:
    cache = _parse_cache()
    if cache is None:
        return None, set()
    path = cache / f"accepted-keys-{_checker_version()}.json"
    try:
        return path, set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return path, set()


def _remember_keys(path: Path | None, accepted: set[str]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(sorted(accepted)), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # no cache: each key is checked every time


def _key_problem(key: str, accepted: set[str], new: set[str]) -> str | None:
    digest = hashlib.sha256(key.encode()).hexdigest()
    if digest in accepted:
        return None
    try:
        check_public_key(key)
    except BadKey as exc:
        return str(exc)
    new.add(digest)
    return None


def _operator_findings(tree: ParsedTree, root: Path) -> Iterator[Finding]:
    by_email: dict[str, list[tuple[Place, int, Operator]]] = defaultdict(list)
    by_key: dict[str, list[tuple[Place, int, Operator]]] = defaultdict(list)
    memo, accepted = _accepted_keys()
    new: set[str] = set()
    for place, index, op in _operators(tree, root):
        rel, doc, base = place
        reserved = username_reserved(op.username)
        if reserved:
            yield _at(
                rel,
                doc,
                (*base, index, "username"),
                f"username '{op.username}' is reserved: {reserved}",
                "use the person's own account name, e.g. kbg.ola",
            )
        name_problem_ = person_name_problem(op.name)
        if name_problem_:
            yield _at(
                rel,
                doc,
                (*base, index, "name"),
                name_problem_,
                "write the person's name as it should appear, e.g. Kari Nordmann",
            )
        if op.ssh_public_key is not None:
            problem = _key_problem(op.ssh_public_key, accepted, new)
            if problem:
                yield _at(rel, doc, (*base, index, "ssh_public_key"), problem, "")
            else:
                by_key[op.ssh_public_key.split()[1]].append((place, index, op))
        by_email[op.email.casefold()].append((place, index, op))
    if new:
        _remember_keys(memo, accepted | new)
    yield from _same_person(by_email, "email", "e-mail address")
    yield from _same_person(by_key, "ssh_public_key", "SSH key")


def _same_person(
    groups: dict[str, list[tuple[Place, int, Operator]]], field: str, what: str
) -> Iterator[Finding]:
    """One person under two usernames: two accounts, and removing one leaves the other."""
    for entries in groups.values():
        names = sorted({op.username for _, _, op in entries})
        if len(names) < 2:
            continue
        for (rel, doc, base), index, op in entries:
            others = ", ".join(n for n in names if n != op.username)
            yield _at(
                rel,
                doc,
                (*base, index, field),
                f"the {what} of '{op.username}' is also that of {others}",
                "one person is one operator: remove the duplicate, or give each their own",
            )


def _ou_findings(tree: ParsedTree, root: Path) -> Iterator[Finding]:
    """Names that AD would treat as one OU (it compares case-insensitively)."""
    owners: dict[str, list[Path]] = defaultdict(list)
    for path, (kommune, _) in tree.kommuner.items():
        owners[ou_key(kommune.name)].append(path)
    for paths in owners.values():
        if len(paths) < 2:
            continue
        for path in paths:
            kommune, doc = tree.kommuner[path]
            others = ", ".join(_rel(root, p) for p in paths if p != path)
            yield _at(
                _rel(root, path),
                doc,
                ("name",),
                f"name '{kommune.name}' gives the same OU as {others} "
                "(AD ignores case and Unicode normalisation)",
                "each municipality needs its own name",
            )


def security_findings(root: Path, tree: ParsedTree) -> list[Finding]:
    findings: list[Finding] = []
    for path, (kommune, doc) in tree.kommuner.items():
        rel = _rel(root, path)
        findings += _slug_findings(rel, doc, kommune, tree.region)
        findings += _name_findings(rel, doc, kommune)
    findings += _ou_findings(tree, root)
    findings += _operator_findings(tree, root)
    return findings


def ssh_key_message(value: object) -> str | None:
    """The precise reason a value failed the key pattern (for the schema's finding)."""
    try:
        check_public_key(str(value))
    except BadKey as exc:
        return str(exc)
    return None
