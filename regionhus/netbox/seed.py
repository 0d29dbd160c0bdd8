"""Load a region (kommuner/ plus a host list) into NetBox, idempotently and in bulk.

The data model in NetBox:
- tenant group = the region; one tenant per municipality with custom field
  `kommunenummer`, plus one tenant `region` for the shared hosts of the regional house.
  Shared hosts get that explicit tenant rather than none, so "no tenant" stays an error
  a drift check can catch (someone forgot to set it) instead of meaning "shared";
- sites: `regionalt-hus` and one per municipality (its local presence);
- cluster type + cluster `regionalt-hus` scoped to the regional house's site;
- VM roles as the hosts have them (directory, backup, vdi, monitoring, ...), platform
  debian-12, tags from the host list;
- per host: a VM, interface eth0, its IPv4 address assigned to eth0 and set primary.

Every object type is read once, then missing objects are created and differing ones
updated with one bulk request per 500 objects (one-by-one took ~9 minutes for 3,570
VMs). Nothing is ever deleted: `regionhus netbox check` reports what is extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from regionhus.config import RegionConfig
from regionhus.inventory.hosts import REGION, Host, HostSet
from regionhus.netbox.client import NetBoxClient

REGIONAL_SITE = "regionalt-hus"
CLUSTER = "regionalt-hus"
CLUSTER_TYPE = "regionhus-vm"
PLATFORM = "debian-12"
INTERFACE = "eth0"
ROLE_COLORS = {"directory": "2196f3", "backup": "795548", "vdi": "4caf50", "monitoring": "ff9800"}


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    kommunenummer: str | None


@dataclass
class SeedPlan:
    region_slug: str
    region_name: str
    tenants: list[TenantSpec]
    hosts: list[Host]
    prefix_length: int = 24


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())

    def summary(self) -> str:
        head = f"{self.total_created} created, {self.total_updated} updated"
        parts = [
            f"{kind}: +{self.created.get(kind, 0)} ~{self.updated.get(kind, 0)}"
            for kind in self.created
            if self.created.get(kind) or self.updated.get(kind)
        ]
        return head + (f" ({'; '.join(parts)})" if parts else "")


def plan_from_region(config: RegionConfig, host_set: HostSet) -> SeedPlan:
    tenants = [TenantSpec(k.slug, k.name, k.kommunenummer) for k in config.kommuner.values()]
    prefix = host_set.network.subnet.prefixlen if host_set.network else 32
    return SeedPlan(config.region.slug, config.region.name, tenants, host_set.hosts, prefix)


def _norm(value: Any) -> Any:
    """An existing record's field, in the shape we send: ids for objects, values for choices."""
    if isinstance(value, dict):
        if "id" in value:
            return value["id"]
        if "value" in value and "label" in value:
            return value["value"]
        return value
    if isinstance(value, list):
        return sorted(_norm(v) for v in value)
    return value


def _differs(existing: dict, desired: dict) -> bool:
    for key, want in desired.items():
        have = existing.get(key)
        if key == "custom_fields":
            if any((have or {}).get(k) != v for k, v in want.items()):
                return True
        elif isinstance(want, list):
            if _norm(have) != sorted(want):
                return True
        elif _norm(have) != want:
            return True
    return False


class Seeder:
    def __init__(self, client: NetBoxClient) -> None:
        self.nb = client
        self.report = SeedReport()

    def ensure(
        self, kind: str, path: str, desired: Iterable[dict], key: Any = "slug"
    ) -> dict[Any, dict]:
        """Make `desired` exist at `path`; returns every record there by key."""
        keyfn = key if callable(key) else (lambda r, k=key: _norm(r[k]))
        existing = {keyfn(r): r for r in self.nb.list(path)}
        creates, updates = [], []
        for want in desired:
            have = existing.get(keyfn(want))
            if have is None:
                creates.append(want)
            elif _differs(have, want):
                updates.append({"id": have["id"], **want})
        for rec in self.nb.bulk("POST", path, creates) if creates else []:
            existing[keyfn(rec)] = rec
        for rec in self.nb.bulk("PATCH", path, updates) if updates else []:
            existing[keyfn(rec)] = rec
        self.report.created[kind] = self.report.created.get(kind, 0) + len(creates)
        self.report.updated[kind] = self.report.updated.get(kind, 0) + len(updates)
        return existing

    def run(self, plan: SeedPlan) -> SeedReport:
        ids = self._taxonomy(plan)
        vms = self._vms(plan, ids)
        self._addresses(plan, ids, vms)
        self._services(plan, vms)
        return self.report

    def _services(self, plan: SeedPlan, vms: dict[Any, dict]) -> None:
        """Each host's declared services as NetBox service objects on its VM."""
        desired = [
            {
                "parent_object_type": "virtualization.virtualmachine",
                "parent_object_id": vms[h.name]["id"],
                "name": s.name,
                "protocol": s.protocol.value,
                "ports": [s.port],
            }
            for h in plan.hosts
            for s in h.services
        ]
        if desired:
            self.ensure(
                "services",
                "/api/ipam/services/",
                desired,
                # ports is a list: a tuple in the key (a dict key must be hashable).
                key=lambda r: (_norm(r["parent_object_id"]), r["name"], tuple(_norm(r["ports"]))),
            )

    def _taxonomy(self, plan: SeedPlan) -> dict[str, dict[str, int]]:
        self.ensure(
            "custom fields",
            "/api/extras/custom-fields/",
            [
                {
                    "name": "kommunenummer",
                    "label": "Kommunenummer",
                    "type": "text",
                    "object_types": ["tenancy.tenant"],
                    "validation_regex": r"^\d{4}$",
                    "description": "The official four-digit municipality number",
                },
                {
                    "name": "data_paths",
                    "label": "Data paths",
                    "type": "json",
                    "object_types": ["virtualization.virtualmachine"],
                    "description": "A municipality server's data, backed up into the "
                    "municipality's own repository (a JSON list of absolute paths)",
                },
            ],
            key="name",
        )
        tags = sorted({t for h in plan.hosts for t in h.tags})
        tag_ids = self._ids(
            self.ensure("tags", "/api/extras/tags/", [{"name": t, "slug": t} for t in tags])
        )
        group = self.ensure(
            "tenant groups",
            "/api/tenancy/tenant-groups/",
            [{"name": plan.region_name, "slug": plan.region_slug}],
        )[plan.region_slug]["id"]
        tenants = [
            {
                "name": f"{plan.region_name} (felles)",
                "slug": REGION,
                "group": group,
                "description": "Shared hosts of the regional house",
            }
        ]
        tenants += [
            {
                "name": t.name,
                "slug": t.slug,
                "group": group,
                "custom_fields": {"kommunenummer": t.kommunenummer},
            }
            for t in plan.tenants
        ]
        tenant_ids = self._ids(self.ensure("tenants", "/api/tenancy/tenants/", tenants))
        sites = [
            {
                "name": "Regionalt hus",
                "slug": REGIONAL_SITE,
                "status": "active",
                "tenant": tenant_ids[REGION],
            }
        ]
        sites += [
            {"name": t.name, "slug": t.slug, "status": "active", "tenant": tenant_ids[t.slug]}
            for t in plan.tenants
        ]
        sites += [
            {"name": s, "slug": s, "status": "active"}
            for s in sorted({h.site for h in plan.hosts} - {s["slug"] for s in sites})
        ]
        site_ids = self._ids(self.ensure("sites", "/api/dcim/sites/", sites))
        ctype = self.ensure(
            "cluster types",
            "/api/virtualization/cluster-types/",
            [{"name": "Regionhus VM", "slug": CLUSTER_TYPE}],
        )[CLUSTER_TYPE]["id"]
        cluster = self.ensure(
            "clusters",
            "/api/virtualization/clusters/",
            [
                {
                    "name": CLUSTER,
                    "type": ctype,
                    "status": "active",
                    "tenant": tenant_ids[REGION],
                    "scope_type": "dcim.site",
                    "scope_id": site_ids[REGIONAL_SITE],
                }
            ],
            key="name",
        )[CLUSTER]["id"]
        roles = sorted({r.value for h in plan.hosts for r in h.roles})
        role_ids = self._ids(
            self.ensure(
                "roles",
                "/api/dcim/device-roles/",
                [
                    {"name": r, "slug": r, "vm_role": True, "color": ROLE_COLORS.get(r, "9e9e9e")}
                    for r in roles
                ],
            )
        )
        platform = self.ensure(
            "platforms", "/api/dcim/platforms/", [{"name": "Debian 12", "slug": PLATFORM}]
        )[PLATFORM]["id"]
        return {
            "tag": tag_ids,
            "tenant": tenant_ids,
            "site": site_ids,
            "role": role_ids,
            "one": {"cluster": cluster, "platform": platform},
        }

    @staticmethod
    def _ids(records: dict[Any, dict]) -> dict[Any, int]:
        return {k: r["id"] for k, r in records.items()}

    def _vms(self, plan: SeedPlan, ids: dict[str, dict[str, int]]) -> dict[Any, dict]:
        desired = []
        for h in plan.hosts:
            if len(h.roles) > 1:
                # A NetBox VM has one role; the rest would be lost on the way back.
                raise ValueError(f"{h.name}: NetBox holds one role per VM, not {h.roles}")
            desired.append(
                {
                    "name": h.name,
                    "status": "active",
                    "site": ids["site"][h.site],
                    "cluster": ids["one"]["cluster"] if h.site == REGIONAL_SITE else None,
                    "role": ids["role"][h.roles[0].value],
                    "tenant": ids["tenant"][h.serves],
                    "platform": ids["one"]["platform"],
                    "tags": [ids["tag"][t] for t in h.tags],
                    # None, not []: NetBox stores an unset field as null (no update).
                    "custom_fields": {"data_paths": list(h.data_paths) or None},
                }
            )
        return self.ensure(
            "virtual machines", "/api/virtualization/virtual-machines/", desired, key="name"
        )

    def _addresses(
        self, plan: SeedPlan, ids: dict[str, dict[str, int]], vms: dict[Any, dict]
    ) -> None:
        def iface_key(r: dict) -> tuple[int, str]:
            return (_norm(r["virtual_machine"]), r["name"])

        ifaces = self.ensure(
            "interfaces",
            "/api/virtualization/interfaces/",
            [{"virtual_machine": vms[h.name]["id"], "name": INTERFACE} for h in plan.hosts],
            key=iface_key,
        )

        def ip_key(r: dict) -> IPv4Address:
            return IPv4Address(r["address"].split("/")[0])

        ips = self.ensure(
            "IP addresses",
            "/api/ipam/ip-addresses/",
            [
                {
                    "address": f"{h.address}/{plan.prefix_length}",
                    "status": "active",
                    "tenant": ids["tenant"][h.serves],
                    "assigned_object_type": "virtualization.vminterface",
                    "assigned_object_id": ifaces[(vms[h.name]["id"], INTERFACE)]["id"],
                }
                for h in plan.hosts
            ],
            key=ip_key,
        )
        self.ensure(
            "virtual machines",
            "/api/virtualization/virtual-machines/",
            [{"name": h.name, "primary_ip4": ips[h.address]["id"]} for h in plan.hosts],
            key="name",
        )


def seed(client: NetBoxClient, plan: SeedPlan) -> SeedReport:
    return Seeder(client).run(plan)
