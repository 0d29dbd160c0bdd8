"""Against the real NetBox: an apply leaves a journal entry on every VM it covered."""

from __future__ import annotations

import pytest
from live_netbox import REPO, LiveNetBox

from regionhus.inventory import load_inventory
from regionhus.netbox.client import NetBoxError
from regionhus.netbox.journal import Apply, add_journal_entries
from regionhus.netbox.settings import NetBoxSettings
from regionhus.plan import apply_record

pytestmark = pytest.mark.netbox


def journal(live: LiveNetBox, host: str) -> list[dict]:
    nb = live.client()
    vm = nb.get(f"/api/virtualization/virtual-machines/?name={host}")["results"][0]
    return list(
        nb.list(
            "/api/extras/journal-entries/?assigned_object_type=virtualization.virtualmachine"
            f"&assigned_object_id={vm['id']}&ordering=-id"
        )
    )


def test_apply_writes_what_changed_and_who_on_every_applied_vm(
    netbox_env: LiveNetBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGIONHUS_OPERATOR", "drift.kari")
    inventory = load_inventory(REPO, "netbox")
    changed = {"dc1": ["file /etc/ssh/sshd_config.d/10-regionhus.conf: changed"]}
    before = {h: len(journal(netbox_env, h)) for h in ("dc1", "vdi-kongsberg-1")}

    summary = apply_record.netbox_journal(
        inventory,
        "20261130T010000Z-abcdef1234-42",
        changed,
        hosts=["dc1", "vdi-kongsberg-1"],
        commit="abcdef1234567890",
    )

    assert summary == "NetBox journal: an entry on 2 VM(s)"
    dc1 = journal(netbox_env, "dc1")
    vdi = journal(netbox_env, "vdi-kongsberg-1")
    assert len(dc1) == before["dc1"] + 1 and len(vdi) == before["vdi-kongsberg-1"] + 1
    assert dc1[0]["kind"]["value"] == "success"
    assert "drift.kari" in dc1[0]["comments"]
    assert "20261130T010000Z-abcdef1234-42" in dc1[0]["comments"]
    assert "10-regionhus.conf: changed" in dc1[0]["comments"]
    # Applied without a change is recorded too: the host was checked at that commit.
    assert vdi[0]["kind"]["value"] == "info"
    assert "Ingen endringer" in vdi[0]["comments"] and "drift.kari" in vdi[0]["comments"]


def test_a_vm_netbox_does_not_know_is_named(netbox_live: LiveNetBox) -> None:
    settings = NetBoxSettings(netbox_live.url, netbox_live.token)
    apply = Apply(record_id="r1", who="drift.kari", commit="abc")
    with pytest.raises(NetBoxError, match="no VM named vdi-lier-1"):
        add_journal_entries({}, apply=apply, hosts=["dc1", "vdi-lier-1"], settings=settings)


def test_unreachable_netbox_does_not_hide_the_apply(
    netbox_env: LiveNetBox, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = load_inventory(REPO, "netbox")
    monkeypatch.setenv("REGIONHUS_NETBOX_URL", "http://127.0.0.1:9")
    summary = apply_record.netbox_journal(
        inventory, "r2", {"dc1": ["x"]}, hosts=["dc1"], commit="abc"
    )
    assert summary.startswith("warning: NetBox journal not written")
    assert "apply record r2 has it all" in summary
