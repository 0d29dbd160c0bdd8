"""A plan as text (terminal), Markdown (pull-request comment) or JSON.

Grouped by municipality: the hosts that serve it, then what the shared hosts would do
about it (matched by the municipality's slug in the task, item or message); then the
shared hosts of the region in full.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from regionhus.config import RegionConfig
from regionhus.inventory import REGION
from regionhus.plan.guard import widen_hint
from regionhus.plan.model import Change, HostPlan, Plan, Status

MARK = {
    Status.CHANGE: "~",
    Status.CONDITIONAL: "~?",
    Status.UNKNOWN: "?",
    Status.FAILED: "!",
}
LABEL = {
    Status.CHANGE: "change",
    Status.CONDITIONAL: "follows",
    Status.UNKNOWN: "UNKNOWN",
    Status.FAILED: "FAILED",
}
MAX_DIFF_LINES = 60


def attribute(changes: Iterable[Change], slugs: Iterable[str]) -> None:
    """Set `kommune` on changes whose task, items or message name exactly one municipality."""
    patterns = {slug: re.compile(rf"(?<![\w-]){re.escape(slug)}(?![\w-])") for slug in slugs}
    for change in changes:
        text = " ".join([change.task, *change.items, change.detail[:300]])
        found = [slug for slug, pattern in patterns.items() if pattern.search(text)]
        if len(found) == 1 and change.kommune is None:
            change.kommune = found[0]


def _counts(changes: list[Change]) -> dict[str, int]:
    return {status.value: sum(c.status == status for c in changes) for status in Status}


def _kommune_sections(plan: Plan, config: RegionConfig) -> list[tuple[str, str, list[HostPlan]]]:
    """(slug, title, hosts serving it) for municipalities with hosts or changes in the plan."""
    sections = []
    about = {c.kommune for c in plan.changes() if c.kommune}
    for slug, kommune in config.kommuner.items():
        hosts = [h for h in plan.hosts.values() if h.serves == slug]
        if hosts or slug in about:
            sections.append((slug, f"{kommune.name} ({slug})", hosts))
    return sections


def _shared_about(plan: Plan, slug: str) -> list[Change]:
    return [
        c for h in plan.hosts.values() if h.serves == REGION for c in h.changes if c.kommune == slug
    ]


def summary_line(plan: Plan) -> str:
    counts = _counts(plan.changes())
    hosts = sum(h.pending for h in plan.hosts.values())
    return (
        f"{hosts} of {len(plan.hosts)} host(s) with pending work: {counts['change']} change(s), "
        f"{counts['conditional']} following, {counts['unknown']} unknown in dry run, "
        f"{counts['failed']} failed" + (f"; {len(plan.errors)} error(s)" if plan.errors else "")
    )


# --- text -----------------------------------------------------------------------------


def _text_change(change: Change, indent: str, with_host: bool = False) -> list[str]:
    host = f"{change.host} " if with_host else ""
    line = f"{indent}{MARK[change.status]:<3}{LABEL[change.status]:<8}{change.kind.value:<17}"
    lines = [f"{line}{host}{change.describe()}"]
    if change.detail and change.status != Status.CHANGE:
        lines.append(f"{indent}      {change.detail.splitlines()[0][:160]}")
    for diff in change.diff:
        body = diff.splitlines()
        lines += [f"{indent}      | {d}" for d in body[:MAX_DIFF_LINES]]
        if len(body) > MAX_DIFF_LINES:
            lines.append(f"{indent}      | ... {len(body) - MAX_DIFF_LINES} more line(s)")
    return lines


def _text_host(host: HostPlan, indent: str, reasons: bool) -> list[str]:
    state = f"{len(host.changes)} pending" if host.changes else "no changes"
    lines = [f"{indent}{host.name}: {state} ({host.unchanged} unchanged)"]
    for reason in host.reasons if reasons else []:
        lines.append(f"{indent}  why planned: {reason}")
    for change in host.changes:
        lines += _text_change(change, indent + "  ")
    return lines


def _scope_text(plan: Plan) -> list[str]:
    if not plan.scope_findings:
        return []
    lines = ["OUTSIDE THE SCOPE (an apply stops here): changes to other municipalities' data"]
    lines += [f"  ! {f.host}: {f.change} (concerns {f.kommune})" for f in plan.scope_findings]
    return [*lines, f"  {widen_hint(plan.scope_findings)}", ""]


def _pools_text(plan: Plan) -> list[str]:
    if not plan.pool_findings:
        return []
    lines = ["VDI POOLS DIFFER FROM kommuner/ (nothing here applies them):"]
    for f in plan.pool_findings:
        lines += [f"  ! {f.kommune}: {f.message}", f"    -> {f.hint}"]
    return [*lines, ""]


def render_text(plan: Plan, config: RegionConfig) -> str:
    lines = [f"Plan at {plan.git_commit[:12]} ({plan.generated_at})", summary_line(plan), ""]
    lines += [f"ERROR: {e}" for e in plan.errors]
    lines += _scope_text(plan)
    lines += _pools_text(plan)
    for slug, title, hosts in _kommune_sections(plan, config):
        lines.append(title)
        for host in hosts:
            lines += _text_host(host, "  ", plan.limited)
        shared = _shared_about(plan, slug)
        if shared:
            lines.append(f"  on shared hosts, about {slug}:")
            for change in shared:
                lines += _text_change(change, "    ", with_host=True)
        lines.append("")
    shared_hosts = [h for h in plan.hosts.values() if h.serves == REGION]
    if shared_hosts:
        lines.append("Region (shared hosts)")
        for host in shared_hosts:
            lines += _text_host(host, "  ", plan.limited)
    return "\n".join(lines).rstrip() + "\n"


# --- Markdown -------------------------------------------------------------------------


def _md_change(change: Change, with_host: bool = False) -> list[str]:
    host = f"`{change.host}` " if with_host else ""
    detail = f" — {change.detail.splitlines()[0][:200]}" if change.detail else ""
    if change.status == Status.CHANGE:
        detail = ""
    label = (
        f"**{LABEL[change.status]}**"
        if change.status in (Status.UNKNOWN, Status.FAILED)
        else LABEL[change.status]
    )
    lines = [f"- {label} · {change.kind.value} · {host}{change.describe()}{detail}"]
    for diff in change.diff:
        body = diff.splitlines()[:MAX_DIFF_LINES]
        lines += ["", "  ```diff", *[f"  {d}" for d in body], "  ```"]
    return lines


def _md_host(host: HostPlan, reasons: bool) -> list[str]:
    counts = _counts(host.changes)
    summary = (
        f"<code>{host.name}</code>: {counts['change']} change(s), {counts['unknown']} unknown, "
        f"{counts['failed']} failed"
    )
    lines = ["<details open>" if host.changes else "<details>", f"<summary>{summary}</summary>", ""]
    lines += [f"_Planned because: {r}_  " for r in (host.reasons if reasons else [])]
    for change in host.changes:
        lines += _md_change(change)
    return [*lines, "", "</details>", ""]


def render_markdown(plan: Plan, config: RegionConfig) -> str:
    code = plan.exit_code
    verdict = {0: "No changes", 1: "Plan failed", 2: "Changes pending"}[int(code)]
    lines = [f"### regionhus plan: {verdict}", "", summary_line(plan) + ".", ""]
    lines += [f"> **Error:** {e}" for e in plan.errors]
    if plan.scope_findings:
        lines += ["> **Outside the scope (an apply stops here):**", ">"]
        lines += [
            f"> - `{f.host}`: {f.change} (concerns **{f.kommune}**)" for f in plan.scope_findings
        ]
        lines += [">", f"> {widen_hint(plan.scope_findings)}", ""]
    if plan.pool_findings:
        lines += ["> **VDI pools differ from kommuner/:**", ">"]
        lines += [f"> - **{f.kommune}**: {f.message} ({f.hint})" for f in plan.pool_findings]
        lines.append("")
    lines += ["| Municipality | Hosts | Changes | Unknown | Failed |", "|---|---|---|---|---|"]
    sections = _kommune_sections(plan, config)
    for slug, title, hosts in sections:
        changes = [c for h in hosts for c in h.changes] + _shared_about(plan, slug)
        counts = _counts(changes)
        names = ", ".join(f"`{h.name}`" for h in hosts) or "(shared hosts only)"
        lines.append(
            f"| {title} | {names} | {counts['change']} | {counts['unknown']} | {counts['failed']} |"
        )
    shared = [h for h in plan.hosts.values() if h.serves == REGION]
    shared_changes = [c for h in shared for c in h.changes]
    counts = _counts(shared_changes)
    names = ", ".join(f"`{h.name}`" for h in shared)
    lines += [
        f"| Region (shared) | {names} | {counts['change']} | {counts['unknown']} | "
        f"{counts['failed']} |",
        "",
    ]
    for slug, title, hosts in sections:
        lines += [f"#### {title}", ""]
        for host in hosts:
            lines += _md_host(host, plan.limited)
        about = _shared_about(plan, slug)
        if about:
            lines += ["On shared hosts:", ""]
            for change in about:
                lines += _md_change(change, with_host=True)
            lines.append("")
    if shared:
        lines += ["#### Region (shared hosts)", ""]
        for host in shared:
            lines += _md_host(host, plan.limited)
    lines.append('_**unknown**: the engine cannot tell in a dry run; it is not "no change"._')
    return "\n".join(lines) + "\n"


# --- JSON -----------------------------------------------------------------------------


def to_json(plan: Plan, config: RegionConfig) -> dict[str, Any]:
    kommuner = {}
    for slug, title, hosts in _kommune_sections(plan, config):
        changes = [c for h in hosts for c in h.changes] + _shared_about(plan, slug)
        kommuner[slug] = {"name": title, "hosts": [h.name for h in hosts], **_counts(changes)}
    return {
        "version": 1,
        "generated_at": plan.generated_at,
        "git_commit": plan.git_commit,
        "exit_code": int(plan.exit_code),
        "limited": plan.limited,
        "errors": plan.errors,
        "scope_findings": [f.to_json() for f in plan.scope_findings],
        "pool_findings": [f.to_json() for f in plan.pool_findings],
        "summary": _counts(plan.changes()),
        "kommuner": kommuner,
        "hosts": {
            name: {
                "serves": h.serves,
                "reasons": h.reasons,
                "checked": h.checked,
                "unchanged": h.unchanged,
                "changes": [c.to_json() for c in h.changes],
            }
            for name, h in plan.hosts.items()
        },
    }


def render_json(plan: Plan, config: RegionConfig) -> str:
    return json.dumps(to_json(plan, config), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "md": render_markdown, "json": render_json}
