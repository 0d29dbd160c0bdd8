"""Which hosts a set of changed files affects, and why (a pure function).

    kommuner/<x>.yml        hosts serving x (base: their operators; services), and the
                            shared hosts whose roles read every municipality (DCs,
                            backup server, the VDI gateway: services)
    region.yml, inventory   every host, both layers
    deploys/, baselayer     every host, base layer
    templates/<t>           the hosts of the deploy and/or roles that render it
    roles/<r>/              the hosts of the plays (under site.yml) that run r
    playbooks/<p>.yml       the hosts its plays target
    tests, bench, CI, ...   nothing
    anything else           every host, both layers (not known to be host-neutral)

Every pattern below names files that exist (tests/unit/test_plan_scope.py checks it
against git), so the lists cannot drift into describing another repository.

Cost follows the change, not the region: a municipality's file brings in its own hosts
and the fixed set of shared hosts, however many municipalities there are.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from regionhus.inventory import REGION, Host, Role
from regionhus.plan.model import Layer
from regionhus.plan.repo import BASE_DEPLOY, SITE, RepoMap

# Shared hosts whose services hold something of every municipality.
# The gateway holds every pool (its address, hosts and drains come from kommuner/); the
# monitoring host every municipality's probes and alert route (kommuner/ `alerts:`).
READS_EVERY_KOMMUNE = frozenset({Role.DIRECTORY, Role.BACKUP, Role.GATEWAY, Role.MONITORING})

NEUTRAL = (
    "tests/*",
    "bench/*",
    "*.md",
    ".ci/*",
    ".github/*",
    ".gitlab-ci.yml",
    ".gitignore",
    "regionhus/reports/*",
    "regionhus/plan/*",
    "regionhus/lab/*",
    "regionhus/demo.py",
    "regionhus/progress.py",
    "regionhus/exitcodes.py",
    "plugins/callback/*",
    "mk/*",
    "Makefile",
)
EVERYTHING = (
    "region.yml",
    "inventory/*",
    "plugins/inventory/*",
    "regionhus/inventory/*",
    "regionhus/config.py",
    "regionhus/model.py",
    "regionhus/directory.py",
    "regionhus/netbox/*",
)
BASE_ONLY = ("deploys/*", "regionhus/baselayer.py")
SERVICES_ONLY = ("ansible.cfg", "plugins/*")
KOMMUNE_FILE = re.compile(r"^kommuner/(?P<slug>[a-z0-9-]+)\.ya?ml$")
ROLE_FILE = re.compile(r"^roles/(?P<role>[^/]+)/")


@dataclass
class HostScope:
    layers: set[Layer] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)


@dataclass
class Scope:
    hosts: dict[str, HostScope] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # changed files that touch no host
    notes: list[str] = field(default_factory=list)
    # Municipalities whose data this run may change on shared hosts (the scope guard,
    # regionhus.plan.guard); None: every municipality (the whole region is in scope).
    kommuner: frozenset[str] | None = None

    def add(self, host: str, layers: Iterable[Layer], reason: str) -> None:
        entry = self.hosts.setdefault(host, HostScope())
        entry.layers.update(layers)
        if reason not in entry.reasons:
            entry.reasons.append(reason)

    def limit(self, layer: Layer) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if layer in s.layers)


BOTH = (Layer.BASE, Layer.SERVICES)


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def resolve_pattern(pattern: str, groups: Mapping[str, list[str]], names: list[str]) -> set[str]:
    """Hosts an Ansible host pattern selects (unions, &intersections, !exclusions)."""
    if "{{" in pattern:
        return set(names)  # templated pattern: assume every host

    def term(word: str) -> set[str]:
        if word in ("all", "*"):
            return set(names)
        if word in groups:
            return set(groups[word])
        return {n for n in names if fnmatch.fnmatchcase(n, word)}

    selected: set[str] = set()
    words = [w.strip() for w in re.split(r"[:,]", pattern) if w.strip()]
    for word in (w for w in words if w[0] not in "!&"):
        selected |= term(word)
    for word in (w for w in words if w[0] == "&"):
        selected &= term(word[1:])
    for word in (w for w in words if w[0] == "!"):
        selected -= term(word[1:])
    return selected


def _role_hosts(
    role: str, repo: RepoMap, groups: Mapping[str, list[str]], names: list[str]
) -> dict[str, str]:
    """host -> "playbook (hosts pattern)" for the plays under site.yml that run `role`."""
    found: dict[str, str] = {}
    for play in repo.plays_in(SITE):
        if role in repo.roles_of(play):
            for host in resolve_pattern(play.hosts, groups, names):
                found.setdefault(host, f"{play.playbook}, hosts: {play.hosts}")
    return found


def _kommune(scope: Scope, path: str, slug: str, hosts: list[Host]) -> None:
    for host in hosts:
        if host.serves == slug:
            scope.add(host.name, BOTH, f"{path}: serves {slug}")
        elif host.serves == REGION and READS_EVERY_KOMMUNE & set(host.roles):
            roles = ", ".join(sorted(r.value for r in READS_EVERY_KOMMUNE & set(host.roles)))
            scope.add(host.name, [Layer.SERVICES], f"{path}: shared {roles} host, holds {slug}")
    if not any(host.serves == slug for host in hosts):
        scope.notes.append(f"{path}: no host serves {slug}; only shared hosts are planned")


def _template(scope: Scope, path: str, ctx: _Context) -> None:
    users = ctx.repo.template_users.get(path)
    if not users:
        for name in ctx.names:
            scope.add(name, BOTH, f"{path}: template with no known user, planning every host")
        return
    if "base" in users:
        for name in ctx.names:
            scope.add(name, [Layer.BASE], f"{path}: rendered by {BASE_DEPLOY}")
    for role in sorted(users - {"base"}):
        for host, where in _role_hosts(role, ctx.repo, ctx.groups, ctx.names).items():
            scope.add(host, [Layer.SERVICES], f"{path}: rendered by role {role} ({where})")


@dataclass(frozen=True)
class _Context:
    hosts: list[Host]
    groups: Mapping[str, list[str]]
    repo: RepoMap

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hosts]


def _one(scope: Scope, path: str, ctx: _Context) -> None:
    if _matches(path, NEUTRAL):
        scope.ignored.append(path)
    elif kommune := KOMMUNE_FILE.match(path):
        _kommune(scope, path, kommune["slug"], ctx.hosts)
    elif _matches(path, EVERYTHING):
        for name in ctx.names:
            scope.add(name, BOTH, f"{path}: region/inventory, every host")
    elif _matches(path, BASE_ONLY):
        for name in ctx.names:
            scope.add(name, [Layer.BASE], f"{path}: base layer, every host")
    elif path.startswith("templates/"):
        _template(scope, path, ctx)
    elif role := ROLE_FILE.match(path):
        found = _role_hosts(role["role"], ctx.repo, ctx.groups, ctx.names)
        for host, where in found.items():
            scope.add(host, [Layer.SERVICES], f"{path}: role {role['role']} ({where})")
        if not found:
            scope.notes.append(f"{path}: role {role['role']} is not run by {SITE}")
    elif path.startswith("playbooks/"):
        for play in ctx.repo.plays_in(path):
            for host in resolve_pattern(play.hosts, ctx.groups, ctx.names):
                scope.add(host, [Layer.SERVICES], f"{path}: play targets {play.hosts}")
    elif _matches(path, SERVICES_ONLY):
        for name in ctx.names:
            scope.add(name, [Layer.SERVICES], f"{path}: Ansible configuration, every host")
    else:
        for name in ctx.names:
            scope.add(name, BOTH, f"{path}: not known to be host-neutral, planning every host")


def affected_hosts(
    paths: Iterable[str],
    hosts: list[Host],
    groups: Mapping[str, list[str]],
    repo: RepoMap,
) -> Scope:
    """Hosts to plan for the changed `paths`, per layer, with the reasons."""
    scope = Scope()
    ctx = _Context(hosts, groups, repo)
    for path in sorted(set(paths)):
        _one(scope, path, ctx)
    scope.kommuner = changed_kommuner(paths)
    return scope


def changed_kommuner(paths: Iterable[str]) -> frozenset[str] | None:
    """Whose data the changed files may change: the municipalities whose kommuner/ file
    changed, or every municipality (None) once any file that is not host-neutral and
    not a municipality's file changed (a role, region.yml, the inventory...)."""
    slugs: set[str] = set()
    for path in paths:
        if _matches(path, NEUTRAL):
            continue
        if found := KOMMUNE_FILE.match(path):
            slugs.add(found["slug"])
        else:
            return None
    return frozenset(slugs)


def full_scope(hosts: list[Host]) -> Scope:
    scope = Scope()
    for host in hosts:
        scope.add(host.name, BOTH, "the whole region")
    return scope


def kommune_scope(slugs: Iterable[str], hosts: list[Host]) -> Scope:
    """Hosts serving the municipalities, and the shared hosts that hold their data."""
    scope = Scope()
    for slug in slugs:
        _kommune(scope, f"--kommune {slug}", slug, hosts)
    scope.kommuner = frozenset(slugs)
    return scope


def served_kommuner(names: Iterable[str], hosts: list[Host]) -> frozenset[str]:
    """The municipalities the named hosts serve (shared hosts serve none)."""
    wanted = set(names)
    return frozenset(h.serves for h in hosts if h.name in wanted and h.serves != REGION)


def _meet(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def restrict(scope: Scope, keep: Scope | None = None, names: Iterable[str] = ()) -> Scope:
    """`scope` cut down to the hosts (and layers) of `keep`, and to `names` if given."""
    wanted = set(names)
    result = Scope(
        ignored=list(scope.ignored),
        notes=list(scope.notes),
        kommuner=_meet(scope.kommuner, keep.kommuner if keep is not None else None),
    )
    for host, entry in scope.hosts.items():
        if wanted and host not in wanted:
            continue
        layers = set(entry.layers)
        if keep is not None:
            if host not in keep.hosts:
                continue
            layers &= keep.hosts[host].layers
        if layers:
            result.hosts[host] = HostScope(layers, list(entry.reasons))
    return result
