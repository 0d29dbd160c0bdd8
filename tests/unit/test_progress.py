"""Live progress: what an operator sees while the engines run, from their real output."""

from __future__ import annotations

import io
import json
from pathlib import Path

from regionhus.plan.ansible_events import read_events
from regionhus.progress import Progress, wanted

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plan"


def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [
        {"event": "start", "host": "dc1", "role": "samba_dc", "task": "Install", "time": 100.0},
        {"event": "start", "host": "dc2", "role": "samba_dc", "task": "Install", "time": 100.0},
        {
            "event": "result",
            "host": "dc1",
            "role": "samba_dc",
            "task": "Install",
            "status": "ok",
            "changed": True,
            "time": 112.5,
        },
        {
            "event": "result",
            "host": "dc2",
            "role": "samba_dc",
            "task": "Install",
            "status": "ok",
            "changed": False,
            "time": 101.0,
        },
        {"event": "start", "host": "dc1", "role": "", "task": "Export", "time": 113.0},
        {
            "event": "result",
            "host": "dc1",
            "role": "",
            "task": "Export",
            "status": "skipped",
            "time": 113.1,
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"event": "sta')
    return path


def test_ansible_progress_names_task_host_status_and_time(tmp_path: Path) -> None:
    out = io.StringIO()
    progress = Progress(enabled=True, stream=out)
    with progress.follow_ansible(events_file(tmp_path)):
        pass
    lines = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert lines == [
        "services samba_dc : Install",
        "services   dc1                changed (12.5 s)",
        "services   dc2                ok (1.0 s)",
        "services Export",  # skipped hosts are not listed; a half-written line waits
    ]


def test_pyinfra_progress_shows_phases_and_hosts_not_diffs() -> None:
    out = io.StringIO()
    progress = Progress(enabled=True, stream=out)
    for line in (FIXTURES / "pyinfra-dry.log").read_text().splitlines(keepends=True)[:12]:
        progress.pyinfra_line(line)
    shown = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert "base     connecting to hosts" in shown
    assert "base       vdi-notodden-1     Will modify /etc/hosts" in shown
    assert not [line for line in shown if "127.0.0.1" in line]


def test_quiet_prints_nothing_and_no_terminal_means_quiet(tmp_path: Path) -> None:
    out = io.StringIO()
    progress = Progress(enabled=wanted(None, out), stream=out)
    with progress.follow_ansible(events_file(tmp_path)):
        progress.pyinfra_line("--> Connecting to hosts...\n")
    assert out.getvalue() == ""
    assert wanted(True, out) is True and wanted(False, out) is False


def test_start_events_are_not_results(tmp_path: Path) -> None:
    path = events_file(tmp_path)
    path.write_text(path.read_text().rsplit("\n", 1)[0] + "\n")
    assert [(r["host"], r["status"]) for r in read_events(path)] == [
        ("dc1", "ok"),
        ("dc2", "ok"),
        ("dc1", "skipped"),
    ]
