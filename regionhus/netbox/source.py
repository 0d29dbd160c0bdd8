"""The NetBox inventory source: the same HostSet the embedded default gives, from NetBox.

Speed: one GraphQL query fetches every VM with exactly the fields the inventory needs
(REST with nested serializers costs 10-20x more at national scale). A re-run when
nothing changed is answered from a cache, validated by one cheap request for the newest
entry of NetBox's change log: every create, update and delete through NetBox (UI, REST,
GraphQL mutations, scripts) writes one, so an unchanged newest id means unchanged data.

Strictness: a record the engines cannot use (no primary IPv4, no role, a tenant that
kommuner/ does not know, an address used twice) is reported by name. The run stops
unless the operator asked to skip such records (--skip-bad-records or
REGIONHUS_SKIP_BAD_RECORDS=1); skipped records are still printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pydantic import ValidationError

from regionhus.errors import RegionhusError
from regionhus.inventory.embedded import EmbeddedSource
from regionhus.inventory.hosts import REGION, Host, HostSet, Role
from regionhus.netbox.client import NetBoxClient, NetBoxError, Transport
from regionhus.netbox.settings import NetBoxSettings, load_settings
from regionhus.paths import cache_dir

# 2: records carry their VM's service objects. 3: and its custom fields (data_paths).
CACHE_FORMAT = 3

# Tags are fetched per tag, not per VM: asking for `tags` on each VM costs ~0.5 s per
# 1000 VMs (a generic relation per row), the rest of the record ~0.15 s.
VM_QUERY = """
query Inventory($offset: Int!, $limit: Int!) {
  virtual_machine_list(pagination: {offset: $offset, limit: $limit}) {
    name status
    role { slug }
    tenant { slug }
    site { slug }
    primary_ip4 { address }
    custom_fields
  }
}
"""

TAGGED_QUERY = """
query Tagged($tag: String!, $offset: Int!, $limit: Int!) {
  virtual_machine_list(
    filters: {tags: {slug: {exact: $tag}}}, pagination: {offset: $offset, limit: $limit}
  ) { name }
}
"""

# NetBox caps every list (GraphQL too) at MAX_PAGE_SIZE, 1000 by default: more is
# silently cut, so the loader counts first and fetches every page.
PAGE = 1000
VM_COUNT = "/api/virtualization/virtual-machines/?limit=1&brief=1"
# tagged_items counts every object type: an upper bound for the pages of VMs per tag.
TAGS = "/api/extras/tags/?limit=1000"
# Service objects (a server's ports for its municipality's clients): one listing for
# the whole NetBox; each names its VM as `parent` (NetBox 4.3+) or `virtual_machine`.
SERVICES = "/api/ipam/services/"
# Pages in flight at once: NetBox's gunicorn has 2 workers x 2 threads here.
PARALLEL = 4

# Newest change-log entry: the cache key. `brief` keeps it to a few hundred bytes.
CHANGELOG_HEAD = "/api/core/object-changes/?ordering=-id&limit=1&brief=1"

USABLE_STATUS = "active"


class BadRecords(RegionhusError):
    """NetBox holds records the inventory cannot use; nothing was run."""

    exit_code = 3

    def __init__(self, problems: list[str], url: str) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(problems)} unusable record(s) in NetBox at {url}:\n{lines}\n"
            f"Fix them in NetBox, or run with --skip-bad-records "
            f"(REGIONHUS_SKIP_BAD_RECORDS=1) to leave them out of this run."
        )


def load_host_file(root: Path, path: Path | None = None) -> HostSet:
    """A host list in the embedded format (default: the lab region's)."""
    if path is None:
        return EmbeddedSource(root).load()
    source = EmbeddedSource(root)
    source.path = path
    return source.load()


def known_tenants(root: Path) -> set[str]:
    """Slugs of kommuner/ (file names are the slugs; the validator enforces it)."""
    return {p.stem for p in (root / "kommuner").glob("*.yml")}


@dataclass(frozen=True)
class Conversion:
    hosts: list[Host]
    problems: list[str]
    inactive: int


def _tenant(rec: dict) -> str | None:
    return (rec.get("tenant") or {}).get("slug")


def convert(records: Iterable[dict], tenants: set[str]) -> Conversion:
    """GraphQL VM records -> Hosts, and a message per record that cannot be used."""
    records = list(records)
    active = [r for r in records if str(r.get("status", "")).lower() == USABLE_STATUS]
    ips = Counter((r.get("primary_ip4") or {}).get("address", "").split("/")[0] for r in active)
    hosts, problems = [], []
    for rec in active:
        problem = _problem(rec, tenants, ips)
        if problem:
            problems.append(f"{rec['name']}: {problem}")
            continue
        try:
            hosts.append(_host(rec))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            problems.append(f"{rec['name']}: {where}: {err['msg']}")
    return Conversion(hosts, problems, len(records) - len(active))


def _problem(rec: dict, tenants: set[str], ips: Counter[str]) -> str | None:
    ip = (rec.get("primary_ip4") or {}).get("address")
    if not ip:
        return "no primary IPv4 address (assign one to eth0 and make it primary)"
    if ips[ip.split("/")[0]] > 1:
        return f"address {ip.split('/')[0]} is the primary address of another VM too"
    if not rec.get("role"):
        return f"no role (set one of: {', '.join(r.value for r in Role)})"
    if rec["role"]["slug"] not in {r.value for r in Role}:
        return f"role '{rec['role']['slug']}' is not one of: {', '.join(r.value for r in Role)}"
    tenant = _tenant(rec)
    if tenant is None:
        return f"no tenant (set the municipality it serves, or '{REGION}' for shared hosts)"
    if tenant != REGION and tenant not in tenants:
        return f"tenant '{tenant}' has no file in kommuner/ (add kommuner/{tenant}.yml)"
    if not rec.get("site"):
        return "no site"
    return None


def _host(rec: dict) -> Host:
    return Host.model_validate(
        {
            "name": rec["name"],
            "address": rec["primary_ip4"]["address"].split("/")[0],
            "roles": [rec["role"]["slug"]],
            "serves": _tenant(rec),
            "site": rec["site"]["slug"],
            "tags": sorted(t["slug"] for t in rec.get("tags") or []),
            "services": rec.get("services") or [],
            # A server's data to back up: without it, an apply from NetBox would drop
            # the server's backup key and job (the embedded source declares them).
            "data_paths": (rec.get("custom_fields") or {}).get("data_paths") or [],
        }
    )


def services_by_vm(records: Iterable[dict]) -> dict[str, list[dict]]:
    """NetBox service objects as each VM's `services` (one entry per port), by VM name.
    Services of devices are not the inventory's (it holds VMs only)."""
    found: dict[str, list[dict]] = {}
    for rec in records:
        parent = rec.get("parent") or rec.get("virtual_machine") or {}
        kind = rec.get("parent_object_type")
        if not parent.get("name") or (kind and kind != "virtualization.virtualmachine"):
            continue
        protocol = rec.get("protocol")
        protocol = protocol.get("value") if isinstance(protocol, dict) else protocol
        for port in rec.get("ports") or []:
            found.setdefault(parent["name"], []).append(
                {"name": rec["name"], "port": port, "protocol": protocol}
            )
    return found


class InventoryCache:
    """VM records of one NetBox, keyed by the newest change-log id seen with them."""

    def __init__(self, url: str, token: str) -> None:
        # The token is part of the key: another token may see other objects.
        digest = hashlib.sha256(f"{url}\0{token}".encode()).hexdigest()[:16]
        self.path = cache_dir() / "netbox" / f"inventory-{digest}.json"

    def get(self, head: int | None) -> list[dict] | None:
        if head is None:
            return None
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if data.get("format") != CACHE_FORMAT or data.get("head") != head:
            return None
        return list(data["records"])

    def put(self, head: int | None, records: list[dict]) -> None:
        if head is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": CACHE_FORMAT, "head": head, "records": records}))
            tmp.chmod(0o600)
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs speed


def changelog_head(client: NetBoxClient) -> int | None:
    results = client.get(CHANGELOG_HEAD).get("results") or []
    return int(results[0]["id"]) if results else None


def fetch_vms(client: NetBoxClient, cache: InventoryCache | None) -> tuple[list[dict], bool]:
    """Every VM record; (records, from_cache). Also proves URL and token work."""
    head = changelog_head(client)
    if cache is not None:
        cached = cache.get(head)
        if cached is not None:
            return cached, True
    records = fetch_all_vms(client)
    # Re-read the head: a change made during the query must not be cached as seen.
    if cache is not None and changelog_head(client) == head:
        cache.put(head, records)
    return records, False


def _page(client: NetBoxClient, offset: int, limit: int = PAGE) -> list[dict]:
    data = client.graphql(VM_QUERY, {"offset": offset, "limit": limit})
    return list(data["virtual_machine_list"])


def _tagged(client: NetBoxClient, tag: str, offset: int) -> list[str]:
    data = client.graphql(TAGGED_QUERY, {"tag": tag, "offset": offset, "limit": PAGE})
    return [r["name"] for r in data["virtual_machine_list"]]


MAX_PAGES = 10_000  # 10 million VMs: far beyond any region; stops a runaway walk


def _walk(fetch: Callable[[int], list]) -> list:
    """Sequential pages until an empty one."""
    out: list = []
    for _ in range(MAX_PAGES):
        page = fetch(len(out))
        if not page:
            return out
        out += page
    raise NetBoxError(f"NetBox returned more than {MAX_PAGES} pages of VMs; giving up")


def fetch_all_vms(client: NetBoxClient) -> list[dict]:
    """Every VM with its tags: counts first, then every page concurrently.

    If pages come back short (a NetBox with a smaller MAX_PAGE_SIZE) or the count moved,
    the affected list is walked sequentially to its end, so nothing is ever cut off.
    """
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        count_f = pool.submit(client.get, VM_COUNT)
        tags = [(t["slug"], int(t.get("tagged_items") or 0)) for t in client.list(TAGS)]
        count = int(count_f.result()["count"])
        vm_pages = [pool.submit(_page, client, o) for o in range(0, count, PAGE)]
        tag_pages = {
            tag: [pool.submit(_tagged, client, tag, o) for o in range(0, max(n, 1), PAGE)]
            for tag, n in tags
            if n
        }
        pages = [f.result() for f in vm_pages]
        records = [r for page in pages for r in page]
        if len(records) != count or any(len(p) != PAGE for p in pages[:-1]):
            records = _walk(lambda o: _page(client, o))
        tagged: dict[str, list[str]] = {}
        for tag, futures in tag_pages.items():
            parts = [f.result() for f in futures]
            names = [n for part in parts for n in part]
            if any(len(p) != PAGE for p in parts[:-1]) or len(parts[-1]) == PAGE:
                names = _walk(partial(_tagged, client, tag))
            for name in names:
                tagged.setdefault(name, []).append(tag)
    services = services_by_vm(client.list(SERVICES))
    for rec in records:
        rec["tags"] = [{"slug": t} for t in sorted(tagged.get(rec["name"], []))]
        rec["services"] = services.get(rec["name"], [])
    return records


Warn = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


class NetBoxSource:
    name = "netbox"

    def __init__(
        self,
        root: Path,
        settings: NetBoxSettings,
        transport: Transport | None = None,
        tenants: set[str] | None = None,
        warn: Warn = _stderr,
    ) -> None:
        self.root = root
        self.settings = settings
        self.client = NetBoxClient(settings.url, settings.token, transport)
        self.tenants = tenants
        self.warn = warn
        self.from_cache = False

    @classmethod
    def from_settings(cls, root: Path, skip_bad_records: bool | None = None) -> NetBoxSource:
        return cls(root, load_settings(skip_bad_records))

    def describe(self) -> str:
        return f"NetBox {self.settings.url}"

    def load(self) -> HostSet:
        cache = (
            InventoryCache(self.settings.url, self.settings.token)
            if self.settings.use_cache
            else None
        )
        records, self.from_cache = fetch_vms(self.client, cache)
        tenants = self.tenants if self.tenants is not None else known_tenants(self.root)
        result = convert(records, tenants)
        if result.problems:
            if not self.settings.skip_bad_records:
                raise BadRecords(result.problems, self.settings.url)
            for problem in result.problems:
                self.warn(f"skipped (--skip-bad-records): {problem}")
        # NetBox hosts are real servers: the lab network (bridge, guard route) is not theirs.
        return HostSet(network=None, hosts=result.hosts)
