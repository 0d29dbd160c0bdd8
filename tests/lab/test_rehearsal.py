"""A production rehearsal: the lab's hosts run as a real region would.

The hosts come from NetBox (the rehearsal's own local instance, seeded with every host
of the inventory); the operator has a fresh state dir and HOME (no lab ssh config, no
lab key), an ssh key of their own, an account given by provisioning (here: the lab, as
root), and reaches the hosts only through a bastion (a small extra lab host), whose
address is then the only one the hosts accept ssh from.

The operator's first apply after adding the bastion is the whole region, as it must be
in production: the bastion becomes an operations source, so every municipality's pool
on the VDI gateway opens to it (a plan scoped to the gateway shows that as changes to
municipalities outside its scope, which the scope guard refuses to apply). One apply
of the whole region does both layers on every host; the plan after it takes the
converged-record path (one probe per host through the bastion) and must find nothing.
backup status, backup drill and audit then run through the bastion, and bad access
(bastion down, a changed host key, no sudo on one host) must stop with the host named
before anything runs.

The region is the checkout under test (in CI: the clean clone), copied with its own code.
Afterwards every host is put back as the lab had it (root login, the lab's firewall,
no rehearsal account, in AD neither), the bastion is removed, and one probe of every
host (what regionhus.plan.converged reads: /etc, packages, units, firewall, keys, the
directory) must read as it did before: the lab others use is unchanged.

REGIONHUS_REHEARSAL_BENCH=1 adds the timing of bench/rehearsal.md: `plan --full` and
`apply --yes --full` of a session host, a server and the gateway over the lab's own
ssh (before anything changes) and through the bastion (after the first apply), in the
same run.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from regionhus.inventory import load_inventory
from regionhus.inventory.hosts import Host, Role
from regionhus.lab import bastion, run_on
from regionhus.lab.layout import known_hosts_path
from regionhus.lab.machines import netns_pids
from regionhus.lab.rootfs import root as rootfs_root
from regionhus.netbox import server
from regionhus.netbox.source import load_host_file
from regionhus.paths import state_dir
from regionhus.plan import converged
from regionhus.secrets import vault_file, vault_password_file
from regionhus.transport import transport_for

REPO = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
RH = str(BIN / "regionhus")
OPERATOR = "drift.ovelse"
SSHD_CONF = "etc/ssh/sshd_config.d/10-regionhus.conf"
# Where the operator's base layer differs from the lab's (root login, ssh only from the
# bastion): put back from a copy first, so the lab can reach its hosts again.
ACCESS_FILES = (SSHD_CONF, "etc/nftables.conf")
# The account database useradd and userdel rewrite (with their backups): put back byte
# for byte once the operator's account is gone, so /etc reads as it did.
ACCOUNT_FILES = tuple(
    f"etc/{name}{backup}"
    for name in ("passwd", "group", "shadow", "gshadow", "subuid", "subgid")
    for backup in ("", "-")
)
# Services whose settings name the region's operators (the alert routes name their
# e-mail): the file put back, then the service reloaded.
SERVICE_FILES = {
    "etc/prometheus/alertmanager.yml": "prometheus-alertmanager",
    # The operator's region probes and scrapes with the bastion as its admin source
    # (its second run found these three changed on mon1 afterwards).
    "etc/prometheus/prometheus.yml": "prometheus",
    "etc/prometheus/rules/regionhus.rules.yml": "prometheus",
    "etc/prometheus/blackbox.yml": "prometheus-blackbox-exporter",
}
BENCH = os.environ.get("REGIONHUS_REHEARSAL_BENCH") == "1"
# The timed comparison: a session host, a server and the gateway (the roles with the
# most hosts in a region), so it fits next to the rest in one hold of the lab.
BENCH_ROLES = frozenset({Role.VDI, Role.SERVER, Role.GATEWAY})


@dataclass
class Rehearsal:
    checkout: Path
    lab_checkout: Path
    home: Path
    state: Path
    env: dict[str, str]
    snapshots: dict[str, HostSnapshot]
    before: dict[str, dict[str, str]]  # every host's probed state before the rehearsal
    hosts: list[Host]  # the region: every host is in NetBox and applied
    sample: list[Host]  # one host of each role: the bad cases, the timed comparison
    timings: dict[str, float] = field(default_factory=dict)
    restored: bool = False

    def rh(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [RH, *args],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        keep_log(self.home / "logs", proc)
        return proc

    def timed(self, key: str, *args: str) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        proc = self.rh(*args)
        self.note(key, round(time.monotonic() - started, 1))
        return proc

    def note(self, key: str, seconds: float) -> None:
        """A timing, written at once (a later failure must not lose the figures)."""
        self.timings[key] = seconds
        report = Path(state_dir()) / "rehearsal-timings.json"
        header = {
            "region_hosts": [h.name for h in self.hosts],
            "bench_hosts": [h.name for h in self.bench],
        }
        report.write_text(json.dumps({**header, **self.timings}, indent=2) + "\n")

    def records(self) -> list[Path]:
        return sorted((self.state / "records" / "applies").glob("*.json"))

    def commit(self, message: str) -> None:
        git(self.checkout, "add", "-A")
        git(self.checkout, "commit", "-q", "-m", message)

    def restore(self) -> None:
        """Every host back as the lab had it (once, whichever test or teardown asks)."""
        if not self.restored:
            self.restored = True
            restore(self.snapshots, directory_host(self.hosts))

    @property
    def bench(self) -> list[Host]:
        return [h for h in self.sample if BENCH_ROLES & set(h.roles)]

    @property
    def bench_scope(self) -> list[str]:
        return scope_of(self.bench)

    def first(self, role: Role) -> Host:
        return next(h for h in self.sample if role in h.roles)


def keep_log(folder: Path, proc: subprocess.CompletedProcess[str]) -> None:
    """Each command's whole output (an assertion shows only its ends), named in order."""
    folder.mkdir(parents=True, exist_ok=True)
    name = "-".join(a for a in proc.args[1:3] if not a.startswith("-"))
    path = folder / f"{len(list(folder.iterdir())):02d}-{name}.log"
    head = f"$ {' '.join(proc.args)}\nexit {proc.returncode}\n"
    path.write_text(head + proc.stdout + "\n" + proc.stderr)


def failures(proc: subprocess.CompletedProcess[str]) -> str:
    """What an assertion shows: the lines naming a failure, then the ends of the output."""
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "fail" in line.lower()]
    return "\n".join(lines[:40]) + "\n...\n" + proc.stdout[-2500:] + proc.stderr[-2500:]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=rehearsal", "-c", "user.email=r@example.org", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def timed_direct(checkout: Path, args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The same command over the lab's own ssh (embedded source, root), for comparison."""
    started = time.monotonic()
    proc = subprocess.run(
        [RH, *args, "--source", "embedded"],
        cwd=checkout,
        env={**os.environ, "REGIONHUS_ROOT": str(checkout), "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    keep_log(checkout.parent / "logs-direct", proc)
    return round(time.monotonic() - started, 1), proc


# --- setting the stage -------------------------------------------------------------------


def clone(target: Path) -> Path:
    """The region's files as they are on disk (in CI: the commit under test) in a fresh
    git repository, what an operator clones. Its commands run with this copy's own code
    (PYTHONPATH), so an edit or a commit landing during the run never mixes in."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "the region")
    return target


def operator_checkout(target: Path, public_key: str, known_hosts: str) -> Path:
    """The operator's clone of the region, plus the operator in region.yml, the bastion
    and the pinned host keys; committed (apply refuses a dirty tree)."""
    clone(target)
    region = yaml.safe_load((target / "region.yml").read_text())
    region["regional_operators"].append(
        {
            "username": OPERATOR,
            "name": "Øvelse Operatør",
            "email": "ovelse@k-ikt.no",
            "ssh_public_key": public_key,
        }
    )
    region["access"] = {
        "bastion": {"host": str(bastion.ADDRESS)},
        "known_hosts": "inventory/known_hosts",
    }
    (target / "region.yml").write_text(yaml.safe_dump(region, allow_unicode=True))
    (target / "inventory" / "known_hosts").write_text(known_hosts)
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "the operator, the bastion, the pinned keys")
    return target


def pinned_keys(hosts: list[str]) -> str:
    """What an operator pins after checking fingerprints on each console: here read
    from the lab's own record of each host's keys, and the bastion's."""
    lines = [
        line
        for line in known_hosts_path().read_text().splitlines()
        if line.split(",", 1)[0] in hosts
    ]
    lines += [f"{bastion.ADDRESS} {key}" for key in bastion.host_keys()]
    return "\n".join(lines) + "\n"


def provision(hosts: list[str], public_key: str) -> None:
    """What provisioning does on day one (the lab does it as root): the operator's
    account with sudo and key, and ssh open from the bastion."""
    script = f"""
        set -e
        getent group regionhus-operators >/dev/null || groupadd regionhus-operators
        id {OPERATOR} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {OPERATOR}
        usermod --append --groups regionhus-operators --expiredate '' {OPERATOR}
        install -d -m 700 -o {OPERATOR} -g {OPERATOR} /home/{OPERATOR}/.ssh
        printf '%s\\n' '{public_key}' > /home/{OPERATOR}/.ssh/authorized_keys
        chown {OPERATOR}: /home/{OPERATOR}/.ssh/authorized_keys
        chmod 600 /home/{OPERATOR}/.ssh/authorized_keys
        if nft list table inet regionhus >/dev/null 2>&1; then
            nft insert rule inet regionhus input ip saddr {bastion.ADDRESS} tcp dport 22 accept
        fi
        # A lab host whose boot never reached systemd-user-sessions still refuses every
        # login but root's (pam_nologin); a provisioned server has booted.
        rm -f /run/nologin
    """
    for host in hosts:
        run_on(host, script)


def share_controller_state(state: Path) -> None:
    """What operators of one region share besides git and the vault: the RDP CA
    (pki/) and the keys recorded from hosts (records/keys/). A fresh state without
    them would re-issue the CA and drop backup clients' keys. Nothing of the lab's ssh."""
    for part in ("pki", "records/keys"):
        source = state_dir() / part
        if source.is_dir():
            shutil.copytree(source, state / part)


def operator_env(
    checkout: Path, home: Path, state: Path, netbox: server.Instance, token: str
) -> dict[str, str]:
    vault = home / "vault"
    vault.mkdir(mode=0o700)
    shutil.copy2(vault_file(), vault / "region.vault.yml")
    shutil.copy2(vault_password_file(), vault / "password")
    ssh = home / ".ssh"
    (ssh / "config").write_text(
        f"Host *\n    User {OPERATOR}\n    IdentityFile {ssh / 'id_ed25519'}\n"
        "    IdentitiesOnly yes\n"
    )
    return {
        "PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(checkout),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "REGIONHUS_STATE_DIR": str(state),
        "REGIONHUS_CACHE_DIR": str(home / "cache"),
        "REGIONHUS_INVENTORY": "netbox",
        "REGIONHUS_NETBOX_URL": netbox.url,
        "REGIONHUS_NETBOX_TOKEN": token,
        "REGIONHUS_NETBOX_ENV_FILE": str(home / "no-netbox.env"),
        "REGIONHUS_VAULT_FILE": str(vault / "region.vault.yml"),
        "REGIONHUS_VAULT_PASSWORD_FILE": str(vault / "password"),
    }


# --- putting every host back ---------------------------------------------------------------


def reload_sshd(host: str) -> None:
    for pid in netns_pids(host):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "sshd" and b"-D" in cmdline[0] + b" ".join(cmdline[1:]):
            os.kill(pid, signal.SIGHUP)


@dataclass(frozen=True)
class HostSnapshot:
    """What the rehearsal's apply changes on a host besides the operator's account:
    the files of sshd's and the firewall's settings and the account database (None:
    absent), the live ruleset."""

    files: dict[str, tuple[bytes, int] | None]
    ruleset: str


def snapshot(host: str) -> HostSnapshot:
    files: dict[str, tuple[bytes, int] | None] = {}
    for name in (*ACCESS_FILES, *ACCOUNT_FILES, *SERVICE_FILES):
        path = rootfs_root(host) / name
        files[name] = (path.read_bytes(), path.stat().st_mode & 0o7777) if path.exists() else None
    ruleset = subprocess.run(
        ["ip", "netns", "exec", host, "nft", "list", "ruleset"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return HostSnapshot(files, ruleset)


def put_files(host: str, snap: HostSnapshot, names: Iterable[str]) -> list[str]:
    """The files as they were (from the machine: the host's own ssh may be shut); the
    names of those that had changed."""
    changed = []
    for name in names:
        saved = snap.files[name]
        path = rootfs_root(host) / name
        if saved is None:
            if path.exists():
                path.unlink()
                changed.append(name)
            continue
        data, mode = saved
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
        path.chmod(mode)
    return changed


def put_back_access(host: str, snap: HostSnapshot) -> None:
    """From the machine, not over ssh (the rehearsal leaves root shut out): sshd's and
    the firewall's files as they were, sshd reloaded, the ruleset as it was."""
    put_files(host, snap, ACCESS_FILES)
    reload_sshd(host)
    subprocess.run(
        ["ip", "netns", "exec", host, "nft", "-f", "-"],
        input="flush ruleset\n" + snap.ruleset,
        text=True,
        check=True,
    )


def restore(snapshots: dict[str, HostSnapshot], dc: str | None) -> None:
    for host, snap in snapshots.items():
        put_back_access(host, snap)
    time.sleep(1)  # sshd's reload
    gone = f"pkill -KILL -u {OPERATOR}; sleep 0.2; userdel --force --remove {OPERATOR}; true"
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda host: run_on(host, gone, check=False), snapshots))
    if dc:
        run_on(dc, f"samba-tool user delete {OPERATOR} || true", check=False)
    for host, snap in snapshots.items():
        put_files(host, snap, ACCOUNT_FILES)
        for name in put_files(host, snap, SERVICE_FILES):
            run_on(host, f"systemctl reload-or-restart {SERVICE_FILES[name]}")


WANTED: dict[str, tuple[list[str], list[str]]] = {}


def lab_probe(hosts: list[str]) -> dict[str, dict[str, str]]:
    """Every host's state as the converged-record probe reads it, over the lab's own
    ssh: /etc, packages, units, the loaded firewall, authorized keys, the directory,
    and the paths and services the lab's own records name."""
    via = transport_for(load_inventory(source="embedded"))
    for host in hosts:
        # The same paths every time: an apply in between (the direct bench's) rewrites
        # the records, and a longer list would read as files that are new.
        if host not in WANTED:
            record = converged.load(host)
            WANTED[host] = (record.paths, record.services) if record else ([], [])
    states = converged.probe(via, {host: WANTED[host] for host in hosts})
    failed = sorted(h for h, state in states.items() if state is None)
    assert not failed, f"the probe failed on {failed}"
    return {h: state for h, state in states.items() if state is not None}


def real_differences(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """The probe's differences, less a timer- or path-started unit that had failed before
    (an earlier test's deliberate fault) and has since run well on its own schedule."""
    recovered = {
        key
        for key, value in before.items()
        if key.startswith("unit:")
        and value.endswith(" failed")
        and now.get(key, "").endswith(" triggered")
    }
    return converged.differences(
        {k: v for k, v in before.items() if k not in recovered},
        {k: v for k, v in now.items() if k not in recovered},
    )


def changed_since(before: dict[str, dict[str, str]], hosts: list[str]) -> dict[str, list[str]]:
    """What reads differently on each host now (the directory replicates to the second
    DC within seconds: asked again for a while before it counts)."""
    deadline = time.monotonic() + 90
    while True:
        now = lab_probe(hosts)
        found = {h: d for h in hosts if (d := real_differences(before[h], now[h]))}
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(5)


# --- the fixture -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rehearsal(lab: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    tmp = tmp_path_factory.mktemp("rehearsal")
    # The lab's side (the direct comparison, putting hosts back) reads the same commit.
    lab_checkout = clone(tmp / "lab")
    pinned_root = os.environ.get("REGIONHUS_ROOT")
    os.environ["REGIONHUS_ROOT"] = str(lab_checkout)
    # NetBox holds every host of the inventory, and the first apply is the whole region:
    # the shared hosts' state (the backup server's clients, the directory, the gateway's
    # pools) is computed from the whole region, and the bastion changes every pool.
    region_hosts = load_host_file(lab_checkout).hosts
    sample = first_of_each_role(region_hosts)
    hosts = [h.name for h in region_hosts]
    missing = sorted(set(hosts) - set(lab))
    assert not missing, f"not booted in the lab: {missing}; run `regionhus lab up`"
    home, state = tmp / "home", tmp / "state"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    share_controller_state(state)
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", OPERATOR, "-f", str(key)],
        check=True,
    )
    public_key = key.with_suffix(".pub").read_text().strip()
    netbox = server.reset_database("rehearsal")
    # An archive to drill: one backup of kongsberg's session host, by its own timer unit
    # (before the state is read: the lab gets the same archive from its own timer).
    run_on("vdi-kongsberg-1", "systemctl start regionhus-backup@kongsberg.service")
    before = lab_probe(hosts)
    snapshots = {host: snapshot(host) for host in hosts}
    run: Rehearsal | None = None
    try:
        bastion.ensure_bastion(OPERATOR, public_key)
        pinned = pinned_keys(hosts)
        checkout = operator_checkout(tmp / "checkout", public_key, pinned)
        env = operator_env(checkout, home, state, netbox, server.read_token(netbox))
        run = Rehearsal(
            checkout, lab_checkout, home, state, env, snapshots, before, region_hosts, sample
        )
        seeded = run.rh("netbox", "seed")
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        if BENCH:
            time_direct(run)
        provision(hosts, public_key)
        yield run
    finally:
        try:
            if run is not None:
                run.restore()
            else:
                restore(snapshots, directory_host(region_hosts))
        finally:
            bastion.remove()
            server.stop_gunicorn(netbox)
            if pinned_root is None:
                os.environ.pop("REGIONHUS_ROOT", None)
            else:
                os.environ["REGIONHUS_ROOT"] = pinned_root


def time_direct(r: Rehearsal) -> None:
    """The lab's view of the bench hosts, before the rehearsal changes anything: both engines
    everywhere (--full), over the lab's ssh as root. The apply only on a converged lab
    (it must not apply someone's pending work)."""
    seconds, plan = timed_direct(r.lab_checkout, ["plan", "--full", *r.bench_scope])
    assert plan.returncode in (0, 2), failures(plan)
    r.note("direct_plan_full_s", seconds)
    if plan.returncode == 0:
        seconds, full = timed_direct(r.lab_checkout, ["apply", "--yes", "--full", *r.bench_scope])
        assert full.returncode == 0, failures(full)
        r.note("direct_apply_full_s", seconds)


def first_of_each_role(hosts: list[Host]) -> list[Host]:
    chosen: dict[Role, Host] = {}
    for host in hosts:
        for role in host.roles:
            chosen.setdefault(role, host)
    return [h for h in hosts if h in chosen.values()]


def scope_of(sample: list[Host]) -> list[str]:
    return [arg for h in sample for arg in ("--host", h.name)]


def directory_host(hosts: list[Host]) -> str | None:
    return next((h.name for h in hosts if Role.DIRECTORY in h.roles), None)


# --- the rehearsal -----------------------------------------------------------------------


def test_first_apply_after_adding_the_bastion_is_the_whole_region(rehearsal: Rehearsal) -> None:
    r = rehearsal
    # The bastion is an operations source now: every municipality's pool on the gateway
    # opens to it. A plan of the gateway alone (engines through the bastion, hosts from
    # NetBox) shows each as a change outside its scope, which an apply refuses.
    gateway = r.first(Role.GATEWAY).name
    scoped = r.timed("bastion_plan_gateway_s", "plan", "--host", gateway, "--format", "json")
    assert scoped.returncode == 2, failures(scoped)
    outside = {f["kommune"] for f in json.loads(scoped.stdout)["scope_findings"]}
    pools = {h.serves for h in r.hosts if Role.VDI in h.roles}
    # Nothing of the lab in the operator's state: their own ssh config, pinned keys.
    text = next((r.state / "ssh").glob("*.ssh_config")).read_text()
    assert "/var/lib/regionhus/lab" not in text and "ProxyJump regionhus-bastion" in text
    # So the operator's first apply is the whole region: its plan, then both layers.
    applied = r.timed("bastion_apply_s", "apply", "--yes")
    assert applied.returncode == 0, failures(applied)
    record = json.loads(r.records()[-1].read_text())
    assert record["who"] == OPERATOR, record["who"]
    assert sorted(record["hosts"]) == sorted(h.name for h in r.hosts)
    # Converged: the plan after it finds nothing (each host probed through the bastion).
    again = r.timed("bastion_plan_s", "plan")
    problems = [] if again.returncode == 0 else [f"the plan after the apply: {failures(again)}"]
    for host in r.hosts:
        # ssh only from the bastion (and the backup clients', the monitoring's hosts),
        # never from the lab's bridge any more.
        if port_open(str(host.address), 22):
            problems.append(f"{host.name} accepts ssh directly")
        # Root may no longer log in over ssh.
        if "PermitRootLogin no" not in (rootfs_root(host.name) / SSHD_CONF).read_text():
            problems.append(f"{host.name}: root may still log in over ssh")
    if not outside & pools:
        problems.append(f"{gateway}: outside the scope {sorted(outside)}, pools {sorted(pools)}")
    if BENCH:
        # The same work as the lab's direct figures: both engines on the bench hosts.
        plan = r.timed("bastion_plan_full_s", "plan", "--full", *r.bench_scope)
        assert plan.returncode == 0, failures(plan)
        full = r.timed("bastion_apply_full_s", "apply", "--yes", "--full", *r.bench_scope)
        assert full.returncode == 0, failures(full)
    assert not problems, "\n".join(problems)


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def test_backup_status_drill_and_audit_through_the_bastion(rehearsal: Rehearsal) -> None:
    r = rehearsal
    drill = r.rh("backup", "drill", "kongsberg")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert drill.stdout.startswith("PASS kongsberg")
    status = r.rh("backup", "status")
    assert "kongsberg" in status.stdout, status.stdout + status.stderr
    out = r.home / "audit"
    audit = r.rh("audit", "--format", "json", "--out", str(out))
    assert audit.returncode in (0, 1), audit.stdout + audit.stderr
    assert any(out.rglob("*.json")), audit.stdout + audit.stderr


def test_bad_access_stops_before_any_host_is_touched(rehearsal: Rehearsal) -> None:
    r = rehearsal
    region = r.checkout / "region.yml"
    known = r.checkout / "inventory" / "known_hosts"
    good_region, good_known = region.read_text(), known.read_text()
    before = len(r.records())

    # 1. The bastion does not answer.
    region.write_text(good_region.replace(str(bastion.ADDRESS), "10.47.0.41"))
    r.commit("bastion moved")
    proc = r.rh("apply", "--yes")
    assert proc.returncode == 1
    assert "the bastion 10.47.0.41 cannot be reached" in proc.stderr, proc.stderr
    assert "nothing was run on any host" in proc.stderr
    region.write_text(good_region)

    # 2. A host's key is not the pinned one.
    dc = r.first(Role.DIRECTORY)
    lines = [line for line in good_known.splitlines() if not line.startswith(f"{dc.name},")]
    lines += [f"{dc.name},{dc.address} {key}" for key in bastion.host_keys()]
    known.write_text("\n".join(lines) + "\n")
    r.commit(f"{dc.name} re-keyed")
    proc = r.rh("apply", "--yes")
    assert proc.returncode == 1
    assert f"{dc.name}: its host key does not match the key pinned in" in proc.stderr, proc.stderr
    assert "nothing was run on any host" in proc.stderr
    known.write_text(good_known)
    r.commit("keys back")

    # 3. The operator has no sudo on one host (a colleague removed the operators' sudo
    # rule there, say). Not their group: without it sshd's AllowGroups refuses the login
    # itself, which is another error (the first CI run of the rehearsal showed it).
    vdi = r.first(Role.VDI).name
    rule = rootfs_root(vdi) / "etc/sudoers.d/regionhus-operators"
    saved = rule.read_bytes()
    rule.unlink()
    try:
        proc = r.rh("apply", "--yes")
    finally:
        rule.write_bytes(saved)
        rule.chmod(0o440)
    assert proc.returncode == 1
    assert f"{vdi}: the operator account has no passwordless sudo" in proc.stderr, proc.stderr
    assert "nothing was run on any host" in proc.stderr
    assert len(r.records()) == before, "an apply record was written: something ran"


def test_the_lab_reads_as_it_did(rehearsal: Rehearsal) -> None:
    """Every host as the lab had it (root by the lab's key, its firewall, no operator
    account here or in AD): one probe of every host reads what it read before."""
    r = rehearsal
    r.restore()
    differ = changed_since(r.before, [h.name for h in r.hosts])
    assert not differ, f"the rehearsal left hosts changed: {differ}"
    print(f"\nrehearsal timings (s): {json.dumps(r.timings)}")
