"""The hosts' hardening as outside auditors measure it.

- ssh-audit (PyPI, pinned in constraints.txt) against every lab host's sshd, from the
  control machine as any client would connect: no failure on any host. Its warnings are
  printed (pytest -s) but do not fail: today only curve25519-sha256 "does not provide
  protection against post-quantum attacks"; the base layer offers the hybrid
  sntrup761x25519 first and keeps curve25519 for clients without it (paramiko, hence
  pyinfra, and OpenSSH before 8.5).
- Lynis (Debian's package, installed on the control machine by this test) on one host
  of each role: its hardening index must not fall below the floor stated per role in
  `bench/hardening.md`. Lynis is copied to the host for the run and
  removed afterwards, so no package is added to the hosts; the figures go to
  `out/hardening/lynis.json`.

ssh-audit: ~1 s per host; Lynis: about a minute per role (one run per role, in parallel).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from regionhus.inventory import load_inventory
from regionhus.lab import lab_host_names, require_lab_bridge, run_on, ssh_command
from regionhus.paths import repo_root

pytestmark = pytest.mark.lab

SSH_AUDIT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "ssh-audit"
HOSTS = lab_host_names()

# The hardening index Lynis gives each role's host today (bench/hardening.md), less 2
# for what a package update moves: a change that lowers it fails here (raise the floor
# with the table when a change raises the index).
LYNIS_FLOOR = {
    "directory": 74,
    "backup": 74,
    "vdi": 74,
    "server": 74,
    "gateway": 74,
    "monitoring": 74,
}
LYNIS_REMOTE = "/root/regionhus-lynis"


def ssh_audit(address: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(SSH_AUDIT), "--json", "--skip-rate-test", "--timeout", "10", address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # ssh-audit's exit codes (ssh_audit/exitcodes.py): 0 good, 1 connection error,
    # 2 warnings, 3 failures.
    assert result.returncode != 1, f"ssh-audit could not connect: {result.stdout}{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.returncode
    return report


def failures(report: dict[str, Any]) -> list[str]:
    """Every finding ssh-audit rates a failure, as `kind name: notes`."""
    found = []
    for kind in ("kex", "key", "enc", "mac"):
        for algorithm in report.get(kind, []):
            notes = algorithm.get("notes", {})
            if notes.get("fail"):
                found.append(f"{kind} {algorithm['algorithm']}: {'; '.join(notes['fail'])}")
    return found


@pytest.mark.parametrize("name", HOSTS)
def test_ssh_audit_finds_no_failure(name: str) -> None:
    require_lab_bridge()
    address = str(load_inventory(source="embedded").host(name).address)
    report = ssh_audit(address)
    print(f"{name}: {report.get('banner', {}).get('raw', '')} exit {report['exit_code']}")
    for kind, items in report.get("recommendations", {}).get("warning", {}).items():
        print(f"  warning {kind}: {items}")
    # ssh-audit matches CVEs by the banner's version; Debian backports fixes without
    # changing it (9.2p1 stays 9.2p1), so they are shown, not judged (nor does
    # ssh-audit count them in its exit code).
    for cve in report.get("cves", []):
        print(f"  by version: {cve.get('name')} (CVSS {cve.get('cvssv2')})")
    assert failures(report) == []
    assert report["exit_code"] in (0, 2), json.dumps(report.get("recommendations"), indent=1)


# --- Lynis ----------------------------------------------------------------------------


def one_host_per_role() -> dict[str, str]:
    chosen: dict[str, str] = {}
    for host in load_inventory(source="embedded").hosts:
        for role in host.roles:
            chosen.setdefault(str(role.value), host.name)
    return chosen


@pytest.fixture(scope="module")
def lynis_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lynis from Debian on the control machine, packed to be copied to the hosts."""
    if shutil.which("lynis") is None:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "lynis"],
            check=True,
            capture_output=True,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
    # Lynis runs from an unpacked directory: the program, include/, db/, plugins/ and
    # the profile side by side.
    stage = tmp_path_factory.mktemp("lynis")
    shutil.copy2("/usr/sbin/lynis", stage / "lynis")
    for tree in ("/usr/share/lynis/include", "/usr/share/lynis/db", "/etc/lynis/plugins"):
        shutil.copytree(tree, stage / Path(tree).name)
    shutil.copy2("/etc/lynis/default.prf", stage / "default.prf")
    archive = stage.parent / "lynis.tar"
    subprocess.run(
        ["tar", "-cf", str(archive), "--owner=0", "--group=0", "-C", str(stage), "."], check=True
    )
    return archive


def lynis_index(name: str, archive: Path) -> dict[str, Any]:
    """Copy Lynis to the host, audit it, read the report, remove Lynis again."""
    remote = LYNIS_REMOTE
    with archive.open("rb") as tar:
        argv = [a for a in ssh_command(name, f"rm -rf {remote} && mkdir -p {remote} "
                                             f"&& tar -xf - -C {remote}") if a != "-n"]  # fmt: skip
        subprocess.run(argv, stdin=tar, check=True, capture_output=True, timeout=120)
    try:
        run_on(
            name,
            f"cd {remote} && sh ./lynis audit system --quick --no-colors "
            f"--profile {remote}/default.prf --report-file {remote}/report.dat "
            f"--logfile {remote}/lynis.log --plugindir {remote}/plugins >/dev/null 2>&1; "
            f"test -s {remote}/report.dat",
            timeout=600,
        )
        report = run_on(name, f"cat {remote}/report.dat").stdout
    finally:
        run_on(name, f"rm -rf {remote}", check=False)
    values: dict[str, Any] = {"host": name, "suggestions": 0, "warnings": 0}
    for line in report.splitlines():
        key, _, value = line.partition("=")
        if key == "hardening_index":
            values["hardening_index"] = int(value)
        elif key == "suggestion[]":
            values["suggestions"] += 1
        elif key == "warning[]":
            values["warnings"] += 1
    return values


@pytest.fixture(scope="module")
def lynis_results(lynis_tree: Path) -> Iterator[dict[str, dict[str, Any]]]:
    require_lab_bridge()
    roles = one_host_per_role()
    with ThreadPoolExecutor(max_workers=3) as pool:
        measured = dict(
            zip(roles, pool.map(lambda n: lynis_index(n, lynis_tree), roles.values()), strict=True)
        )
    out = repo_root() / "out" / "hardening"
    out.mkdir(parents=True, exist_ok=True)
    (out / "lynis.json").write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    yield measured


@pytest.mark.parametrize("role", sorted(LYNIS_FLOOR))
def test_lynis_hardening_index_per_role(
    role: str, lynis_results: dict[str, dict[str, Any]]
) -> None:
    if role not in lynis_results:
        pytest.skip(f"no lab host has the role {role}")
    result = lynis_results[role]
    print(f"{role} ({result['host']}): Lynis hardening index {result.get('hardening_index')}")
    assert result.get("hardening_index", 0) >= LYNIS_FLOOR[role], result
