"""NetBox journal entries for an apply: on every applied VM, what changed and who applied it.

NetBox is where people look a host up; the journal there says which applies touched it
without opening the apply records on the control machine. One entry per VM and apply,
all written in one bulk request (through pynetbox, NetBox's own client).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pynetbox
import requests

from regionhus.netbox.client import NetBoxError, NetBoxUnreachable
from regionhus.netbox.settings import NetBoxSettings, load_settings

VM_TYPE = "virtualization.virtualmachine"


@dataclass(frozen=True)
class Apply:
    """What every entry of one apply says besides its host's changes."""

    record_id: str
    who: str
    commit: str
    failed: bool = False


def entry_text(apply: Apply, changes: list[str]) -> str:
    """Markdown (NetBox renders journal comments as Markdown)."""
    head = (
        f"**regionhus apply** `{apply.record_id}` av **{apply.who}**, commit `{apply.commit[:12]}`"
    )
    if not changes:
        return f"{head}\n\nIngen endringer: verten var allerede i ønsket tilstand."
    return head + "\n\n" + "\n".join(f"- {line}" for line in changes)


def entry_kind(apply: Apply, changes: list[str]) -> str:
    if apply.failed or any(line.startswith("FAILED") for line in changes):
        return "danger"
    return "success" if changes else "info"


def api(settings: NetBoxSettings) -> pynetbox.api:
    nb = pynetbox.api(settings.url, token=settings.token)
    nb.http_session = requests.Session()
    return nb


# Names per lookup: a national apply covers thousands of VMs, and each name is a query
# parameter; 100 keep the URL far below any server's limit.
NAMES_PER_LOOKUP = 100


def _vm_ids(nb: pynetbox.api, names: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for i in range(0, len(names), NAMES_PER_LOOKUP):
        part = names[i : i + NAMES_PER_LOOKUP]
        ids |= {vm.name: vm.id for vm in nb.virtualization.virtual_machines.filter(name=part)}
    return ids


def add_journal_entries(
    changed: Mapping[str, list[str]],
    *,
    apply: Apply,
    hosts: list[str],
    settings: NetBoxSettings | None = None,
) -> list[str]:
    """One journal entry on each of `hosts` (the VMs the apply covered): its changes from
    `changed` ({host: [change, ...]}), or that nothing changed. Returns the hosts written.

    A host NetBox does not know is an error naming it: the inventory came from NetBox,
    so a missing VM means NetBox changed during the apply.
    """
    settings = settings or load_settings()
    nb = api(settings)
    try:
        ids = _vm_ids(nb, hosts)
        missing = sorted(set(hosts) - set(ids))
        if missing:
            raise NetBoxError(
                f"NetBox at {settings.url} has no VM named {', '.join(missing)}; the apply "
                f"record {apply.record_id} has the changes (the VM was renamed or deleted "
                "during the apply?)"
            )
        entries = [
            {
                "assigned_object_type": VM_TYPE,
                "assigned_object_id": ids[host],
                "kind": entry_kind(apply, changed.get(host, [])),
                "comments": entry_text(apply, changed.get(host, [])),
            }
            for host in sorted(hosts)
        ]
        if entries:
            nb.extras.journal_entries.create(entries)
    except requests.ConnectionError:
        raise NetBoxUnreachable(
            f"NetBox at {settings.url} is unreachable: journal entries for apply "
            f"{apply.record_id} not written (the apply record has the changes)"
        ) from None
    except pynetbox.RequestError as exc:
        raise NetBoxError(
            f"NetBox refused the journal entries for apply {apply.record_id}: {exc.error}"
        ) from None
    return sorted(hosts)
