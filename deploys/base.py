"""Base layer for every host of the region (pyinfra).

    pyinfra -y inventory/pyinfra_inventory.py deploys/base.py

Hostname and /etc/hosts, operators' accounts and keys, hardened sshd, unattended
security upgrades, a persistent journal, an nftables firewall that opens only
what the host's roles need, and the hardening an outside audit (Lynis) asks for
(bench/hardening.md). Templates are shared with Ansible under templates/.
"""

from pathlib import Path

from pyinfra import host
from pyinfra.facts.deb import DebPackages
from pyinfra.facts.server import Command, Users
from pyinfra.operations import apt, files, server, systemd

from regionhus.baselayer import (
    DISABLED_MODULES,
    HARDENING_PACKAGES,
    LOGIN_DEFS,
    OPERATOR_GROUP,
    SHELL_IDLE_TIMEOUT_S,
    SYSCTL,
    firewall_rules,
    legal_notice,
    operators_for_host,
    region_inventory,
    root_login_allowed,
    sysctl_drift_command,
)

NFT_LOADED = "nft list table inet regionhus >/dev/null 2>&1 && echo yes || echo no"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
inventory = region_inventory()
me = inventory.host(host.name)
operators = operators_for_host(inventory, me)
root_login = root_login_allowed(inventory)


def template(path: str, mode: str = "644", **data):  # type: ignore[no-untyped-def]
    return files.template(
        name=f"Render {path}",
        src=str(TEMPLATES / f"{path.lstrip('/')}.j2"),
        dest=path,
        mode=mode,
        user="root",
        group="root",
        **data,
    )


# --- identity ---------------------------------------------------------------------
server.hostname(name="Set hostname", hostname=me.name)
template(
    "/etc/hosts",
    base_hosts=[
        {"name": h.name, "address": str(h.address), "fqdn": inventory.fqdn(h)}
        for h in inventory.hosts
    ],
)

# --- packages -----------------------------------------------------------------------
BASE_PACKAGES = ["sudo", "nftables", "netbase", "unattended-upgrades", "openssh-server"]
NODE_EXPORTER = "prometheus-node-exporter"
missing = sorted(
    {*BASE_PACKAGES, NODE_EXPORTER, *HARDENING_PACKAGES} - set(host.get_fact(DebPackages))
)
# The lists are refreshed only for an install: a converged host has nothing to do at
# any hour, so a plan an hour after an apply is as clean as one a minute after it
# (security updates refresh their own lists: unattended-upgrades, 20auto-upgrades).
# One host at a time: hosts refreshing the same index through one proxy at once is
# what makes apt-cacher-ng drop requests; with a warm proxy each takes about a second.
if missing:
    apt.update(
        name="Refresh package lists (a package to install is missing)",
        cache_time=3600,
        _serial=True,
    )
apt.packages(
    name="Install base packages",
    packages=BASE_PACKAGES,
    # unattended-upgrades (or an operator) may hold the dpkg lock for a while: wait.
    extra_install_args="-o DPkg::Lock::Timeout=300",
)

# --- node exporter --------------------------------------------------------------------
# Every host's metrics for the monitoring host (roles/monitoring); its port is open to
# the monitoring hosts only (firewall below). Its textfile directory (Debian's default,
# /var/lib/prometheus/node-exporter) carries the backup guard's verdict on backup1.
apt.packages(
    name="Install node exporter",
    packages=[NODE_EXPORTER],
    # Without the optional collectors' timers (apt, smartmon): host metrics only.
    no_recommends=True,
    extra_install_args="-o DPkg::Lock::Timeout=300",
)
systemd.service(
    name="Node exporter running", service="prometheus-node-exporter", running=True, enabled=True
)

# --- operators ----------------------------------------------------------------------
server.group(name=f"Group {OPERATOR_GROUP}", group=OPERATOR_GROUP)
template(f"/etc/sudoers.d/{OPERATOR_GROUP}", mode="440", base_operator_group=OPERATOR_GROUP)
entitled = {op.username for op in operators}
for op in operators:
    server.user(
        name=f"Operator {op.username}",
        user=op.username,
        comment=op.name,
        shell="/bin/bash",
        groups=[OPERATOR_GROUP],
        # Add, never replace: on domain-joined hosts `id` also lists AD groups, which
        # a replace would try to remove on every run.
        append=True,
        public_keys=[op.ssh_public_key] if op.ssh_public_key else None,
        delete_keys=True,
        create_home=True,
    )
# An operator no longer entitled here (left the municipality, moved) is locked and
# loses the group, never deleted: the home directory and its history stay as evidence.
for username, user in host.get_fact(Users).items():
    if OPERATOR_GROUP in user.get("groups", []) and username not in entitled:
        server.shell(
            name=f"Lock former operator {username}",
            commands=[
                f"usermod --lock --expiredate 1 {username}",
                f"gpasswd --delete {username} {OPERATOR_GROUP}",
            ],
        )

# --- sshd ---------------------------------------------------------------------------
sshd = template(
    "/etc/ssh/sshd_config.d/10-regionhus.conf",
    base_permit_root_login="prohibit-password" if root_login else "no",
    base_allow_groups=["root", OPERATOR_GROUP] if root_login else [OPERATOR_GROUP],
)
server.shell(name="Check sshd configuration", commands=["sshd -t"], _if=sshd.did_change)
systemd.service(
    name="Reload sshd",
    service="ssh",
    running=True,
    enabled=True,
    reloaded=True,
    _if=sshd.did_change,
)

# --- unattended security upgrades ---------------------------------------------------
template("/etc/apt/apt.conf.d/20auto-upgrades")

# --- journal ------------------------------------------------------------------------
files.directory(
    name="Persistent journal directory",
    path="/var/log/journal",
    mode="2755",
    group="systemd-journal",
)
journal = template("/etc/systemd/journald.conf.d/10-regionhus.conf", base_journal_max_use="200M")
systemd.service(
    name="Restart journald",
    service="systemd-journald",
    restarted=True,
    _if=journal.did_change,
)

# --- firewall -----------------------------------------------------------------------
nft = template(
    "/etc/nftables.conf",
    mode="755",
    base_roles=["base", *me.roles],
    base_firewall_rules=firewall_rules(inventory, me),
)
# Load when the file changed, and also when our table is not loaded (a load that
# failed on an earlier run must not be skipped for ever because the file is unchanged).
loaded = host.get_fact(Command, NFT_LOADED) == "yes"
server.shell(
    name="Check and load firewall",
    commands=["nft -c -f /etc/nftables.conf", "nft -f /etc/nftables.conf"],
    _if=nft.did_change if loaded else None,
)
systemd.service(name="Firewall at boot", service="nftables", enabled=True)

# --- hardening (bench/hardening.md: what Lynis asked for, taken or not, and why) ----
apt.packages(
    name="Install hardening packages",
    packages=HARDENING_PACKAGES,
    no_recommends=True,
    extra_install_args="-o DPkg::Lock::Timeout=300",
)
for key, value in LOGIN_DEFS.items():
    files.line(
        name=f"login.defs {key}",
        path="/etc/login.defs",
        line=f"^{key}[[:space:]]",
        replace=f"{key} {value}",
    )
notice = legal_notice(inventory.config.region.name)
template("/etc/issue", base_legal_notice=notice)
template("/etc/issue.net", base_legal_notice=notice)
template("/etc/security/limits.d/10-regionhus.conf")
template("/etc/systemd/coredump.conf.d/10-regionhus.conf")
template("/etc/profile.d/regionhus.sh", base_shell_idle_timeout=SHELL_IDLE_TIMEOUT_S)
template("/etc/modprobe.d/regionhus.conf", base_disabled_modules=list(DISABLED_MODULES))
# The file is for every boot (systemd-sysctl); the live values are set now, each one
# that differs and that this host may write (a container cannot write the kernel's).
template("/etc/sysctl.d/90-regionhus.conf", base_sysctl=SYSCTL)
drift = (host.get_fact(Command, sysctl_drift_command(SYSCTL)) or "").split()
if drift:
    server.shell(
        name="Set kernel and network settings",
        commands=[f"sysctl -q -w {setting}" for setting in drift],
    )
