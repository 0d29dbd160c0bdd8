"""`regionhus validate` checks the embedded host list too, with file, line and field.

The same rules run again on whatever a source delivers (inventory.build.check_hosts);
here they point at the line of `inventory/lab-region.hosts.yml` to correct.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

from pydantic import ValidationError

from regionhus.inventory.host_rules import host_problems
from regionhus.inventory.hosts import HostSet
from regionhus.validate import Finding, ParsedTree, schema_findings
from regionhus.yamlfile import YamlSyntaxError, load_yaml

HOST_FILE = Path("inventory") / "lab-region.hosts.yml"


def _client_networks_outside(root: Path, tree: ParsedTree, subnet: IPv4Network) -> list[Finding]:
    """A municipality's client network inside the hosts' network would open its
    servers' service ports to every host of the region."""
    findings = []
    for path, (kommune, doc) in tree.kommuner.items():
        for index, network in enumerate(kommune.client_networks):
            if network.overlaps(subnet):
                loc = ("client_networks", index)
                findings.append(
                    Finding(
                        str(path.relative_to(root)) if path.is_relative_to(root) else str(path),
                        doc.line_of(loc),
                        f"client_networks.{index}",
                        f"{network} overlaps the hosts' network {subnet} ({HOST_FILE})",
                        "write the network the municipality's users sit in, outside the "
                        "hosts' network",
                    )
                )
    return findings


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

    # A file that did not parse still names a municipality (no code to check against).
    codes: dict[str, str | None] = {slug: None for slug in tree.file_slugs}
    codes |= {k.slug: k.code for k, _ in tree.kommuner.values()}
    net = hosts.network
    for problem in host_problems(hosts.hosts, net, codes or None):
        add(problem.index, problem.field, problem.message, problem.hint)
    if net:
        findings += _client_networks_outside(root, tree, net.subnet)
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
