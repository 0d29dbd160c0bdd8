"""The regional directory: its names (one place), and the evidence of who holds rights.

Names: the base DN, the OUs and every group name are computed here from region.yml and
kommuner/ and exported to Ansible as the inventory variable `regionhus_directory`
(`directory_vars`); playbooks and roles take them from there, Python from here.

Evidence: the directory playbook calls `python -m regionhus.directory record` with the
members it has just read on the primary DC (each municipality's admin group, and the
regional group that holds rights over all of them); `read_admin_groups` reads them again
(over the lab's ssh) for a command or test that wants a fresh reading without an apply.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from regionhus.model import DirectorySettings, Kommune
from regionhus.names import escape_dn_value, normal_name
from regionhus.records import write_directory_record

ADMIN_SUFFIX = "-admins"
VDI_USERS_SUFFIX = "-vdi-users"
# The regional operators' group: delegated on KOMMUNER_OU, so its members administer
# every municipality's OU without being members of the municipalities' own groups.
REGIONAL_GROUP = "region-admins"
# The record (records/directory/<REGIONAL_RECORD>.json) of the regional group's members.
REGIONAL_RECORD = "region"
KOMMUNER_OU = "OU=Kommuner"
REGIONAL_OU = "OU=Region"
COMPUTERS_OU = "OU=Computers"


def admin_group(slug: str) -> str:
    return f"{slug}{ADMIN_SUFFIX}"


def vdi_users_group(slug: str) -> str:
    return f"{slug}{VDI_USERS_SUFFIX}"


def kommune_ou(kommune: Kommune, directory: DirectorySettings) -> str:
    # Escaped (RFC 4514) and NFC: the same DN the directory_tenants role creates.
    return f"OU={escape_dn_value(normal_name(kommune.name))},{KOMMUNER_OU},{directory.base_dn}"


def directory_vars(directory: DirectorySettings, kommuner: Mapping[str, Kommune]) -> dict:
    """`regionhus_directory`: every name the playbooks and roles use, computed once."""
    return {
        "realm": directory.realm,
        "dns_domain": directory.dns_domain,
        "base_dn": directory.base_dn,
        "kommuner_ou": KOMMUNER_OU,
        "regional_ou": REGIONAL_OU,
        "regional_group": REGIONAL_GROUP,
        "admin_group_suffix": ADMIN_SUFFIX,
        "vdi_users_group_suffix": VDI_USERS_SUFFIX,
        "kommuner": {
            slug: {
                "ou": kommune_ou(k, directory),
                "computers_ou": f"{COMPUTERS_OU},{kommune_ou(k, directory)}",
                "admin_group": admin_group(slug),
                "vdi_users_group": vdi_users_group(slug),
            }
            for slug, k in kommuner.items()
        },
    }


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
        group = str(entry.get("admin_group") or admin_group(slug))
        listed = entry.get("members")
        names = [str(m) for m in listed] if isinstance(listed, list) else []
        removed = list(entry.get("removed") or [])  # type: ignore[call-overload]
        paths.append(
            write_directory_record(
                slug,
                admin_group=group,
                members=names,
                source=source,
                read_at=moment,
                root=root,
                removed=removed,
            )
        )
    return paths


def read_admin_groups(slugs: list[str], host: str = "dc1") -> dict[str, dict[str, object]]:
    """Read each municipality's admin group members on a DC (samba-tool)."""
    from regionhus.inventory import load_inventory
    from regionhus.transport import transport_for

    via = transport_for(load_inventory())
    result: dict[str, dict[str, object]] = {}
    for slug in slugs:
        group = REGIONAL_GROUP if slug == REGIONAL_RECORD else admin_group(slug)
        proc = via.run(host, f"samba-tool group listmembers {shlex.quote(group)}")
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
    exp = sub.add_parser("export", help="read the admin groups on a DC and write records")
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
