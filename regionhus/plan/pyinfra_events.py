"""pyinfra's structured output -> changes per host.

pyinfra (3.10+) prints its plan (`--dry --json`) and its results (`-y --json`) as
JSON on stdout; with `--diff` it logs, while preparing each host's operations in
turn, `[host]  Will modify /path` followed by indented diff lines on stderr. The JSON
is pyinfra's documented machine output, so it is used rather than the human table;
only the diffs come from the log, and only to decorate a change already known from
the JSON (a diff that does not parse loses the decoration, never the change).

Operations with an `_if` condition (restart when a file changed) are reported by pyinfra
as "conditional change": they are CONDITIONAL here, and only on a host that has some
unconditional change (in deploys/base.py every `_if` is an earlier operation's
`did_change`, so with no change on a host nothing can trigger them).
"""

from __future__ import annotations

import re
from typing import Any

from regionhus.plan.model import Change, Kind, Layer, Status

WILL = re.compile(r"^\s*\[(?P<host>[\w.-]+)\]\s+Will (?P<verb>[a-z ]+?) (?P<path>/\S+)\s*$")
DIFF_LINE = re.compile(r"^      (?P<text>.*)$")

KIND_WORDS: list[tuple[Kind, tuple[str, ...]]] = [
    (Kind.FILE, ("render", "file", "directory", "template", "/etc/", "link")),
    (Kind.PACKAGE, ("package", "apt", "pip")),
    (Kind.SERVICE, ("service", "reload", "restart", "firewall at boot", "systemd")),
    (Kind.USER, ("operator", "user", "group", "key")),
    (Kind.COMMAND, ("check", "load", "shell", "lock", "hostname", "refresh")),
]


def kind_of(name: str) -> Kind:
    lowered = name.lower()
    for kind, words in KIND_WORDS:
        if any(word in lowered for word in words):
            return kind
    return Kind.OTHER


def parse_diffs(log: str) -> dict[tuple[str, str], list[str]]:
    """(host, path) -> diff text, from pyinfra's --diff log."""
    diffs: dict[tuple[str, str], list[str]] = {}
    current: list[str] | None = None
    for line in log.splitlines():
        header = WILL.match(line)
        if header:
            current = [f"{header['verb']} {header['path']}"]
            diffs[(header["host"], header["path"])] = current
            continue
        body = DIFF_LINE.match(line)
        if current is not None and body:
            current.append(body["text"])
        elif line.strip():
            current = None
    return {key: ["\n".join(lines).rstrip()] for key, lines in diffs.items()}


def _path_in(name: str) -> str | None:
    match = re.search(r"(/[\w./-]+)", name)
    return match.group(1) if match else None


def plan_changes(plan: dict[str, Any], log: str) -> list[Change]:
    """Changes from `pyinfra --dry --diff --json` (stdout parsed, stderr as log)."""
    diffs = parse_diffs(log)
    changes: list[Change] = []
    for op in plan.get("plan", []):
        name = op["name"]
        path = _path_in(name)
        for host in op.get("hosts_with_change", []):
            diff = diffs.get((host, path), []) if path else []
            changes.append(Change(host, Layer.BASE, name, Status.CHANGE, kind_of(name), diff=diff))
        for host in op.get("hosts_with_conditional_change", []):
            changes.append(
                Change(
                    host,
                    Layer.BASE,
                    name,
                    Status.CONDITIONAL,
                    kind_of(name),
                    detail="runs if an earlier change on this host triggers it",
                )
            )
    triggered = {c.host for c in changes if c.status == Status.CHANGE}
    return [c for c in changes if c.status != Status.CONDITIONAL or c.host in triggered]


def result_changes(results: dict[str, Any]) -> tuple[list[Change], dict[str, int]]:
    """Changes (and no-change counts per host) from `pyinfra -y --json` results."""
    changes: list[Change] = []
    unchanged: dict[str, int] = {}
    for op in (results.get("results") or {}).get("operations", []):
        name = op["name"]
        for host in op.get("success", []):
            changes.append(Change(host, Layer.BASE, name, Status.CHANGE, kind_of(name)))
        for host in op.get("error", []):
            changes.append(
                Change(host, Layer.BASE, name, Status.FAILED, kind_of(name), detail="error")
            )
        for host in op.get("no_change", []):
            unchanged[host] = unchanged.get(host, 0) + 1
    failed = {c.host for c in changes if c.status == Status.FAILED}
    for host in (results.get("results") or {}).get("failed_hosts", []):
        if host not in failed:
            changes.append(Change(host, Layer.BASE, "host failed", Status.FAILED, detail="error"))
    return changes, unchanged
