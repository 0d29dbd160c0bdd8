"""The region as data: what each municipality has chosen and what the region agreed.

These models are the schema of `region.yml` and `kommuner/*.yml`. Unknown keys are
rejected everywhere (`extra="forbid"`) because a misspelt key in a hand-edited file
must fail review, not be silently ignored.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
USERNAME_PATTERN = r"^[a-z][a-z0-9.-]{1,19}$"
# A municipality's short code: its hosts are named vdi-<code>-<n> and srv-<code>-<n>,
# which must fit NetBIOS's 15 characters for hosts that join AD (9 + 6 = 15).
CODE_PATTERN = r"^[a-z][a-z0-9]{1,8}$"
SSH_KEY_PATTERN = (
    r"^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$"
)

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Kommunenummer = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ServiceName(StrEnum):
    DIRECTORY = "directory"
    VDI = "vdi"
    BACKUP = "backup"


class LifecycleStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    LEAVING = "leaving"
    LEFT = "left"


# --- municipality -----------------------------------------------------------------


class Operator(StrictModel):
    """A person who may administer a municipality's part (or the region's)."""

    username: Username
    name: Annotated[str, StringConstraints(min_length=2, max_length=100)]
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
    ssh_public_key: Annotated[str, StringConstraints(pattern=SSH_KEY_PATTERN)] | None = None


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
# Alerts leave the region's network: only over TLS, to a named host.
WEBHOOK_PATTERN = r"^https://[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:[0-9]{1,5})?(/[^\s]*)?$"


class AlertContact(StrictModel):
    """Where the monitoring's alerts about a municipality go (its pool, servers and
    backup repository), besides regional operations, which get every alert."""

    email: list[Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)]] = []
    webhook: list[Annotated[str, StringConstraints(pattern=WEBHOOK_PATTERN)]] = []

    @model_validator(mode="after")
    def _reaches_someone(self) -> AlertContact:
        if not (self.email or self.webhook):
            raise ValueError(
                "alerts names no one: add `email: [drift@<kommune>.kommune.no]` or "
                "`webhook: [https://...]`, or remove `alerts`"
            )
        for kind, items in (("email", self.email), ("webhook", self.webhook)):
            if len(set(items)) != len(items):
                raise ValueError(f"alerts.{kind} lists an entry twice: name each once")
        return self


class Lifecycle(StrictModel):
    status: LifecycleStatus
    member_from: dt.date
    member_until: dt.date | None = None


class ServiceChoice(StrictModel):
    """A service the municipality takes from the shared platform, from a date."""

    start: dt.date = Field(alias="from")
    until: dt.date | None = None


class DirectoryChoice(ServiceChoice):
    pass


class VdiChoice(ServiceChoice):
    pool_size: Annotated[int, Field(ge=1, le=50)]
    # The pool's address on the regional gateway (the broker), behind the pool's name
    # vdi-<slug>.<dns domain>; one address per pool (roles/vdi_broker/README.md).
    pool_address: IPv4Address | None = None


class BackupSchedule(StrictModel):
    every_hours: Annotated[int, Field(ge=1, le=24)]
    at: ClockTime = "01:00"

    @model_validator(mode="after")
    def _divides_day(self) -> BackupSchedule:
        if 24 % self.every_hours:
            raise ValueError(
                f"every_hours must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24), got {self.every_hours}"
            )
        return self


class BackupRetention(StrictModel):
    daily: Annotated[int, Field(ge=0, le=366)] = 0
    weekly: Annotated[int, Field(ge=0, le=260)] = 0
    monthly: Annotated[int, Field(ge=0, le=120)] = 0
    yearly: Annotated[int, Field(ge=0, le=30)] = 0

    @model_validator(mode="after")
    def _keeps_something(self) -> BackupRetention:
        if not (self.daily or self.weekly or self.monthly or self.yearly):
            raise ValueError("retention keeps nothing: set at least daily: 7")
        return self


class BackupChoice(ServiceChoice):
    schedule: BackupSchedule
    retention: BackupRetention
    quota_gb: Annotated[int, Field(ge=1, le=100_000)]


class Services(StrictModel):
    directory: DirectoryChoice | None = None
    vdi: VdiChoice | None = None
    backup: BackupChoice | None = None

    def chosen(self) -> dict[ServiceName, ServiceChoice]:
        found = {name: getattr(self, name.value) for name in ServiceName}
        return {name: choice for name, choice in found.items() if choice is not None}


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class UpdateWindow(StrictModel):
    """When the municipality's own hosts install updates and reboot if they must."""

    days: Annotated[list[Weekday], Field(min_length=1)] = list(Weekday)
    start: ClockTime = "03:00"
    hours: Annotated[int, Field(ge=1, le=8)] = 2

    @field_validator("days")
    @classmethod
    def _once_each(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("a day is listed twice: name each day once")
        return days


def usable_networks(networks: list[IPv4Network]) -> list[IPv4Network]:
    """The networks unchanged, or the first one's problem (one rule for client and
    operations networks)."""
    for network in networks:
        problem = client_network_problem(network)
        if problem:
            raise ValueError(problem)
    return networks


def client_network_problem(network: IPv4Network) -> str | None:
    """Why a network cannot be a municipality's client network, or None."""
    if network.prefixlen < 8:
        return f"{network} is wider than a /8: name the municipality's own networks"
    if not network.is_private or network.is_loopback or network.is_link_local:
        return f"{network} is not a private network (10/8, 172.16/12, 192.168/16)"
    return None


class Kommune(StrictModel):
    name: Annotated[str, StringConstraints(min_length=2, max_length=60)]
    slug: Slug
    code: Code
    kommunenummer: Kommunenummer
    population: Annotated[int, Field(ge=1, le=2_000_000)]
    lifecycle: Lifecycle
    services: Services = Services()
    # Where the municipality's users sit: its servers' service ports are open from
    # these networks (and from the region's operations network), from nowhere else.
    client_networks: list[IPv4Network] = []
    update_window: UpdateWindow = UpdateWindow()
    operators: list[Operator] = []
    # Who gets the monitoring's alerts about this municipality (roles/monitoring).
    alerts: AlertContact | None = None

    @field_validator("client_networks")
    @classmethod
    def _usable_networks(cls, networks: list[IPv4Network]) -> list[IPv4Network]:
        return usable_networks(networks)

    def service_state(self, service: ServiceName, on: dt.date) -> str:
        """What the platform must do for this service on a date.

        `active`: deliver it. `ended`: it was delivered, keep its data but lock its
        accounts (never delete). `none`: not (yet) taken: create nothing.
        """
        choice = self.services.chosen().get(service)
        if choice is None:
            return "none"
        status = self.lifecycle.status
        # Joining on a date: `planned` with a reached `from` date is delivered, so the
        # reviewed date decides, not a second pull request on the day (validation
        # keeps every `from` on or after member_from).
        if on < choice.start:
            return "none"
        ended_by_choice = choice.until is not None and on >= choice.until
        ended_by_membership = status == LifecycleStatus.LEFT or (
            self.lifecycle.member_until is not None and on >= self.lifecycle.member_until
        )
        return "ended" if ended_by_choice or ended_by_membership else "active"

    def member_on(self, on: dt.date) -> bool:
        """A member on `on`: from member_from, until (not including) member_until."""
        life = self.lifecycle
        return life.member_from <= on and (life.member_until is None or on < life.member_until)


# --- region -------------------------------------------------------------------------


class Sla(StrictModel):
    availability_percent: Annotated[float, Field(ge=90, le=100)]
    response_time_hours: Annotated[float, Field(gt=0, le=168)]
    support_hours: str
    restore_time_hours: Annotated[float, Field(gt=0, le=720)] | None = None


class CatalogueEntry(StrictModel):
    title: str
    description: str
    responsible: Slug
    sla: Sla


class ServiceCatalogue(StrictModel):
    directory: CatalogueEntry
    vdi: CatalogueEntry
    backup: CatalogueEntry


class UsagePrices(StrictModel):
    vdi_seat_nok_per_year: Annotated[int, Field(ge=0)] = 0
    backup_gb_nok_per_year: Annotated[int, Field(ge=0)] = 0


class CostAllocation(StrictModel):
    annual_cost_nok: Annotated[int, Field(ge=0)]
    fixed_share_percent: Annotated[float, Field(ge=0, le=100)]
    per_inhabitant_percent: Annotated[float, Field(ge=0, le=100)]
    usage_prices: UsagePrices = UsagePrices()

    @model_validator(mode="after")
    def _adds_up(self) -> CostAllocation:
        total = self.fixed_share_percent + self.per_inhabitant_percent
        if abs(total - 100) > 1e-9:
            raise ValueError(
                "fixed_share_percent + per_inhabitant_percent must be 100, "
                f"got {self.fixed_share_percent:g} + {self.per_inhabitant_percent:g} = {total:g}"
            )
        return self


class DirectorySettings(StrictModel):
    realm: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]+(\.[A-Z0-9-]+)+$")]
    netbios_domain: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{0,14}$")]

    @property
    def dns_domain(self) -> str:
        return self.realm.lower()

    @property
    def base_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.dns_domain.split("."))


class RegionBackup(StrictModel):
    """The region's own repository (the domain controllers' directory): no kommuner/
    file chooses it, so region.yml does, with the same keys as a municipality's."""

    schedule: BackupSchedule
    retention: BackupRetention
    quota_gb: Annotated[int, Field(ge=1, le=100_000)]


class Bastion(StrictModel):
    """The jump host operators reach the region's hosts through (ssh ProxyJump)."""

    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 22
    # Its account when not the operator's own (an ssh config `User` for the bastion).
    user: Username | None = None
    # Where its connections come from: the only address the hosts' firewalls accept ssh
    # from. Needed when `host` is a name.
    address: IPv4Address | None = None

    @property
    def source_address(self) -> IPv4Address | None:
        if self.address is not None:
            return self.address
        try:
            return IPv4Address(self.host)
        except ValueError:
            return None

    @model_validator(mode="after")
    def _has_address(self) -> Bastion:
        if self.source_address is None:
            raise ValueError(
                f"bastion host '{self.host}' is a name: add `address:` (its IPv4 address), "
                "the only source the hosts' firewalls then accept ssh from"
            )
        return self


class Access(StrictModel):
    """How operators reach the hosts of a real region (NetBox source); the lab region is
    reached with the lab's own ssh config."""

    bastion: Bastion | None = None
    # Where the regional operations unit works from: every municipality's service
    # ports (servers, the VDI broker) are open from here as well as from the
    # municipality's own client networks. See regionhus.admin_network.
    operations_networks: list[IPv4Network] = []
    # Host keys, reviewed by pull request (one `name,address key` line per host).
    known_hosts: str = "inventory/known_hosts"

    @field_validator("operations_networks")
    @classmethod
    def _usable_operations(cls, networks: list[IPv4Network]) -> list[IPv4Network]:
        return usable_networks(networks)

    @field_validator("known_hosts")
    @classmethod
    def _inside_the_repository(cls, value: str) -> str:
        parts = value.split("/")
        if not value or value.startswith(("/", "~")) or ".." in parts or " " in value:
            raise ValueError(
                f"known_hosts '{value}' must be a path inside the repository, such as "
                "inventory/known_hosts: pinned host keys are changed by reviewed commits"
            )
        return value


class Region(StrictModel):
    name: str
    slug: Slug
    directory: DirectorySettings
    backup: RegionBackup
    service_catalogue: ServiceCatalogue
    cost_allocation: CostAllocation
    regional_operators: list[Operator] = []
    access: Access = Access()
