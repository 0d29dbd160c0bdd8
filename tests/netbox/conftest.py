"""The real NetBox for these tests: the local `test` instance, reset and seeded once.

The `test` instance has its own database (cloned from the migrated template, so a reset
takes seconds), port and token: the operator's `dev` data is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from live_netbox import REPO, LiveNetBox

from regionhus.config import load_region
from regionhus.netbox import server
from regionhus.netbox.seed import plan_from_region, seed
from regionhus.netbox.source import load_host_file


@pytest.fixture(scope="session")
def netbox_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetBox]:
    inst = server.reset_database("test")
    live = LiveNetBox(inst.url, server.read_token(inst))
    seed(live.client(), plan_from_region(load_region(REPO), load_host_file(REPO)))
    # The tests' own cache dir: nothing from an earlier run or the operator's cache.
    cache = tmp_path_factory.mktemp("cache")
    old = os.environ.get("REGIONHUS_CACHE_DIR")
    os.environ["REGIONHUS_CACHE_DIR"] = str(cache)
    yield live
    if old is None:
        os.environ.pop("REGIONHUS_CACHE_DIR", None)
    else:
        os.environ["REGIONHUS_CACHE_DIR"] = old


@pytest.fixture
def netbox_env(netbox_live: LiveNetBox, monkeypatch: pytest.MonkeyPatch) -> LiveNetBox:
    """NetBox configured through the environment, as an operator would."""
    for key, value in netbox_live.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REGIONHUS_SKIP_BAD_RECORDS", raising=False)
    monkeypatch.delenv("REGIONHUS_INVENTORY", raising=False)
    return netbox_live
