"""A municipality's life by date: new file, joining, leaving, months, purge date."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from regionhus.cli import main
from regionhus.config import load_region
from regionhus.inventory import load_inventory
from regionhus.kommune.lifecycle import (
    add_months,
    member_months,
    months_overlapping,
    purge_allowed_from,
    service_months,
)
from regionhus.model import ServiceName
from regionhus.paths import repo_root

SIGDAL_JOINS = dt.date(2027, 8, 1)
NUMBERS = ["--kommunenummer", "3399", "--population", "10"]


@pytest.fixture
def region_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # `--root` sets REGIONHUS_ROOT for the engines: undone after the test, so the copy
    # (with its extra municipality) never leaks into other tests.
    monkeypatch.setenv("REGIONHUS_ROOT", str(repo_root()))
    shutil.copy(repo_root() / "region.yml", tmp_path / "region.yml")
    for part in ("kommuner", "inventory", "roles"):
        shutil.copytree(repo_root() / part, tmp_path / part)
    return tmp_path


def test_new_writes_a_planned_file_that_validates(region_copy: Path) -> None:
    args = ["--root", str(region_copy), "kommune", "new", "nore-og-test"]
    args += ["--kommunenummer", "3399", "--population", "2500", "--member-from", "2027-01-01"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Neste steg" in result.output and "NetBox" in result.output
    config = load_region(region_copy, on=dt.date(2027, 1, 1))
    new = config.kommune("nore-og-test")
    assert new.name == "Nore og Test" and new.lifecycle.status == "planned"
    assert new.member_on(dt.date(2027, 1, 1)) and not new.member_on(dt.date(2026, 12, 31))
    text = (region_copy / "kommuner" / "nore-og-test.yml").read_text()
    # Every key the file sets has a comment on its line or on one of the two above.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#") and ":" in line:
            near = [line, *lines[max(0, i - 2) : i]]
            key = line.split(":")[0].strip()
            explained = "#" in line or any(n.lstrip().startswith("#") for n in near)
            assert explained or key in ("weekly", "monthly", "yearly"), line


def test_new_refuses_an_existing_file_and_a_taken_kommunenummer(region_copy: Path) -> None:
    runner = CliRunner()
    taken = runner.invoke(
        main,
        ["--root", str(region_copy), "kommune", "new", "tinn", *NUMBERS],
    )
    assert taken.exit_code != 0 and "exists already" in taken.output
    dup = runner.invoke(
        main,
        [
            "--root",
            str(region_copy),
            "kommune",
            "new",
            "ny-kommune",
            *NUMBERS[:1],
            "3332",
            *NUMBERS[2:],
        ],
    )
    assert dup.exit_code == 1 and "kommunenummer" in dup.output
    assert not (region_copy / "kommuner" / "ny-kommune.yml").exists()


def _states(on: dt.date) -> dict[str, str]:
    inventory = load_inventory(source="embedded", config=load_region(on=on))
    return inventory.global_vars()["regionhus_kommuner"]["sigdal"]["service_states"]


def test_a_planned_municipality_gets_nothing_the_day_before_it_joins() -> None:
    assert _states(SIGDAL_JOINS - dt.timedelta(days=1)) == {
        "directory": "none",
        "vdi": "none",
        "backup": "none",
    }


def test_from_the_date_it_joins_its_directory_and_backup_are_delivered() -> None:
    # Still `planned` in the file: the reviewed date decides. VDI starts a month later.
    assert _states(SIGDAL_JOINS) == {"directory": "active", "vdi": "none", "backup": "active"}
    assert _states(dt.date(2027, 9, 1))["vdi"] == "active"


def test_leaving_on_a_date_ends_every_service_and_closes_logins(region_copy: Path) -> None:
    path = region_copy / "kommuner" / "notodden.yml"
    text = path.read_text().replace("status: active", "status: leaving")
    text = text.replace(
        "member_from: 2008-01-01", "member_from: 2008-01-01\n  member_until: 2027-07-01"
    )
    path.write_text(text)
    from regionhus.baselayer import operators_for_host

    def on(day: dt.date) -> tuple[dict[str, str], set[str]]:
        inv = load_inventory(region_copy, "embedded", load_region(region_copy, on=day))
        states = inv.global_vars()["regionhus_kommuner"]["notodden"]["service_states"]
        ops = {o.username for o in operators_for_host(inv, inv.host("vdi-notodden-1"))}
        return states, ops

    before, ops_before = on(dt.date(2027, 6, 30))
    after, ops_after = on(dt.date(2027, 7, 1))
    assert set(before.values()) == {"active"}
    assert set(after.values()) == {"ended"}
    own = {o.username for o in load_region(region_copy).kommune("notodden").operators}
    assert own <= ops_before and not own & ops_after


def test_months_count_every_started_month() -> None:
    assert months_overlapping(dt.date(2027, 8, 15), None, 2027) == [8, 9, 10, 11, 12]
    assert months_overlapping(dt.date(2020, 1, 1), dt.date(2027, 7, 1), 2027) == [1, 2, 3, 4, 5, 6]
    assert months_overlapping(dt.date(2020, 1, 1), dt.date(2027, 7, 2), 2027) == list(range(1, 8))
    assert months_overlapping(dt.date(2028, 1, 1), None, 2027) == []
    config = load_region()
    assert member_months(config.kommune("sigdal"), 2027) == [8, 9, 10, 11, 12]
    assert service_months(config.kommune("sigdal"), ServiceName.VDI, 2027) == [9, 10, 11, 12]
    assert member_months(config.kommune("ovre-eiker"), 2013) == list(range(1, 13))


def test_add_months_keeps_the_day_or_takes_the_last() -> None:
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 11, 15), 14) == dt.date(2029, 1, 15)


def test_purge_waits_for_the_longest_retention_after_the_last_backup() -> None:
    config = load_region()
    eiker = config.kommune("ovre-eiker")  # backup until 2013-12-31, monthly: 12
    assert purge_allowed_from(eiker) == dt.date(2014, 12, 31)
    assert purge_allowed_from(config.kommune("tinn")) is None
