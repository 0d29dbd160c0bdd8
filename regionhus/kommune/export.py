"""`regionhus kommune export <slug> --out DIR`: everything of one municipality, to take along.

    README.md              in Norwegian: what is here and how to open it
    MANIFEST.json          what was exported, from where, when; sha256 and size of each file
    SHA256SUMS             the same sums for `sha256sum -c SHA256SUMS`
    kommune/<slug>.yml     its choices as reviewed (kommuner/)
    kommune/inventory.json its own hosts, the shared hosts holding its data, its services
    directory/ou.ldif      its OU with everything under it (allow-listed attributes)
    directory/*.csv        users, groups, memberships, computers
    audit/                 its audit report (html, md, json, csv) and its records
    backup/repository/     a copy of its borg repository (repokey: the key is inside)
    backup/key.txt         the key exported separately (`borg key import` if ever needed)
    backup/passphrase.txt  the repository's passphrase
    backup/archives.json   `borg list --json` of the repository at the time of the copy

Only the municipality's own data: the OU is read from its own DN, references outside
it are left out, reports and apply records are cut to its own part, the repository
is its own. Every command on a host goes through regionhus.kommune.hosts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import shlex
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regionhus.directory import kommune_ou as kommune_dn
from regionhus.errors import RegionhusError
from regionhus.inventory import REGION, Inventory, Role
from regionhus.kommune import ldif
from regionhus.kommune.hosts import run_on_host, text
from regionhus.model import Kommune, ServiceName
from regionhus.paths import records_dir
from regionhus.transport import Transport, transport_for

DC_SCRIPT = Path(__file__).with_name("dc_script.py")
BACKUP_SCRIPT = Path(__file__).with_name("backup_script.py")
CUT_NOTE = (
    "utdrag: bare endringer på kommunens egne og de felles vertene, uten linjer som "
    "nevner andre kommuner"
)


@dataclass
class ExportResult:
    out: Path
    files: int
    bytes: int
    seconds: float
    parts: dict[str, float]  # seconds per part


def kommune_ou(inventory: Inventory, kommune: Kommune) -> str:
    return kommune_dn(kommune, inventory.config.region.directory)


def primary_dc(inventory: Inventory) -> str:
    dcs = [h for h in inventory.hosts if Role.DIRECTORY in h.roles]
    if not dcs:
        raise RegionhusError("no host has the directory role in the inventory")
    pdc = [h for h in dcs if "ad-pdc" in h.tags]
    return (pdc or dcs)[0].name


def backup_host(inventory: Inventory) -> str | None:
    found = sorted(h.name for h in inventory.hosts if Role.BACKUP in h.roles)
    return found[0] if found else None


def dc_call(via: Transport, host: str, mode: str, ou: str) -> dict[str, Any]:
    """Run dc_script.py on the DC (fed on stdin) and return its JSON."""
    proc = run_on_host(
        via, host, f"python3 - {shlex.quote(mode)} {shlex.quote(ou)}", stdin=DC_SCRIPT.read_bytes()
    )
    return json.loads(text(proc).strip().splitlines()[-1])


# --- parts ------------------------------------------------------------------------------


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def export_choices(out: Path, inventory: Inventory, kommune: Kommune) -> None:
    root = inventory.config.root
    src = root / "kommuner" / f"{kommune.slug}.yml"
    _write(out / "kommune" / src.name, src.read_text(encoding="utf-8"))
    own = [h for h in inventory.hosts if h.serves == kommune.slug]
    shared = [
        h
        for h in inventory.hosts
        if h.serves == REGION and {Role.DIRECTORY, Role.BACKUP} & set(h.roles)
    ]
    on = inventory.config.on
    data = {
        "kommune": kommune.slug,
        "name": kommune.name,
        "kommunenummer": kommune.kommunenummer,
        "on": on.isoformat(),
        "lifecycle": kommune.lifecycle.model_dump(mode="json"),
        "services": {
            name.value: {
                **choice.model_dump(mode="json", by_alias=True),
                "state": kommune.service_state(name, on),
            }
            for name, choice in kommune.services.chosen().items()
        },
        "own_hosts": [{**h.model_dump(mode="json"), "fqdn": inventory.fqdn(h)} for h in own],
        "shared_hosts_holding_its_data": [
            {"name": h.name, "roles": [r.value for r in h.roles], "fqdn": inventory.fqdn(h)}
            for h in shared
        ],
        "inventory_source": inventory.source,
    }
    _write(
        out / "kommune" / "inventory.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    )


def export_directory(out: Path, inventory: Inventory, kommune: Kommune) -> dict[str, Any]:
    ou = kommune_ou(inventory, kommune)
    dump = dc_call(transport_for(inventory), primary_dc(inventory), "dump", ou)
    target = out / "directory"
    if not dump.get("exists"):
        _write(target / "INGEN-OU.txt", f"{ou} finnes ikke i katalogen ({dt.date.today()}).\n")
        return {"ou": ou, "exists": False}
    objects = dump["objects"]
    _write(target / "ou.ldif", ldif.to_ldif(objects))
    for name, content in ldif.to_csvs(objects).items():
        _write(target / name, content)
    return {
        "ou": ou,
        "exists": True,
        "objects": len(objects),
        "left_out_references_outside_ou": dump["outside_refs"],
    }


def _foreign_words(inventory: Inventory, kommune: Kommune) -> re.Pattern[str] | None:
    """Names of every other municipality (and its operators, hosts): lines that carry
    one are left out of the records and change lists."""
    words: set[str] = set()
    for other in inventory.config.kommuner.values():
        if other.slug == kommune.slug:
            continue
        words |= {other.slug, other.name, *(o.username for o in other.operators)}
    words |= {h.name for h in inventory.hosts if h.serves not in (REGION, kommune.slug)}
    if not words:
        return None
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def export_audit(out: Path, inventory: Inventory, kommune: Kommune) -> dict[str, Any]:
    from regionhus.reports.build import build_report
    from regionhus.reports.cli import RENDERERS

    report = build_report(inventory, scope=kommune.slug)
    costs = report.costs
    own_rows = [r for r in costs.rows if r.kommune == kommune.slug]
    foreign = _foreign_words(inventory, kommune)
    sections = [
        dataclasses.replace(
            s,
            changes=[
                dataclasses.replace(
                    c, changes=[(h, t) for h, t in c.changes if not (foreign and foreign.search(t))]
                )
                for c in s.changes
            ],
        )
        for s in report.kommuner
    ]
    report = dataclasses.replace(
        report, costs=dataclasses.replace(costs, rows=own_rows), kommuner=sections
    )
    for render in RENDERERS.values():
        for name, content in render(report).items():
            _write(out / "audit" / "report" / name, content)
    return {"records": export_records(out / "audit" / "records", inventory, kommune, foreign)}


def export_records(
    out: Path, inventory: Inventory, kommune: Kommune, foreign: re.Pattern[str] | None
) -> int:
    """Its own records as they are; apply records cut to its own part."""
    records = records_dir()
    slug = kommune.slug
    count = 0
    own = [
        records / "directory" / f"{slug}.json",
        records / "backup" / slug,
        records / "drills" / slug,
    ]
    for path in own:
        files = [path] if path.is_file() else sorted(path.rglob("*.json")) if path.is_dir() else []
        for file in files:
            _write(out / file.relative_to(records), file.read_text(encoding="utf-8"))
            count += 1
    serves = {h.name: h.serves for h in inventory.hosts}
    for file in sorted((records / "applies").glob("*.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        own_hosts = [h for h in data.get("hosts", []) if serves.get(h) == slug]
        if slug not in data.get("kommuner", []) and not own_hosts:
            continue
        changed = {}
        for host, lines in (data.get("changed") or {}).items():
            if serves.get(host) not in (slug, REGION):
                continue
            kept = [line for line in lines if not (foreign and foreign.search(line))]
            if kept:
                changed[host] = kept
        cut = {
            **{
                k: data[k]
                for k in ("id", "who", "started_at", "finished_at", "git_commit")
                if k in data
            },
            "hosts": [h for h in data.get("hosts", []) if serves.get(h) in (slug, REGION)],
            "kommuner": [slug],
            "changed": changed,
            "note": CUT_NOTE,
        }
        _write(out / "applies" / file.name, json.dumps(cut, indent=2, ensure_ascii=False) + "\n")
        count += 1
    return count


def backup_call(via: Transport, host: str, mode: str, name: str) -> dict[str, Any]:
    """Run backup_script.py on the backup server (fed on stdin) and return its JSON."""
    proc = run_on_host(
        via,
        host,
        f"python3 - {shlex.quote(mode)} {shlex.quote(name)}",
        stdin=BACKUP_SCRIPT.read_bytes(),
    )
    return json.loads(text(proc).strip().splitlines()[-1])


def export_backup(out: Path, inventory: Inventory, kommune: Kommune) -> dict[str, Any]:
    host = backup_host(inventory)
    slug = kommune.slug
    if host is None or kommune.services.backup is None:
        return {"repository": None}
    via = transport_for(inventory)
    found = backup_call(via, host, "info", slug)
    target = out / "backup"
    repo = found["files"].get("repository")
    if not repo or not found["user"]:
        _write(target / "INGEN-REPOSITORY.txt", f"{found['path']} finnes ikke på {host}.\n")
        return {"repository": None}
    target.mkdir(parents=True, exist_ok=True)
    passcommand = f"cat {shlex.quote(found['files']['passphrase'])}"
    # The passphrase file is root's: read it as root into borg's environment (runuser
    # keeps it; never in an argument list). From /: the repository user may not enter
    # root's home, where ssh starts us.
    as_user = (
        f'cd / && BORG_PASSPHRASE="$({passcommand})" runuser -u {shlex.quote(found["user"])} --'
    )

    parent, name = repo.rsplit("/", 1)
    # Under the repository's lock: no prune or compact can change it while it is copied
    # (the lock itself stays behind: a copy holding it could not be opened elsewhere).
    tar = target / "repository.tar"
    with tar.open("wb") as sink:
        run_on_host(
            via,
            host,
            f"{as_user} borg with-lock {shlex.quote(repo)} "
            f"tar -C {shlex.quote(parent)} --exclude={shlex.quote(name)}/lock.exclusive "
            f"--exclude={shlex.quote(name)}/lock.roster -cf - {shlex.quote(name)}",
            stdout=sink,
        )
    with tarfile.open(tar) as archive:
        archive.extractall(target / "repository-tmp", filter="data")
    tar.unlink()
    (target / "repository-tmp" / name).rename(target / "repository")
    (target / "repository-tmp").rmdir()
    key = text(run_on_host(via, host, f"{as_user} borg key export {shlex.quote(repo)}"))
    _write(target / "key.txt", key)
    passphrase = text(run_on_host(via, host, passcommand)).strip()
    _write(target / "passphrase.txt", passphrase + "\n")
    listing = text(run_on_host(via, host, f"{as_user} borg list --json {shlex.quote(repo)}"))
    archives = json.loads(listing).get("archives", [])
    _write(
        target / "archives.json",
        json.dumps({"archives": archives}, indent=2, ensure_ascii=False) + "\n",
    )
    return {"repository": repo, "server": host, "archives": len(archives)}


# --- the package --------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(out: Path, meta: dict[str, Any]) -> tuple[int, int]:
    files = sorted(
        p for p in out.rglob("*") if p.is_file() and p.name not in ("MANIFEST.json", "SHA256SUMS")
    )
    entries: list[dict[str, Any]] = [
        {"path": str(p.relative_to(out)), "bytes": p.stat().st_size, "sha256": sha256(p)}
        for p in files
    ]
    (out / "SHA256SUMS").write_text(
        "".join(f"{e['sha256']}  {e['path']}\n" for e in entries), encoding="utf-8"
    )
    manifest = {**meta, "files": entries}
    (out / "MANIFEST.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return len(entries), sum(e["bytes"] for e in entries)


def export(inventory: Inventory, slug: str, out: Path) -> ExportResult:
    from regionhus.kommune.readme import readme
    from regionhus.plan.gitinfo import head_commit

    try:
        commit = head_commit(inventory.config.root)
    except RegionhusError:
        commit = "ukjent (ikke en git-checkout)"

    kommune = inventory.config.kommune(slug)
    if out.exists() and any(out.iterdir()):
        raise RegionhusError(f"{out} is not empty; give a new directory to --out")
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)  # the passphrase is in here
    started = time.monotonic()
    parts: dict[str, float] = {}
    meta: dict[str, Any] = {
        "kommune": slug,
        "name": kommune.name,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "on": inventory.config.on.isoformat(),
        "git_commit": commit,
    }
    for name, part in (
        ("kommune", export_choices),
        ("directory", export_directory),
        ("audit", export_audit),
        ("backup", export_backup),
    ):
        begun = time.monotonic()
        meta[name] = part(out, inventory, kommune)
        parts[name] = round(time.monotonic() - begun, 1)
    _write(out / "README.md", readme(kommune, meta))
    files, size = write_manifest(out, meta)
    return ExportResult(out, files, size, round(time.monotonic() - started, 1), parts)


def remove(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)


def services_of(kommune: Kommune) -> list[str]:
    return [s.value for s in ServiceName if s in kommune.services.chosen()]
