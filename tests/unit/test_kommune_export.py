"""The exit package's own parts that need no host: LDIF, CSV, records cut to one municipality."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.kommune import ldif
from regionhus.kommune.export import _foreign_words, export_records, write_manifest

OU = "OU=Rollag,OU=Kommuner,DC=ad,DC=example"
OBJECTS = [
    {"dn": OU, "attrs": {"objectClass": ["top", "organizationalUnit"], "ou": ["Rollag"]}},
    {
        "dn": f"CN=rol.erik,OU=Users,{OU}",
        "attrs": {
            "objectClass": ["top", "person", "user"],
            "sAMAccountName": ["rol.erik"],
            "displayName": ["Erik Veggli Ødegård"],
            "userAccountControl": ["514"],
        },
    },
    {
        "dn": f"CN=rollag-admins,OU=Groups,{OU}",
        "attrs": {
            "objectClass": ["top", "group"],
            "sAMAccountName": ["rollag-admins"],
            "member": [f"CN=rol.erik,OU=Users,{OU}"],
        },
    },
]


def test_ldif_base64_encodes_what_is_not_plain_ascii_and_folds_long_lines() -> None:
    text = ldif.to_ldif(OBJECTS)
    assert text.startswith("version: 1\n\ndn: OU=Rollag,OU=Kommuner,DC=ad,DC=example\n")
    encoded = base64.b64encode("Erik Veggli Ødegård".encode()).decode()
    assert f"displayName:: {encoded}" in text
    assert all(len(line) <= 76 for line in text.splitlines())
    unfolded = text.replace("\n ", "")
    assert f"member: CN=rol.erik,OU=Users,{OU}" in unfolded


def test_csv_says_who_is_active_and_who_is_in_which_group() -> None:
    tables = ldif.to_csvs(OBJECTS)
    users = tables["users.csv"].lstrip("\ufeff").splitlines()
    assert users[1].startswith("rol.erik,Erik Veggli Ødegård,") and ",nei," in users[1]
    assert (
        tables["memberships.csv"]
        .lstrip("\ufeff")
        .splitlines()[1]
        .startswith("rollag-admins,rol.erik,")
    )


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path))
    root = tmp_path / "records"
    (root / "applies").mkdir(parents=True)
    (root / "directory").mkdir()
    for slug in ("rollag", "tinn"):
        (root / "directory" / f"{slug}.json").write_text(json.dumps({"slug": slug}))
    apply = {
        "id": "20261120T101500Z-abc",
        "who": "drift.kari",
        "started_at": "2026-11-20T10:15:00Z",
        "git_commit": "abc",
        "hosts": ["dc1", "vdi-kongsberg-1"],
        "kommuner": ["kongsberg", "rollag"],
        "changed": {
            "dc1": ["services/directory_tenants: OU [rollag (active)]", "OU [tinn (active)]"],
            "vdi-kongsberg-1": ["xrdp upgraded"],
        },
    }
    (root / "applies" / "a.json").write_text(json.dumps(apply))
    return root


def test_records_are_its_own_and_apply_records_are_cut_to_its_part(
    records: Path, tmp_path: Path
) -> None:
    inventory = load_inventory(source="embedded", config=load_region(on=dt.date(2026, 11, 25)))
    kommune = inventory.config.kommune("rollag")
    out = tmp_path / "out"
    count = export_records(out, inventory, kommune, _foreign_words(inventory, kommune))
    assert count == 2
    assert sorted(p.name for p in (out / "directory").iterdir()) == ["rollag.json"]
    cut = json.loads((out / "applies" / "a.json").read_text())
    assert cut["hosts"] == ["dc1"] and cut["kommuner"] == ["rollag"]
    assert cut["changed"] == {"dc1": ["services/directory_tenants: OU [rollag (active)]"]}


def test_manifest_lists_every_file_with_its_sum(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("x\n")
    (tmp_path / "README.md").write_text("hei\n")
    files, size = write_manifest(tmp_path, {"kommune": "rollag"})
    assert (files, size) == (2, 6)
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in sums] == ["README.md", "a/x.txt"]
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert manifest["kommune"] == "rollag" and len(manifest["files"]) == 2
