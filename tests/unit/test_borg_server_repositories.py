"""The backup server's one module call for every repository (borg_server_repositories):
its comparison against a made-up host, what a plan sees of it (one result per changed
repository, a key diff, never a passphrase), and the authorized_keys the role renders."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROLE = Path(__file__).resolve().parents[2] / "roles" / "backup_server"
SECRET = "correct horse battery staple"
UNITS = ["regionhus-borg-guard@.timer", "regionhus-borg-prune@.timer", "regionhus-borg-guard@.path"]
GID = 990
UIDS = {"tinn": 991, "region": 992, "old": 993, "kongsberg": 994, "notodden": 995}


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mod() -> ModuleType:
    return load(ROLE / "library" / "borg_server_repositories.py")


@pytest.fixture(scope="module")
def filters() -> ModuleType:
    return load(ROLE / "filter_plugins" / "repositories.py")


def keys(name: str) -> str:
    return f"# keys of {name}\n"


def params(names: tuple[str, ...] = ("tinn", "region", "old")) -> dict[str, Any]:
    return {
        "repositories": [
            {"name": n, "state": "ended" if n == "old" else "active", "authorized_keys": keys(n)}
            for n in names
        ],
        "passphrases": {n: f"{SECRET} {n}" for n in names},
        "root": "/srv/backup",
        "home_root": "/var/lib/regionhus-backup/home",
        "passphrase_dir": "/etc/regionhus-backup/passphrases",
        "user_prefix": "borg-",
        "group": "regionhus-backup",
        "units": UNITS,
    }


def converged(mod: ModuleType, p: dict[str, Any]) -> Any:
    """A host exactly as the role leaves it."""
    host = mod.Host(gid=GID)
    for repo in p["repositories"]:
        name = repo["name"]
        ps = mod.paths_of(name, p)
        uid = UIDS[name]
        host.users[ps.user] = mod.User(
            uid, GID, ps.home, "/bin/sh", f"regionhus backup repository {name}", "!"
        )
        host.nodes[ps.home] = mod.Node("dir", uid, GID, 0o700)
        host.nodes[ps.ssh] = mod.Node("dir", 0, 0, 0o755)
        host.nodes[ps.keys] = mod.Node("file", 0, 0, 0o644, repo["authorized_keys"].encode())
        passphrase = f"{p['passphrases'][name]}\n".encode()
        host.nodes[ps.passphrase] = mod.Node("file", 0, 0, 0o600, passphrase)
        host.nodes[ps.repo] = mod.Node("dir", uid, GID, 0o700)
        host.nodes[ps.config] = mod.Node("file", uid, GID, 0o600)
        for unit in mod.unit_names(name, UNITS):
            host.units[unit] = mod.Unit(enabled=True, active=True)
    return host


def run_check(mod: ModuleType, p: dict[str, Any], host: Any) -> dict[str, Any]:
    module = SimpleNamespace(params=p, check_mode=True)

    def run(argv: list[str], env: dict[str, str] | None = None) -> None:
        raise AssertionError(f"check mode ran {argv}")

    result = mod.reconcile(module, host, run)
    assert SECRET not in json.dumps(result), "a passphrase in the result"
    return result


def test_a_converged_host_has_nothing_to_change(mod: ModuleType) -> None:
    p = params()
    result = run_check(mod, p, converged(mod, p))
    assert result["changes"] == [] and result["results"] == [] and result["diff"] == []
    assert result["errors"] == {}


def test_a_fresh_host_gets_everything_and_each_repository_is_one_result(mod: ModuleType) -> None:
    p = params()
    result = run_check(mod, p, mod.Host())
    assert [r["item"] for r in result["results"]] == ["tinn", "region", "old"]
    assert all(r["changed"] and not r["failed"] for r in result["results"])
    tinn = result["results"][0]["changes"]
    assert tinn == [
        "+ user borg-tinn",
        "+ directory /var/lib/regionhus-backup/home/tinn",
        "+ directory /var/lib/regionhus-backup/home/tinn/.ssh",
        "+ file /var/lib/regionhus-backup/home/tinn/.ssh/authorized_keys",
        "+ file /etc/regionhus-backup/passphrases/tinn",
        "+ directory /srv/backup/tinn",
        "+ borg init /srv/backup/tinn (repokey-blake2, as borg-tinn)",
        "+ unit regionhus-borg-guard@tinn.timer: enable and start",
        "+ unit regionhus-borg-prune@tinn.timer: enable and start",
        "+ unit regionhus-borg-guard@tinn.path: enable and start",
    ]
    # An ended repository gets the same (kept, pruned, guarded): only its keys say no.
    assert len(result["results"][2]["changes"]) == len(tinn)


def test_a_hand_edited_key_file_is_one_change_with_a_diff_for_its_repository(
    mod: ModuleType,
) -> None:
    p = params()
    host = converged(mod, p)
    path = "/var/lib/regionhus-backup/home/tinn/.ssh/authorized_keys"
    host.nodes[path].content = b"ssh-ed25519 AAAA intruder\n"
    result = run_check(mod, p, host)
    assert [(r["item"], r["changes"]) for r in result["results"]] == [
        ("tinn", [f"~ file {path}: content"])
    ]
    [prepared, key_diff] = result["diff"]
    assert prepared["prepared"] == f"# tinn\n~ file {path}: content\n"
    assert key_diff == {
        "before_header": path,
        "after_header": path,
        "before": "ssh-ed25519 AAAA intruder\n",
        "after": keys("tinn"),
    }


def test_a_changed_passphrase_is_named_never_shown(mod: ModuleType) -> None:
    p = params()
    host = converged(mod, p)
    host.nodes["/etc/regionhus-backup/passphrases/region"].content = b"old secret\n"
    result = run_check(mod, p, host)
    assert result["changes"] == ["~ file /etc/regionhus-backup/passphrases/region: content"]
    assert "old secret" not in json.dumps(result)
    assert [d.get("prepared") for d in result["diff"]] == [
        "# region\n~ file /etc/regionhus-backup/passphrases/region: content\n"
    ]


def test_owner_mode_and_account_drift_each_found(mod: ModuleType) -> None:
    p = params(("tinn",))
    host = converged(mod, p)
    host.nodes["/srv/backup/tinn"].mode = 0o755
    host.nodes["/var/lib/regionhus-backup/home/tinn/.ssh"].uid = UIDS["tinn"]
    user = host.users["borg-tinn"]
    user.shell, user.comment, user.password = "/bin/bash", "someone", "$6$hash"
    result = run_check(mod, p, host)
    assert result["changes"] == [
        "~ user borg-tinn: shell '/bin/bash' -> '/bin/sh', comment 'someone' -> "
        "'regionhus backup repository tinn', password locked ('!')",
        "~ directory /var/lib/regionhus-backup/home/tinn/.ssh: owner",
        "~ directory /srv/backup/tinn: mode 0755 -> 0700",
    ]


def test_a_stopped_or_disabled_unit_is_started_or_enabled(mod: ModuleType) -> None:
    p = params(("tinn",))
    host = converged(mod, p)
    host.units["regionhus-borg-prune@tinn.timer"] = mod.Unit(enabled=True, active=False)
    host.units["regionhus-borg-guard@tinn.path"] = mod.Unit(enabled=False, active=True)
    assert run_check(mod, p, host)["changes"] == [
        "+ unit regionhus-borg-prune@tinn.timer: start",
        "+ unit regionhus-borg-guard@tinn.path: enable",
    ]


def test_an_initialised_repository_is_never_initialised_again(mod: ModuleType) -> None:
    p = params(("tinn",))
    host = converged(mod, p)
    del host.nodes["/srv/backup/tinn/config"]
    assert run_check(mod, p, host)["changes"] == [
        "+ borg init /srv/backup/tinn (repokey-blake2, as borg-tinn)"
    ]


def test_a_repository_without_passphrase_fails_alone(mod: ModuleType) -> None:
    p = params(("tinn", "region"))
    del p["passphrases"]["tinn"]
    result = run_check(mod, p, mod.Host())
    assert list(result["errors"]) == ["tinn"]
    [tinn, region] = result["results"]
    assert tinn["failed"] and "no passphrase for repository tinn" in tinn["msg"]
    assert not any("borg init" in c for c in tinn["changes"])
    assert not region["failed"] and any("borg init" in c for c in region["changes"])


def test_a_file_where_a_directory_belongs_is_an_error_not_deleted(mod: ModuleType) -> None:
    p = params(("tinn",))
    host = converged(mod, p)
    host.nodes["/srv/backup/tinn"] = mod.Node("file", 0, 0, 0o644)
    result = run_check(mod, p, host)
    assert "move it away by hand" in result["errors"]["tinn"]
    assert not any("borg init" in c for c in result["changes"])


def test_apply_runs_init_as_the_user_with_the_passphrase_only_in_its_environment(
    mod: ModuleType,
) -> None:
    p = params(("tinn", "region"))
    host = converged(mod, p)
    del host.nodes["/srv/backup/tinn/config"]
    for name in ("tinn", "region"):
        host.units[f"regionhus-borg-guard@{name}.path"] = mod.Unit(enabled=False, active=False)
    calls: list[tuple[list[str], dict[str, str] | None]] = []

    def run(argv: list[str], env: dict[str, str] | None = None) -> None:
        calls.append((argv, env))

    module = SimpleNamespace(params=p, check_mode=False)
    result = mod.reconcile(module, host, run)
    assert calls == [
        (
            [
                "runuser",
                "-u",
                "borg-tinn",
                "--",
                "borg",
                "init",
                "--encryption=repokey-blake2",
                "--make-parent-dirs",
                "/srv/backup/tinn",
            ],
            {"BORG_PASSPHRASE": f"{SECRET} tinn"},
        ),
        # One systemctl call for every repository's missing units.
        (
            [
                "systemctl",
                "enable",
                "--now",
                "regionhus-borg-guard@tinn.path",
                "regionhus-borg-guard@region.path",
            ],
            None,
        ),
    ]
    assert [r["item"] for r in result["results"]] == ["tinn", "region"]


def test_a_failed_command_fails_its_repository_only(mod: ModuleType) -> None:
    p = params(("tinn", "region"))
    host = converged(mod, p)
    for name in ("tinn", "region"):
        del host.nodes[f"/srv/backup/{name}/config"]

    def run(argv: list[str], env: dict[str, str] | None = None) -> None:
        if "/srv/backup/tinn" in argv:
            raise RuntimeError("runuser exited 2: Repository already exists")

    result = mod.reconcile(SimpleNamespace(params=p, check_mode=False), host, run)
    assert list(result["errors"]) == ["tinn"]
    assert "Repository already exists" in result["errors"]["tinn"]


def test_systemctl_show_is_read_per_unit(mod: ModuleType) -> None:
    output = (
        "Id=regionhus-borg-guard@tinn.timer\nUnitFileState=enabled\nActiveState=active\n\n"
        "Id=regionhus-borg-prune@tinn.timer\nUnitFileState=disabled\nActiveState=inactive\n\n"
        "Id=regionhus-borg-guard@tinn.path\nUnitFileState=\nActiveState=inactive\n"
    )
    names = mod.unit_names("tinn", UNITS)
    assert mod.parse_show(output, names) == {
        names[0]: mod.Unit(enabled=True, active=True),
        names[1]: mod.Unit(enabled=False, active=False),
        names[2]: mod.Unit(enabled=False, active=False),
    }


def test_managed_names_every_path_and_unit_for_the_converged_probe(mod: ModuleType) -> None:
    named = mod.managed(params(("tinn",)))
    assert "/srv/backup/tinn" in named["paths"]
    assert "/var/lib/regionhus-backup/home/tinn/.ssh/authorized_keys" in named["paths"]
    assert named["services"] == mod.unit_names("tinn", UNITS)


CLIENTS = [
    {"host": "vdi-tin-2", "address": "10.0.0.12", "public_key": "ssh-ed25519 BBBB k2\n"},
    {"host": "vdi-tin-1", "address": "10.0.0.11", "public_key": "ssh-ed25519 AAAA k1"},
    {"host": "srv-tin-1", "address": "10.0.0.21", "public_key": None},
]
HEAD = (
    "# Managed by regionhus (backup_server). Repository tinn ({state}).\n"
    "# Each key may only run append-only borg serve on this repository, from its own address.\n"
)


def test_authorized_keys_as_the_template_wrote_them(filters: ModuleType) -> None:
    repo = {"name": "tinn", "state": "active", "quota_gb": 50, "clients": CLIENTS}
    command = (
        "borg serve --append-only --restrict-to-repository /srv/backup/tinn --storage-quota 50G"
    )
    assert filters.authorized_keys(repo, "/srv/backup") == (
        HEAD.format(state="active")
        + f'from="10.0.0.11",command="{command}",restrict ssh-ed25519 AAAA k1 vdi-tin-1\n'
        + f'from="10.0.0.12",command="{command}",restrict ssh-ed25519 BBBB k2 vdi-tin-2\n'
    )
    ended = {**repo, "state": "ended"}
    assert filters.authorized_keys(ended, "/srv/backup") == (
        HEAD.format(state="ended")
        + "# Backup has ended for tinn: the repository is kept, no client may write.\n"
    )
    [item] = filters.borg_server_items([repo], "/srv/backup")
    assert set(item) == {"name", "state", "authorized_keys"}


def test_the_callback_records_what_the_one_call_manages(mod: ModuleType) -> None:
    """The converged record's probe re-reads what the tasks named: the module's
    `managed` stands in for the arguments of the loops it replaced."""
    callback = load(ROLE.parents[1] / "plugins" / "callback" / "regionhus_plan.py")
    p = params(("tinn",))
    data = {"invocation": {"module_args": {"root": "/srv/backup"}}, "managed": mod.managed(p)}
    found = callback._managed(SimpleNamespace(args={}), "borg_server_repositories", data)
    assert found == {
        "paths": sorted(mod.managed(p)["paths"]),
        "services": sorted(mod.managed(p)["services"]),
    }


def test_a_plan_attributes_the_one_call_per_repository_and_the_guard_stops_it(
    mod: ModuleType,
) -> None:
    """The module's result as the callback records it: a hand-edited key file of
    notodden is notodden's change, and a plan scoped to kongsberg stops at it."""
    from regionhus.inventory import load_inventory
    from regionhus.plan import ansible_events
    from regionhus.plan.cli import build_scope
    from regionhus.plan.model import Layer
    from regionhus.plan.run import LayerRun, collect

    callback = load(ROLE.parents[1] / "plugins" / "callback" / "regionhus_plan.py")
    p = params(("kongsberg", "notodden", "region"))
    host = converged(mod, p)
    path = "/var/lib/regionhus-backup/home/notodden/.ssh/authorized_keys"
    host.nodes[path].content = b"ssh-ed25519 AAAA intruder vdi-kongsberg-1\n"
    data = mod.reconcile(SimpleNamespace(params=p, check_mode=True), host, None)
    data["changed"] = bool(data["changes"])
    record = {
        "host": "backup1",
        "task": "Every repository's user, keys, passphrase, directory, borg init and units",
        "role": "backup_server",
        "action": "borg_server_repositories",
        "status": "ok",
        "check": True,
        **callback._summary(data),
        "items": [callback._summary(r) for r in data["results"]],
    }
    [change], _ = ansible_events.to_changes([record])
    assert change.items == ["notodden"]
    assert any("intruder" in d for d in change.diff)

    repo = ROLE.parents[1]
    inventory = load_inventory(repo, "embedded")
    scope, limited = build_scope(repo, inventory, ("kongsberg",), ())
    run = LayerRun(Layer.SERVICES, None, [change], {})
    plan = collect([run], scope, inventory, commit="abc", limited=limited)
    [found] = [c for c in plan.changes() if c.host == "backup1"]
    assert found.kommune == "notodden"
    assert {(f.host, f.kommune) for f in plan.scope_findings} == {("backup1", "notodden")}
