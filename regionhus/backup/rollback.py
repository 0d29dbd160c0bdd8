"""`regionhus backup rollback`: the server side and every client's cache, as one step.

After a client deleted archives (the guard's alert), the repository goes back to the
newest transaction that still held them (server: regionhus-borg-rollback). The
repository is then older than each client last saw, and borg refuses (exit 2) until the
client forgets its cache and security data of that repository; that is done here on
every client of the repository, so the next backup just works.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from regionhus.backup.remote import run_json, transport
from regionhus.backup.repositories import repositories
from regionhus.config import RegionConfig
from regionhus.errors import RegionhusError
from regionhus.inventory.hosts import Host
from regionhus.transport import Transport

ROLLBACK = "/usr/local/sbin/regionhus-borg-rollback"
BACKUP_RUN = "/usr/local/sbin/regionhus-backup-run"


@dataclass
class RollbackResult:
    repository: str
    started_at: dt.datetime
    server: dict[str, Any]
    clients: dict[str, list[str]] = field(default_factory=dict)  # host -> forgotten ids
    failed: dict[str, str] = field(default_factory=dict)  # host -> why its reset failed
    duration_s: float = 0.0

    def problem(self) -> str | None:
        """What the operator must still do by hand, if anything."""
        if not self.failed:
            return None
        return (
            f"{self.repository} was rolled back to transaction {self.server['transaction']}, "
            f"but these clients still hold the old cache and their next backup will fail: "
            f"{'; '.join(f'{h}: {why}' for h, why in sorted(self.failed.items()))}. Run "
            f"`regionhus-backup-run --forget-cache {self.repository}` on each of them."
        )


def clients_of(repository: str, config: RegionConfig, hosts: Iterable[Host]) -> list[str]:
    """Hosts that write to `repository` (regionhus.backup.repositories decides)."""
    for repo in repositories(config, hosts):
        if repo.name == repository:
            return sorted(client.host for client in repo.clients)
    return []


def server_rollback(
    server: str,
    repository: str,
    transaction: int | None,
    dry_run: bool,
    via: Transport | None = None,
) -> dict[str, Any]:
    """Run the server script; it prints one JSON object (an `error` key when refused)."""
    argv = [ROLLBACK, repository]
    if transaction is not None:
        argv.append(str(transaction))
    argv += ["--json", "--dry-run" if dry_run else "--yes"]
    result = run_json(server, argv, ok_codes=(0, 1), via=via)
    if "error" in result:
        raise RegionhusError(f"{server}: rollback of {repository} refused: {result['error']}")
    return result


def forget_cache(host: str, repository: str, via: Transport | None = None) -> list[str]:
    """Make `host` forget borg's cache and security data of the repository."""
    result = run_json(host, [BACKUP_RUN, "--forget-cache", repository], via=via)
    return [str(rid) for rid in result.get("forgot", [])]


def rollback(
    server: str, repository: str, transaction: int | None, clients: list[str]
) -> RollbackResult:
    """Server side, then each client; a client that fails is kept in `failed`, the others
    still go (the server side is done and cannot wait for an unreachable host)."""
    started_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    began = time.monotonic()
    via = transport()
    result = RollbackResult(
        repository,
        started_at,
        server_rollback(server, repository, transaction, dry_run=False, via=via),
    )
    for host in clients:
        try:
            result.clients[host] = forget_cache(host, repository, via=via)
        except RegionhusError as exc:
            result.failed[host] = str(exc)
    result.duration_s = round(time.monotonic() - began, 2)
    return result
