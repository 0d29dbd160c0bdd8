"""`regionhus kommune purge <slug> [--i-understand]`: what is left after the retention period.

Without the flag it only lists (from the hosts themselves) what would be deleted. With
it, and only when membership has ended and the agreed retention has run out, it deletes
the municipality's OU with everything under it, and its backup repository with the user,
passphrase, guard state, monitoring textfile and units around it. Records (evidence)
are kept. Hosts that still serve the municipality stop it: they must leave the
inventory first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from regionhus.errors import RegionhusError
from regionhus.inventory import Inventory
from regionhus.kommune.export import backup_call, backup_host, dc_call, kommune_ou, primary_dc
from regionhus.kommune.lifecycle import purge_allowed_from
from regionhus.transport import Transport, transport_for


@dataclass
class PurgePlan:
    slug: str
    on: dt.date
    allowed_from: dt.date | None
    hosts_serving: list[str]
    directory: dict[str, Any] = field(default_factory=dict)
    backup: dict[str, Any] = field(default_factory=dict)
    dc: str = ""
    backup_server: str | None = None
    via: Transport | None = None

    @property
    def refusal(self) -> str | None:
        if self.allowed_from is None:
            return f"{self.slug} is still a member (no member_until): nothing may be purged"
        if self.on < self.allowed_from:
            return (
                f"{self.slug}: the retention period runs until {self.allowed_from} "
                f"(today is {self.on}); purge is refused before that"
            )
        if self.hosts_serving:
            return (
                f"hosts still serve {self.slug}: {', '.join(self.hosts_serving)}; take them out "
                "of the inventory (NetBox) first"
            )
        return None

    def lines(self) -> list[str]:
        out = []
        d = self.directory
        if d.get("exists"):
            kinds = d["kinds"]
            out.append(
                f"{self.dc}: {d['ou']} and everything under it: {kinds['user']} user(s), "
                f"{kinds['group']} group(s), {kinds['computer']} computer(s), "
                f"{kinds['organizationalUnit']} OU(s)"
            )
        b = self.backup
        if leftovers(b):
            out.append(
                f"{self.backup_server}: repository {b['path']} ({b['bytes']} bytes), "
                f"user {b['user'] or '-'}, units {', '.join(b['units']) or '-'}, "
                f"files {', '.join(sorted(b['files'].values())) or '-'}"
                + (", its entry in the guard's configuration" if b.get("configured") else "")
            )
        return out


def leftovers(backup: dict[str, Any]) -> bool:
    """Anything of the repository left on the backup server: files, its user, an enabled
    unit (an interrupted purge may leave only that), or its guard configuration entry."""
    return bool(
        backup.get("files") or backup.get("user") or backup.get("units") or backup.get("configured")
    )


def purge_plan(inventory: Inventory, slug: str) -> PurgePlan:
    kommune = inventory.config.kommune(slug)
    plan = PurgePlan(
        slug=slug,
        on=inventory.config.on,
        allowed_from=purge_allowed_from(kommune),
        hosts_serving=[h.name for h in inventory.hosts if h.serves == slug],
    )
    plan.via = transport_for(inventory)
    plan.dc = primary_dc(inventory)
    ou = kommune_ou(inventory, kommune)
    plan.directory = {"ou": ou, **dc_call(plan.via, plan.dc, "count", ou)}
    plan.backup_server = backup_host(inventory)
    if plan.backup_server:
        plan.backup = backup_call(plan.via, plan.backup_server, "info", slug)
    return plan


def purge(plan: PurgePlan) -> list[str]:
    """Delete what the plan lists; refuses (before any host is touched) when not allowed."""
    if plan.refusal:
        raise RegionhusError(plan.refusal)
    # Set whenever a plan is made (plan_purge); None only in a refused plan.
    assert plan.via is not None
    done = []
    if plan.directory.get("exists"):
        result = dc_call(plan.via, plan.dc, "delete", plan.directory["ou"])
        done.append(f"{plan.dc}: deleted {plan.directory['ou']} ({result['deleted']} objects)")
    if plan.backup_server and leftovers(plan.backup):
        backup_call(plan.via, plan.backup_server, "delete", plan.slug)
        done.append(f"{plan.backup_server}: deleted repository {plan.backup['path']} and its user")
    return done
