"""Fast no-change plans: what each host was last converged to, and one probe to check it.

After an apply (and after a dry run that found nothing at all to do on a host, both
layers) regionhus records per host, under `<state>/converged/<host>.json`:

- a fingerprint of every input that can reach the host (`fingerprint`): the checkout's
  files except those known to be host-neutral (roles, playbooks, deploys, templates,
  plugins, the package, region.yml, the inventory, ansible.cfg, pinned versions: a new
  role or deploy is in it without anyone listing it), the services playbook, the
  host's variables with its groups' variables as both engines get them, every host's
  name, address, roles and tags, the municipality files the host serves or holds, the
  vaults, the VDI certificates and recorded keys, the engines' versions;
- the state one probe reads (`probe_script`): the checksum of every file under /etc,
  the owners and modes there, every path and service the Ansible tasks named, every
  account's authorized_keys, the package list, every unit's state and enablement, the
  loaded nftables ruleset, and on a domain controller the directory's objects
  (members, account control, security descriptors).

A plan first probes each host whose inputs still have the recorded fingerprint, all at
once, one ssh command each (through regionhus.transport); a host whose state reads the
same is converged and the engines skip it. Every other host (no record, new inputs,
any difference in state, a probe that failed) goes through both engines' dry runs as
before. `plan --full` and `apply --full` skip the shortcut.

What the probe does not read, a plan without --full cannot see changed by hand: the
contents of backup repositories, passwords, data files outside the managed paths.
Records are written only after an engine said the host is converged, and removed
before an apply touches it, so a failed apply never leaves a record behind.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from regionhus.errors import RegionhusError
from regionhus.inventory import REGION, Inventory
from regionhus.inventory.build import REGIONAL_GROUP
from regionhus.paths import records_dir, repo_root, state_dir
from regionhus.plan.model import Layer, Plan
from regionhus.plan.scope import KOMMUNE_FILE, NEUTRAL
from regionhus.privatefile import write_private
from regionhus.secrets import lab_vault_file, vault_file
from regionhus.transport import Transport
from regionhus.vdi.pki import pki_dir

# Bump when the probe or the fingerprint changes meaning: every record is then stale.
VERSION = 2
BOTH = frozenset({Layer.BASE, Layer.SERVICES})
ENGINES = ("ansible-core", "pyinfra")
# Never inputs: version control, virtual environments, build output, caches.
SKIP_DIRS = {".git", ".venv", "venv", "build", "out", "__pycache__", ".mypy_cache"}

# About three dozen processes per host, whatever it manages: every list is read by one
# command (a fork is most of a probe's cost on a busy machine, and the lab's hosts
# share its cores). `systemctl list-unit-files` is not used: it stats every unit file
# and costs more than the rest together; what it reports (which units exist, their
# enablement, masks, presets) is the unit directories' tree and contents below, and
# /etc's (enablement links and masks live in /etc/systemd).
PROBE = r"""
export LC_ALL=C
t=$(printf '\t')
sum32() { sed -E "s/^([0-9a-f]{32})[0-9a-f]{32}  (.*)$/file:\2$t\1/"; }
find /etc -xdev -type f -exec sha256sum -- {} + 2>/dev/null | sum32
printf 'tree:/etc\t%s\n' "$(find /etc -xdev -printf '%y %m %u %g %p %l\n' | sort \
  | sha256sum | cut -c1-32)"
printf 'packages\t%s\n' "$(dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n' \
  2>/dev/null | sort | sha256sum | cut -c1-32)"
units="/usr/lib/systemd/system /usr/lib/systemd/system-preset /usr/local/lib/systemd/system
  /run/systemd/system /run/systemd/generator /run/systemd/generator.early
  /run/systemd/generator.late"
printf 'unit-files\t%s\n' "$( (find $units -printf '%y %m %p %l\n' 2>/dev/null | sort
  find $units -type f -exec sha256sum -- {} + 2>/dev/null | sort) | sha256sum | cut -c1-32)"
# A service a timer, path or socket starts (a backup run, apt-daily, the borg guard, an
# sssd responder) comes and goes by itself: only whether it failed counts; its trigger's
# own state is read here.
triggered=$( (systemctl list-timers --all --no-legend 2>/dev/null
  systemctl list-paths --all --no-legend 2>/dev/null
  systemctl list-sockets --no-legend 2>/dev/null) | awk '{printf " %s", $NF}')
# A login's own user manager (user@UID, user-runtime-dir@UID) is a session, not
# configuration: an operator logged in during a plan is not drift.
systemctl list-units --all --no-legend --plain --type=service,socket,timer,path 2>/dev/null \
  | awk -v triggered="$triggered " '$1 ~ /^user(-runtime-dir)?@[0-9]+\.service$/ { next }
    { state = $3
      if (state != "failed" && index(triggered, " " $1 " ")) state = "triggered"
      printf "unit:%s\t%s %s\n", $1, $2, state }'
printf 'nftables\t%s\n' "$(nft -s list ruleset 2>/dev/null | sha256sum | cut -c1-32)"
if [ -f /var/lib/samba/private/sam.ldb ] && command -v ldbsearch >/dev/null; then
  printf 'directory\t%s\n' "$(ldbsearch -H /var/lib/samba/private/sam.ldb \
    '(|(objectClass=organizationalUnit)(objectClass=group)(objectClass=user))' \
    dn member userAccountControl description accountExpires nTSecurityDescriptor \
    2>/dev/null | sha256sum | cut -c1-32)"
fi
# kind, then absolute paths: what each is (type, mode, owner, group, a link's target),
# or that it is absent; a regular file's checksum as file:<path>
describe() {
  kind=$1; shift
  [ $# -gt 0 ] || return 0
  for p; do [ -e "$p" ] || [ -L "$p" ] || printf '%s:%s\tabsent\n' "$kind" "$p"; done
  find "$@" -maxdepth 0 -printf "$kind:%p$t%y %m %u %g %l\n" 2>/dev/null
  find "$@" -maxdepth 0 -type f -exec sha256sum -- {} + 2>/dev/null | sum32
}
# every account's authorized_keys (the globs are the shell's own: no process per home)
set --
for home in $(cut -d: -f6 /etc/passwd | sort -u); do
  for f in "$home"/.ssh/authorized_keys*; do [ -f "$f" ] && set -- "$@" "$f"; done
done
describe keys "$@"
# the services the Ansible tasks named, in one call: load, active, sub state, enablement
# (a timer's or path unit's sub state is "running" while the unit it starts runs: the
# trigger doing its work, so only its active state counts)
services() {
  [ $# -gt 0 ] || return 0
  systemctl show --property=Id,LoadState,ActiveState,SubState,UnitFileState -- "$@" \
    2>/dev/null | awk -F= -v t="$t" '
      $1 == "Id" { id = $2 } $1 != "Id" && NF { v[$1] = $2 }
      $1 == "SubState" && id ~ /\.(path|timer)$/ { v[$1] = "-" }
      !NF && id { print "service:" id t v["LoadState"], v["ActiveState"], v["SubState"], \
        v["UnitFileState"]; id = ""; split("", v) }
      END { if (id) print "service:" id t v["LoadState"], v["ActiveState"], v["SubState"], \
        v["UnitFileState"] }'
}
"""


@dataclass
class Record:
    host: str
    fingerprint: str
    state: dict[str, str]
    paths: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    recorded_at: str = ""
    commit: str = ""


# --- the inputs ------------------------------------------------------------------------


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _tree(directory: Path) -> list[tuple[str, str]]:
    """(relative path, checksum) of every file under `directory` (none: empty)."""
    if not directory.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            found.append((str(path.relative_to(directory)), _file_digest(path)))
    return found


def _neutral(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in NEUTRAL) or bool(KOMMUNE_FILE.match(name))


def checkout_files(root: Path) -> list[str]:
    """The checkout's files that may reach a host: everything git knows of (tracked and
    untracked, not ignored) except what regionhus.plan.scope calls host-neutral, and the
    municipality files (per host, in `fingerprints`)."""
    proc = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode == 0:
        names = {n for n in proc.stdout.decode("utf-8", "replace").split("\0") if n}
    else:  # not a git work tree (an unpacked release): every file but the skipped dirs
        names = {name for name, _ in _tree(root)}
    return sorted(n for n in names if not _neutral(n))


def site_playbook() -> str:
    return os.environ.get("REGIONHUS_SITE_PLAYBOOK", "playbooks/site.yml")


def _common(inventory: Inventory, root: Path) -> str:
    """The part of every host's fingerprint that does not depend on the host."""
    code = [(name, _file_digest(root / name)) for name in checkout_files(root)]
    # A services playbook kept with the tests (REGIONHUS_SITE_PLAYBOOK) is an input too.
    playbook = root / site_playbook()
    extra = _tree(playbook.parent) if (root / "playbooks") not in playbook.parents else []
    versions = {name: _version(name) for name in ENGINES}
    topology = [h.model_dump(mode="json") for h in inventory.hosts]
    network = inventory.network.model_dump(mode="json") if inventory.network else None
    secrets = [_file_digest(vault_file())]
    if inventory.source == "embedded":
        secrets.append(_file_digest(lab_vault_file()))
    state = {"pki": _tree(pki_dir()), "keys": _tree(records_dir() / "keys")}
    ansible_env = {k: v for k, v in os.environ.items() if k.startswith("ANSIBLE_")}
    return _digest(
        VERSION,
        inventory.source,
        site_playbook(),
        code,
        extra,
        versions,
        sys.version_info[:2],
        topology,
        network,
        secrets,
        state,
        ansible_env,
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def fingerprints(
    inventory: Inventory, names: Iterable[str], root: Path | None = None
) -> dict[str, str]:
    """host -> fingerprint of every input that can reach it."""
    root = root or repo_root()
    common = _common(inventory, root)
    by_group = inventory.group_vars()
    kommuner = root / "kommuner"
    all_files = sorted((p.name, _file_digest(p)) for p in kommuner.glob("*.y*ml"))
    result = {}
    for name in names:
        host = inventory.host(name)
        variables = dict(by_group["all"])
        if REGIONAL_GROUP in inventory.groups_of(host):
            variables |= by_group[REGIONAL_GROUP]
        variables |= inventory.hostvars(host)
        if host.serves == REGION:
            files = all_files
        else:
            files = [(n, d) for n, d in all_files if n.rsplit(".", 1)[0] == host.serves]
        result[name] = _digest(common, variables, files)
    return result


# --- the probe -------------------------------------------------------------------------


def probe_script(paths: Iterable[str] = (), services: Iterable[str] = ()) -> str:
    # find reads a leading "-" or "(" as an expression: a relative path (the remote
    # shell's directory, as Ansible would take it) goes as ./path.
    named = sorted({p if p.startswith(("/", "./")) else f"./{p}" for p in paths if p})
    units = sorted({s for s in services if s})
    calls = [shlex.join(["describe", "path", *named]), shlex.join(["services", *units])]
    return "\n".join([PROBE, *calls]) + "\n"


def parse_probe(output: str) -> dict[str, str]:
    state = {}
    for line in output.splitlines():
        key, tab, value = line.partition("\t")
        if tab:
            state[key] = value.strip()
    return state


def differences(recorded: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """What differs, in words: `/etc/hosts changed`, `unit:ssh.service ...`."""
    found = []
    for key in sorted(set(recorded) | set(now)):
        if key not in now:
            found.append(f"{_label(key)} gone")
        elif key not in recorded:
            found.append(f"{_label(key)} new")
        elif recorded[key] != now[key]:
            found.append(f"{_label(key)} changed")
    return found


def _label(key: str) -> str:
    kind, _, name = key.partition(":")
    return name if kind in ("file", "path", "keys") and name else key


def probe(
    transport: Transport, wanted: Mapping[str, tuple[Iterable[str], Iterable[str]]]
) -> dict[str, dict[str, str] | None]:
    """host -> probed state (None: the probe failed), one ssh command per host, at once."""

    def one(host: str) -> dict[str, str] | None:
        paths, services = wanted[host]
        try:
            proc = transport.run(host, probe_script(paths, services), timeout=120)
        except (RegionhusError, subprocess.TimeoutExpired):
            return None
        return parse_probe(proc.stdout) if proc.returncode == 0 else None

    if not wanted:
        return {}
    hosts = sorted(wanted)
    workers = min(transport.parallel or 16, len(hosts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(hosts, pool.map(one, hosts), strict=True))


# --- the records -----------------------------------------------------------------------


def converged_dir() -> Path:
    return state_dir() / "converged"


def load(host: str) -> Record | None:
    path = converged_dir() / f"{host}.json"
    try:
        return Record(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None  # no record, or one from another version: the engines decide


def forget(hosts: Iterable[str]) -> None:
    for host in hosts:
        (converged_dir() / f"{host}.json").unlink(missing_ok=True)


def save(record: Record) -> None:
    path = converged_dir() / f"{record.host}.json"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, json.dumps(asdict(record), sort_keys=True) + "\n")


@dataclass
class Check:
    """Hosts converged by fingerprint and probe (with why), and why the others are not."""

    matched: dict[str, str] = field(default_factory=dict)
    unmatched: dict[str, str] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)


def check(hosts: Iterable[str], inventory: Inventory, transport: Transport) -> Check:
    """Which hosts still match what they were last converged to."""
    result = Check()
    names = sorted(hosts)
    records = {h: r for h in names if (r := load(h)) is not None}
    for host in names:
        if host not in records:
            result.unmatched[host] = "no converged record (never applied with this version)"
    if not records:
        return result
    prints = fingerprints(inventory, records)
    candidates = {}
    for host, record in records.items():
        if record.fingerprint != prints[host]:
            result.unmatched[host] = "its inputs changed since it was last converged"
        else:
            candidates[host] = record
    states = probe(transport, {h: (r.paths, r.services) for h, r in candidates.items()})
    for host, record in candidates.items():
        state = states.get(host)
        if state is None:
            result.unmatched[host] = "the probe failed"
            continue
        differ = differences(record.state, state)
        if differ:
            shown = ", ".join(differ[:3]) + (f" (+{len(differ) - 3})" if len(differ) > 3 else "")
            result.unmatched[host] = f"state differs from when it was converged: {shown}"
        else:
            result.matched[host] = (
                f"inputs and state match what it was converged to at {record.recorded_at} "
                f"({record.commit[:10]}); engines skipped (plan --full runs them)"
            )
            result.records[host] = record
    return result


def converged_hosts(plan: Plan) -> list[str]:
    """Hosts both engines looked at and found nothing at all to do on."""
    if plan.errors:
        return []
    return sorted(
        name
        for name, host in plan.hosts.items()
        if not host.changes and plan.engines_ran.get(name, set()) >= BOTH
    )


def record(
    hosts: Iterable[str],
    inventory: Inventory,
    transport: Transport,
    *,
    managed: Mapping[str, Mapping[str, Iterable[str]]],
    commit: str,
) -> list[str]:
    """Record `hosts` as converged now (their state read by the probe); returns the
    hosts recorded (a host whose probe fails is left without a record)."""
    names = sorted(hosts)
    if not names:
        return []
    prints = fingerprints(inventory, names)
    wanted = {
        h: (
            sorted(managed.get(h, {}).get("paths", ())),
            sorted(managed.get(h, {}).get("services", ())),
        )
        for h in names
    }
    states = probe(transport, wanted)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    done = []
    for host in names:
        state = states.get(host)
        if state is None:
            forget([host])
            continue
        paths, services = wanted[host]
        save(Record(host, prints[host], state, list(paths), list(services), now, commit))
        done.append(host)
    return done
