"""The directory role's one module call: which tenants it gets, and the audit record it
makes of the result (filter_plugins/tenants.py; the module itself runs on the lab's DC)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROLE = Path(__file__).resolve().parents[2] / "roles" / "directory_tenants"
SETTINGS = {
    "parent_ou": "OU=Kommuner",
    "admin_group_suffix": "-admins",
    "vdi_group_suffix": "-vdi-users",
    "regional_ou": "OU=Region",
    "regional_group": "region-admins",
    "regional_record": "region",
    "regional_operators": [
        {"username": "reg.ola", "name": "Ola Region", "email": "o@r.no", "ssh_public_key": "x"}
    ],
    "users_ou": "Users",
    "groups_ou": "Groups",
}


@pytest.fixture(scope="module")
def tenants() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tenants", ROLE / "filter_plugins" / "tenants.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kommune(name: str, state: str, *users: str) -> dict[str, Any]:
    return {
        "name": name,
        "operators": [
            {"username": u, "name": u.title(), "email": f"{u}@k.no", "ssh_public_key": "k"}
            for u in users
        ],
        "service_states": {"directory": state},
    }


def test_one_call_holds_the_region_first_then_active_and_ended_municipalities(
    tenants: ModuleType,
) -> None:
    kommuner = {
        "tinn": kommune("Tinn", "active", "tin.a", "tin.b"),
        "nyby": kommune("Nyby", "none", "ny.a"),
        "gamle": kommune("Gamle", "ended", "ga.a"),
    }
    specs = tenants.directory_tenant_specs(kommuner, **SETTINGS)
    assert [(s["key"], s["state"]) for s in specs] == [
        ("region", "present"),
        ("tinn", "present"),
        ("gamle", "disabled"),
    ]
    region, tinn, _ = specs
    assert region["delegate_on"] == "OU=Kommuner" and region["sub_ous"] == ["Users", "Groups"]
    # Only what the directory needs of an operator: no key or other field reaches the DC.
    assert region["users"] == [{"username": "reg.ola", "name": "Ola Region", "email": "o@r.no"}]
    assert tinn["ou"] == "OU=Tinn,OU=Kommuner" and tinn["delegate_group"] == "tinn-admins"
    admins, vdi = tinn["groups"]
    assert admins == {
        "name": "tinn-admins",
        "description": "Tinn: delegated administrators",
        "members": ["tin.a", "tin.b"],
        "protected": True,
    }
    assert vdi["name"] == "tinn-vdi-users" and vdi["members"] is None


def test_the_audit_record_takes_each_admin_group_as_read_and_skips_failed_tenants(
    tenants: ModuleType,
) -> None:
    kommuner = {
        "tinn": kommune("Tinn", "active", "tin.a"),
        "gamle": kommune("Gamle", "ended", "ga.a"),
        "rollag": kommune("Rollag", "active", "rol.a"),
    }
    specs = tenants.directory_tenant_specs(kommuner, **SETTINGS)
    gone = {"username": "tin.b", "name": "Tin B", "disabled_on": "2026-11-30"}
    result = {
        "region": {"members": {"region-admins": ["reg.ola"]}, "removed": [], "error": ""},
        "tinn": {
            "members": {"tinn-admins": ["tin.a"], "tinn-vdi-users": []},
            "removed": [gone],
            "error": "",
        },
        # An ended municipality whose OU was never made: nothing read, nothing recorded.
        "gamle": {"members": {}, "removed": [], "error": ""},
        "rollag": {"members": {}, "removed": [], "error": "account rol.a exists at ..."},
    }
    assert tenants.directory_admin_members(result, specs) == {
        "region": {"admin_group": "region-admins", "members": ["reg.ola"], "removed": []},
        "tinn": {"admin_group": "tinn-admins", "members": ["tin.a"], "removed": [gone]},
    }
