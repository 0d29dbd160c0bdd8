"""Engine output -> changes: the Ansible callback's lines and pyinfra's JSON + diff log."""

from __future__ import annotations

import json
from pathlib import Path

from regionhus.plan import ansible_events, pyinfra_events
from regionhus.plan.model import Kind, Status

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "plan"


def record(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "host": "dc1",
        "task": "t",
        "role": "samba_dc",
        "action": "ansible.builtin.copy",
        "check": True,
        "status": "ok",
        "changed": False,
        "skipped": False,
        "failed": False,
        "msg": "",
        "diff": [],
    }
    return {**base, **fields}


def test_check_mode_skips_are_unknown_never_no_change() -> None:
    skipped = record(
        action="ansible.builtin.command",
        status="skipped",
        skipped=True,
        msg="Command would have run if not in check mode",
    )
    assert ansible_events.classify(skipped)[0] == Status.UNKNOWN
    unsupported = record(
        status="skipped", skipped=True, msg="remote module (x) does not support check mode"
    )
    assert ansible_events.classify(unsupported)[0] == Status.UNKNOWN
    ignored = record(status="failed", failed=True, ignore_errors=True, msg="no such file")
    assert ansible_events.classify(ignored)[0] == Status.UNKNOWN
    item = record(items=[{"skipped": True, "msg": "Command would have run if not in check mode"}])
    assert ansible_events.classify(item)[0] == Status.UNKNOWN


def test_plain_results() -> None:
    assert ansible_events.classify(record())[0] is None
    conditional = record(status="skipped", skipped=True, msg="Conditional result was False")
    assert ansible_events.classify(conditional)[0] is None
    assert ansible_events.classify(record(changed=True))[0] == Status.CHANGE
    assert ansible_events.classify(record(status="failed", failed=True))[0] == Status.FAILED
    assert ansible_events.classify(record(status="unreachable"))[0] == Status.FAILED
    applied_ignored = record(status="failed", ignore_errors=True, check=False)
    assert ansible_events.classify(applied_ignored)[0] is None


def test_to_changes_keeps_items_diffs_and_counts(tmp_path: Path) -> None:
    lines = [
        record(task="Write smb.conf", changed=True, diff=["--- before\n+++ after\n"]),
        record(task="OUs", action="samba_ou", items=[{"changed": True, "item": "kongsberg"}]),
        record(task="Read", status="ok"),
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    changes, unchanged = ansible_events.to_changes(ansible_events.read_events(events))
    assert [c.task for c in changes] == ["Write smb.conf", "OUs"]
    assert changes[0].kind == Kind.FILE and changes[0].diff
    assert changes[1].kind == Kind.DIRECTORY and changes[1].items == ["kongsberg"]
    assert unchanged == {"dc1": 1}


def test_pyinfra_plan_with_diffs() -> None:
    plan = json.loads((FIXTURES / "pyinfra-dry.json").read_text())
    log = (FIXTURES / "pyinfra-dry.log").read_text()
    changes = pyinfra_events.plan_changes(plan, log)
    by_task = {c.task: c for c in changes}
    hosts_file = by_task["Render /etc/hosts"]
    assert hosts_file.status == Status.CHANGE and hosts_file.kind == Kind.FILE
    assert "+ # Managed by regionhus" in hosts_file.diff[0]
    assert by_task["Reload sshd"].status == Status.CONDITIONAL
    assert by_task["Install base packages"].kind == Kind.PACKAGE


def test_pyinfra_conditionals_need_a_trigger() -> None:
    plan = {
        "plan": [
            {"name": "Render /etc/x", "hosts_with_change": ["a"]},
            {"name": "Restart journald", "hosts_with_conditional_change": ["a", "b"]},
        ]
    }
    changes = pyinfra_events.plan_changes(plan, "")
    assert [(c.host, c.status) for c in changes] == [
        ("a", Status.CHANGE),
        ("a", Status.CONDITIONAL),
    ]


def test_pyinfra_results() -> None:
    results = {
        "results": {
            "operations": [
                {"name": "Render /etc/hosts", "success": ["a"], "error": [], "no_change": ["b"]},
                {"name": "Install", "success": [], "error": ["c"], "no_change": []},
            ],
            "failed_hosts": ["c", "d"],
        }
    }
    changes, unchanged = pyinfra_events.result_changes(results)
    assert [(c.host, c.status) for c in changes] == [
        ("a", Status.CHANGE),
        ("c", Status.FAILED),
        ("d", Status.FAILED),
    ]
    assert unchanged == {"b": 1}
