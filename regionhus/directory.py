"""The regional directory's evidence: who is in each municipality's admin group.

The directory playbook calls `python -m regionhus.directory record` with the members it
has just read on the primary DC; `read_admin_groups` reads them again (over the lab's
ssh) for a command or test that wants a fresh reading without an apply.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from regionhus.records import write_directory_record

ADMIN_SUFFIX = "-admins"


def record_members(
    members: Mapping[str, Mapping[str, object]],
    *,
    source: str,
    read_at: dt.datetime | None = None,
    root: Path | None = None,
) -> list[Path]:
    """Write one record per municipality: {slug: {"admin_group": ..., "members": [...]}}."""
    moment = read_at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    paths = []
    for slug, entry in sorted(members.items()):
        group = str(entry.get("admin_group") or f"{slug}{ADMIN_SUFFIX}")
        names = [str(m) for m in entry.get("members") or []]  # type: ignore[union-attr]
        paths.append(
            write_directory_record(
                slug, admin_group=group, members=names, source=source, read_at=moment, root=root
            )
        )
    return paths


def read_admin_groups(slugs: list[str], host: str = "dc1") -> dict[str, dict[str, object]]:
    """Read each municipality's admin group members from a lab DC (samba-tool)."""
    from regionhus.lab import run_on

    result: dict[str, dict[str, object]] = {}
    for slug in slugs:
        group = f"{slug}{ADMIN_SUFFIX}"
        proc = run_on(host, f"samba-tool group listmembers {shlex.quote(group)}", check=False)
        if proc.returncode != 0:
            continue  # no such group: the municipality has no directory part
        members = sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())
        result[slug] = {"admin_group": group, "members": members}
    return result


def export_from_lab(slugs: list[str], host: str = "dc1") -> list[Path]:
    return record_members(read_admin_groups(slugs, host), source=host)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regionhus.directory")
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="write directory records from the playbook's reading")
    rec.add_argument("--source", required=True, help="the DC the members were read on")
    rec.add_argument("--members-json", required=True, help='{"slug": {"admin_group", "members"}}')
    exp = sub.add_parser("export", help="read the admin groups on a lab DC and write records")
    exp.add_argument("--host", default="dc1")
    exp.add_argument("slugs", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "record":
        paths = record_members(json.loads(args.members_json), source=args.source)
    else:
        paths = export_from_lab(args.slugs, args.host)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
