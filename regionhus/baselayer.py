"""What the base layer gives each host: who may log in, and which ports are open.

Pure functions of the inventory, so the rules are unit-tested and the pyinfra
deploy (deploys/base.py) only applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Address, IPv4Network, collapse_addresses

import yaml

from regionhus.admin_network import client_sources, operations_networks, require_admin_network
from regionhus.inventory import REGION, Host, Inventory, Role, load_inventory
from regionhus.model import Operator
from regionhus.paths import repo_root

OPERATOR_GROUP = "regionhus-operators"


def rdp_port() -> str:
    """The port xrdp listens on: the VDI role's own default is the one place it is set,
    so the firewall always opens the port the role configures."""
    defaults = repo_root() / "roles" / "vdi_session_host" / "defaults" / "main.yml"
    return str(yaml.safe_load(defaults.read_text(encoding="utf-8"))["vdi_session_host_port"])


def monitoring_ports() -> dict[str, str]:
    """The monitoring role's ports (node exporter, Prometheus, Alertmanager): its
    defaults are the one place they are set, as for the RDP port."""
    defaults = repo_root() / "roles" / "monitoring" / "defaults" / "main.yml"
    data = yaml.safe_load(defaults.read_text(encoding="utf-8"))
    return {
        key: str(data[f"monitoring_{key}_port"])
        for key in ("node_exporter", "prometheus", "alertmanager")
    }


# Ports each role needs, and who may reach them. "admin" is where operators and
# automation come from; "clients" is every host of the region (users' traffic
# arrives through the same network in the lab).
ROLE_PORTS: dict[str, list[tuple[str, str, list[str], str]]] = {
    "base": [
        ("admin", "tcp", ["22"], "ssh for operators and automation"),
        # Exporters answer the monitoring host alone.
        (
            "monitoring",
            "tcp",
            [monitoring_ports()["node_exporter"]],
            "node exporter for the monitoring host",
        ),
    ],
    Role.DIRECTORY: [
        (
            "clients",
            "tcp",
            ["53", "88", "135", "139", "389", "445", "464", "636", "3268", "3269", "49152-65535"],
            "Active Directory (DNS, Kerberos, LDAP, SMB, RPC)",
        ),
        (
            "clients",
            "udp",
            ["53", "88", "123", "137", "138", "389", "464"],
            "Active Directory (DNS, Kerberos, NTP, CLDAP)",
        ),
    ],
    # From the broker (and the operations networks, for operators and probes), never
    # from users' clients directly: every session starts at the pool's address.
    Role.VDI: [
        ("rdp_sources", "tcp", [rdp_port()], "RDP to the session host"),
        ("monitoring", "tcp", [rdp_port()], "RDP/TLS probe from the monitoring host"),
    ],
    # The broker's ports are per pool (its address, its municipality's clients):
    # _pool_rules.
    Role.GATEWAY: [],
    # Only the hosts that write to a repository: "clients" (the whole network) would let
    # every machine on it reach the backup server's sshd, undoing the admin-only rule.
    Role.BACKUP: [("backup_clients", "tcp", ["22"], "borg serve over ssh for backup clients")],
    # A municipality's server: its ports are per host (the inventory's services), from
    # its municipality's client networks: _service_rules.
    Role.SERVER: [],
    # Operators and the audit report read Prometheus' API; operators silence alerts.
    Role.MONITORING: [
        (
            "admin",
            "tcp",
            [monitoring_ports()["prometheus"], monitoring_ports()["alertmanager"]],
            "Prometheus and Alertmanager for operators and the audit report",
        )
    ],
}


@dataclass(frozen=True)
class FirewallRule:
    source: str
    protocol: str
    ports: tuple[str, ...]
    why: str
    destination: str | None = None  # one of the host's addresses (a VDI pool's), or any


def _networks(inventory: Inventory, host: Host) -> dict[str, str]:
    if inventory.network is not None:
        return {
            "admin": f"{inventory.network.bridge_address}/32",
            "clients": str(inventory.network.subnet),
        }
    # No lab network known (NetBox source): the host's own /24 is its client network,
    # and operators come from there too unless region.yml names a bastion: then ssh is
    # accepted from the bastion alone.
    local = str(IPv4Network(f"{host.address}/24", strict=False))
    bastion = inventory.config.region.access.bastion
    admin = f"{bastion.source_address}/32" if bastion else local
    return {"admin": admin, "clients": local}


def _backup_clients(inventory: Inventory) -> str | None:
    """nftables source of the hosts that write to a repository (None: no such host)."""
    from regionhus.backup.repositories import repositories

    addresses = sorted(
        {
            c.address
            for repo in repositories(inventory.config, inventory.hosts)
            for c in repo.clients
        },
        key=lambda a: tuple(int(part) for part in a.split(".")),
    )
    if not addresses:
        return None
    if len(addresses) == 1:
        return f"{addresses[0]}/32"
    return "{ " + ", ".join(f"{a}/32" for a in addresses) + " }"


def _monitoring_hosts(inventory: Inventory) -> str | None:
    """nftables source of the monitoring hosts (None: no such host, the ports stay shut)."""
    addresses = sorted(str(h.address) for h in inventory.hosts if Role.MONITORING in h.roles)
    if not addresses:
        return None
    if len(addresses) == 1:
        return f"{addresses[0]}/32"
    return "{ " + ", ".join(f"{a}/32" for a in addresses) + " }"


def firewall_rules(inventory: Inventory, host: Host) -> list[FirewallRule]:
    require_admin_network(inventory)
    sources: dict[str, str | None] = {
        **_networks(inventory, host),
        "backup_clients": _backup_clients(inventory),
        "monitoring": _monitoring_hosts(inventory),
        "rdp_sources": _rdp_sources(inventory, host),
    }
    keys = ["base", *host.roles]
    rules: list[FirewallRule] = []
    for key in keys:
        for who, protocol, ports, why in ROLE_PORTS[key]:
            source = sources[who]
            if source is None:
                continue  # nobody to let in: the port stays closed
            rule = FirewallRule(source, protocol, tuple(ports), why)
            if rule not in rules:
                rules.append(rule)
    if Role.GATEWAY in host.roles:
        rules += _pool_rules(inventory)
    rules += _service_rules(inventory, host)
    # The hosts whose ssh is a service the monitoring probes (regionhus.monitoring).
    if {Role.BACKUP, Role.SERVER} & set(host.roles) and sources["monitoring"]:
        rules.append(
            FirewallRule(
                sources["monitoring"], "tcp", ("22",), "ssh probe from the monitoring host"
            )
        )
    return rules


def _service_rules(inventory: Inventory, host: Host) -> list[FirewallRule]:
    """A municipality's server: each declared service port (the inventory's services,
    NetBox's service objects) only from its municipality's client networks and the
    operations networks; never from the hosts' network or another municipality."""
    if Role.SERVER not in host.roles or host.serves == REGION or not host.services:
        return []
    source = _nft_set(client_sources(inventory, host.serves))
    return [
        FirewallRule(
            source,
            service.protocol.value,
            (str(service.port),),
            f"{service.name} for {host.serves}'s clients and the operations network",
        )
        for service in host.services
    ]


def _nft_set(networks: list[IPv4Network]) -> str:
    # Overlapping intervals make nft refuse the whole ruleset: merge them first.
    networks = list(collapse_addresses(networks))
    if len(networks) == 1:
        return str(networks[0])
    return "{ " + ", ".join(str(n) for n in networks) + " }"


def broker_port() -> str:
    """The pools' port: the broker role's default is the one place it is set."""
    defaults = repo_root() / "roles" / "vdi_broker" / "defaults" / "main.yml"
    return str(yaml.safe_load(defaults.read_text(encoding="utf-8"))["vdi_broker_port"])


# Read once, from the checkout the package runs in (as ROLE_PORTS' ports are).
BROKER_PORT = broker_port()


def _rdp_sources(inventory: Inventory, host: Host) -> str | None:
    """Who reaches a session host's xrdp: the brokers and the operations networks. A
    region without a broker (no host with role gateway) reaches its pools directly."""
    gateways = [h.address for h in inventory.hosts if Role.GATEWAY in h.roles]
    if not gateways:
        return _networks(inventory, host)["clients"]
    found = [IPv4Network(f"{a}/32") for a in gateways]
    return _nft_set(found + operations_networks(inventory))


def _probers(inventory: Inventory) -> list[IPv4Address]:
    """The monitoring hosts: they probe the pools and their hosts like a client."""
    return [h.address for h in inventory.hosts if "monitoring" in h.roles]


def _pool_rules(inventory: Inventory) -> list[FirewallRule]:
    """On the broker: each pool's address only from its municipality's client networks
    and the operations networks (a municipality that left: operations only)."""
    from regionhus.inventory.vdi_pools import vdi_pools

    rules = []
    for pool in vdi_pools(inventory.config, inventory.hosts):
        if pool.address is None:
            continue
        sources = client_sources(inventory, pool.slug)
        sources += [IPv4Network(f"{a}/32") for a in _probers(inventory)]
        rules.append(
            FirewallRule(
                _nft_set(sources),
                "tcp",
                (BROKER_PORT,),
                f"RDP to the VDI pool {pool.slug} ({pool.name})",
                destination=f"{pool.address}",
            )
        )
    return rules


def operators_for_host(inventory: Inventory, host: Host) -> list[Operator]:
    """Regional operators everywhere; a municipality's own operators only on the hosts
    that serve it, and only while it is a member (never on shared hosts, which hold
    every municipality's data)."""
    operators = list(inventory.config.region.regional_operators)
    if host.serves != REGION:
        kommune = inventory.config.kommuner[host.serves]
        # By date, like the services: logins open on member_from, close on member_until.
        if kommune.member_on(inventory.config.on):
            operators += kommune.operators
    return operators


def root_login_allowed(inventory: Inventory) -> bool:
    """Only the lab's hosts, which the lab bootstraps and reaches as root with its own
    key. A real region's hosts are reached by operators as themselves, then sudo."""
    return inventory.source == "embedded"


@cache
def region_inventory() -> Inventory:
    """Loaded once per process: pyinfra runs the deploy file once per host."""
    return load_inventory()


# --- hardening (measured by Lynis: bench/hardening.md) ----------------------------------

# Settings every host gets. Each is one an outside audit (Lynis, CIS) asks for and that
# no service of the region needs otherwise; the ones left out, and why, are in
# bench/hardening.md. The net.* keys belong to the host's network namespace; the others
# to the kernel, which a container shares with its host (so only a VM applies them).
SYSCTL: dict[str, str] = {
    # No ICMP redirects or source routes: the hosts route nothing, their routes are static.
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv4.conf.all.secure_redirects": "0",
    "net.ipv4.conf.default.secure_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.default.accept_source_route": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
    "net.ipv6.conf.default.accept_redirects": "0",
    "net.ipv6.conf.all.accept_source_route": "0",
    "net.ipv6.conf.default.accept_source_route": "0",
    # Packets from addresses that cannot be reached back through the interface they came
    # in on are dropped and logged: every host has one interface and routes back on it.
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.default.rp_filter": "1",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.default.log_martians": "1",
    "net.ipv4.icmp_echo_ignore_broadcasts": "1",
    "net.ipv4.icmp_ignore_bogus_error_responses": "1",
    "net.ipv4.tcp_syncookies": "1",
    # The kernel's (a VM's; in a container the host's).
    "kernel.kptr_restrict": "2",
    "kernel.dmesg_restrict": "1",
    "kernel.sysrq": "0",
    "kernel.core_uses_pid": "1",
    "kernel.perf_event_paranoid": "3",
    "kernel.unprivileged_bpf_disabled": "1",
    "kernel.yama.ptrace_scope": "1",
    "net.core.bpf_jit_harden": "2",
    "fs.suid_dumpable": "0",
    "fs.protected_fifos": "2",
    "fs.protected_regular": "2",
    "fs.protected_hardlinks": "1",
    "fs.protected_symlinks": "1",
    "dev.tty.ldisc_autoload": "0",
}

# Kernel modules no host loads: removable storage, rare protocols, unused file systems.
DISABLED_MODULES = (
    "usb-storage",
    "firewire-core",
    "firewire-ohci",
    "firewire-sbp2",
    "dccp",
    "sctp",
    "rds",
    "tipc",
    "cramfs",
    "freevxfs",
    "hfs",
    "hfsplus",
    "jffs2",
    "udf",
)

# /etc/login.defs: new local accounts' homes 0750 (operators' homes hold their keys and
# history), passwords (if anyone ever sets one: the region logs in by key) hashed with
# many rounds and not changed back at once. No maximum age: pam_unix would expire
# key-only accounts and lock operators and automation out (bench/hardening.md).
LOGIN_DEFS: dict[str, str] = {
    "UMASK": "027",
    "PASS_MIN_DAYS": "1",
    "SHA_CRYPT_MIN_ROUNDS": "65536",
    "SHA_CRYPT_MAX_ROUNDS": "65536",
}


def legal_notice(region_name: str) -> str:
    """The login banner (/etc/issue, /etc/issue.net): who owns the host, that access is
    logged, that misuse is reported; in bokmål and English."""
    return (
        f"{region_name}: kun for autorisert bruk. All tilgang logges og overvåkes;\n"
        "uautorisert tilgang er forbudt og blir anmeldt.\n"
        f"Authorised use only. This system is the property of {region_name}; all\n"
        "access is logged and monitored. Unauthorised access is prohibited and will be\n"
        "reported to law enforcement."
    )


# Password quality for passwords changed through PAM (an AD user's at an xrdp login),
# with the dictionary it checks against (without one pam_pwquality refuses every new
# password). libpam-tmpdir, also asked for, is not here: bench/hardening.md says why.
HARDENING_PACKAGES = ["libpam-pwquality", "cracklib-runtime"]
# An idle interactive shell on an ssh terminal ends after this (profile.d).
SHELL_IDLE_TIMEOUT_S = 900


def sysctl_drift_command(settings: dict[str, str]) -> str:
    """A shell command printing `key=value` for each setting whose live value differs
    and that this host may write (a container's kernel settings are its host's, read
    only): what the base layer must set now. Empty output: nothing to do."""
    checks = []
    for key, value in settings.items():
        path = "/proc/sys/" + key.replace(".", "/")
        checks.append(f'[ -w {path} ] && [ "$(cat {path})" != "{value}" ] && echo "{key}={value}"')
    return "; ".join(checks) + "; true"
