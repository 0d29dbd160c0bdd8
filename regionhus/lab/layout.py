"""Where the lab keeps its files: state (keys, pids, host disks) and cache (base image)."""

from __future__ import annotations

from pathlib import Path

from regionhus.paths import cache_dir, state_dir
from regionhus.transport import embedded_ssh_config


def lab_state() -> Path:
    return state_dir() / "lab"


def lab_cache() -> Path:
    return cache_dir() / "lab"


def host_dir(name: str) -> Path:
    return lab_state() / "hosts" / name


def ssh_config_path() -> Path:
    """The ssh config for lab hosts (Host <name>, key, BindInterface): for ssh, pyinfra,
    Ansible and testinfra (`--ssh-config`). The product's transport reads it there."""
    return embedded_ssh_config()


def ssh_key_path() -> Path:
    return lab_state() / "id_ed25519"


def known_hosts_path() -> Path:
    return lab_state() / "known_hosts"


def control_dir() -> Path:
    return lab_state() / "cm"


def acng_dir() -> Path:
    return lab_state() / "apt-cacher-ng"


def acng_cache() -> Path:
    return cache_dir() / "apt-cacher-ng"
