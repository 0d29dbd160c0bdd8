"""How the engines reach a host: the lab's ssh config for the embedded lab region.

With NetBox as the source the hosts are real servers, reached with the operator's
own ssh setup; nothing is added then.
"""

from __future__ import annotations

from typing import Any

from regionhus.lab.layout import known_hosts_path, ssh_config_path, ssh_key_path


def lab_connection_vars() -> dict[str, Any]:
    config = ssh_config_path()
    return {
        # Ansible
        "ansible_user": "root",
        "ansible_ssh_common_args": f"-F {config}",
        # pyinfra (paramiko reads the same config; it ignores BindInterface, so every
        # command first checks the lab bridge: regionhus.lab.require_lab_bridge)
        "ssh_user": "root",
        "ssh_config_file": str(config),
        "ssh_key": str(ssh_key_path()),
        "ssh_known_hosts_file": str(known_hosts_path()),
        "ssh_strict_host_key_checking": "accept-new",
    }


def connection_vars(source: str) -> dict[str, Any]:
    return lab_connection_vars() if source == "embedded" else {}
