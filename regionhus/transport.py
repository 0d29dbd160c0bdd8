"""One way to reach a host: every command that runs something on a host comes here.

The settings come from the inventory source:

- embedded (the lab region): the ssh config `regionhus lab up` writes, root with the
  lab's key; nothing leaves unless the lab network's bridge carries the route.
- NetBox (a real region): the operator's own ssh (user, agent, `~/.ssh/config`), the
  bastion declared in `region.yml` (`access.bastion`) as ProxyJump, host keys pinned in
  the reviewed `access.known_hosts` file (StrictHostKeyChecking yes), and sudo to root.

Both engines get the same settings (`ansible_vars`, `pyinfra_vars`), so `backup drill`,
the audit's directory read, Ansible and pyinfra cannot reach a host in different ways.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regionhus.errors import RegionhusError
from regionhus.paths import state_dir

if TYPE_CHECKING:
    from regionhus.config import RegionConfig
    from regionhus.inventory import Inventory, Network

BASTION_ALIAS = "regionhus-bastion"
# At most this many new ssh connections at once through a bastion. OpenSSH's default
# MaxStartups (10:30:100) drops logins at random once more than 10 are unauthenticated:
# the production rehearsal's first whole-region apply lost 4 of 15 hosts that way, as
# pyinfra opens one jump connection per host at once. 8 is what the preflight uses.
BASTION_CONNECTIONS = 8


class HostAccessError(RegionhusError):
    """One or more hosts cannot be reached as needed; nothing was run on any host."""


def embedded_ssh_config() -> Path:
    """The lab region's ssh config (`Host <name>`, root, the lab key, BindInterface).

    `regionhus lab up` writes it here (regionhus.lab.layout reads this path)."""
    return state_dir() / "lab" / "ssh_config"


def region_ssh_dir() -> Path:
    return state_dir() / "ssh"


@dataclass(frozen=True)
class Transport:
    source: str
    ssh_config: Path
    become: bool  # connect as the operator, sudo to root
    known_hosts: Path | None = None  # pinned keys (NetBox source)
    bastion: str | None = None  # the jump host, as named in region.yml
    network: Network | None = None  # the lab's network, whose bridge must carry the route
    addresses: tuple[tuple[str, str], ...] = ()

    @property
    def parallel(self) -> int | None:
        """How many hosts may be connected to at once (None: no limit of ours)."""
        return BASTION_CONNECTIONS if self.bastion else None

    # --- running commands ------------------------------------------------------------

    def argv(
        self, host: str, command: str | Sequence[str] | None = None, *, stdin: bool = False
    ) -> list[str]:
        """ssh argv running `command` (a shell string or argv) on `host` as root; with
        `stdin` the remote command reads ours (else ssh -n)."""
        argv = ["ssh", "-F", str(self.ssh_config), *([] if stdin else ["-n"]), host]
        if command is None:
            return argv
        remote = command if isinstance(command, str) else shlex.join(command)
        if self.become:
            # -n: never wait for a password (an operator without sudo gets a clear error).
            remote = f"sudo -n -- sh -c {shlex.quote(remote)}"
        return [*argv, "--", remote]

    def run(
        self,
        host: str,
        command: str | Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run `command` on `host` as root; with check, a failure names the host and why."""
        self.require_route(host)
        proc = subprocess.run(
            self.argv(host, command), capture_output=True, text=True, timeout=timeout, check=False
        )
        problem = access_problem(proc.returncode, proc.stderr, host, self)
        if problem:
            raise HostAccessError(problem)
        if check and proc.returncode != 0:
            shown = command if isinstance(command, str) else shlex.join(command)
            raise RegionhusError(
                f"{host}: `{shown}` failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-800:]}"
            )
        return proc

    def identity(self, host: str) -> str:
        """The account ssh logs in as on `host` (what the operator's ssh config says)."""
        proc = subprocess.run(
            ["ssh", "-G", "-F", str(self.ssh_config), host],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in proc.stdout.splitlines():
            key, _, value = line.partition(" ")
            if key == "user":
                return value.strip()
        return os.environ.get("USER", "unknown")

    def who(self, hosts: Sequence[str]) -> str | None:
        """The identity that connects to these hosts when operators log in as themselves;
        None for the lab's shared root key (then the local operator is the best name)."""
        if not self.become or not hosts:
            return None
        return self.identity(hosts[0])

    def require_route(self, host: str) -> None:
        """The lab's addresses only through its bridge: never by this machine's default
        route (a lab that is down must not send its hosts' traffic anywhere else)."""
        if self.network is None:
            return
        address = dict(self.addresses).get(host, host)
        proc = subprocess.run(
            ["ip", "-4", "-o", "route", "get", address], capture_output=True, text=True
        )
        if proc.returncode != 0 or f" dev {self.network.bridge} " not in proc.stdout + " ":
            raise HostAccessError(
                f"{host}: the lab network's bridge {self.network.bridge} does not carry the "
                f"route to {address}; run `sudo regionhus lab up` first"
            )

    # --- checking before anything runs ------------------------------------------------

    def preflight(self, hosts: Sequence[str]) -> None:
        """Log in to every host (through the bastion) and, for operators, try sudo; raise
        one error naming each host that fails, before any engine touches a host."""
        if not hosts:
            return
        for host in hosts:
            self.require_route(host)
        probe = "true"
        with ThreadPoolExecutor(max_workers=min(BASTION_CONNECTIONS, len(hosts))) as pool:
            results = list(pool.map(lambda h: self._probe(h, probe), hosts))
        problems = [p for p in results if p]
        if problems:
            raise HostAccessError(
                "cannot reach every host as needed; nothing was run on any host:\n  "
                + "\n  ".join(problems)
            )

    def unreachable(self, hosts: Sequence[str]) -> dict[str, str]:
        """The hosts (of `hosts`) that cannot be logged in to now, with why; after a
        failed run this tells a host that went away from a task that failed."""
        if not hosts:
            return {}
        with ThreadPoolExecutor(max_workers=min(BASTION_CONNECTIONS, len(hosts))) as pool:
            results = dict(
                zip(hosts, pool.map(lambda h: self._probe(h, "true"), hosts), strict=True)
            )
        return {host: problem for host, problem in results.items() if problem}

    def _probe(self, host: str, command: str) -> str | None:
        try:
            proc = subprocess.run(
                self.argv(host, command), capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            return f"{host}: no answer over ssh in 60 s" + self._via()
        problem = access_problem(proc.returncode, proc.stderr, host, self)
        if problem is None and proc.returncode != 0:
            problem = f"{host}: the login check failed ({proc.returncode}): {proc.stderr.strip()}"
        return problem

    def _via(self) -> str:
        return f" (through the bastion {self.bastion})" if self.bastion else ""

    # --- the engines -----------------------------------------------------------------

    def ansible_vars(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ansible_ssh_common_args": f"-F {self.ssh_config}"}
        if self.become:
            data |= {"ansible_become": True, "ansible_become_method": "sudo"}
        else:
            data["ansible_user"] = "root"
        return data

    def pyinfra_vars(self) -> dict[str, Any]:
        # pyinfra (paramiko) reads User, IdentityFile, ProxyJump, UserKnownHostsFile and
        # StrictHostKeyChecking from the same config; it ignores BindInterface, hence
        # require_route before every engine run.
        data: dict[str, Any] = {"ssh_config_file": str(self.ssh_config)}
        if self.become:
            data["_sudo"] = True
        else:
            data["ssh_user"] = "root"
        return data


# --- what went wrong, in an operator's words ---------------------------------------------

CHANGED_KEY = re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for \S+ has changed")
UNKNOWN_KEY = re.compile(r"No \S+ host key is known for (?P<name>\S+)")
KEY_FAILED = "Host key verification failed"
CONNECT_FAILED = re.compile(
    r"ssh: connect to host (?P<name>\S+) port \d+: (?P<why>[^\r\n]+)"
    r"|ssh: Could not resolve hostname (?P<unresolved>\S+?):"
)
SUDO_REFUSED = re.compile(r"sudo: (a password is required|.*not in the sudoers|.*not allowed)")
DENIED = "Permission denied"
ACCOUNT_REFUSED = re.compile(r"Your account has expired[^\r\n]*|Account locked[^\r\n]*")
JUMP_CLOSED = re.compile(r"kex_exchange_identification|Connection closed by UNKNOWN port 65535")


def access_problem(code: int, stderr: str, host: str, transport: Transport) -> str | None:
    """None when ssh and sudo worked (the command's own exit code is not judged here)."""
    if SUDO_REFUSED.search(stderr):
        return (
            f"{host}: the operator account has no passwordless sudo there (sudo said: "
            f"{SUDO_REFUSED.search(stderr).group(0)}); the base layer gives it to the "  # type: ignore[union-attr]
            "regionhus-operators group: ask a colleague to apply it, or check the account"
        )
    if code != 255:
        return None
    where = transport.known_hosts or transport.ssh_config
    if CHANGED_KEY.search(stderr) or (KEY_FAILED in stderr and not UNKNOWN_KEY.search(stderr)):
        name = _key_host(stderr, host, transport)
        return (
            f"{name}: its host key does not match the key pinned in {where}. Stop: this is "
            "either a reinstalled host or someone in between. Verify the new key out of band "
            "(the host's console), then change it in that file by pull request"
        )
    unknown = UNKNOWN_KEY.search(stderr)
    if unknown:
        name = _key_host(stderr, host, transport)
        return (
            f"{name}: no host key is pinned for it in {where}; read the key on the host's "
            "console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), add it to that file "
            "and commit it"
        )
    failed = CONNECT_FAILED.search(stderr)
    if failed and transport.bastion and _is_bastion(failed, transport):
        return f"{host}: the bastion {transport.bastion} cannot be reached: {failed.group(0)}"
    if failed:
        return f"{host}: cannot connect: {failed.group(0)}"
    refused = ACCOUNT_REFUSED.search(stderr)
    if refused:
        return f"{host}: your account may not log in there: {refused.group(0)}"
    if transport.bastion and JUMP_CLOSED.search(stderr):
        return (
            f"{host}: the bastion {transport.bastion} could not open a connection to it "
            f"(is the host up, and does its firewall accept ssh from the bastion?): "
            f"{stderr.strip()[-300:]}"
        )
    if DENIED in stderr and transport.bastion and f"@{transport.bastion}" in stderr:
        return (
            f"{host}: the bastion {transport.bastion} refused your login "
            f"({stderr.strip()[-200:]}); is your key in your ssh agent or ~/.ssh/config, "
            "and your account on the bastion?"
        )
    if DENIED in stderr:
        return (
            f"{host}: the login was refused ({stderr.strip()[-200:]}); is your key in your "
            "ssh agent or ~/.ssh/config, and your public key in region.yml or kommuner/?"
        )
    return f"{host}: ssh failed: {stderr.strip()[-400:] or 'no message'}"


def _key_host(stderr: str, host: str, transport: Transport) -> str:
    """The bastion when it was the bastion's key that failed, else the host."""
    if transport.bastion and (
        BASTION_ALIAS in stderr or (transport.bastion in stderr and host not in stderr)
    ):
        return f"the bastion {transport.bastion} (on the way to {host})"
    return host


def _is_bastion(match: re.Match[str], transport: Transport) -> bool:
    name = match.group("name") or match.group("unresolved") or ""
    return name in (transport.bastion, BASTION_ALIAS)


# --- building the transport from the inventory source ------------------------------------


def region_transport(source: str | None = None) -> Transport:
    """The transport of the region the working directory's checkout describes."""
    from regionhus.inventory import load_inventory

    return transport_for(load_inventory(source=source))


def transport_for(inventory: Inventory) -> Transport:
    return make_transport(
        inventory.source,
        inventory.config,
        [(h.name, h.address) for h in inventory.hosts],
        inventory.network,
    )


def make_transport(
    source: str,
    config: RegionConfig,
    hosts: Sequence[tuple[str, IPv4Address]],
    network: Network | None = None,
) -> Transport:
    addresses = tuple((name, str(address)) for name, address in hosts)
    if source == "embedded":
        return Transport(
            source, embedded_ssh_config(), become=False, network=network, addresses=addresses
        )
    access = config.region.access
    known_hosts = (config.root / access.known_hosts).resolve()
    path = region_ssh_dir() / f"{config.region.slug}.ssh_config"
    bastion = access.bastion
    text = render_region_ssh_config(
        hosts=addresses,
        known_hosts=known_hosts,
        bastion=(bastion.host, bastion.port, bastion.user) if bastion else None,
        operator_config=Path(os.path.expanduser("~/.ssh/config")),
    )
    _write_private(path, text)
    return Transport(
        source,
        path,
        become=True,
        known_hosts=known_hosts,
        bastion=bastion.host if bastion else None,
        addresses=addresses,
    )


def render_region_ssh_config(
    *,
    hosts: Sequence[tuple[str, str]],
    known_hosts: Path,
    bastion: tuple[str, int, str | None] | None,
    operator_config: Path,
) -> str:
    """ssh config for a real region: our settings first (ssh keeps the first value it
    reads), then the operator's own ~/.ssh/config for user, keys and agent."""
    lines = ["# Written by regionhus for every run: do not edit, edit region.yml.", ""]
    for name, address in hosts:
        lines += [f"Host {name} {address}", f"    HostName {address}", ""]
    ours = [name for name, _ in hosts] + [address for _, address in hosts]
    # No ControlPersist: with it, ssh sends the jump host's own errors (refused login,
    # unknown key) to /dev/null, and an operator would see only "connection closed".
    if bastion:
        host, port, user = bastion
        lines += [f"Host {' '.join(ours)}", f"    ProxyJump {BASTION_ALIAS}", ""]
        lines += [f"Host {BASTION_ALIAS} {host}", f"    HostName {host}"]
        # Port 22 is left to the default: pyinfra passes a ProxyJump hop's configured
        # port on as the string "22", and paramiko then looks its key up as
        # "[host]:22", which is not how known_hosts pins a host on port 22.
        lines += [f"    Port {port}"] if port != 22 else []
        lines += [f"    User {user}"] if user else []
        lines += [""]
        ours += [BASTION_ALIAS, host]
    lines += [
        f"Host {' '.join(ours)}",
        f"    UserKnownHostsFile {known_hosts}",
        "    StrictHostKeyChecking yes",
        "    CheckHostIP no",
        "    HashKnownHosts no",
        "    BatchMode yes",
        "    ConnectTimeout 10",
        "    ServerAliveInterval 10",
        "    ServerAliveCountMax 3",
        "",
    ]
    if operator_config.is_file():
        # An absolute path: ssh expands ~ from the password database, not $HOME.
        lines += ["Host *", f"    Include {operator_config}", ""]
    return "\n".join(lines)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    tmp.replace(path)
