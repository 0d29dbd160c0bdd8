"""A municipality's name cannot move its OU: it is escaped wherever it becomes a DN."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest

from regionhus.directory import kommune_ou
from regionhus.model import DirectorySettings, Kommune
from regionhus.names import escape_dn_value

ROLE = Path(__file__).resolve().parents[2] / "roles" / "directory_tenants"
DIRECTORY = DirectorySettings(realm="AD.KBR.INTERNAL", netbios_domain="KBR")
HOSTILE = ["Tinn,OU=Region", "Tinn+CN=x", 'Tinn"', "Tinn\\", "#Tinn", " Tinn ", "Tinn;<>="]


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def role_filter() -> ModuleType:
    return load(ROLE / "filter_plugins" / "dn.py")


@pytest.fixture(scope="module")
def tenant_module() -> ModuleType:
    return load(ROLE / "library" / "samba_directory_tenants.py")


def kommune(name: str) -> Kommune:
    # Built directly, past validation: the escaping must hold on its own.
    return Kommune.model_construct(name=name, slug="tinn")


@pytest.mark.parametrize("name", HOSTILE)
def test_the_role_and_python_escape_alike_and_the_ou_stays_one_rdn(
    name: str, role_filter: ModuleType, tenant_module: ModuleType
) -> None:
    value = role_filter.dn_value(name)
    assert value == escape_dn_value(name)
    relative = f"OU={value},OU=Kommuner"
    rdns = tenant_module.split_rdns(relative)
    assert rdns == [f"OU={value}", "OU=Kommuner"]


def test_a_name_with_ou_in_it_stays_under_kommuner() -> None:
    dn = kommune_ou(kommune("Tinn,OU=Region"), DIRECTORY)
    assert dn == "OU=Tinn\\,OU\\=Region,OU=Kommuner,DC=ad,DC=kbr,DC=internal"


def test_decomposed_and_composed_names_give_one_dn(role_filter: ModuleType) -> None:
    nfc = unicodedata.normalize("NFC", "Kárášjohka")
    nfd = unicodedata.normalize("NFD", "Kárášjohka")
    assert nfc != nfd
    assert kommune_ou(kommune(nfd), DIRECTORY) == kommune_ou(kommune(nfc), DIRECTORY)
    assert role_filter.dn_value(nfd) == role_filter.dn_value(nfc) == nfc


def test_the_role_escapes_the_name_where_it_builds_the_ou() -> None:
    specs = load(ROLE / "filter_plugins" / "tenants.py").directory_tenant_specs(
        {
            "tinn": {
                "name": "Tinn,OU=Region",
                "operators": [],
                "service_states": {"directory": "active"},
            }
        },
        parent_ou="OU=Kommuner",
        admin_group_suffix="-admins",
        vdi_group_suffix="-vdi-users",
        regional_ou="OU=Region",
        regional_group="region-admins",
        regional_record="region",
        regional_operators=[],
        users_ou="Users",
        groups_ou="Groups",
    )
    assert specs[1]["ou"] == "OU=Tinn\\,OU\\=Region,OU=Kommuner"
