"""The directory's names and the RDP port have one place each; every other part reads it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from regionhus.baselayer import ROLE_PORTS, rdp_port
from regionhus.directory import admin_group, directory_vars, vdi_users_group
from regionhus.inventory import Role, load_inventory

REPO = Path(__file__).resolve().parents[2]
# Where a name may still be written out: the roles' own defaults and specs (so a role
# works on its own), their READMEs and the module's documentation examples.
ALLOWED = re.compile(r"/defaults/|/meta/argument_specs\.yml$|README\.md$|/library/")
RETYPED = re.compile(r"-admins\b|-vdi-users|,DC=|DC=\{\{|\b3389\b")


def test_names_are_exported_to_every_engine() -> None:
    inventory = load_inventory(source="embedded")
    names = inventory.global_vars()["regionhus_directory"]
    config = inventory.config
    assert names == directory_vars(config.region.directory, config.kommuner)
    assert names["base_dn"] == "DC=ad,DC=kongsbergregionen,DC=internal"
    kongsberg = names["kommuner"]["kongsberg"]
    assert kongsberg["admin_group"] == admin_group("kongsberg") == "kongsberg-admins"
    assert kongsberg["vdi_users_group"] == vdi_users_group("kongsberg")
    assert kongsberg["computers_ou"] == (
        "OU=Computers,OU=Kongsberg,OU=Kommuner,DC=ad,DC=kongsbergregionen,DC=internal"
    )


def test_playbooks_and_roles_do_not_retype_the_names() -> None:
    found = []
    for folder in ("playbooks", "roles", "deploys", "templates"):
        for path in (REPO / folder).rglob("*"):
            if not path.is_file() or ALLOWED.search(str(path)):
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if RETYPED.search(line) and not line.lstrip().startswith("#"):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []


def test_the_firewall_opens_the_port_the_vdi_role_listens_on() -> None:
    defaults = yaml.safe_load(
        (REPO / "roles/vdi_session_host/defaults/main.yml").read_text(encoding="utf-8")
    )
    assert rdp_port() == str(defaults["vdi_session_host_port"])
    assert {tuple(ports) for _who, _proto, ports, _why in ROLE_PORTS[Role.VDI]} == {(rdp_port(),)}
