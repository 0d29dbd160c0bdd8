"""What an inventory source delivers: the hosts of the region and the lab network."""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated

from pydantic import Field, StringConstraints

from regionhus.model import SLUG_PATTERN, StrictModel

REGION = "region"  # `serves` value of shared hosts of the regional house

HostName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
Tag = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]


class Role(StrEnum):
    DIRECTORY = "directory"
    BACKUP = "backup"
    VDI = "vdi"
    # The regional house's gateway: the VDI broker (HAProxy) with the pools' addresses.
    GATEWAY = "gateway"
    # A municipality's own application server (roles/kommune_server).
    SERVER = "server"
    # The regional house's monitoring: Prometheus, Alertmanager, probers (roles/monitoring).
    MONITORING = "monitoring"


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class HostService(StrictModel):
    """A port a host serves to its municipality's clients (NetBox: a service object)."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,49}$")]
    port: Annotated[int, Field(ge=1, le=65535)]
    protocol: Protocol = Protocol.TCP


# An absolute path without `..`, spaces or shell characters: it ends up in a backup
# job and a systemd unit.
DataPath = Annotated[str, StringConstraints(pattern=r"^(/[A-Za-z0-9._-]+)+/?$")]


class Host(StrictModel):
    name: HostName
    address: IPv4Address
    roles: Annotated[list[Role], Field(min_length=1)]
    serves: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
    site: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
    tags: list[Tag] = []
    # What the host serves to its municipality's clients; open only from the
    # municipality's client networks and the region's operations network.
    services: list[HostService] = []
    # The municipality's data on the host, backed up into its own repository.
    data_paths: list[DataPath] = []


class Network(StrictModel):
    """The lab's own network: a /24 on a bridge in the root namespace."""

    subnet: IPv4Network
    bridge_address: IPv4Address
    bridge: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,14}$")]


class HostSet(StrictModel):
    """What a source returns: hosts, and the network when the source knows it."""

    network: Network | None = None
    hosts: list[Host]
