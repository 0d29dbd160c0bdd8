"""Drift between kommuner/ (what the municipalities decided) and NetBox (what exists).

Both directions: a municipality without its tenant and a tenant without its file; the
VDI pool size decided in the file against the session hosts NetBox holds; a service a
municipality takes today with no host delivering it; records the inventory cannot use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from regionhus.config import RegionConfig
from regionhus.inventory.hosts import REGION, Host, Role
from regionhus.inventory.vdi_pools import pool_findings
from regionhus.model import LifecycleStatus, ServiceName
from regionhus.netbox.client import NetBoxClient
from regionhus.netbox.source import convert, fetch_vms


@dataclass(frozen=True)
class Drift:
    kind: str
    subject: str
    message: str
    hint: str

    def format(self) -> str:
        return f"{self.kind:<22}{self.subject:<16}{self.message}\n{'':38}-> {self.hint}"


def _tenants(client: NetBoxClient, region_slug: str) -> dict[str, dict]:
    return {
        t["slug"]: t
        for t in client.list("/api/tenancy/tenants/")
        if (t.get("group") or {}).get("slug") == region_slug
    }


def tenant_drift(config: RegionConfig, tenants: dict[str, dict]) -> list[Drift]:
    out = []
    for slug, k in config.kommuner.items():
        tenant = tenants.get(slug)
        if tenant is None:
            if k.lifecycle.status != LifecycleStatus.LEFT:
                out.append(
                    Drift(
                        "missing-tenant",
                        slug,
                        f"kommuner/{slug}.yml has no tenant in NetBox",
                        "run `regionhus netbox seed`",
                    )
                )
            continue
        number = (tenant.get("custom_fields") or {}).get("kommunenummer")
        if number != k.kommunenummer:
            out.append(
                Drift(
                    "kommunenummer",
                    slug,
                    f"NetBox says {number!r}, kommuner/{slug}.yml says {k.kommunenummer!r}",
                    "correct the wrong side (the file is reviewed by pull request)",
                )
            )
    for slug in sorted(set(tenants) - set(config.kommuner) - {REGION}):
        out.append(
            Drift(
                "tenant-without-file",
                slug,
                f"tenant '{slug}' in NetBox has no kommuner/{slug}.yml",
                f"add kommuner/{slug}.yml by pull request, or remove the tenant from NetBox",
            )
        )
    return out


POOL_KINDS = {"pool-size": "vdi-pool", "pool-address": "vdi-pool-address"}


def _serving(hosts: list[Host], role: Role, slug: str | None) -> int:
    return sum(1 for h in hosts if role in h.roles and (slug is None or h.serves == slug))


def service_drift(config: RegionConfig, hosts: list[Host]) -> list[Drift]:
    # The same pools and findings as `regionhus plan` (regionhus.inventory.vdi_pools).
    out = [
        Drift(POOL_KINDS[f.kind], f.kommune, f.message, f.hint)
        for f in pool_findings(config, hosts, "NetBox")
    ]
    for service, role in (
        (ServiceName.DIRECTORY, Role.DIRECTORY),
        (ServiceName.BACKUP, Role.BACKUP),
    ):
        takers = [
            s for s, k in config.kommuner.items() if k.service_state(service, config.on) == "active"
        ]
        if takers and _serving(hosts, role, None) == 0:
            out.append(
                Drift(
                    "service-without-hosts",
                    service.value,
                    f"{len(takers)} municipality(ies) take {service.value} today "
                    f"({', '.join(takers)}), NetBox has no {role.value} host",
                    f"add a VM with role {role.value} (tenant '{REGION}') in NetBox",
                )
            )
    return out


def check(client: NetBoxClient, config: RegionConfig) -> list[Drift]:
    tenants = _tenants(client, config.region.slug)
    records, _ = fetch_vms(client, cache=None)
    conv = convert(records, set(config.kommuner))
    drift = tenant_drift(config, tenants) + service_drift(config, conv.hosts)
    drift += [
        Drift("bad-record", p.split(":")[0], p.split(":", 1)[1].strip(), "fix the record in NetBox")
        for p in conv.problems
    ]
    return drift


def as_json(drift: list[Drift], url: str) -> dict:
    return {"netbox": url, "drift": [asdict(d) for d in drift], "count": len(drift)}
