"""From a source's hosts plus kommuner/ to groups and variables for both engines.

Ansible (plugins/inventory/regionhus.py) and pyinfra (inventory/pyinfra_inventory.py)
both call `load_inventory`, so the two engines cannot disagree about a host.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from regionhus.backup import keys as backup_keys
from regionhus.config import RegionConfig, load_region
from regionhus.directory import directory_vars
from regionhus.errors import InvalidConfiguration
from regionhus.inventory.connection import connection_vars
from regionhus.inventory.host_rules import host_problems
from regionhus.inventory.hosts import REGION, Host, Network
from regionhus.inventory.sources import make_source
from regionhus.model import Kommune, ServiceName
from regionhus.validate import Finding

if TYPE_CHECKING:
    from regionhus.backup.repositories import Repository

REGIONAL_GROUP = "regional"


def group_name(prefix: str, value: str) -> str:
    """Ansible group names must be identifiers: nore-og-uvdal -> kommune_nore_og_uvdal."""
    return f"{prefix}_{value.replace('-', '_')}"


def kommune_vars(kommune: Kommune, config: RegionConfig) -> dict[str, Any]:
    data = kommune.model_dump(mode="json", by_alias=True)
    data["service_states"] = {
        service.value: kommune.service_state(service, config.on) for service in ServiceName
    }
    return data


@dataclass(frozen=True)
class Inventory:
    config: RegionConfig
    source: str
    network: Network | None
    hosts: tuple[Host, ...]

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def fqdn(self, host: Host) -> str:
        return f"{host.name}.{self.config.region.directory.dns_domain}"

    def groups_of(self, host: Host) -> list[str]:
        groups = [group_name("role", role.value) for role in host.roles]
        if host.serves == REGION:
            groups.append(REGIONAL_GROUP)
        else:
            groups.append(group_name("kommune", host.serves))
        groups.append(group_name("site", host.site))
        groups += [group_name("tag", tag) for tag in host.tags]
        return groups

    def groups(self) -> dict[str, list[str]]:
        # Every municipality has its group, even with no host of its own yet, so the
        # graph shows the whole region and plays can target any of them.
        result: dict[str, list[str]] = {
            group_name("kommune", slug): [] for slug in self.config.kommuner
        }
        for host in self.hosts:
            for group in self.groups_of(host):
                result.setdefault(group, []).append(host.name)
        return dict(sorted(result.items()))

    @cached_property
    def backup_repositories(self) -> list[Repository]:
        """Every backup repository of the region, clients from the whole inventory."""
        # Imported here: the repositories module reads the inventory's host model.
        from regionhus.backup.repositories import repositories

        names = [h.name for h in self.hosts]
        recorded = backup_keys.recorded_keys(names, backup_keys.BACKUP_CLIENT)
        return repositories(self.config, self.hosts, recorded)

    def backup_server_vars(self) -> dict[str, Any] | None:
        from regionhus.backup.repositories import backup_server

        server = backup_server(self.hosts)
        if server is None:
            return None
        return {
            "name": server.name,
            "address": str(server.address),
            "host_key": backup_keys.recorded_key(server.name, backup_keys.SSH_HOST),
        }

    def hostvars(self, host: Host) -> dict[str, Any]:
        from regionhus.backup.repositories import jobs_for

        return {
            **connection_vars(self),
            "ansible_host": str(host.address),
            "regionhus_host": {
                **host.model_dump(mode="json"),
                "fqdn": self.fqdn(host),
            },
            "regionhus_kommune": self.kommune_hostvars.get(host.serves),
            "regionhus_backup_jobs": [
                job.to_vars() for job in jobs_for(host, self.backup_repositories)
            ],
        }

    @cached_property
    def kommune_hostvars(self) -> dict[str, dict[str, Any]]:
        """Per municipality, once: its choices and directory names (hosts share them)."""
        names = self.directory_names["kommuner"]
        return {
            slug: {**kommune_vars(k, self.config), "directory": names[slug]}
            for slug, k in self.config.kommuner.items()
        }

    @cached_property
    def directory_names(self) -> dict[str, Any]:
        return directory_vars(self.config.region.directory, self.config.kommuner)

    def group_vars(self) -> dict[str, dict[str, Any]]:
        """Variables by group: small region-wide settings for every host (`all`), and the
        region's data (every municipality's choices, directory names, repositories) once,
        for the shared hosts that act on all municipalities (`regional`).

        A variable of `all` is copied into every host's variables by Ansible (and by
        `ansible-inventory --list`): every municipality's data on every host grew with
        hosts x municipalities, past 10 GB at national scale. A host of a municipality
        gets its own part through its host variables (`regionhus_kommune`,
        `regionhus_backup_jobs`).
        """
        from regionhus.backup.repositories import served

        names = self.directory_names
        region = self.config.region.model_dump(mode="json", by_alias=True)
        return {
            "all": {
                "regionhus_region": self._region_summary(region),
                # Base DN, OUs and group names (regionhus/directory.py); each municipality's
                # own names are in its hosts' regionhus_kommune.directory.
                "regionhus_directory": {k: v for k, v in names.items() if k != "kommuner"},
                "regionhus_backup_server": self.backup_server_vars(),
                "regionhus_today": self.config.on.isoformat(),
                "regionhus_inventory_source": self.source,
            },
            REGIONAL_GROUP: {
                "regionhus_region": region,
                "regionhus_kommuner": {
                    slug: kommune_vars(k, self.config) for slug, k in self.config.kommuner.items()
                },
                "regionhus_directory": names,
                # Served repositories with every client of the region (recorded keys),
                # whatever the scope of a run: see regionhus.backup.repositories.
                "regionhus_backup_repositories": [
                    repo.to_vars() for repo in served(self.backup_repositories)
                ],
            },
        }

    @staticmethod
    def _region_summary(region: dict[str, Any]) -> dict[str, Any]:
        """What a municipality's host reads of region.yml: names, the directory, who the
        regional operators are; the catalogue, costs and keys stay on the shared hosts."""
        return {
            "name": region["name"],
            "slug": region["slug"],
            "directory": region["directory"],
            "regional_operators": [
                {"username": o["username"], "name": o["name"]} for o in region["regional_operators"]
            ],
        }

    def global_vars(self) -> dict[str, Any]:
        """Every region-wide variable in one mapping (what a shared host sees)."""
        by_group = self.group_vars()
        return {**by_group["all"], **by_group[REGIONAL_GROUP]}


def check_hosts(
    hosts: list[Host], network: Network | None, config: RegionConfig, where: str
) -> list[Finding]:
    """Rules that need both the hosts and kommuner/; returns findings, touches nothing."""
    findings: list[Finding] = []

    def add(index: int, field: str, message: str, hint: str) -> None:
        findings.append(Finding(where, None, f"hosts.{index}.{field}", message, hint))

    codes = {slug: k.code for slug, k in config.kommuner.items()}
    for problem in host_problems(hosts, network, codes):
        add(problem.index, problem.field, problem.message, problem.hint)
    return findings


def load_inventory(
    root: Path | None = None, source: str | None = None, config: RegionConfig | None = None
) -> Inventory:
    """The region's hosts from the chosen source, checked against kommuner/."""
    config = config or load_region(root)
    chosen = make_source(config.root, source)
    host_set = chosen.load()
    findings = check_hosts(host_set.hosts, host_set.network, config, chosen.describe())
    if findings:
        raise InvalidConfiguration(findings)
    hosts = tuple(sorted(host_set.hosts, key=lambda h: h.name))
    return Inventory(config=config, source=chosen.name, network=host_set.network, hosts=hosts)
