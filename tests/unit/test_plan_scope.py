"""Changed files -> hosts to plan, with reasons (regionhus.plan.scope)."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from regionhus.inventory import Host, Role
from regionhus.plan.model import Layer
from regionhus.plan.repo import Play, RepoMap, read_repo
from regionhus.plan.scope import (
    affected_hosts,
    full_scope,
    kommune_scope,
    resolve_pattern,
    restrict,
)


def host(name: str, address: str, role: Role, serves: str, tags: list[str] | None = None) -> Host:
    return Host(
        name=name, address=address, roles=[role], serves=serves, site="hus", tags=tags or []
    )


HOSTS = [
    host("backup1", "10.47.0.21", Role.BACKUP, "region"),
    host("dc1", "10.47.0.11", Role.DIRECTORY, "region", ["ad-pdc"]),
    host("dc2", "10.47.0.12", Role.DIRECTORY, "region", ["ad-replica"]),
    host("vdi-kongsberg-1", "10.47.0.31", Role.VDI, "kongsberg"),
    host("vdi-kongsberg-2", "10.47.0.32", Role.VDI, "kongsberg"),
    host("vdi-notodden-1", "10.47.0.33", Role.VDI, "notodden"),
]
GROUPS = {
    "role_backup": ["backup1"],
    "role_directory": ["dc1", "dc2"],
    "role_vdi": ["vdi-kongsberg-1", "vdi-kongsberg-2", "vdi-notodden-1"],
    "tag_ad_pdc": ["dc1"],
    "kommune_kongsberg": ["vdi-kongsberg-1", "vdi-kongsberg-2"],
    "kommune_notodden": ["vdi-notodden-1"],
    "regional": ["backup1", "dc1", "dc2"],
}
REPO = RepoMap(
    plays=[
        Play("playbooks/directory.yml", "role_directory", frozenset({"samba_dc"})),
        Play("playbooks/directory.yml", "tag_ad_pdc", frozenset({"directory_tenants"})),
        Play("playbooks/backup.yml", "role_backup", frozenset({"backup_server"})),
        Play("playbooks/backup.yml", "all:!role_backup", frozenset({"backup_client"})),
        Play("playbooks/vdi.yml", "role_vdi", frozenset({"vdi_host"})),
    ],
    playbooks={
        "playbooks/site.yml": ["playbooks/directory.yml", "playbooks/backup.yml"],
        "playbooks/directory.yml": [],
        "playbooks/backup.yml": [],
        "playbooks/vdi.yml": [],
    },
    role_deps={"backup_client": ["borg_common"]},
    template_users={
        "templates/etc/hosts.j2": {"base"},
        "templates/etc/samba/smb.conf.j2": {"samba_dc"},
        "templates/etc/orphan.j2": set(),
    },
)
ALL = {h.name for h in HOSTS}


def scope_of(*paths: str):  # type: ignore[no-untyped-def]
    return affected_hosts(paths, HOSTS, GROUPS, REPO)


def test_kommune_file_brings_its_hosts_and_the_shared_readers() -> None:
    scope = scope_of("kommuner/notodden.yml")
    assert set(scope.hosts) == {"vdi-notodden-1", "dc1", "dc2", "backup1"}
    assert scope.hosts["vdi-notodden-1"].layers == {Layer.BASE, Layer.SERVICES}
    assert scope.hosts["dc1"].layers == {Layer.SERVICES}  # no kommune operators on shared
    assert "serves notodden" in scope.hosts["vdi-notodden-1"].reasons[0]
    assert "shared directory host" in scope.hosts["dc2"].reasons[0]


def test_kommune_cost_does_not_grow_with_the_region() -> None:
    many = [*HOSTS] + [
        host(f"vdi-k{i}-1", f"10.47.1.{i}", Role.VDI, f"k{i}") for i in range(1, 200)
    ]
    scope = affected_hosts(["kommuner/notodden.yml"], many, GROUPS, REPO)
    assert len(scope.hosts) == 4


def test_kommune_without_hosts_notes_it() -> None:
    scope = scope_of("kommuner/tinn.yml")
    assert set(scope.hosts) == {"dc1", "dc2", "backup1"}
    assert any("no host serves tinn" in n for n in scope.notes)


def test_region_and_inventory_plan_everything() -> None:
    for path in ("region.yml", "inventory/lab-region.hosts.yml", "regionhus/inventory/build.py"):
        scope = scope_of(path)
        assert set(scope.hosts) == ALL
        assert all(s.layers == {Layer.BASE, Layer.SERVICES} for s in scope.hosts.values())


def test_role_brings_the_hosts_its_plays_target() -> None:
    assert set(scope_of("roles/samba_dc/tasks/main.yml").hosts) == {"dc1", "dc2"}
    assert set(scope_of("roles/directory_tenants/tasks/main.yml").hosts) == {"dc1"}
    client = scope_of("roles/backup_client/defaults/main.yml")
    assert set(client.hosts) == ALL - {"backup1"}
    assert all(s.layers == {Layer.SERVICES} for s in client.hosts.values())


def test_role_dependency_follows_meta() -> None:
    assert set(scope_of("roles/borg_common/tasks/main.yml").hosts) == ALL - {"backup1"}


def test_role_outside_site_is_noted_not_planned() -> None:
    scope = scope_of("roles/vdi_host/tasks/main.yml")
    assert not scope.hosts
    assert "not run by playbooks/site.yml" in scope.notes[0]


def test_templates_go_to_their_users() -> None:
    base = scope_of("templates/etc/hosts.j2")
    assert set(base.hosts) == ALL
    assert all(s.layers == {Layer.BASE} for s in base.hosts.values())
    assert set(scope_of("templates/etc/samba/smb.conf.j2").hosts) == {"dc1", "dc2"}
    assert set(scope_of("templates/etc/orphan.j2").hosts) == ALL


def test_base_layer_code_is_base_only_everywhere() -> None:
    scope = scope_of("deploys/base.py", "regionhus/baselayer.py")
    assert set(scope.hosts) == ALL
    assert all(s.layers == {Layer.BASE} for s in scope.hosts.values())
    assert len(scope.hosts["dc1"].reasons) == 2


def test_playbook_and_files_the_repository_does_not_have() -> None:
    assert set(scope_of("playbooks/backup.yml").hosts) == ALL
    # No group_vars/ in this repository (the inventory plugin computes the variables):
    # one that appears is not known to be host-neutral, so it plans every host.
    assert set(scope_of("group_vars/role_vdi.yml").hosts) == ALL


def test_every_listed_path_exists_in_the_repository() -> None:
    """The classification describes this tree: each pattern matches a tracked file."""
    import subprocess

    from regionhus.plan import scope as scope_module

    root = Path(__file__).resolve().parents[2]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    lists = ("NEUTRAL", "EVERYTHING", "BASE_ONLY", "SERVICES_ONLY")
    patterns = [p for name in lists for p in getattr(scope_module, name)]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(f, p) for f in tracked)]
    assert unmatched == []


def test_neutral_files_touch_nothing_and_unknown_files_everything() -> None:
    scope = scope_of("README.md", "tests/unit/test_x.py", ".github/workflows/plan.yml")
    assert not scope.hosts
    assert len(scope.ignored) == 3
    assert set(scope_of("something/new.txt").hosts) == ALL


def test_patterns() -> None:
    names = [h.name for h in HOSTS]
    assert resolve_pattern("all:!role_backup", GROUPS, names) == ALL - {"backup1"}
    assert resolve_pattern("regional:&role_directory", GROUPS, names) == {"dc1", "dc2"}
    assert resolve_pattern("dc*", GROUPS, names) == {"dc1", "dc2"}
    assert resolve_pattern("{{ target }}", GROUPS, names) == ALL


def test_kommune_and_host_limits() -> None:
    scope = restrict(full_scope(HOSTS), kommune_scope(["kongsberg"], HOSTS))
    assert set(scope.hosts) == {"vdi-kongsberg-1", "vdi-kongsberg-2", "dc1", "dc2", "backup1"}
    assert scope.hosts["backup1"].layers == {Layer.SERVICES}
    assert set(restrict(scope, names=["dc1"]).hosts) == {"dc1"}


def test_reads_the_real_repository() -> None:
    repo = read_repo(Path(__file__).resolve().parents[2])
    assert "base" in repo.template_users["templates/etc/hosts.j2"]
    assert "playbooks/site.yml" in repo.playbooks
