"""What a plan is: per host, the tasks that would change, could not tell, or failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from regionhus.inventory.vdi_pools import PoolFinding


class Status(StrEnum):
    CHANGE = "change"  # would change something
    CONDITIONAL = "conditional"  # runs only if an earlier change on the host triggers it
    UNKNOWN = "unknown"  # the engine cannot tell in dry-run mode: never "no change"
    FAILED = "failed"  # the task (or the host) failed


class Layer(StrEnum):
    BASE = "base"  # pyinfra, deploys/base.py
    SERVICES = "services"  # Ansible, playbooks/site.yml


class Kind(StrEnum):
    FILE = "file"
    PACKAGE = "package"
    SERVICE = "service"
    USER = "user"
    DIRECTORY = "directory object"
    COMMAND = "command"
    OTHER = "other"


class ExitCode(IntEnum):
    NO_CHANGES = 0
    ERROR = 1
    CHANGES = 2


@dataclass
class Change:
    host: str
    layer: Layer
    task: str
    status: Status
    kind: Kind = Kind.OTHER
    role: str = ""
    action: str = ""
    detail: str = ""
    diff: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    kommune: str | None = None  # a municipality the change is about, if any

    def describe(self) -> str:
        """One line for summaries and the audit record."""
        where = f"{self.layer.value}" + (f"/{self.role}" if self.role else "")
        items = f" [{', '.join(self.items)}]" if self.items else ""
        return f"{where}: {self.task}{items}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(layer=self.layer.value, status=self.status.value, kind=self.kind.value)
        return data


@dataclass
class HostPlan:
    name: str
    serves: str
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0  # tasks that reported no change
    reasons: list[str] = field(default_factory=list)  # why the host is in the plan
    # "engines": the dry runs looked at it; "fingerprint": its inputs and probed state
    # match what it was last converged to (regionhus.plan.converged), engines skipped.
    checked: str = "engines"

    def by_status(self, status: Status) -> list[Change]:
        return [c for c in self.changes if c.status == status]

    @property
    def pending(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class ScopeFinding:
    """A change on a shared host to a municipality's data outside the run's scope."""

    host: str
    kommune: str
    change: str  # Change.describe()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    hosts: dict[str, HostPlan]
    errors: list[str] = field(default_factory=list)
    git_commit: str = ""
    generated_at: str = ""
    limited: bool = False  # only part of the region was planned
    # Changes the scope guard stops an apply for (regionhus.plan.guard).
    scope_findings: list[ScopeFinding] = field(default_factory=list)
    # VDI pools that differ from kommuner/ (pool_size, no address): shown, not applied.
    pool_findings: list[PoolFinding] = field(default_factory=list)
    # What the engines reported managing on each host ({"paths": [...], "services": [...]})
    # and the layers whose engine ran without error per host: what a converged record needs.
    managed: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    engines_ran: dict[str, set[Layer]] = field(default_factory=dict)

    def changes(self, status: Status | None = None) -> list[Change]:
        every = [c for h in self.hosts.values() for c in h.changes]
        return [c for c in every if status is None or c.status == status]

    @property
    def exit_code(self) -> ExitCode:
        if self.errors or self.changes(Status.FAILED):
            return ExitCode.ERROR
        if self.changes():
            return ExitCode.CHANGES
        return ExitCode.NO_CHANGES

    def pending_hosts(self, layer: Layer) -> list[str]:
        return sorted(
            h.name for h in self.hosts.values() if any(c.layer == layer for c in h.changes)
        )
