"""What change scoping needs to know about the repository: which plays target which
host patterns, which roles each play runs, and who renders each shared template.

Read once from the checkout; scope.py is a pure function of this and the inventory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SITE = "playbooks/site.yml"
BASE_DEPLOY = "deploys/base.py"


@dataclass(frozen=True)
class Play:
    playbook: str  # repository-relative path
    hosts: str  # Ansible host pattern
    roles: frozenset[str]


@dataclass
class RepoMap:
    plays: list[Play] = field(default_factory=list)
    playbooks: dict[str, list[str]] = field(default_factory=dict)  # playbook -> imported
    role_deps: dict[str, list[str]] = field(default_factory=dict)
    template_users: dict[str, set[str]] = field(default_factory=dict)  # "base" or role

    def roles_of(self, play: Play) -> set[str]:
        seen: set[str] = set()
        todo = list(play.roles)
        while todo:
            role = todo.pop()
            if role not in seen:
                seen.add(role)
                todo += self.role_deps.get(role, [])
        return seen

    def plays_in(self, playbook: str) -> list[Play]:
        """Plays of a playbook, following import_playbook."""
        found = [p for p in self.plays if p.playbook == playbook]
        for child in self.playbooks.get(playbook, []):
            found += self.plays_in(child)
        return found


INCLUDE_ROLE = re.compile(
    r"(?:include_role|import_role):\s*\n\s+name:\s*['\"]?([\w.-]+)|"
    r"(?:include_role|import_role):\s*name=([\w.-]+)"
)


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None


def _role_name(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        return entry.get("role") or entry.get("name")
    return None


def _read_playbook(root: Path, rel: str, repo: RepoMap) -> None:
    if rel in repo.playbooks:
        return
    repo.playbooks[rel] = []
    path = root / rel
    data = _load_yaml(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    included = {a or b for a, b in INCLUDE_ROLE.findall(text)}
    for play in data if isinstance(data, list) else []:
        if not isinstance(play, dict):
            continue
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            child = str((path.parent / str(imported)).resolve().relative_to(root.resolve()))
            repo.playbooks[rel].append(child)
            _read_playbook(root, child, repo)
            continue
        roles = {name for name in map(_role_name, play.get("roles") or []) if name}
        repo.plays.append(Play(rel, str(play.get("hosts", "all")), frozenset(roles | included)))


def _template_users(root: Path) -> dict[str, set[str]]:
    deploy = "\n".join(p.read_text(encoding="utf-8") for p in (root / "deploys").glob("*.py"))
    role_texts = {
        role.name: "\n".join(
            f.read_text(encoding="utf-8", errors="replace") for f in role.rglob("*") if f.is_file()
        )
        for role in sorted((root / "roles").glob("*"))
        if role.is_dir()
    }
    users: dict[str, set[str]] = {}
    for template in sorted((root / "templates").rglob("*")):
        if not template.is_file():
            continue
        rel = str(template.relative_to(root / "templates")).removesuffix(".j2")
        key = str(template.relative_to(root))
        users[key] = {"base"} if rel in deploy or f"/{rel}" in deploy else set()
        users[key] |= {role for role, text in role_texts.items() if rel in text}
    return users


def read_repo(root: Path) -> RepoMap:
    repo = RepoMap()
    for playbook in sorted((root / "playbooks").glob("*.yml")):
        _read_playbook(root, str(playbook.relative_to(root)), repo)
    for meta in (root / "roles").glob("*/meta/main.yml"):
        data = _load_yaml(meta) or {}
        deps = data.get("dependencies") or [] if isinstance(data, dict) else []
        repo.role_deps[meta.parent.parent.name] = [n for n in map(_role_name, deps) if n]
    repo.template_users = _template_users(root)
    return repo
