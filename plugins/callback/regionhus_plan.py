"""Ansible callback: one JSON line per task result per host, for `regionhus plan/apply`,
and one when a host starts a task (`"event": "start"`, for the live progress lines).

Enabled by regionhus.engines with

    ANSIBLE_CALLBACK_PLUGINS=<repo>/plugins/callback
    ANSIBLE_CALLBACKS_ENABLED=regionhus_plan
    REGIONHUS_PLAN_EVENTS=/path/to/events.jsonl

It only records facts (what Ansible said); deciding what counts as "unknown in check
mode" is regionhus.plan.ansible_events' job, so the rule is unit-tested in one place.
Without REGIONHUS_PLAN_EVENTS the callback does nothing.
"""

from __future__ import annotations

import difflib
import json
import os
import time
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: regionhus_plan
    type: aggregate
    short_description: record task results as JSON lines for regionhus plan/apply
    description:
      - Appends one JSON object per task result and host to the file named by
        the REGIONHUS_PLAN_EVENTS environment variable.
    requirements:
      - enable in the callbacks_enabled setting (regionhus.engines does it by environment)
"""

MAX_DIFF_CHARS = 20000
# Module arguments naming what a task manages on the host: the paths a converged
# record's probe re-checks (regionhus.plan.converged), and the services it keeps running.
PATH_ARGS = ("path", "dest", "creates", "removes")
SERVICE_ACTIONS = ("service", "systemd", "systemd_service", "sysvinit")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _diff_text(diff: dict[str, Any]) -> str:
    """One of Ansible's diff dicts as unified diff text (or the module's prepared text)."""
    if diff.get("prepared"):
        return _text(diff["prepared"])
    if "before" not in diff and "after" not in diff:
        return ""
    before = _text(diff.get("before")).splitlines(keepends=True)
    after = _text(diff.get("after")).splitlines(keepends=True)
    lines = difflib.unified_diff(
        before,
        after,
        fromfile=str(diff.get("before_header", "before")),
        tofile=str(diff.get("after_header", "after")),
    )
    return "".join(lines)[:MAX_DIFF_CHARS]


def _diffs(result: dict[str, Any]) -> list[str]:
    raw = result.get("diff")
    if not raw:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [text for text in (_diff_text(d) for d in items if isinstance(d, dict)) if text]


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """What matters of one (item) result: status, message and diffs."""
    return {
        "changed": bool(result.get("changed")),
        "skipped": bool(result.get("skipped")),
        "failed": bool(result.get("failed")),
        "msg": _text(result.get("msg") or result.get("skip_reason") or "")[:2000],
        "diff": _diffs(result),
        "item": _text(result.get("_ansible_item_label", result.get("item", "")))[:300],
    }


def _arg_sets(task: Any, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's arguments as run: each (item) result's invocation, and the task's own
    arguments when they hold no template left unrendered (a skipped task's)."""
    results = [data] + [r for r in data.get("results") or [] if isinstance(r, dict)]
    found = [r.get("invocation", {}).get("module_args") or {} for r in results]
    args = getattr(task, "args", None) or {}
    if isinstance(args, dict) and "{{" not in json.dumps(args, default=str):
        found.append(args)
    return [a for a in found if isinstance(a, dict)]


def _managed(task: Any, action: str, data: dict[str, Any]) -> dict[str, list[str]]:
    paths: set[str] = set()
    services: set[str] = set()
    short = action.rsplit(".", 1)[-1]
    for args in _arg_sets(task, data):
        for key in PATH_ARGS:
            value = args.get(key)
            if isinstance(value, str) and value.startswith("/"):
                paths.add(value.rstrip("/") or "/")
        name = args.get("name")
        if short in SERVICE_ACTIONS and isinstance(name, str) and name:
            services.add(name)
    # A module that manages many things in one call (borg_server_repositories) names
    # them in its result, as its loop's arguments did.
    named = data.get("managed")
    if isinstance(named, dict):
        paths.update(p for p in named.get("paths") or [] if isinstance(p, str) and p[:1] == "/")
        services.update(s for s in named.get("services") or [] if isinstance(s, str) and s)
    return {"paths": sorted(paths), "services": sorted(services)}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "regionhus_plan"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("REGIONHUS_PLAN_EVENTS")
        self._play = ""

    def _emit(self, record: dict[str, Any]) -> None:
        if not self._path:
            return
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._play = play.get_name()

    @staticmethod
    def _names(task: Any) -> tuple[str, str]:
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        name = task.get_name()
        if role and name.startswith(f"{role} : "):
            name = name[len(role) + 3 :]
        return role, name

    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        role, name = self._names(task)
        self._emit(
            {
                "event": "start",
                "host": host.get_name(),
                "play": self._play,
                "task": name,
                "role": role,
                "time": time.time(),
            }
        )

    def _record(self, result: Any, status: str, ignore_errors: bool = False) -> None:
        task = result._task
        data = dict(result._result)
        role, name = self._names(task)
        action = getattr(task, "resolved_action", None) or task.action
        record = {
            "event": "result",
            "time": time.time(),
            "host": result._host.get_name(),
            "play": self._play,
            "task": name,
            "role": role,
            "action": action,
            "handler": type(task).__name__ == "Handler",
            "check": bool(context.CLIARGS.get("check")) or bool(task.check_mode),
            "status": status,
            "ignore_errors": ignore_errors,
            **_summary(data),
            "managed": _managed(task, action, data),
        }
        if status == "unreachable":
            record["failed"] = True
        if status == "skipped":
            record["skipped"] = True
        if isinstance(data.get("results"), list):
            record["items"] = [_summary(r) for r in data["results"] if isinstance(r, dict)]
        self._emit(record)

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")
