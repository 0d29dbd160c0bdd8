"""Which backup repositories the region has, who writes to each, and each host's jobs.

The one place this is decided. The inventory exports it to both engines
(regionhus_backup_repositories, regionhus_backup_jobs, regionhus_backup_server), the
vault check asks it which passphrases must exist, and `backup status` which
repositories must be fresh. It is computed from region.yml, kommuner/ and the whole
inventory, never from the hosts of one run: a run scoped to one municipality must
leave every other municipality's repository as it is.

Keys that only a host can know (a client's public key, the server's host key) come
from key records (regionhus.backup.keys) written when that host was applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from regionhus.config import RegionConfig
from regionhus.inventory.hosts import REGION, Host, Role
from regionhus.model import BackupRetention, BackupSchedule, ServiceName

REGION_REPOSITORY = "region"


class RepositoryState(StrEnum):
    """What the platform does with a repository.

    planned: chosen in kommuner/ but not started yet: nothing on any host, but its
             passphrase must exist so the start date needs no vault edit.
    active:  served; its clients write to it on their schedule.
    ended:   kept and pruned by the server; no client key may write to it.
    """

    PLANNED = "planned"
    ACTIVE = "active"
    ENDED = "ended"

    @property
    def served(self) -> bool:
        """Whether the backup server holds it (user, directory, guard, prune)."""
        return self is not RepositoryState.PLANNED


_FROM_SERVICE_STATE = {
    "none": RepositoryState.PLANNED,
    "active": RepositoryState.ACTIVE,
    "ended": RepositoryState.ENDED,
}


class JobKind(StrEnum):
    HOME = "home"  # a VDI host: the municipality's users' home directories
    SAMBA = "samba"  # a domain controller: the region's Active Directory
    DATA = "data"  # a municipality's server: its declared data paths (inventory data_paths)


@dataclass(frozen=True)
class Client:
    host: str
    address: str
    public_key: str | None  # None: not recorded yet (the host was never applied)


@dataclass(frozen=True)
class Repository:
    name: str  # municipality slug, or "region"
    kommune: str | None  # None for the region's own repository
    state: RepositoryState
    quota_gb: int
    retention: BackupRetention
    schedule: BackupSchedule
    clients: tuple[Client, ...] = ()

    def to_vars(self) -> dict[str, Any]:
        """The shape the backup_server role takes (backup_server_repositories)."""
        return {
            "name": self.name,
            "kommune": self.kommune,
            "state": self.state.value,
            "quota_gb": self.quota_gb,
            "retention": self.retention.model_dump(mode="json"),
            "schedule": self.schedule.model_dump(mode="json"),
            "clients": [
                {"host": c.host, "address": c.address, "public_key": c.public_key}
                for c in self.clients
            ],
        }


@dataclass(frozen=True)
class Job:
    repository: str
    kind: JobKind
    schedule: BackupSchedule
    paths: tuple[str, ...] = ()  # a data job's paths (home and samba: the role's own)

    def to_vars(self) -> dict[str, Any]:
        """The shape the backup_client role takes (backup_client_jobs)."""
        found: dict[str, Any] = {
            "repository": self.repository,
            "kind": self.kind.value,
            "schedule": self.schedule.model_dump(mode="json"),
        }
        if self.kind is JobKind.DATA:
            found["paths"] = list(self.paths)
        return found


def _writes_to(host: Host) -> list[tuple[str, JobKind]]:
    """(repository, kind) a host writes to by its roles, whatever the repository's state."""
    found = []
    if Role.DIRECTORY in host.roles:
        found.append((REGION_REPOSITORY, JobKind.SAMBA))
    if Role.VDI in host.roles and host.serves != REGION:
        found.append((host.serves, JobKind.HOME))
    # A server writes its data into its own municipality's repository, never another's.
    if Role.SERVER in host.roles and host.serves != REGION and host.data_paths:
        found.append((host.serves, JobKind.DATA))
    return found


def repositories(
    config: RegionConfig,
    hosts: Iterable[Host] = (),
    client_keys: Mapping[str, str] | None = None,
) -> list[Repository]:
    """Every repository of the region (any state), region first, with its clients.

    `hosts` is the whole inventory; `client_keys` maps host name to its recorded
    public key. Without hosts the repositories have no clients (secrets, status).
    """
    keys = client_keys or {}
    clients: dict[str, list[Client]] = {}
    for host in sorted(hosts, key=lambda h: h.name):
        for name, _ in _writes_to(host):
            clients.setdefault(name, []).append(
                Client(host.name, str(host.address), keys.get(host.name))
            )
    backup = config.region.backup
    found = [
        Repository(
            name=REGION_REPOSITORY,
            kommune=None,
            state=RepositoryState.ACTIVE,
            quota_gb=backup.quota_gb,
            retention=backup.retention,
            schedule=backup.schedule,
            clients=tuple(clients.get(REGION_REPOSITORY, [])),
        )
    ]
    for slug, kommune in sorted(config.kommuner.items()):
        choice = kommune.services.backup
        if choice is None:
            continue
        state = _FROM_SERVICE_STATE[kommune.service_state(ServiceName.BACKUP, config.on)]
        found.append(
            Repository(
                name=slug,
                kommune=slug,
                state=state,
                quota_gb=choice.quota_gb,
                retention=choice.retention,
                schedule=choice.schedule,
                clients=tuple(clients.get(slug, [])),
            )
        )
    return found


def served(repos: Iterable[Repository]) -> list[Repository]:
    """The repositories the backup server holds (active and ended)."""
    return [r for r in repos if r.state.served]


def jobs_for(host: Host, repos: Iterable[Repository]) -> list[Job]:
    """What `host` backs up: one job per active repository it writes to."""
    by_name = {r.name: r for r in repos}
    jobs = []
    for name, kind in _writes_to(host):
        repo = by_name.get(name)
        if repo is not None and repo.state is RepositoryState.ACTIVE:
            paths = tuple(host.data_paths) if kind is JobKind.DATA else ()
            jobs.append(Job(name, kind, repo.schedule, paths))
    return jobs


def backup_server(hosts: Iterable[Host]) -> Host | None:
    """The region's backup server: the first host with the backup role, by name."""
    servers = sorted((h for h in hosts if Role.BACKUP in h.roles), key=lambda h: h.name)
    return servers[0] if servers else None
