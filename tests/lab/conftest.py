"""The lab for a test session: brought up (and the base layer applied) once.

A lab that is already running is used as it is and left running; a lab this session
started is taken down at the end (REGIONHUS_KEEP_LAB=1 keeps it). In CI (CI=true) the
hosts' disks are wiped first, so the run proves a fresh lab converges in one apply.

Every lab test runs on the whole region applied once: base layer, then site.yml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra
from logins import vault_test_password

from regionhus.engines import EngineRun, run_ansible, run_pyinfra
from regionhus.inventory import Inventory, load_inventory
from regionhus.lab import lab_host_names, ssh_config_path

RH = str(Path(sys.executable).parent / "regionhus")
# The RDP client and its display, from Debian (command -> package).
RDP_CLIENT_PACKAGES = {"xfreerdp": "freerdp2-x11", "Xvfb": "xvfb"}


def _lab_running() -> bool:
    status = subprocess.run([RH, "lab", "status"], capture_output=True, text=True, check=False)
    return status.returncode == 0


# The quick checks `regionhus demo` runs: every service answers as declared, read-only.
# Everything else in tests/lab is "heavy" (matrices, faults, idempotence, drills): it
# runs in `make test` and `regionhus demo --full`. An allowlist, so a new lab test is
# heavy until someone decides it belongs in the operator's quick look.
QUICK_CHECKS = {
    "test_base.py": {
        "test_hostname_and_hosts_entries",
        "test_operators_have_accounts_and_keys",
        "test_municipal_operators_of_others_have_no_account",
        "test_sshd_settings_in_effect",
        "test_firewall_loaded_with_only_the_roles_ports",
        "test_journal_is_persistent_and_upgrades_unattended",
    },
    "test_directory.py": {
        "test_only_samba_ad_dc_runs",
        "test_dc_serves_ldap_kerberos_dns",
        "test_replication_has_no_failures",
        "test_tenants_exist_as_declared",
        "test_planned_and_ended_municipalities",
        "test_admin_group_records_for_the_audit",
    },
    "test_vdi.py": {
        "test_xrdp_listens_with_the_managed_certificate",
        "test_joined_to_the_domain",
        "test_login_rule_in_effect",
    },
    "test_backup.py": {"test_repository_owner_and_mode", "test_timers_active"},
    "test_servers.py": {"test_servers_are_joined_and_admit_only_their_groups"},
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "heavy: lab matrices, faults and repeated applies (skipped by a quick demo)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/lab/" in str(item.fspath):
            item.add_marker(pytest.mark.lab)
            name = getattr(item, "originalname", item.name)
            if name not in QUICK_CHECKS.get(item.fspath.basename, set()):
                item.add_marker(pytest.mark.heavy)


def _applied_by_demo() -> bool:
    """`regionhus demo` (quick checks) has applied the whole region just before: the
    session checks that state instead of applying it again. The idempotence tests that
    need the session's own first run are heavy, so they never run this way."""
    return os.environ.get("REGIONHUS_REGION_APPLIED_BY") == "demo"


@pytest.fixture(scope="session")
def lab() -> Iterator[list[str]]:
    started = False
    fresh = os.environ.get("CI") == "true" or os.environ.get("REGIONHUS_FRESH_LAB") == "1"
    if fresh:
        subprocess.run([RH, "lab", "down", "--wipe"], check=True)
    if fresh or not _lab_running():
        subprocess.run([RH, "lab", "up"], check=True)
        started = True
    yield lab_host_names()
    if started and not os.environ.get("REGIONHUS_KEEP_LAB"):
        subprocess.run([RH, "lab", "down"], check=False)


@pytest.fixture(scope="session")
def inventory(lab: list[str]) -> Inventory:
    return load_inventory(source="embedded")


@pytest.fixture(scope="session")
def base_applied(lab: list[str]) -> EngineRun:
    """The base layer applied once; its first run is what the idempotence test follows."""
    if _applied_by_demo():
        return EngineRun(["regionhus demo"], 0, "the base layer was applied by regionhus demo")
    result = run_pyinfra("deploys/base.py", stream=False)
    assert result.ok, result.output[-4000:]
    return result


@pytest.fixture(scope="session", autouse=True)
def region_applied(base_applied: EngineRun) -> EngineRun:
    """The services of the whole region (site.yml) applied once, after the base layer."""
    if _applied_by_demo():
        return EngineRun(["regionhus demo"], 0, "the services were applied by regionhus demo")
    result = run_ansible("playbooks/site.yml", stream=False)
    assert result.ok, result.output[-6000:]
    return result


@pytest.fixture(scope="session")
def lab_hosts(base_applied: EngineRun) -> dict[str, testinfra.host.Host]:
    config = str(ssh_config_path())
    return {
        name: testinfra.get_host(f"ssh://{name}", ssh_config=config) for name in lab_host_names()
    }


# --- logins (test_servers, test_vdi_login, test_vdi_pools, test_scope) -------------------


@pytest.fixture(scope="module")
def password(lab: list[str]) -> str:
    """The test users' password (the vault's vault_vdi_test_user_password)."""
    return vault_test_password()


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """An X display (Xvfb) for xfreerdp; the client's Debian packages installed if missing."""
    missing = [pkg for cmd, pkg in RDP_CLIENT_PACKAGES.items() if shutil.which(cmd) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            check=True,
            env=env,
            capture_output=True,
        )
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert xvfb.stdout is not None
    number = xvfb.stdout.readline().strip()
    assert number.isdigit(), "Xvfb did not report a display"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)
