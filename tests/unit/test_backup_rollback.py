"""`regionhus backup rollback`: whose caches it resets, and what it reports as left to do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from regionhus.backup.rollback import RollbackResult, clients_of
from regionhus.config import load_region
from regionhus.inventory import load_inventory


def test_every_client_of_the_repository_and_no_other(repo: Path) -> None:
    config, hosts = load_region(repo), load_inventory(repo, "embedded").hosts
    kongsberg = ["srv-kongsberg-1", "vdi-kongsberg-1", "vdi-kongsberg-2"]
    assert clients_of("kongsberg", config, hosts) == kongsberg
    assert clients_of("notodden", config, hosts) == ["srv-notodden-1", "vdi-notodden-1"]
    assert clients_of("region", config, hosts) == ["dc1", "dc2"]
    assert clients_of("tinn", config, hosts) == ["srv-tinn-1"]
    assert clients_of("sigdal", config, hosts) == []


def test_a_client_left_with_the_old_cache_is_named_with_what_to_run() -> None:
    done = RollbackResult(
        "kongsberg",
        dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC),
        {"transaction": 9},
        clients={"vdi-kongsberg-1": ["abc"]},
    )
    assert done.problem() is None
    done.failed["vdi-kongsberg-2"] = "unreachable"
    problem = done.problem()
    assert problem is not None
    assert "vdi-kongsberg-2: unreachable" in problem and "vdi-kongsberg-1" not in problem
    assert "regionhus-backup-run --forget-cache kongsberg" in problem
