"""The scope guard: a scoped run never changes another municipality's data on shared hosts.

The events were recorded on the lab (the regionhus_plan callback, check mode) from the
backup server play as it was before issue #13, limited as `plan --kommune kongsberg`
limits it: the server takes client keys from the hosts of the run, so it would drop
vdi-notodden-1's key and its archive prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regionhus.inventory import Inventory, load_inventory
from regionhus.plan import ansible_events, guard, report
from regionhus.plan.cli import build_scope
from regionhus.plan.model import Change, Layer, Status
from regionhus.plan.repo import read_repo
from regionhus.plan.run import LayerRun, collect
from regionhus.plan.scope import affected_hosts, kommune_scope

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "fixtures" / "plan" / "scope-kongsberg-events.jsonl"


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return load_inventory(REPO, "embedded")


def recorded_plan(inventory: Inventory, *, kommuner: tuple[str, ...] = ("kongsberg",)):  # type: ignore[no-untyped-def]
    changes, unchanged = ansible_events.to_changes(ansible_events.read_events(EVENTS))
    scope, limited = build_scope(inventory.config.root, inventory, kommuner, ())
    run = LayerRun(Layer.SERVICES, None, changes, unchanged)
    return collect([run], scope, inventory, commit="abc", limited=limited)


def test_a_kongsberg_plan_that_drops_notoddens_key_is_stopped(inventory: Inventory) -> None:
    plan = recorded_plan(inventory)
    found = {(f.host, f.kommune, f.change) for f in plan.scope_findings}
    assert found == {
        (
            "backup1",
            "notodden",
            "services/backup_server: Client keys, each forced to append-only borg serve "
            "on its own repository [notodden]",
        ),
        (
            "backup1",
            "notodden",
            "services/backup_server: Guard configuration (repositories, retention, "
            "archive prefixes)",
        ),
    }
    message = guard.describe(plan.scope_findings)
    assert "concerns notodden" in message and "--kommune notodden" in message
    assert "--full" in message


def test_widening_the_scope_or_the_whole_region_has_no_findings(inventory: Inventory) -> None:
    assert recorded_plan(inventory, kommuner=("kongsberg", "notodden")).scope_findings == []
    assert recorded_plan(inventory, kommuner=()).scope_findings == []  # the whole region


def test_the_plan_shows_the_findings_in_every_format(inventory: Inventory) -> None:
    plan = recorded_plan(inventory)
    text = report.render_text(plan, inventory.config)
    assert "OUTSIDE THE SCOPE" in text and "(concerns notodden)" in text
    assert "Outside the scope" in report.render_markdown(plan, inventory.config)
    data = json.loads(report.render_json(plan, inventory.config))
    assert {f["kommune"] for f in data["scope_findings"]} == {"notodden"}


def test_region_wide_changes_and_in_scope_changes_are_no_findings(inventory: Inventory) -> None:
    plan = recorded_plan(inventory)
    scripts = Change(
        "backup1",
        Layer.SERVICES,
        "Server-side scripts",
        Status.CHANGE,
        items=["regionhus-borg-guard"],
    )
    timer = Change(
        "dc1", Layer.SERVICES, "Timer per repository", Status.CHANGE, items=["kongsberg"]
    )
    plan.hosts["backup1"].changes = [scripts]
    plan.hosts["dc1"].changes = [timer]
    plan.hosts["vdi-kongsberg-1"].changes = [
        Change("vdi-kongsberg-1", Layer.SERVICES, "Timer", Status.CHANGE, items=["kongsberg"])
    ]
    serves = {h.name: h.serves for h in inventory.hosts}
    assert (
        guard.out_of_scope(plan, frozenset({"kongsberg"}), inventory.config.kommuner, serves) == []
    )


def test_scope_municipalities_per_option(inventory: Inventory) -> None:
    root, hosts = inventory.config.root, list(inventory.hosts)
    assert build_scope(root, inventory, (), ())[0].kommuner is None
    assert build_scope(root, inventory, ("tinn",), ())[0].kommuner == {"tinn"}
    assert build_scope(root, inventory, (), ("vdi-notodden-1",))[0].kommuner == {"notodden"}
    assert build_scope(root, inventory, (), ("backup1",))[0].kommuner == frozenset()
    both = build_scope(root, inventory, ("notodden",), ("backup1",))[0]
    assert both.kommuner == {"notodden"} and set(both.hosts) == {"backup1"}
    groups, repo = inventory.groups(), read_repo(root)
    only_tinn = affected_hosts(["kommuner/tinn.yml", "README.md"], hosts, groups, repo)
    assert only_tinn.kommuner == {"tinn"}
    role = affected_hosts(["kommuner/tinn.yml", "roles/backup_server/x.yml"], hosts, groups, repo)
    assert role.kommuner is None  # a role serves every municipality: all in scope
    assert kommune_scope(["rollag"], hosts).kommuner == {"rollag"}


def test_a_change_is_about_the_municipalities_its_changed_lines_name(
    inventory: Inventory,
) -> None:
    serves = {h.name: h.serves for h in inventory.hosts}
    diff = '--- a\n+++ b\n@@ -1,3 +1,3 @@\n   "kongsberg": {}\n-  "tinn": 1\n+  "tinn": 2\n'
    change = Change("backup1", Layer.SERVICES, "Guard configuration", Status.CHANGE, diff=[diff])
    assert guard.concerned(change, inventory.config.kommuner, serves) == {"tinn"}
    by_host = Change("backup1", Layer.SERVICES, "x", Status.CHANGE, items=["vdi-kongsberg-2"])
    assert guard.concerned(by_host, inventory.config.kommuner, serves) == {"kongsberg"}


def test_a_scoped_apply_stops_before_touching_a_host(
    inventory: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from regionhus.cli import main
    from regionhus.config import load_region
    from regionhus.plan import cli as plan_cli
    from regionhus.secrets import ensure_lab_vault

    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("REGIONHUS_ROOT", str(REPO))  # other tests' --root leaks into the env
    monkeypatch.delenv("REGIONHUS_VAULT_FILE", raising=False)
    monkeypatch.delenv("REGIONHUS_VAULT_PASSWORD_FILE", raising=False)
    ensure_lab_vault(load_region(REPO))
    applied: list[object] = []

    class Reachable:  # the hosts are not needed: the plan is the recorded one
        def preflight(self, hosts: list[str]) -> None: ...

        def who(self, hosts: list[str]) -> str:
            return "pytest"

    monkeypatch.setattr(plan_cli, "transport_for", lambda inventory: Reachable())
    monkeypatch.setattr(plan_cli, "dry_run", lambda *a, **k: recorded_plan(inventory))
    monkeypatch.setattr(plan_cli, "apply_runs", lambda *a, **k: applied.append(a) or [])
    result = CliRunner().invoke(
        main, ["apply", "--yes", "--allow-dirty", "--kommune", "kongsberg"], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert applied == []
    assert "concerns notodden" in result.output and "--kommune notodden" in result.output
