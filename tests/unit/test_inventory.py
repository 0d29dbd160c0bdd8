"""One inventory, two engines: Ansible and pyinfra see the same hosts and groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from regionhus.cli import main
from regionhus.errors import InvalidConfiguration
from regionhus.inventory import load_inventory

ANSIBLE_INVENTORY = Path(sys.executable).parent / "ansible-inventory"


def unwrap(value):  # type: ignore[no-untyped-def]
    """ansible-core marks inventory strings as unsafe: {"__ansible_unsafe": "..."}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def ansible_list(repo: Path, inventory_file: str, env: dict | None = None) -> dict:
    result = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", inventory_file, "--list"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "REGIONHUS_INVENTORY": "", **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return unwrap(json.loads(result.stdout))


def pyinfra_groups(repo: Path) -> dict[str, set[str]]:
    """Load the inventory file exactly as the pyinfra CLI does, in a clean process."""
    code = (
        "import json; from pyinfra.api import State; from pyinfra.context import ctx_state;"
        "from pyinfra_cli.inventory import make_inventory; ctx_state.set(State());"
        "inv = make_inventory('inventory/pyinfra_inventory.py');"
        "print(json.dumps({g: sorted(h.name for h in hs) for g, hs in inv.groups.items()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    return {g: set(h) for g, h in json.loads(out.splitlines()[-1]).items()}


def test_ansible_and_pyinfra_see_the_same_hosts_and_groups(repo: Path) -> None:
    listing = ansible_list(repo, "inventory/embedded.regionhus.yml")
    ansible = {
        group: set(body.get("hosts", []))
        for group, body in listing.items()
        if group not in ("_meta", "all", "ungrouped") and body.get("hosts")
    }
    pyinfra = pyinfra_groups(repo)
    pyinfra.pop("pyinfra_inventory")  # pyinfra's own group named after the file
    assert ansible == pyinfra
    assert ansible["role_directory"] == {"dc1", "dc2"}
    assert ansible["kommune_kongsberg"] == {"srv-kongsberg-1", "vdi-kongsberg-1", "vdi-kongsberg-2"}


def test_graph_has_groups_per_kommune_role_and_site(repo: Path) -> None:
    listing = ansible_list(repo, "inventory/embedded.regionhus.yml")
    groups = set(listing["all"]["children"])
    assert {"role_vdi", "role_backup", "role_directory", "site_regionalt_hus", "regional"} <= groups
    # every municipality has a group, also those with no host of their own
    assert {"kommune_tinn", "kommune_nore_og_uvdal", "kommune_sigdal"} <= groups


def test_host_sees_the_choices_of_the_municipality_it_serves(repo: Path) -> None:
    listing = ansible_list(repo, "inventory/embedded.regionhus.yml")
    hostvars = listing["_meta"]["hostvars"]["vdi-kongsberg-1"]
    assert hostvars["ansible_host"] == "10.47.0.31"
    assert hostvars["regionhus_kommune"]["services"]["vdi"]["pool_size"] == 2
    assert hostvars["regionhus_kommune"]["service_states"]["vdi"] == "active"
    assert hostvars["regionhus_region"]["directory"]["realm"] == "AD.KONGSBERGREGIONEN.INTERNAL"
    assert listing["_meta"]["hostvars"]["dc1"]["regionhus_kommune"] is None


def test_broken_kommune_file_fails_ansible_instead_of_an_empty_inventory(
    region_copy: Path, repo: Path
) -> None:
    (region_copy / "plugins").symlink_to(repo / "plugins")
    (region_copy / "ansible.cfg").write_text((repo / "ansible.cfg").read_text())
    (region_copy / "inventory" / "embedded.regionhus.yml").write_text(
        "plugin: regionhus\nsource: embedded\n"
    )
    tinn = region_copy / "kommuner" / "tinn.yml"
    tinn.write_text(tinn.read_text().replace("population: 5700", "population: -3"))
    result = subprocess.run(
        [str(ANSIBLE_INVENTORY), "-i", "inventory/embedded.regionhus.yml", "--list"],
        cwd=region_copy,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "kommuner/tinn.yml" in result.stderr and "population" in result.stderr


def test_host_serving_an_unknown_municipality_is_named(region_copy: Path) -> None:
    hosts_file = region_copy / "inventory" / "lab-region.hosts.yml"
    data = yaml.safe_load(hosts_file.read_text())
    data["hosts"][3]["serves"] = "drammen"
    data["hosts"][4]["address"] = data["hosts"][5]["address"]
    hosts_file.write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidConfiguration) as caught:
        load_inventory(region_copy, "embedded")
    message = str(caught.value)
    assert "vdi-kongsberg-1 serves 'drammen', unknown in kommuner/" in message
    assert "address 10.47.0.33 is used more than once" in message


def test_inventory_cli_json_lists_hosts_with_groups(repo: Path) -> None:
    result = CliRunner().invoke(main, ["--root", str(repo), "inventory", "--json"], env={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["source"] == "embedded"
    by_name = {h["name"]: h for h in data["hosts"]}
    assert "kommune_notodden" in by_name["vdi-notodden-1"]["groups"]


def test_configured_but_unknown_source_is_an_operator_error(repo: Path) -> None:
    result = CliRunner().invoke(
        main, ["--root", str(repo), "inventory"], env={"REGIONHUS_INVENTORY": "ldap"}
    )
    assert result.exit_code == 1
    assert "unknown inventory source 'ldap'" in result.output


def test_region_data_lives_on_the_shared_hosts_not_on_every_host(repo: Path) -> None:
    """A municipality's host carries its own part; every municipality's data is a variable
    of the group of shared hosts (copied onto every host it grew past 10 GB at 357)."""
    listing = ansible_list(repo, "inventory/embedded.regionhus.yml")
    hostvars = listing["_meta"]["hostvars"]
    vdi = hostvars["vdi-kongsberg-1"]
    assert "regionhus_kommuner" not in vdi and "regionhus_backup_repositories" not in vdi
    assert "kommuner" not in vdi["regionhus_directory"]
    assert vdi["regionhus_directory"]["realm"] == "AD.KONGSBERGREGIONEN.INTERNAL"
    assert vdi["regionhus_kommune"]["directory"]["admin_group"].lower().startswith("kongsberg")
    assert "service_catalogue" not in vdi["regionhus_region"]
    assert vdi["regionhus_region"]["regional_operators"][0]["username"] == "drift.kari"
    for shared in ("dc1", "backup1"):
        region = hostvars[shared]
        assert set(region["regionhus_kommuner"]) == {
            p.stem for p in (repo / "kommuner").glob("*.yml")
        }
        assert "kongsberg" in region["regionhus_directory"]["kommuner"]
        assert region["regionhus_backup_repositories"]
        assert region["regionhus_region"]["service_catalogue"]["backup"]["sla"]
