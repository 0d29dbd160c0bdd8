"""The scope guard: a scoped run never changes another municipality's data.

A shared host (a domain controller, the backup server) holds something of every
municipality. Its state is computed from the whole region, so a run scoped to one
municipality (--kommune, --host, --changed-since) should find nothing to change there
for any other. If it does (a key record lost, a file changed that the scope did not
name), applying would change a municipality nobody asked to change: the plan shows it
as a finding and the apply stops before touching a host, naming the municipality,
the change, and how to widen the scope deliberately.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from regionhus.inventory import REGION
from regionhus.plan.model import Change, Plan, ScopeFinding, Status


def _changed_lines(diff: str) -> list[str]:
    return [
        line[1:]
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def concerned(
    change: Change, slugs: Iterable[str], host_serves: Mapping[str, str]
) -> frozenset[str]:
    """The municipalities a change is about: the one it is attributed to, else every one
    named (by slug, or by a host that serves it) in its items or changed diff lines."""
    if change.kommune:
        return frozenset({change.kommune})
    text = "\n".join(
        [change.task, *change.items, *(line for d in change.diff for line in _changed_lines(d))]
    )
    found = {s for s in slugs if re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text)}
    for host, serves in host_serves.items():
        if serves != REGION and re.search(rf"(?<![\w-]){re.escape(host)}(?![\w-])", text):
            found.add(serves)
    return frozenset(found)


def out_of_scope(
    plan: Plan,
    in_scope: frozenset[str] | None,
    slugs: Iterable[str],
    host_serves: Mapping[str, str],
) -> list[ScopeFinding]:
    """Changes on shared hosts to municipalities outside `in_scope` (None: all in scope)."""
    if in_scope is None:
        return []
    slugs = list(slugs)
    findings = []
    for host in plan.hosts.values():
        if host.serves != REGION:
            continue
        for change in host.changes:
            if change.status == Status.FAILED:
                continue  # a failure stops the apply on its own
            for kommune in sorted(concerned(change, slugs, host_serves) - in_scope):
                findings.append(ScopeFinding(host.name, kommune, change.describe()))
    return findings


def widen_hint(findings: Iterable[ScopeFinding]) -> str:
    others = sorted({f.kommune for f in findings})
    add = " ".join(f"--kommune {k}" for k in others)
    return (
        f"to change {', '.join(others)} too, widen the scope deliberately: add `{add}`, "
        "or apply the whole region (`regionhus apply --full`, without --kommune/--host/"
        "--changed-since)"
    )


def describe(findings: list[ScopeFinding]) -> str:
    """The operator's message: what stops the apply, and what to do."""
    lines = [f"{f.host}: {f.change} (concerns {f.kommune}, outside the scope)" for f in findings]
    return (
        "the plan changes municipalities outside the scope on shared hosts; nothing was "
        "applied:\n  " + "\n  ".join(lines) + f"\n{widen_hint(findings)}"
    )
