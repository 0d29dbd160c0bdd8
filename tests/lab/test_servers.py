"""The municipalities' own servers (role kommune_server) on the live lab.

Logins: test users in the AD (samba-tool on the primary DC), one in each municipality's
admin group, one in the region's, one VDI-only; one ssh key of the test's own, put into
the AD (altSecurityIdentities), so each verdict comes from the groups, never from a
missing key. Every user carries DESCRIPTION, so a run only ever touches users it made.

Firewall: the lab's client namespaces (regionhus/lab/clients.py) send from an address
in each municipality's client network; a listener on the service port answers the ones
the firewall lets through, and nothing answers the rest.

Backup: a file in a server's data path is backed up into its municipality's repository
and restored by the drill; afterwards the audit report has no backup or drill finding
for any municipality with a server.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from logins import DC, ensure_ad_user, retire_ad_user, samba

from regionhus.backup.cli import backup
from regionhus.inventory import Inventory
from regionhus.lab import require_lab_bridge, run_on
from regionhus.lab.clients import LabClient, lab_clients
from regionhus.lab.layout import known_hosts_path

pytestmark = pytest.mark.lab

DESCRIPTION = "regionhus server login test user (tests/lab/test_servers.py)"
KEY_ATTRIBUTE = "altSecurityIdentities"
REGIONAL = "srvt-region"
VDI_ONLY = "srvt-kongsberg-vdi"
SERVICE_PORT = 8443  # the lab's servers declare it (inventory/lab-region.hosts.yml)
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class AdUser:
    name: str  # sAMAccountName, at most 20 characters
    kommune: str | None  # None: a regional operator (region-admins)
    group: str


def servers(inventory: Inventory) -> dict[str, str]:
    """Server name -> the municipality it serves."""
    return {h.name: h.serves for h in inventory.hosts if "server" in h.roles}


def users_for(inventory: Inventory) -> list[AdUser]:
    found = [
        AdUser(f"srvt-{inventory.config.kommuner[slug].code}", slug, f"{slug}-admins")
        for slug in sorted(set(servers(inventory).values()))
    ]
    found.append(AdUser(REGIONAL, None, "region-admins"))
    found.append(AdUser(VDI_ONLY, "kongsberg", "kongsberg-vdi-users"))
    return found


def ensure_user(user: AdUser, password: str, public_key: str, inventory: Inventory) -> None:
    ensure_ad_user(
        user.name,
        kommune=user.kommune,
        description=DESCRIPTION,
        password=password,
        inventory=inventory,
        groups=[user.group],
    )
    dn = samba("user", "show", user.name, "--attributes=dn").stdout.split("\n")[0]
    assert dn.startswith("dn: "), dn
    ldif = f"{dn}\nchangetype: modify\nreplace: {KEY_ATTRIBUTE}\n{KEY_ATTRIBUTE}: {public_key}\n"
    run_on(
        DC,
        f"printf %s {shlex.quote(ldif)} | ldbmodify -H /var/lib/samba/private/sam.ldb",
        timeout=60,
    )


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def test_users(password: str, key: Path, inventory: Inventory) -> Iterator[dict[str, AdUser]]:
    require_lab_bridge()
    if not servers(inventory):
        pytest.skip("the inventory has no host with role server")
    users = users_for(inventory)
    public_key = " ".join(key.with_suffix(".pub").read_text().split()[:2])
    for user in users:
        ensure_user(user, password, public_key, inventory)
    names = " ".join(u.name for u in users)
    # What an earlier run left in sssd's caches (a removed key, an old membership).
    for host in servers(inventory):
        run_on(host, f"sss_cache -E; rm -rf --one-file-system /home/{{{names.replace(' ', ',')}}}")
    yield {u.name: u for u in users}
    # Out of the admin groups again: the apply keeps their members to the declared
    # operators, so a test user left there is another municipality's pending change on
    # dc1 for every later scoped plan and apply (and the lifecycle test's attribution).
    for user in users:
        retire_ad_user(user.name, [user.group])


def ssh_as(
    inventory: Inventory, key: Path, user: str, host: str, command: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """ssh as an AD user from the admin address, the host key pinned by the lab."""
    address = str(inventory.host(host).address)
    argv = ["ssh", "-F", "/dev/null", "-i", str(key), "-l", user]
    for option in (
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        f"UserKnownHostsFile={known_hosts_path()}",
        "ConnectTimeout=10",
    ):
        argv += ["-o", option]
    return subprocess.run(
        [*argv, address, command], input=stdin, capture_output=True, text=True, timeout=120
    )


def allowed_on(user: AdUser, kommune: str) -> bool:
    return user.group == "region-admins" or (
        user.group.endswith("-admins") and user.kommune == kommune
    )


def test_servers_are_joined_and_admit_only_their_groups(inventory: Inventory) -> None:
    """Read-only (a quick check of `make demo`): each server is joined in its OU, lets
    its admin groups in, opens its service port and upgrades in its window."""
    realm = inventory.config.region.directory.dns_domain
    for host, kommune in servers(inventory).items():
        settings = inventory.config.kommuner[kommune]
        run_on(host, f"adcli testjoin --domain={realm}")
        sshd = run_on(host, "sshd -T").stdout
        groups = {
            g
            for line in sshd.splitlines()
            if line.startswith("allowgroups ")
            for g in line.split()[1:]
        }
        assert {f"{kommune}-admins", "region-admins"} <= groups, (host, groups)
        sssd = run_on(host, "grep ^simple_allow_groups /etc/sssd/sssd.conf").stdout
        assert sssd.split("=", 1)[1].split(",")[0].strip() == f"{kommune}-admins", host
        rules = run_on(host, "nft list chain inet regionhus input").stdout
        assert f"dport {SERVICE_PORT} accept" in rules or f"{{ {SERVICE_PORT} }}" in rules, host
        timer = run_on(host, "systemctl show -P TimersCalendar apt-daily-upgrade.timer").stdout
        assert settings.update_window.start in timer, (host, timer)
        computer = samba("computer", "show", host.upper(), "--attributes=dn").stdout
        assert f"OU=Computers,OU={settings.name}," in computer, (host, computer)


def test_admins_log_in_and_sudo_only_on_their_own_servers(
    inventory: Inventory, test_users: dict[str, AdUser], key: Path, password: str
) -> None:
    """Every municipality's admin (and the region's) against every server."""
    admins = [u for u in test_users.values() if u.name != VDI_ONLY]
    cases = [(u, host, kommune) for u in admins for host, kommune in servers(inventory).items()]

    def attempt(case: tuple[AdUser, str, str]) -> tuple[str, str, bool, str]:
        user, host, _ = case
        # sudo reads the AD password on stdin; `id -u` as root prints 0.
        proc = ssh_as(inventory, key, user.name, host, "sudo -S -p '' id -u", stdin=f"{password}\n")
        return user.name, host, proc.returncode == 0 and proc.stdout.strip() == "0", proc.stderr

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, cases))
    wrong = [
        f"{name} on {host}: {'allowed' if ok else 'refused'} ({err.strip()[-200:]})"
        for (user, host, kommune), (name, _, ok, err) in zip(cases, results, strict=True)
        if ok != allowed_on(user, kommune)
    ]
    assert not wrong, "\n".join(wrong)


def test_a_vdi_only_user_is_refused_ssh(
    inventory: Inventory, test_users: dict[str, AdUser], key: Path
) -> None:
    # On its own municipality's server (the AD holds its key) and on its VDI host.
    for host in ("srv-kongsberg-1", "vdi-kongsberg-1"):
        proc = ssh_as(inventory, key, VDI_ONLY, host, "id -u")
        assert proc.returncode == 255 and "Permission denied" in proc.stderr, (host, proc)
    # The same key works for an admin of that municipality: the group decides.
    admin = f"srvt-{inventory.config.kommuner['kongsberg'].code}"
    assert ssh_as(inventory, key, admin, "srv-kongsberg-1", "true").returncode == 0


@pytest.fixture(scope="module")
def listeners(inventory: Inventory) -> Iterator[None]:
    """Something answering on the service port of every server while the probes run."""
    # A name of this run's own: a unit an interrupted run left cannot be in the way.
    unit = f"regionhus-test-listener-{int(time.time())}"
    empty = "/run/regionhus-test-listener"
    command = (
        f"mkdir -p {empty} && systemd-run --unit={unit} --collect python3 -m http.server "
        f"{SERVICE_PORT} --bind 0.0.0.0 --directory {empty}"
    )
    for host in servers(inventory):
        run_on(host, command)
    time.sleep(1)
    yield
    for host in servers(inventory):
        run_on(host, f"systemctl stop {unit}", check=False)


PROBE = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()\n"
    "    print('open')\n"
    "except OSError as exc:\n"
    "    print(type(exc).__name__)\n"
)


def probe_from(client: LabClient, address: str, port: int) -> str:
    """Connect from a client namespace: 'open', or the error (a dropped packet times out)."""
    argv = ["ip", "netns", "exec", client.namespace, sys.executable, "-c", PROBE]
    argv += [address, str(port), str(PROBE_TIMEOUT)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return proc.stdout.strip()


def test_service_ports_open_only_from_the_municipalitys_client_networks(
    inventory: Inventory, listeners: None
) -> None:
    require_lab_bridge()
    clients = {c.slug: c for c in lab_clients()}
    cases = [
        (client, host, kommune)
        for client in clients.values()
        for host, kommune in servers(inventory).items()
    ]

    def attempt(case: tuple[LabClient, str, str]) -> str:
        client, host, _ = case
        return probe_from(client, str(inventory.host(host).address), SERVICE_PORT)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, cases))
    wrong = [
        f"{client.namespace} ({client.address}) -> {host}:{SERVICE_PORT}: {result}"
        for (client, host, kommune), result in zip(cases, results, strict=True)
        if (result == "open") != (client.slug == kommune)
    ]
    assert not wrong, "\n".join(wrong)
    # Another host of the region is no client either.
    host = run_on(
        "vdi-kongsberg-1",
        f"timeout 5 bash -c 'echo > /dev/tcp/{inventory.host('srv-kongsberg-1').address}/"
        f"{SERVICE_PORT}' && echo open || echo closed",
        check=False,
    )
    assert host.stdout.strip() == "closed"


def test_the_probe_reaches_the_servers_by_route_not_by_accident(inventory: Inventory) -> None:
    """A refused probe means the firewall: the client's own address is on the wire."""
    client = next(c for c in lab_clients() if c.slug == "tinn")
    seen = run_on(
        "srv-tinn-1",
        f"ip route get {client.address} | head -1",
    ).stdout
    assert "dev eth0" in seen and "via" not in seen
    # ssh is not a service port: closed from every client network, even the own.
    assert probe_from(client, str(inventory.host("srv-tinn-1").address), 22) != "open"


def test_a_servers_data_is_restored_from_its_own_repository(inventory: Inventory) -> None:
    host, repo = "srv-tinn-1", "tinn"
    marker = f"/srv/data/drill-{int(time.time())}"
    run_on(host, f"mkdir -p {marker} && head -c 200000 /dev/urandom > {marker}/data.bin")
    run_on(host, f"systemctl start regionhus-backup@{repo}.service", timeout=600)
    result = CliRunner().invoke(backup, ["drill", repo])
    assert result.exit_code == 0, result.output
    # The newest archive of Tinn's repository is the server's, and it restored.
    assert result.output.startswith(f"PASS {repo}: {host}-"), result.output


def test_no_backup_or_drill_finding_for_a_municipality_with_a_server(
    inventory: Inventory, tmp_path: Path
) -> None:
    """After each server's first backup and a drill (what `make demo` does), the audit
    report says nothing about backups or drills of these municipalities."""
    from regionhus.cli import main
    from regionhus.records import drills_dir

    by_kommune = {kommune: host for host, kommune in servers(inventory).items()}
    runner = CliRunner()
    for kommune, host in sorted(by_kommune.items()):
        drills = sorted(drills_dir(kommune).glob("*.json"))
        if drills and json.loads(drills[-1].read_text())["result"] == "pass":
            continue  # the demo (or an earlier test) did this municipality's first drill
        run_on(host, f"systemctl start regionhus-backup@{kommune}.service", timeout=600)
        drilled = runner.invoke(backup, ["drill", kommune])
        assert drilled.exit_code == 0, drilled.output
    status = runner.invoke(backup, ["status"])
    assert status.exit_code == 0, status.output
    audit = runner.invoke(main, ["audit", "--format", "json", "--out", str(tmp_path)])
    assert audit.exit_code == 0, audit.output
    findings = []
    for kommune in by_kommune:
        report = json.loads((tmp_path / f"{kommune}.json").read_text())
        findings += [
            (kommune, f["code"], f["message"])
            for f in report["findings"]
            if str(f["code"]).startswith(("backup", "drill"))
        ]
    assert findings == [], findings
