"""JSON: the full data model, for tools and for anyone who wants to redo the checks."""

from __future__ import annotations

import json

from regionhus.reports.model import AuditReport, to_plain

FORMAT_VERSION = 1


def render_json(report: AuditReport) -> str:
    data = {"format_version": FORMAT_VERSION, **to_plain(report)}
    data["finding_counts"] = report.counts()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
