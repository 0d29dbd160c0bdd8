"""A municipality's whole life on the lab: planned, joins on its date, has a user and a
backup, leaves, is exported (the package opened with plain borg and checked), and purge
is refused until the retention period has run out; then purged (which also cleans up).

One throw-away municipality (`proveby`) in a copy of the checkout's region (every other
file linked, kommuner/ copied), dates pinned with REGIONHUS_TODAY a few days from today
so no real municipality changes state. Only the shared hosts that hold a municipality's
data (dc1, backup1) are run, with the real playbooks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.engines import run_ansible
from regionhus.lab import run_on
from regionhus.model import ServiceName
from regionhus.paths import records_dir, repo_root
from regionhus.plan.ansible_events import read_events, to_changes
from regionhus.plan.guard import concerned
from regionhus.plan.report import attribute
from regionhus.secrets import ensure_lab_vault

pytestmark = pytest.mark.lab

RH = str(Path(sys.executable).parent / "regionhus")
SLUG, NAME, NUMBER = "proveby", "Proveby", "3999"
OPERATORS = {"prv.ola": "Ola Prøve", "prv.kari": "Kari Prøve"}
HOSTS = "dc1,backup1"  # the shared hosts holding a municipality without hosts of its own
TODAY = dt.date.today()
JOIN = TODAY + dt.timedelta(days=1)
LEAVE = JOIN + dt.timedelta(days=31)
PURGE_FROM = LEAVE + dt.timedelta(days=7)  # retention: daily 7 and nothing longer


def kommune_file(status: str, operators: dict[str, str], until: dt.date | None = None) -> str:
    ops = "".join(
        f"  - username: {u}\n    name: {n}\n    email: {u}@proveby.kommune.no\n"
        for u, n in operators.items()
    )
    until_line = f"  member_until: {until}\n" if until else ""
    return (
        f'name: {NAME}\nslug: {SLUG}\ncode: {SLUG}\nkommunenummer: "{NUMBER}"\npopulation: 1000\n'
        f"lifecycle:\n  status: {status}\n  member_from: {JOIN}\n{until_line}"
        f"services:\n  directory:\n    from: {JOIN}\n"
        f'  backup:\n    from: {JOIN}\n    schedule:\n      every_hours: 24\n      at: "03:00"\n'
        "    retention:\n      daily: 7\n    quota_gb: 1\n"
        f"operators:{chr(10) + ops if ops else ' []' + chr(10)}"
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's region plus proveby: kommuner/ and inventory/ copied (the inventory
    plugin finds the region next to its own file, links resolved), the rest linked."""
    made = tmp_path_factory.mktemp("region")
    for entry in repo_root().iterdir():
        if entry.name not in ("kommuner", "inventory", ".git"):
            (made / entry.name).symlink_to(entry)
    for copied in ("kommuner", "inventory"):
        shutil.copytree(repo_root() / copied, made / copied)
    return made


@pytest.fixture
def at(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """at(day, file text): the region as of `day`, for this process and the engines."""
    monkeypatch.setenv("REGIONHUS_ROOT", str(root))

    def phase(day: dt.date, text: str) -> None:
        (root / "kommuner" / f"{SLUG}.yml").write_text(text, encoding="utf-8")
        monkeypatch.setenv("REGIONHUS_TODAY", day.isoformat())

    yield phase


def services(playbook: str, *, check: bool, tmp: Path, limit: str = HOSTS) -> list:
    """One services run on the shared hosts; the changes it made (or would make) that
    concern proveby, as the scope guard judges them. A task that also changed another
    municipality in the same run (drift another test left on dc1: its loop names both)
    is not attributed to one of them, and is still proveby's change."""
    events = tmp / f"events-{time.monotonic_ns()}.jsonl"
    run = run_ansible(playbook, check=check, diff=True, limit=limit, stream=False, events=events)
    assert run.ok, run.output[-6000:]
    changes, _ = to_changes(read_events(events))
    slugs = [*load_region().kommuner]
    attribute(changes, slugs)
    return [c for c in changes if SLUG in concerned(c, slugs, {})]


def describe(changes: list) -> str:
    return "\n".join(" ".join([c.host, c.task, *c.items, c.detail[:300], *c.diff]) for c in changes)


def borg_server(args: str) -> str:
    secret = f'BORG_PASSPHRASE="$(cat /etc/regionhus-backup/passphrases/{SLUG})"'
    return run_on("backup1", f"cd / && {secret} runuser -u borg-{SLUG} -- borg {args}").stdout


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RH, *args], capture_output=True, text=True, env=os.environ, check=False)


def restore_backup_server(root: Path) -> None:
    """The real region again on backup1 (purge rewrote the guard's configuration)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REGIONHUS_ROOT", "REGIONHUS_TODAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "regionhus.engines", "playbooks/backup.yml", "--limit", "backup1"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_a_municipality_joins_leaves_is_exported_and_purged(
    root: Path,
    at,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    started = time.monotonic()
    figures: dict[str, float] = {}
    # Whatever an interrupted earlier run left of proveby goes first, the way it would.
    at(PURGE_FROM, kommune_file("left", {}, until=LEAVE))
    leftover = cli("kommune", "purge", SLUG, "--i-understand")
    assert leftover.returncode == 0, leftover.stdout + leftover.stderr
    at(TODAY, kommune_file("planned", OPERATORS))
    config = load_region()
    others = {
        s: {svc: k.service_state(svc, TODAY) for svc in ServiceName}
        for s, k in config.kommuner.items()
        if s != SLUG
    }
    for day in (JOIN, LEAVE, PURGE_FROM):
        moved = {
            s: states
            for s, states in others.items()
            if states != {svc: config.kommuner[s].service_state(svc, day) for svc in ServiceName}
        }
        if moved:
            pytest.skip(f"a real municipality changes state before {day}: {moved}")
    ensure_lab_vault(config)
    try:
        # Planned, the day before it joins: the plan for the shared hosts names nothing of it.
        assert services("playbooks/site.yml", check=True, tmp=tmp_path) == []

        # From the date (still `planned` in the file): the first apply makes exactly its
        # OU, groups, operators, delegation and backup repository.
        at(JOIN, kommune_file("planned", OPERATORS))
        made = services("playbooks/site.yml", check=False, tmp=tmp_path)
        text = describe(made)
        assert {c.host for c in made} == {"dc1", "backup1"}, text
        # Exactly its directory part and its repository: nothing else names it.
        assert {c.role for c in made} == {"directory_tenants", "backup_server"}, text
        for expected in (
            f"+ ou OU={NAME},OU=Kommuner",
            f"+ group {SLUG}-admins",
            f"+ group {SLUG}-vdi-users",
            "+ user prv.ola",
            "+ acl delegation",
        ):
            assert expected in text, f"{expected!r} not in:\n{text}"
        assert re.search(rf"backup1 .*\b{SLUG}\b", text), text
        guard = run_on("backup1", f"systemctl is-active regionhus-borg-guard@{SLUG}.timer")
        assert guard.stdout.strip() == "active"

        # It has a user and a backup: an archive written into its own repository.
        run_on(
            "backup1",
            f"mkdir -p /tmp/{SLUG}-data && echo 'hei fra {NAME}' > "
            f"/tmp/{SLUG}-data/brev.txt && chmod -R a+rX /tmp/{SLUG}-data",
        )
        borg_server(f"create /srv/backup/{SLUG}::{SLUG}-first /tmp/{SLUG}-data")
        assert f"{SLUG}-first" in borg_server(f"list --short /srv/backup/{SLUG}")

        # An operator leaves kommuner/: disabled in AD, the day noted, in the audit record.
        at(JOIN, kommune_file("planned", {"prv.ola": OPERATORS["prv.ola"]}))
        services("playbooks/directory.yml", check=False, tmp=tmp_path, limit="dc1")
        record = json.loads((records_dir() / "directory" / f"{SLUG}.json").read_text())
        assert [(r["username"], r["disabled_on"]) for r in record["removed"]] == [
            ("prv.kari", dt.datetime.now(dt.UTC).date().isoformat())
        ]
        assert record["members"] == ["prv.ola"]

        # It leaves: accounts disabled, delegation removed, repository frozen and kept.
        at(LEAVE, kommune_file("leaving", {"prv.ola": OPERATORS["prv.ola"]}, until=LEAVE))
        left = services("playbooks/site.yml", check=False, tmp=tmp_path)
        text = describe(left)
        assert "~ user prv.ola: disable" in text and "- acl delegation" in text, text
        keys = run_on("backup1", f"cat /var/lib/regionhus-backup/home/{SLUG}/.ssh/authorized_keys")
        key_lines = [line for line in keys.stdout.splitlines() if line.startswith("from=")]
        assert not key_lines and "no client may write" in keys.stdout, keys.stdout
        timers = run_on(
            "backup1",
            f"systemctl is-active regionhus-borg-guard@{SLUG}.timer "
            f"regionhus-borg-prune@{SLUG}.timer",
            check=False,
        ).stdout.split()
        assert timers == ["active", "active"]
        assert f"{SLUG}-first" in borg_server(f"list --short /srv/backup/{SLUG}")

        # The exit package: opened with plain borg here, every sum checked.
        out = tmp_path / "utlevering"
        begun = time.monotonic()
        exported = cli("kommune", "export", SLUG, "--out", str(out))
        figures["export_s"] = round(time.monotonic() - begun, 1)
        assert exported.returncode == 0, exported.stderr + exported.stdout
        figures["export_bytes"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        check = subprocess.run(
            ["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        manifest = json.loads((out / "MANIFEST.json").read_text())
        listed = {f["path"] for f in manifest["files"]}
        on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
        assert listed == on_disk - {"MANIFEST.json", "SHA256SUMS"}
        ldif = _unfold((out / "directory" / "ou.ldif").read_text())
        assert f"dn: OU={NAME},OU=Kommuner," in ldif and "sAMAccountName: prv.ola" in ldif
        assert not re.search(r"(?i)unicodePwd|supplementalCredentials|ntPwdHistory|dBCSPwd", ldif)
        users = (out / "directory" / "users.csv").read_text(encoding="utf-8-sig")
        assert "prv.ola" in users and "prv.kari" in users
        assert "Åpne sikkerhetskopien" in (out / "README.md").read_text()
        borg_env = {
            **os.environ,
            "BORG_PASSCOMMAND": f"cat {out / 'backup' / 'passphrase.txt'}",
            "BORG_BASE_DIR": str(tmp_path / "borg-home"),
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
        }
        repo = str(out / "backup" / "repository")
        names = subprocess.run(
            ["borg", "list", "--short", repo], env=borg_env, capture_output=True, text=True
        )
        assert names.returncode == 0, names.stderr
        assert names.stdout.split() == [f"{SLUG}-first"]
        restored = tmp_path / "restored"
        restored.mkdir()
        extract = subprocess.run(
            ["borg", "extract", f"{repo}::{SLUG}-first"],
            env=borg_env,
            cwd=restored,
            capture_output=True,
            text=True,
        )
        assert extract.returncode == 0, extract.stderr
        assert (restored / "tmp" / f"{SLUG}-data" / "brev.txt").read_text() == f"hei fra {NAME}\n"

        # Purge: refused before the retention period ends, showing what it would delete.
        at(PURGE_FROM - dt.timedelta(days=1), kommune_file("left", {}, until=LEAVE))
        dry = cli("kommune", "purge", SLUG)
        assert dry.returncode == 0, dry.stderr
        assert f"OU={NAME},OU=Kommuner" in dry.stdout and f"/srv/backup/{SLUG}" in dry.stdout
        assert f"runs until {PURGE_FROM}" in dry.stdout
        refused = cli("kommune", "purge", SLUG, "--i-understand")
        assert refused.returncode == 1 and f"runs until {PURGE_FROM}" in refused.stderr
        assert f"{SLUG}-first" in borg_server(f"list --short /srv/backup/{SLUG}")
    finally:
        # From the day the retention ends, purge deletes it all: the lab is as before.
        at(PURGE_FROM, kommune_file("left", {}, until=LEAVE))
        purged = cli("kommune", "purge", SLUG, "--i-understand")
        run_on("backup1", f"rm -rf /tmp/{SLUG}-data", check=False)
        for path in (records_dir() / "directory" / f"{SLUG}.json",):
            path.unlink(missing_ok=True)
        restore_backup_server(root)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    gone = run_on("backup1", f"test -e /srv/backup/{SLUG} || id borg-{SLUG}", check=False)
    assert gone.returncode != 0
    # Nothing keeps watching or reporting the deleted repository: no unit of it enabled
    # or running (the guard's path unit was once left behind), no monitoring textfile.
    units = " ".join(
        f"regionhus-borg-{u}@{SLUG}.{kind}"
        for u, kind in (("guard", "timer"), ("prune", "timer"), ("guard", "path"))
    )
    left = run_on(
        "backup1",
        f"systemctl is-enabled {units}; systemctl is-active {units}; "
        f"ls /var/lib/prometheus/node-exporter/ | grep -F 'regionhus_backup_{SLUG}.' || true",
        check=False,
    ).stdout.split()
    assert not {"enabled", "active", f"regionhus_backup_{SLUG}.prom"} & set(left), left
    figures["scenario_s"] = round(time.monotonic() - started, 1)
    print(f"kommune lifecycle figures: {figures}")


def _unfold(ldif: str) -> str:
    """LDIF folds long lines (RFC 2849: a continuation line starts with one space)."""
    return re.sub(r"\r?\n ", "", ldif)


def test_the_exit_package_holds_nothing_of_another_municipality(tmp_path: Path) -> None:
    """Notodden's package (its OU, VDI host, backups): no other municipality's operators,
    hosts, addresses, OU, groups, number or repository, anywhere in it."""
    slug = "notodden"
    config = load_region()
    out = tmp_path / slug
    begun = time.monotonic()
    exported = cli("kommune", "export", slug, "--out", str(out))
    assert exported.returncode == 0, exported.stderr + exported.stdout
    seconds = round(time.monotonic() - begun, 1)
    from regionhus.inventory import load_inventory

    inventory = load_inventory(source="embedded")
    foreign: set[str] = set()
    for other in config.kommuner.values():
        if other.slug == slug:
            continue
        foreign |= {o.username for o in other.operators}
        foreign |= {f"OU={other.name},OU=Kommuner", f"{other.slug}-admins"}
        foreign |= {f"{other.slug}-vdi-users", f"/srv/backup/{other.slug}", other.kommunenummer}
    for host in inventory.hosts:
        if host.serves not in ("region", slug):
            foreign |= {host.name, str(host.address)}
    pattern = re.compile(
        "|".join(rf"(?<![\w.-]){re.escape(w)}(?![\w-])" for w in sorted(foreign)), re.IGNORECASE
    )
    repository = out / "backup" / "repository"
    scanned = 0
    for path in out.rglob("*"):
        if not path.is_file() or repository in path.parents:
            continue  # the repository is encrypted: its archives are checked below
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ldif":
            text = _unfold(text)  # a name wrapped across two lines is still found
        found = sorted({m.group(0) for m in pattern.finditer(text)})
        assert not found, f"{path.relative_to(out)} names another municipality's {found}"
        scanned += 1
    ldif = _unfold((out / "directory" / "ou.ldif").read_text())
    base = config.region.directory.base_dn
    own_ou = f"OU={config.kommune(slug).name},OU=Kommuner,{base}".lower()
    dns = re.findall(r"^(?:dn|member|memberOf): (.+)$", ldif, re.MULTILINE)
    assert dns and all(d.lower().endswith(own_ou) for d in dns)
    archives = json.loads((out / "backup" / "archives.json").read_text())["archives"]
    own_hosts = [h.name for h in inventory.hosts if h.serves == slug]
    assert archives and all(any(a["name"].startswith(h) for h in own_hosts) for a in archives)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"exit package {slug}: {scanned} files scanned, {size} bytes, {seconds} s")
