"""The text and kind of an apply's NetBox journal entry."""

from __future__ import annotations

from regionhus.netbox.journal import Apply, entry_kind, entry_text


def test_entry_names_the_apply_who_and_each_change() -> None:
    apply = Apply(record_id="20261130T010000Z-abc-1", who="drift.kari", commit="0123456789abcdef")
    text = entry_text(apply, ["package borgbackup: install", "FAILED: service smbd: restart"])
    assert "`20261130T010000Z-abc-1`" in text and "**drift.kari**" in text
    assert "`0123456789ab`" in text
    assert "- package borgbackup: install" in text
    assert entry_kind(apply, ["package borgbackup: install"]) == "success"
    assert entry_kind(apply, ["FAILED: service smbd: restart"]) == "danger"
    assert entry_kind(Apply("r", "w", "c", failed=True), []) == "danger"


def test_an_applied_host_without_changes_says_so() -> None:
    apply = Apply(record_id="r", who="drift.kari", commit="abc")
    assert "Ingen endringer" in entry_text(apply, [])
    assert entry_kind(apply, []) == "info"
