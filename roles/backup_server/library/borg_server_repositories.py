#!/usr/bin/python3
"""Every Borg repository's user, keys, passphrase, directory and timers on the backup
server in one call: one reading of the host, then only what differs is changed."""

from __future__ import annotations

DOCUMENTATION = r"""
module: borg_server_repositories
short_description: Every repository's system user, authorized_keys, passphrase, directory and units
description:
  - Runs on the backup server, in one call for all repositories. It reads every
    repository user (passwd, shadow), its home, C(.ssh) and C(authorized_keys), the
    passphrase file, the repository directory and whether its C(config) exists, and the
    enablement and state of every unit with one C(systemctl show); then it changes only
    what differs, so a run with nothing to change costs one process and one systemctl call.
  - Per repository I(name), the same end state as the role's former per-repository tasks
    (a system user I(user_prefix)I(name) in I(group) with shell C(/bin/sh), home
    I(home_root)/I(name) (owned by the user, C(0700)), password C(!) and comment
    C(regionhus backup repository NAME); C(.ssh) and C(authorized_keys) owned by root,
    C(0755) and C(0644); the passphrase in I(passphrase_dir)/I(name), root, C(0600); the
    repository I(root)/I(name), owned by the user, C(0700), initialised with
    C(borg init --encryption=repokey-blake2) as the user when it has no C(config); every
    unit of I(units) for the repository enabled and started, with one
    C(systemctl enable --now) for all that are not).
  - Files are written atomically (a temporary file in the same directory, renamed).
    Nothing is ever deleted; an ended repository keeps everything (its key file says no
    client may write).
  - A repository that cannot be reconciled (no passphrase, a failed C(borg init)) is
    reported and the others are still reconciled; the task then fails naming it.
  - Supports check mode and diff mode. The passphrase is never shown; the
    C(authorized_keys) content is shown as a before/after diff; one entry per changed
    repository in I(results), labelled with its name.
options:
  repositories:
    description: The repositories, reconciled in this order.
    type: list
    elements: dict
    required: true
    suboptions:
      name: {type: str, required: true, description: Repository name (slug or C(region)).}
      state: {type: str, choices: [active, ended], default: active, description: For the record.}
      authorized_keys: {type: str, required: true, description: The rendered key file.}
  passphrases:
    description: Passphrase per repository name.
    type: dict
    required: true
  root: {type: path, default: /srv/backup, description: Parent of the repositories.}
  home_root:
    type: path
    default: /var/lib/regionhus-backup/home
    description: Parent of the users' homes.
  passphrase_dir:
    type: path
    default: /etc/regionhus-backup/passphrases
    description: Root-only directory of the passphrase files.
  user_prefix: {type: str, default: borg-, description: Prefix of the system users.}
  group: {type: str, default: regionhus-backup, description: Primary group of every user.}
  units:
    description: Template units to enable and start per repository (instance = name).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Every repository (one call)
  borg_server_repositories:
    repositories:
      - {name: tinn, state: active, authorized_keys: "# keys\n"}
    passphrases: "{{ vault_backup_passphrases }}"
    units: [regionhus-borg-guard@.timer, regionhus-borg-prune@.timer]
"""

RETURN = r"""
changes:
  description: Every change made (or in check mode to be made), one line each, in order.
  type: list
  elements: str
  returned: always
results:
  description: >-
    One entry per repository that changed or failed (item label: its name, changed,
    failed, msg, changes), shaped like a loop's item results, so a plan names each
    municipality the way it did when the role looped over the repositories.
  type: list
  elements: dict
  returned: always
managed:
  description: Paths and units this call manages (for the converged record's probe).
  type: dict
  returned: always
"""

import functools  # noqa: E402
import grp  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import stat  # noqa: E402
import tempfile  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

SHELL = "/bin/sh"
PASSWORD = "!"
COMMENT = "regionhus backup repository {name}"
# `systemctl is-enabled` exits 0 for these (what ansible's systemd_service calls enabled).
ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}


# --- what the host has: read once ------------------------------------------------------
@dataclass
class Node:
    """A path as read: kind ('dir', 'file', 'other', or '' when absent), owner, mode."""

    kind: str = ""
    uid: int = -1
    gid: int = -1
    mode: int = 0
    content: bytes | None = None


@dataclass
class User:
    uid: int
    gid: int
    home: str
    shell: str
    comment: str
    password: str | None


@dataclass
class Unit:
    enabled: bool
    active: bool


@dataclass
class Host:
    """Everything the comparison needs, as read from the host."""

    users: dict[str, User] = field(default_factory=dict)
    gid: int | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)


def read_node(path: str, content: bool = False) -> Node:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Node()
    if stat.S_ISDIR(st.st_mode):
        kind = "dir"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    node = Node(kind, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    if content and kind == "file":
        with open(path, "rb") as handle:
            node.content = handle.read()
    return node


def read_shadow(path: str = "/etc/shadow") -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split(":")
                if len(parts) > 1:
                    found[parts[0]] = parts[1]
    except FileNotFoundError:
        pass
    return found


def parse_show(output: str, names: list[str]) -> dict[str, Unit]:
    """`systemctl show -p Id,UnitFileState,ActiveState u1 u2 ...`: one block per unit,
    in the order asked, separated by blank lines."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in output.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, _, value = line.partition("=")
        current[key] = value
    if current:
        blocks.append(current)
    units: dict[str, Unit] = {}
    for name, block in zip(names, blocks, strict=False):
        units[block.get("Id") or name] = Unit(
            enabled=block.get("UnitFileState", "") in ENABLED,
            active=block.get("ActiveState", "") == "active",
        )
    return units


# --- what is wanted, and the differences ---------------------------------------------
@dataclass
class Paths:
    user: str
    home: str
    ssh: str
    keys: str
    passphrase: str
    repo: str
    config: str


def paths_of(name: str, p: dict[str, Any]) -> Paths:
    home = os.path.join(p["home_root"], name)
    repo = os.path.join(p["root"], name)
    return Paths(
        user=f"{p['user_prefix']}{name}",
        home=home,
        ssh=os.path.join(home, ".ssh"),
        keys=os.path.join(home, ".ssh", "authorized_keys"),
        passphrase=os.path.join(p["passphrase_dir"], name),
        repo=repo,
        config=os.path.join(repo, "config"),
    )


def unit_names(name: str, templates: list[str]) -> list[str]:
    """regionhus-borg-guard@.timer -> regionhus-borg-guard@<name>.timer"""
    return [t.replace("@.", f"@{name}.", 1) for t in templates]


@dataclass
class Step:
    """One difference: a plan line and, unless in check mode, what makes it so."""

    line: str
    action: Callable[[], None] | None = None


@dataclass
class Outcome:
    name: str
    steps: list[Step] = field(default_factory=list)
    diffs: list[dict[str, str]] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # to enable --now
    error: str = ""

    def fail(self, why: str) -> None:
        """Keep the first reason (the others follow from it)."""
        self.error = self.error or why


def user_steps(name: str, ps: Paths, host: Host, group: str) -> list[tuple[str, list[str]]]:
    """(plan line, command) for the repository's user."""
    comment = COMMENT.format(name=name)
    user = host.users.get(ps.user)
    if user is None:
        argv = ["useradd", "--system", "--gid", group, "--shell", SHELL, "--home-dir", ps.home]
        argv += ["--no-create-home", "--comment", comment, "--password", PASSWORD, ps.user]
        return [(f"+ user {ps.user}", argv)]
    changes: list[tuple[str, list[str]]] = []
    opts: list[str] = []
    what: list[str] = []
    if host.gid is None or user.gid != host.gid:
        opts += ["-g", group]
        what.append(f"group {group}")
    if user.shell != SHELL:
        opts += ["-s", SHELL]
        what.append(f"shell {user.shell!r} -> {SHELL!r}")
    if user.home != ps.home:
        opts += ["-d", ps.home]
        what.append(f"home {user.home!r} -> {ps.home!r}")
    if user.comment != comment:
        opts += ["-c", comment]
        what.append(f"comment {user.comment!r} -> {comment!r}")
    if user.password != PASSWORD:
        opts += ["-p", PASSWORD]
        what.append("password locked ('!')")
    if opts:
        changes.append((f"~ user {ps.user}: {', '.join(what)}", ["usermod", *opts, ps.user]))
    return changes


def node_differences(
    node: Node, kind: str, uid: int | None, gid: int | None, mode: int
) -> list[str]:
    """What differs of an existing path (owner and mode); [] when it is as wanted.
    uid/gid None: the owner is not known yet (check mode, user not created): differs."""
    if node.kind == "":
        return ["absent"]
    if node.kind != kind:
        return [f"is not a {'directory' if kind == 'dir' else 'regular file'}"]
    found = []
    if uid is None or node.uid != uid or gid is None or node.gid != gid:
        found.append("owner")
    if node.mode != mode:
        found.append(f"mode {node.mode:04o} -> {mode:04o}")
    return found


class Reconciler:
    """Compares and, unless in check mode, changes; the side effects are injectable so
    the unit tests run the comparison against a made-up host."""

    def __init__(self, module: Any, host: Host, run: Callable[..., None]) -> None:
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.host = host
        self.run = run  # run(argv, env=None): raises RuntimeError on failure

    # --- primitives (each refreshes what it changed) ---------------------------------
    def ids(self, user: str) -> tuple[int | None, int | None]:
        if user == "root":
            return 0, 0
        found = self.host.users.get(user)
        return (found.uid, self.host.gid) if found else (None, self.host.gid)

    def ensure_dir(self, out: Outcome, path: str, user: str, mode: int) -> bool:
        """False when the path is in the way (a file where a directory belongs)."""
        node = self.host.nodes.get(path) or Node()
        uid, gid = self.ids(user)
        found = node_differences(node, "dir", uid, gid, mode)
        if not found:
            return True
        if node.kind not in ("", "dir"):
            out.fail(f"{path} {found[0]}; move it away by hand (nothing is deleted)")
            return False
        line = (
            f"+ directory {path}" if node.kind == "" else f"~ directory {path}: {', '.join(found)}"
        )

        def act() -> None:
            if node.kind == "":
                os.mkdir(path, mode)
            u, g = self.ids(user)
            os.chown(path, u if u is not None else -1, g if g is not None else -1)
            os.chmod(path, mode)

        out.steps.append(Step(line, act))
        return True

    def ensure_file(
        self, out: Outcome, path: str, content: bytes, mode: int, secret: bool = False
    ) -> None:
        node = self.host.nodes.get(path) or Node()
        found = node_differences(node, "file", 0, 0, mode)
        if node.kind not in ("", "file"):
            out.fail(f"{path} {found[0]}; move it away by hand (nothing is deleted)")
            return
        same = node.content == content
        if not found and same:
            return
        if node.kind == "":
            line = f"+ file {path}"
        else:
            line = f"~ file {path}: " + ", ".join((["content"] if not same else []) + found)
        if not secret and not same:
            out.diffs.append(
                {
                    "before_header": path,
                    "after_header": path,
                    "before": (node.content or b"").decode("utf-8", "replace"),
                    "after": content.decode("utf-8", "replace"),
                }
            )

        def act() -> None:
            if same:
                os.chown(path, 0, 0)
                os.chmod(path, mode)
                return
            directory = os.path.dirname(path)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".regionhus-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.chown(tmp, 0, 0)
                os.chmod(tmp, mode)
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

        out.steps.append(Step(line, act))

    # --- one repository ---------------------------------------------------------------
    def repository(self, repo: dict[str, Any]) -> Outcome:
        name = repo["name"]
        out = Outcome(name)
        ps = paths_of(name, self.p)
        group = self.p["group"]
        for line, argv in user_steps(name, ps, self.host, group):
            out.steps.append(Step(line, functools.partial(self.run, argv)))
        if self.ensure_dir(out, ps.home, ps.user, 0o700) and self.ensure_dir(
            out, ps.ssh, "root", 0o755
        ):
            self.ensure_file(out, ps.keys, repo["authorized_keys"].encode("utf-8"), 0o644)
        passphrase = (self.p["passphrases"] or {}).get(name)
        if passphrase is None:
            out.fail(f"no passphrase for repository {name} (vault_backup_passphrases)")
        else:
            self.ensure_file(out, ps.passphrase, f"{passphrase}\n".encode(), 0o600, secret=True)
        repo_ok = self.ensure_dir(out, ps.repo, ps.user, 0o700)
        config = self.host.nodes.get(ps.config) or Node()
        if repo_ok and passphrase is not None and config.kind == "":
            argv = ["runuser", "-u", ps.user, "--", "borg", "init"]
            argv += ["--encryption=repokey-blake2", "--make-parent-dirs", ps.repo]
            out.steps.append(
                Step(
                    f"+ borg init {ps.repo} (repokey-blake2, as {ps.user})",
                    lambda: self.run(argv, env={"BORG_PASSPHRASE": passphrase}),
                )
            )
        for unit in unit_names(name, self.p["units"]):
            state = self.host.units.get(unit) or Unit(False, False)
            if not state.enabled or not state.active:
                missing = [
                    w for w, ok in (("enable", state.enabled), ("start", state.active)) if not ok
                ]
                out.steps.append(Step(f"+ unit {unit}: {' and '.join(missing)}"))
                out.units.append(unit)
        return out

    def apply(self, out: Outcome) -> None:
        """Carry out one repository's steps in order; the first failure stops it."""
        for step in out.steps:
            if step.action is None:
                continue
            try:
                step.action()
            except Exception as exc:  # an OSError, a failed command
                out.fail(f"{step.line[2:]}: {exc}")
                return
            self.refresh(out)

    def refresh(self, out: Outcome) -> None:
        """After a user was made or changed: its ids as they are now."""
        ps = paths_of(out.name, self.p)
        try:
            entry = pwd.getpwnam(ps.user)
        except KeyError:
            return
        self.host.users[ps.user] = User(
            entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_shell, entry.pw_gecos, PASSWORD
        )


def reconcile(module: Any, host: Host, run: Callable[..., None]) -> dict[str, Any]:
    rec = Reconciler(module, host, run)
    outcomes = [rec.repository(repo) for repo in module.params["repositories"]]
    if not module.check_mode:
        for out in outcomes:
            if out.steps and not out.error:
                rec.apply(out)
        units = [u for out in outcomes if not out.error for u in out.units]
        if units:
            try:
                run(["systemctl", "enable", "--now", *units])
            except Exception as exc:
                for out in outcomes:
                    if out.units and not out.error:
                        out.fail(f"systemctl enable --now: {exc}")
    results: list[dict[str, Any]] = []
    changes: list[str] = []
    prepared: list[str] = []
    diffs: list[dict[str, str]] = []
    for out in outcomes:
        lines = [s.line for s in out.steps]
        changes += lines
        if lines or out.error:
            prepared += [f"# {out.name}", *lines] + ([f"! {out.error}"] if out.error else [])
            diffs += out.diffs
            results.append(
                {
                    "item": out.name,
                    "changed": bool(lines),
                    "failed": bool(out.error),
                    "msg": out.error,
                    "changes": lines,
                }
            )
    diff = ([{"prepared": "\n".join(prepared) + "\n"}] if prepared else []) + diffs
    return {
        "changes": changes,
        "results": results,
        "diff": diff,
        "errors": {o.name: o.error for o in outcomes if o.error},
    }


def managed(params: dict[str, Any]) -> dict[str, list[str]]:
    paths: list[str] = []
    services: list[str] = []
    for repo in params["repositories"]:
        ps = paths_of(repo["name"], params)
        paths += [ps.home, ps.ssh, ps.keys, ps.passphrase, ps.repo, ps.config]
        services += unit_names(repo["name"], params["units"])
    return {"paths": paths, "services": services}


# --- reading the real host -------------------------------------------------------------
def read_host(module: AnsibleModule) -> Host:
    p = module.params
    host = Host()
    try:
        host.gid = grp.getgrnam(p["group"]).gr_gid
    except KeyError:
        host.gid = None
    shadow = read_shadow()
    names: list[str] = []
    for repo in p["repositories"]:
        ps = paths_of(repo["name"], p)
        try:
            entry = pwd.getpwnam(ps.user)
            host.users[ps.user] = User(
                entry.pw_uid,
                entry.pw_gid,
                entry.pw_dir,
                entry.pw_shell,
                entry.pw_gecos,
                shadow.get(ps.user),
            )
        except KeyError:
            pass
        for path in (ps.home, ps.ssh, ps.repo, ps.config):
            host.nodes[path] = read_node(path)
        for path in (ps.keys, ps.passphrase):
            host.nodes[path] = read_node(path, content=True)
        names += unit_names(repo["name"], p["units"])
    if names:
        rc, out, err = module.run_command(
            ["systemctl", "show", "-p", "Id,UnitFileState,ActiveState", "--", *names]
        )
        if rc != 0:
            module.fail_json(msg=f"systemctl show failed ({rc}): {err.strip()}")
        host.units = parse_show(out, names)
    return host


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repositories": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "name": {"type": "str", "required": True},
                    "state": {"type": "str", "choices": ["active", "ended"], "default": "active"},
                    "authorized_keys": {"type": "str", "required": True},
                },
            },
            "passphrases": {"type": "dict", "required": True, "no_log": True},
            "root": {"type": "path", "default": "/srv/backup"},
            "home_root": {"type": "path", "default": "/var/lib/regionhus-backup/home"},
            "passphrase_dir": {
                "type": "path",
                "default": "/etc/regionhus-backup/passphrases",
                "no_log": False,
            },
            "user_prefix": {"type": "str", "default": "borg-"},
            "group": {"type": "str", "default": "regionhus-backup"},
            "units": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )

    def run(argv: list[str], env: dict[str, str] | None = None) -> None:
        rc, out, err = module.run_command(argv, environ_update=env or {})
        if rc != 0:
            raise RuntimeError(f"{argv[0]} exited {rc}: {(err or out).strip()[-500:]}")

    try:
        result = reconcile(module, read_host(module), run)
    except Exception as exc:
        module.fail_json(msg=f"{type(exc).__name__}: {exc}", exception=traceback.format_exc())
    errors = result.pop("errors")
    changed = bool(result["changes"])
    result["managed"] = managed(module.params)
    if errors:
        module.fail_json(
            msg="; ".join(f"{k}: {e}" for k, e in errors.items()), changed=changed, **result
        )
    count = len(result["results"])
    msg = f"{count} of {len(module.params['repositories'])} repositories changed" if count else ""
    module.exit_json(changed=changed, msg=msg, **result)


if __name__ == "__main__":
    main()
