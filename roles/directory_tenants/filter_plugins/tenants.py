"""Filters that turn the region's variables into the tenants of `samba_directory_tenants`
(one call for the region and every municipality) and its result into the audit's record.

Plain Python rather than a Jinja expression: at national scale (357 municipalities) one
function call is both faster and readable, and the unit tests run it without a DC.
"""

from __future__ import annotations

from typing import Any

from regionhus.names import escape_dn_value, normal_name

MANAGED = ("active", "ended")
USER_KEYS = ("username", "name", "email")


def _users(operators: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: op[k] for k in USER_KEYS if k in op} for op in operators]


def directory_tenant_specs(
    kommuner: dict[str, dict[str, Any]],
    *,
    parent_ou: str,
    admin_group_suffix: str,
    vdi_group_suffix: str,
    regional_ou: str,
    regional_group: str,
    regional_record: str,
    regional_operators: list[dict[str, Any]],
    users_ou: str,
    groups_ou: str,
) -> list[dict[str, Any]]:
    """The regional unit first (its group is delegated on `parent_ou`), then every
    municipality whose directory service is active (present) or ended (disabled)."""
    regional_users = _users(regional_operators)
    specs: list[dict[str, Any]] = [
        {
            "key": regional_record,
            "ou": regional_ou,
            "state": "present",
            "sub_ous": [users_ou, groups_ou],
            "users": regional_users,
            "groups": [
                {
                    "name": regional_group,
                    "description": "Regional operators (administer every municipality's part)",
                    "members": [u["username"] for u in regional_users],
                    "protected": True,
                }
            ],
            "delegate_group": regional_group,
            "delegate_on": parent_ou,
        }
    ]
    for slug, kommune in kommuner.items():
        state = kommune["service_states"]["directory"]
        if state not in MANAGED:
            continue
        admins = f"{slug}{admin_group_suffix}"
        specs.append(
            {
                "key": slug,
                # Escaped and NFC: the OU the rest of the region refers to (dn_value).
                "ou": f"OU={escape_dn_value(normal_name(str(kommune['name'])))},{parent_ou}",
                "state": "present" if state == "active" else "disabled",
                "users": _users(kommune["operators"]),
                "groups": [
                    {
                        "name": admins,
                        "description": f"{kommune['name']}: delegated administrators",
                        "members": [op["username"] for op in kommune["operators"]],
                        "protected": True,
                    },
                    {
                        "name": f"{slug}{vdi_group_suffix}",
                        "description": f"{kommune['name']}: VDI users",
                        # Membership is the municipality's own business (its admins manage it).
                        "members": None,
                    },
                ],
                "delegate_group": admins,
            }
        )
    return specs


def directory_admin_members(
    tenants: dict[str, dict[str, Any]], specs: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """{key: {admin_group, members, removed}} as read from the DC, for every tenant whose
    admin group was found (ended municipalities too: the audit shows who is still in it)."""
    found: dict[str, dict[str, Any]] = {}
    for spec in specs:
        outcome = tenants.get(spec["key"]) or {}
        group = spec["delegate_group"]
        members = outcome.get("members") or {}
        if outcome.get("error") or group not in members:
            continue
        found[spec["key"]] = {
            "admin_group": group,
            "members": members[group],
            "removed": outcome.get("removed") or [],
        }
    return found


class FilterModule:
    def filters(self) -> dict:
        return {
            "directory_tenant_specs": directory_tenant_specs,
            "directory_admin_members": directory_admin_members,
        }
