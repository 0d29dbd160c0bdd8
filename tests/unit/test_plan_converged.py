"""Converged records: the fingerprint follows every input that can reach a host, and
the probe (run here, on this machine's own files) sees a hand change."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from regionhus.inventory import REGION, load_inventory
from regionhus.plan.ansible_events import managed
from regionhus.plan.converged import differences, fingerprints, parse_probe, probe_script


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("REGIONHUS_VAULT_FILE", raising=False)
    monkeypatch.delenv("REGIONHUS_SITE_PLAYBOOK", raising=False)
    return tmp_path / "state"


def prints(root: Path) -> dict[str, str]:
    inventory = load_inventory(root, "embedded")
    return fingerprints(inventory, [h.name for h in inventory.hosts], root=root)


def test_a_new_role_changes_every_hosts_fingerprint(region_copy: Path, state: Path) -> None:
    before = prints(region_copy)
    tasks = region_copy / "roles" / "someone_elses_new_role" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text("- name: New task\n  ansible.builtin.ping:\n")
    after = prints(region_copy)
    assert all(before[h] != after[h] for h in before)


def test_a_municipality_file_reaches_its_hosts_and_the_shared_ones(
    region_copy: Path, state: Path
) -> None:
    before = prints(region_copy)
    path = region_copy / "kommuner" / "notodden.yml"
    # A comment: the variables stay the same, the file does not (when in doubt, include).
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
    after = prints(region_copy)
    hosts = load_inventory(region_copy, "embedded").hosts
    expected = {h.name for h in hosts if h.serves in ("notodden", REGION)}
    assert {h for h in before if before[h] != after[h]} == expected
    assert any(h.serves == "kongsberg" for h in hosts)  # someone who must not change


def test_docs_and_tests_change_no_fingerprint(region_copy: Path, state: Path) -> None:
    before = prints(region_copy)
    (region_copy / "NOTES.md").write_text("notes\n")
    (region_copy / "tests").mkdir()
    (region_copy / "tests" / "test_x.py").write_text("def test_x(): ...\n")
    assert prints(region_copy) == before


def test_secrets_and_certificates_are_inputs(region_copy: Path, state: Path) -> None:
    before = prints(region_copy)
    (state / "pki").mkdir(parents=True)
    (state / "pki" / "ca.crt").write_text("a new CA\n")
    assert all(before[h] != after for h, after in prints(region_copy).items())


def run_probe(paths: list[str]) -> dict[str, str]:
    proc = subprocess.run(
        ["sh", "-c", probe_script(paths, ["no-such-unit.service"])],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_probe(proc.stdout)


def test_the_probe_sees_a_managed_file_edited_by_hand(tmp_path: Path) -> None:
    managed_file = tmp_path / "managed.conf"
    managed_file.write_text("setting = 1\n")
    gone = str(tmp_path / "absent.conf")
    before = run_probe([str(managed_file), gone])
    assert before[f"path:{gone}"] == "absent"
    assert before[f"path:{managed_file}"].startswith("f ")  # type, mode, owner, group
    assert f"file:{managed_file}" in before  # and its checksum
    assert "packages" in before and "tree:/etc" in before
    assert any(key.startswith("file:/etc/") for key in before)
    assert run_probe([str(managed_file), gone]) == before  # stable when nothing changed
    managed_file.write_text("setting = 2\n")
    assert differences(before, run_probe([str(managed_file), gone])) == [f"{managed_file} changed"]
    managed_file.write_text("setting = 1\n")
    managed_file.chmod(0o600)  # the same content, another mode
    assert differences(before, run_probe([str(managed_file), gone])) == [f"{managed_file} changed"]


def test_differences_are_named() -> None:
    before = parse_probe("file:/etc/hosts\tabc\npackages\t111\nunit:ssh.service\tloaded active\n")
    after = {"file:/etc/hosts": "abd", "packages": "111", "path:/srv/x": "absent"}
    assert differences(before, after) == [
        "/etc/hosts changed",
        "/srv/x new",
        "unit:ssh.service gone",
    ]


def test_managed_paths_and_services_come_from_the_task_results() -> None:
    records = [
        {"host": "a", "managed": {"paths": ["/etc/x.conf"], "services": []}},
        {"host": "a", "managed": {"paths": ["/srv/borg"], "services": ["xrdp"]}},
        {"host": "b"},
    ]
    assert managed(records) == {
        "a": {"paths": {"/etc/x.conf", "/srv/borg"}, "services": {"xrdp"}},
        "b": {"paths": set(), "services": set()},
    }


FAKE_SYSTEMCTL = """#!/bin/sh
[ "$1" = show ] || exit 0
for unit in "$@"; do
  case $unit in
    *.path|*.timer|*.service) ;;
    *) continue ;;
  esac
  printf 'Id=%s\\nLoadState=loaded\\nActiveState=%s\\nSubState=%s\\nUnitFileState=enabled\\n\\n' \\
    "$unit" "${ACTIVE:-active}" "$SUB"
done
"""


def probe_units(tmp_path: Path, sub: str, active: str = "active") -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "systemctl"
    fake.write_text(FAKE_SYSTEMCTL)
    fake.chmod(0o755)
    units = ["regionhus-borg-guard@kongsberg.path", "regionhus-borg-guard@kongsberg.timer"]
    proc = subprocess.run(
        ["sh", "-c", probe_script([], [*units, "xrdp.service"])],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "SUB": sub, "ACTIVE": active},
    )
    return {k: v for k, v in parse_probe(proc.stdout).items() if k.startswith("service:")}


def test_a_trigger_running_its_unit_is_not_drift_but_a_stopped_one_is(tmp_path: Path) -> None:
    # The borg guard's path unit reads "running" for the second the guard runs after a
    # client's commit: a plan at that moment must not send backup1 through the engines.
    waiting = probe_units(tmp_path, "waiting")
    running = probe_units(tmp_path, "running")
    assert waiting["service:regionhus-borg-guard@kongsberg.path"] == "loaded active - enabled"
    assert differences(waiting, running) == ["service:xrdp.service changed"]
    stopped = probe_units(tmp_path, "dead", active="inactive")
    assert "service:regionhus-borg-guard@kongsberg.path changed" in differences(waiting, stopped)
