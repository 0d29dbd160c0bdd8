"""`regionhus validate` checks the embedded host list too, with file, line and field.

The same rules run again on whatever a source delivers (inventory.build.check_hosts);
here they point at the line of `inventory/lab-region.hosts.yml` to correct.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import ValidationError

from regionhus.inventory.hosts import REGION, HostSet, Role
from regionhus.validate import Finding, ParsedTree, schema_findings
from regionhus.yamlfile import YamlSyntaxError, load_yaml

HOST_FILE = Path("inventory") / "lab-region.hosts.yml"
# A host that joins AD (a DC, an sssd client) gets a computer account named after its
# first 15 characters (NetBIOS): two longer names could share one account.
NETBIOS_MAX = 15
JOINS_AD = {Role.DIRECTORY, Role.VDI}


def host_file_findings(root: Path, tree: ParsedTree) -> list[Finding]:
    path = root / HOST_FILE
    rel = str(HOST_FILE)
    if not path.exists():
        return []  # a NetBox-only checkout; the source's hosts are checked when loaded
    try:
        doc = load_yaml(path)
    except YamlSyntaxError as exc:
        return [Finding(rel, exc.line, "", exc.message, "fix the YAML syntax")]
    if not isinstance(doc.data, dict):
        return [Finding(rel, 1, "", "the file must be a mapping of keys")]
    try:
        hosts = HostSet.model_validate(doc.data)
    except ValidationError as exc:
        return schema_findings(HostSet, doc, rel, exc)
    findings: list[Finding] = []

    def add(index: int, field: str, message: str, hint: str) -> None:
        loc = ("hosts", index, field)
        findings.append(Finding(rel, doc.line_of(loc), f"hosts.{index}.{field}", message, hint))

    slugs = {k.slug for k, _ in tree.kommuner.values()} | tree.file_slugs
    names = Counter(h.name for h in hosts.hosts)
    addresses = Counter(h.address for h in hosts.hosts)
    net = hosts.network
    for index, host in enumerate(hosts.hosts):
        if names[host.name] > 1:
            add(index, "name", f"host name '{host.name}' is used more than once", "rename one")
        if addresses[host.address] > 1:
            add(
                index,
                "address",
                f"{host.name}: address {host.address} is used more than once",
                "give each host its own address",
            )
        if host.serves != REGION and slugs and host.serves not in slugs:
            add(
                index,
                "serves",
                f"{host.name} serves '{host.serves}', unknown in kommuner/",
                f"write '{REGION}' or one of: {', '.join(sorted(slugs))}",
            )
        if JOINS_AD & set(host.roles) and len(host.name) > NETBIOS_MAX:
            add(
                index,
                "name",
                f"host name '{host.name}' is {len(host.name)} characters; a host that joins "
                f"AD may have at most {NETBIOS_MAX} (its NetBIOS computer name)",
                f"shorten it to {NETBIOS_MAX} characters, e.g. vdi-kongsberg-3",
            )
        if net and host.address not in net.subnet:
            add(
                index,
                "address",
                f"{host.name}: {host.address} is outside {net.subnet}",
                f"choose an address in {net.subnet}",
            )
        elif net and host.address in (
            net.bridge_address,
            net.subnet.network_address,
            net.subnet.broadcast_address,
        ):
            add(
                index,
                "address",
                f"{host.name}: {host.address} is reserved in the lab network",
                "choose another address",
            )
    if net and net.bridge_address not in net.subnet:
        findings.append(
            Finding(
                rel,
                doc.line_of(("network", "bridge_address")),
                "network.bridge_address",
                f"the bridge address {net.bridge_address} is outside {net.subnet}",
                f"choose an address in {net.subnet}",
            )
        )
    return findings
