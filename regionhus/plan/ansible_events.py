"""The regionhus_plan callback's JSON lines -> changes per host.

The one rule that matters: a task Ansible could not evaluate in check mode (a
command/shell that would have run, a module without check-mode support, a failure
ignored in check mode, a loop item skipped for check mode) is UNKNOWN, never "no change".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from regionhus.plan.model import Change, Kind, Layer, Status

CHECK_MODE_SKIP = re.compile(r"check[ _]mode|would have run", re.IGNORECASE)

ACTION_KINDS: dict[Kind, tuple[str, ...]] = {
    Kind.FILE: (
        "template",
        "copy",
        "file",
        "lineinfile",
        "blockinfile",
        "replace",
        "ini_file",
        "assemble",
        "unarchive",
        "get_url",
    ),
    Kind.PACKAGE: ("apt", "package", "dnf", "yum", "pip", "apt_repository", "apt_key"),
    Kind.SERVICE: ("service", "systemd", "systemd_service", "sysvinit"),
    Kind.USER: ("user", "group", "authorized_key"),
    Kind.COMMAND: ("command", "shell", "raw", "script", "expect"),
}
DIRECTORY_HINTS = ("samba", "ldap", "directory", "ad_", "_ad", "kerberos")


def kind_of(action: str, role: str) -> Kind:
    short = action.rsplit(".", 1)[-1]
    for kind, actions in ACTION_KINDS.items():
        if short in actions:
            return kind
    text = f"{action} {role}".lower()
    if any(hint in text for hint in DIRECTORY_HINTS):
        return Kind.DIRECTORY
    return Kind.OTHER


def _check_skip(record: dict[str, Any]) -> bool:
    skipped = record.get("skipped") or record.get("status") == "skipped"
    return bool(skipped) and bool(CHECK_MODE_SKIP.search(record.get("msg", "")))


def classify(record: dict[str, Any]) -> tuple[Status | None, str]:
    """(status, why) of one task result; status None means "no change"."""
    status = record.get("status")
    if status == "unreachable":
        return Status.FAILED, f"host unreachable: {record.get('msg', '')}"
    if status == "failed":
        if not record.get("ignore_errors"):
            return Status.FAILED, record.get("msg", "")
        if record.get("check"):
            return Status.UNKNOWN, f"failed in check mode (ignored): {record.get('msg', '')}"
        return None, ""
    items = record.get("items") or []
    if _check_skip(record) or any(_check_skip(item) for item in items):
        why = record.get("msg") or next(i["msg"] for i in items if _check_skip(i))
        return Status.UNKNOWN, f"cannot tell in check mode: {why}"
    if record.get("changed") or any(item.get("changed") for item in items):
        return Status.CHANGE, record.get("msg", "") if status == "ok" else ""
    return None, ""


def read_events(path: Path) -> list[dict[str, Any]]:
    """The task results (start events are for the progress lines only)."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("event", "result") == "result":
                records.append(record)
    return records


def to_changes(records: Iterable[dict[str, Any]]) -> tuple[list[Change], dict[str, int]]:
    """Changes, and per host the number of tasks that reported no change."""
    changes: list[Change] = []
    unchanged: dict[str, int] = {}
    for record in records:
        status, why = classify(record)
        host = record["host"]
        if status is None:
            if record.get("status") == "ok":
                unchanged[host] = unchanged.get(host, 0) + 1
            continue
        items = record.get("items") or []
        relevant = [i for i in items if i.get("changed") or _check_skip(i)] or []
        diffs = list(record.get("diff") or []) + [d for i in items for d in i.get("diff", [])]
        changes.append(
            Change(
                host=host,
                layer=Layer.SERVICES,
                task=record.get("task", ""),
                status=status,
                kind=kind_of(record.get("action", ""), record.get("role", "")),
                role=record.get("role", ""),
                action=record.get("action", ""),
                detail=why.strip(),
                diff=diffs,
                items=[i["item"] for i in relevant if i.get("item")],
            )
        )
    return changes, unchanged


def managed(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """Per host, the paths and services the tasks named (the callback's "managed")."""
    found: dict[str, dict[str, set[str]]] = {}
    for record in records:
        named = record.get("managed") or {}
        entry = found.setdefault(record["host"], {"paths": set(), "services": set()})
        for key in ("paths", "services"):
            entry[key].update(named.get(key) or [])
    return found
