"""The one transport: how each inventory source reaches hosts, and what an operator is
told when ssh or sudo fails (ssh's own messages, as OpenSSH 9 prints them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from regionhus.config import load_region
from regionhus.transport import (
    BASTION_ALIAS,
    Transport,
    access_problem,
    make_transport,
    render_region_ssh_config,
)

NETBOX = Transport(
    "netbox",
    Path("/state/ssh/region.ssh_config"),
    become=True,
    known_hosts=Path("/repo/inventory/known_hosts"),
    bastion="10.47.0.40",
)

CHANGED = """@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Host key for dc1 has changed and you have requested strict checking.
Host key verification failed.
"""


def test_changed_host_key_stops_with_the_host_and_the_pinned_file() -> None:
    problem = access_problem(255, CHANGED, "dc1", NETBOX)
    assert problem is not None
    assert problem.startswith("dc1: its host key does not match")
    assert "/repo/inventory/known_hosts" in problem and "pull request" in problem


def test_unpinned_host_says_how_to_pin_it() -> None:
    stderr = (
        "No ED25519 host key is known for dc2 and you have requested strict checking.\n"
        "Host key verification failed.\n"
    )
    problem = access_problem(255, stderr, "dc2", NETBOX)
    assert problem is not None and problem.startswith("dc2: no host key is pinned")


def test_unreachable_bastion_is_named_as_the_bastion() -> None:
    stderr = (
        "ssh: connect to host 10.47.0.40 port 22: No route to host\r\n"
        "Connection closed by UNKNOWN port 65535\r\n"
    )
    problem = access_problem(255, stderr, "backup1", NETBOX)
    assert problem == (
        "backup1: the bastion 10.47.0.40 cannot be reached: "
        "ssh: connect to host 10.47.0.40 port 22: No route to host"
    )


def test_bastion_that_cannot_reach_the_host_says_so() -> None:
    stderr = (
        "channel 0: open failed: connect failed: Connection timed out\n"
        "stdio forwarding failed\n"
        "Connection closed by UNKNOWN port 65535\n"
    )
    problem = access_problem(255, stderr, "vdi-kongsberg-1", NETBOX)
    assert problem is not None
    assert problem.startswith("vdi-kongsberg-1: the bastion 10.47.0.40 could not open")


def test_bastion_refusing_the_operator_is_named() -> None:
    stderr = "drift.kari@10.47.0.40: Permission denied (publickey).\n"
    problem = access_problem(255, stderr, "dc1", NETBOX)
    assert problem is not None
    assert problem.startswith("dc1: the bastion 10.47.0.40 refused your login")


def test_expired_account_is_not_blamed_on_the_bastion() -> None:
    stderr = (
        "Your account has expired; please contact your system administrator.\n"
        "Connection closed by UNKNOWN port 65535\n"
    )
    problem = access_problem(255, stderr, "dc1", NETBOX)
    assert problem == (
        "dc1: your account may not log in there: "
        "Your account has expired; please contact your system administrator."
    )


def test_operator_without_sudo_is_told_per_host() -> None:
    problem = access_problem(1, "sudo: a password is required\n", "dc2", NETBOX)
    assert problem is not None and problem.startswith("dc2: the operator account has no")


def test_a_failing_command_is_not_an_access_problem() -> None:
    assert access_problem(1, "grep: no such file\n", "dc1", NETBOX) is None
    assert access_problem(0, "", "dc1", NETBOX) is None


def test_operator_commands_run_through_sudo_without_a_password_prompt() -> None:
    argv = NETBOX.argv("dc1", ["samba-tool", "group", "listmembers", "x y"])
    assert argv[:5] == ["ssh", "-F", "/state/ssh/region.ssh_config", "-n", "dc1"]
    assert argv[-1] == "sudo -n -- sh -c 'samba-tool group listmembers '\"'\"'x y'\"'\"''"
    lab = Transport("embedded", Path("/lab/ssh_config"), become=False)
    assert lab.argv("dc1", "hostname")[-1] == "hostname"
    assert "-n" not in lab.argv("dc1", "cat > f", stdin=True)


def test_both_engines_get_the_same_connection() -> None:
    assert NETBOX.ansible_vars() == {
        "ansible_ssh_common_args": "-F /state/ssh/region.ssh_config",
        "ansible_become": True,
        "ansible_become_method": "sudo",
    }
    assert NETBOX.pyinfra_vars() == {
        "ssh_config_file": "/state/ssh/region.ssh_config",
        "_sudo": True,
    }
    lab = Transport("embedded", Path("/lab/ssh_config"), become=False)
    assert lab.ansible_vars()["ansible_user"] == "root"
    assert lab.pyinfra_vars()["ssh_user"] == "root"


def test_region_ssh_config_pins_keys_jumps_and_keeps_the_operators_own(tmp_path: Path) -> None:
    own = tmp_path / "config"
    own.write_text("Host *\n    User drift.kari\n")
    text = render_region_ssh_config(
        hosts=[("dc1", "10.0.5.11"), ("backup1", "10.0.5.21")],
        known_hosts=tmp_path / "known_hosts",
        bastion=("bastion.example.org", 2222, "jump"),
        operator_config=own,
    )
    (tmp_path / "ssh_config").write_text(text)
    known = tmp_path / "known_hosts"
    resolved = ssh_g(tmp_path / "ssh_config", "dc1")
    assert resolved["hostname"] == "10.0.5.11"
    assert resolved["proxyjump"] == BASTION_ALIAS
    assert resolved["stricthostkeychecking"] == "true"
    assert resolved["userknownhostsfile"] == str(known)
    assert resolved["user"] == "drift.kari"  # the operator's own config
    assert resolved["batchmode"] == "yes"
    jump = ssh_g(tmp_path / "ssh_config", BASTION_ALIAS)
    assert (jump["hostname"], jump["port"], jump["user"]) == ("bastion.example.org", "2222", "jump")
    assert jump["userknownhostsfile"] == str(known)
    # The operator's config cannot loosen host key checking: ours is read first.
    own.write_text("Host *\n    StrictHostKeyChecking no\n")
    assert ssh_g(tmp_path / "ssh_config", "dc1")["stricthostkeychecking"] == "true"


def test_pyinfra_looks_up_the_bastions_key_as_it_is_pinned(tmp_path: Path) -> None:
    """pyinfra (paramiko) finds the bastion's pinned key under its plain address: a hop
    port it reads as "22" would make paramiko look for "[address]:22" and stop every run."""
    from paramiko import SSHConfig
    from pyinfra.connectors.sshuserclient.client import SSHClient

    text = render_region_ssh_config(
        hosts=[("dc1", "10.0.5.11")],
        known_hosts=tmp_path / "known_hosts",
        bastion=("10.0.5.2", 22, None),
        operator_config=tmp_path / "none",
    )
    hostname, hop = SSHClient.derive_shorthand(SSHConfig.from_text(text), BASTION_ALIAS)
    assert (hostname, hop["port"]) == (BASTION_ALIAS, 22)
    assert ssh_g(write(tmp_path / "ssh_config", text), BASTION_ALIAS)["port"] == "22"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def ssh_g(config: Path, host: str) -> dict[str, str]:
    out = subprocess.run(
        ["ssh", "-G", "-F", str(config), host], capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_netbox_transport_reads_region_access(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ipaddress import IPv4Address

    monkeypatch.setenv("REGIONHUS_STATE_DIR", str(tmp_path))
    config = load_region(repo)
    transport = make_transport("netbox", config, [("dc1", IPv4Address("10.0.5.11"))])
    assert transport.become and transport.ssh_config.is_file()
    assert transport.known_hosts == (repo / config.region.access.known_hosts).resolve()
    assert oct(transport.ssh_config.stat().st_mode & 0o777) == "0o600"
    lab = make_transport("embedded", config, [("dc1", IPv4Address("10.47.0.11"))])
    assert not lab.become and lab.ssh_config == tmp_path / "lab" / "ssh_config"


def test_through_a_bastion_at_most_as_many_hosts_at_once_as_its_sshd_accepts() -> None:
    # OpenSSH's default MaxStartups drops logins at random beyond 10 unauthenticated:
    # the rehearsal's whole-region apply lost 4 of 15 hosts when pyinfra opened all at once.
    assert NETBOX.parallel is not None and NETBOX.parallel < 10
    assert Transport("embedded", Path("/lab/ssh_config"), become=False).parallel is None
