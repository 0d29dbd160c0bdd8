"""`backup status` flags a repository over its quota or on a full disk (the guard's
space verdict, and how the CLI turns it into a problem and exit 1)."""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

from regionhus.backup.status import classify

SBIN = Path(__file__).resolve().parents[2] / "roles" / "backup_server" / "files" / "usr/local/sbin"


def load_guard() -> ModuleType:
    path = SBIN / "regionhus-borg-guard"
    loader = importlib.machinery.SourceFileLoader("regionhus_borg_guard_space", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


guard = load_guard()

KEYS = (
    "# Managed by regionhus (backup_server). Repository kongsberg (active).\n"
    'from="10.47.0.31",command="borg serve --append-only --restrict-to-repository '
    '/srv/backup/kongsberg --storage-quota 50G",restrict ssh-ed25519 AAAA vdi-kongsberg-1\n'
    'from="10.47.0.51",command="borg serve --append-only --restrict-to-repository '
    '/srv/backup/kongsberg --storage-quota 1.5M",restrict ssh-ed25519 AAAA srv-kongsberg-1\n'
    'from="10.47.0.32",command="borg serve --append-only --restrict-to-repository '
    '/srv/backup/kongsberg2 --storage-quota 1K",restrict ssh-ed25519 AAAA other\n'
)


def test_the_quota_is_the_smallest_one_serve_enforces_on_this_repository() -> None:
    assert guard.serve_quota(KEYS, "/srv/backup/kongsberg") == 1_500_000  # borg's M: 10**6
    assert guard.serve_quota(KEYS, "/srv/backup/notodden") is None


def test_over_quota_and_disk_full_are_told_apart() -> None:
    roomy = guard.space_verdict(used=10, quota=100, free=10**12, total=2 * 10**12)
    assert not roomy["over_quota"] and not roomy["disk_full"]
    over = guard.space_verdict(used=100, quota=100, free=10**12, total=2 * 10**12)
    assert over["over_quota"] and not over["disk_full"]
    # 1 % of a 2 TB disk is 20 GB: 10 GB free is full; on a small disk 16 MB is the floor.
    assert guard.space_verdict(used=1, quota=None, free=10**10, total=2 * 10**12)["disk_full"]
    assert guard.space_verdict(used=1, quota=None, free=10**6, total=48 * 2**20)["disk_full"]
    assert not guard.space_verdict(used=1, quota=0, free=30 * 10**6, total=48 * 2**20)["disk_full"]


def test_the_repositorys_own_storage_quota_counts_when_serve_sets_none(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[repository]\nversion = 1\nstorage_quota = 2G\n")
    assert guard.repo_config_quota(str(tmp_path)) == 2 * 10**9


def test_status_makes_a_full_or_over_quota_repository_a_problem_even_when_fresh() -> None:
    now = dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
    fresh = {"archives": 3, "newest_archive": "a", "newest_archive_time": now.isoformat()}
    server = {
        "kongsberg": {**fresh, "over_quota": True, "used_bytes": 9, "quota_bytes": 8},
        "notodden": {**fresh, "disk_full": True, "disk_free_bytes": 0},
        "tinn": {**fresh},
    }
    rows = {
        r.repository: r
        for r in classify(
            server, dict.fromkeys(server, 24), set(server), now, dt.timedelta(hours=1)
        )
    }
    assert rows["kongsberg"].problem and rows["kongsberg"].over_quota
    assert rows["notodden"].problem and rows["notodden"].disk_full
    assert not rows["tinn"].problem
