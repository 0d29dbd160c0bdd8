"""The VDI pools: one per municipality that takes (or took) VDI, as the broker sees them.

A pool is the municipality's session hosts (role `vdi`, `serves: <slug>`) behind one
name in the regional AD DNS (`vdi-<slug>.<dns domain>`) and one address on the
gateway (`services.vdi.pool_address` in kommuner/<slug>.yml). Each host is `active`
(takes new sessions) or `draining` (no new sessions, its running ones go on): draining
when the host is tagged `draining` or the municipality's VDI is no longer active.

Pure functions of the configuration and the host list, so the broker's configuration,
the firewall, `plan`, `netbox check` and the audit read the same pools.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from regionhus.config import RegionConfig
from regionhus.inventory.hosts import Host, Role
from regionhus.model import Kommune, ServiceName

DRAINING_TAG = "draining"
ACTIVE = "active"
DRAINING = "draining"


def pool_name(slug: str, dns_domain: str) -> str:
    """The pool's DNS name: what users type, and a name on every pool host's certificate."""
    return f"vdi-{slug}.{dns_domain}"


@dataclass(frozen=True)
class PoolMember:
    name: str
    address: IPv4Address
    state: str  # ACTIVE | DRAINING

    def to_vars(self) -> dict[str, Any]:
        return {"name": self.name, "address": str(self.address), "state": self.state}


@dataclass(frozen=True)
class Pool:
    slug: str
    name: str  # DNS name (FQDN)
    address: IPv4Address | None  # on the gateway; None: not declared yet
    state: str  # the municipality's VDI: active | ended
    declared_size: int  # pool_size while active, 0 once ended
    members: tuple[PoolMember, ...]
    client_networks: tuple[IPv4Network, ...]

    @property
    def size_matches(self) -> bool:
        return self.declared_size == len(self.members)

    def to_vars(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "address": str(self.address) if self.address else None,
            "state": self.state,
            "declared_size": self.declared_size,
            "members": [m.to_vars() for m in self.members],
            "client_networks": [str(n) for n in self.client_networks],
        }


def _client_networks(kommune: Kommune) -> tuple[IPv4Network, ...]:
    # `client_networks` comes with the servers' issue; until a municipality declares
    # any, its pool is reached only from the operations network.
    return tuple(getattr(kommune, "client_networks", None) or ())


def _member(host: Host, pool_active: bool) -> PoolMember:
    state = ACTIVE if pool_active and DRAINING_TAG not in host.tags else DRAINING
    return PoolMember(host.name, host.address, state)


def vdi_pools(config: RegionConfig, hosts: Iterable[Host]) -> list[Pool]:
    """Every pool with a reason to exist: VDI active or ended (its hosts drain out), or
    session hosts serving the municipality (a pool the files do not declare)."""
    vdi_hosts = [h for h in hosts if Role.VDI in h.roles]
    pools = []
    for slug, kommune in config.kommuner.items():
        state = kommune.service_state(ServiceName.VDI, config.on)
        members = sorted((h for h in vdi_hosts if h.serves == slug), key=lambda h: h.name)
        if state == "none" and not members:
            continue
        choice = kommune.services.vdi
        declared = choice.pool_size if choice and state == "active" else 0
        pools.append(
            Pool(
                slug=slug,
                name=pool_name(slug, config.region.directory.dns_domain),
                # getattr: files from before pool_address existed load as "not declared".
                address=getattr(choice, "pool_address", None) if choice else None,
                state=state,
                declared_size=declared,
                members=tuple(_member(h, state == "active") for h in members),
                client_networks=_client_networks(kommune),
            )
        )
    return pools


@dataclass(frozen=True)
class PoolFinding:
    """A pool that differs from what kommuner/ declares."""

    kommune: str
    kind: str  # pool-size | pool-address
    message: str
    hint: str

    def to_json(self) -> dict[str, str]:
        return {
            "kommune": self.kommune,
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
        }


def pool_findings(config: RegionConfig, hosts: Iterable[Host], where: str) -> list[PoolFinding]:
    """Pools whose session host count is not `pool_size`, and pools the broker cannot
    serve (no address). `where` names the host source ("the inventory", "NetBox")."""
    findings = []
    for pool in vdi_pools(config, hosts):
        have = len(pool.members)
        if not pool.size_matches:
            findings.append(
                PoolFinding(
                    pool.slug,
                    "pool-size",
                    f"pool_size {pool.declared_size} in kommuner/{pool.slug}.yml, "
                    f"{have} session host(s) in {where}",
                    f"add or retire session hosts in {where} (or change pool_size)",
                )
            )
        if pool.address is None and pool.state == "active":
            findings.append(
                PoolFinding(
                    pool.slug,
                    "pool-address",
                    f"the pool {pool.name} has no address: the broker does not serve it",
                    f"add services.vdi.pool_address to kommuner/{pool.slug}.yml",
                )
            )
    return findings


def main() -> int:
    """`python -m regionhus.inventory.vdi_pools`: the region's pools as one JSON list,
    for the plays (the broker's configuration, the session hosts' certificate names)."""
    from regionhus.inventory.build import load_inventory

    inventory = load_inventory()
    json.dump([p.to_vars() for p in vdi_pools(inventory.config, inventory.hosts)], sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
