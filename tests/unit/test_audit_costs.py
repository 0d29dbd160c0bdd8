"""The cost allocation key: exact sums, members only, inputs an auditor can redo."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from regionhus.config import load_region
from regionhus.reports.costs import allocate, apportion, is_member_in


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_region(on=dt.date(2025, 6, 15))


def test_shares_add_up_exactly_to_annual_cost_plus_usage(shipped) -> None:  # type: ignore[no-untyped-def]
    costs = allocate(shipped.region, list(shipped.kommuner.values()), shipped.on)
    key = shipped.region.cost_allocation
    rows = costs.rows
    assert sum(r.fixed_nok + r.per_inhabitant_nok for r in rows) == key.annual_cost_nok
    assert sum(r.total_nok for r in rows) == key.annual_cost_nok + costs.totals.usage_nok
    assert costs.totals.total_nok == sum(r.total_nok for r in rows)
    for r in rows:
        assert r.total_nok == r.fixed_nok + r.per_inhabitant_nok + r.vdi_nok + r.backup_nok


def test_members_are_active_or_leaving_in_the_year(shipped) -> None:  # type: ignore[no-untyped-def]
    costs = allocate(shipped.region, list(shipped.kommuner.values()), shipped.on)
    by_slug = {r.kommune: r for r in costs.rows}
    assert costs.inputs.member_count == 7
    assert not by_slug["ovre-eiker"].member and by_slug["ovre-eiker"].total_nok == 0
    assert not by_slug["sigdal"].member and by_slug["sigdal"].total_nok == 0
    # 30 % of 4 200 000 split equally between 7 members.
    assert {by_slug[s].fixed_nok for s in by_slug if by_slug[s].member} == {180_000}
    assert costs.inputs.member_population == 55_400


def test_usage_is_pool_size_and_quota_times_price(shipped) -> None:  # type: ignore[no-untyped-def]
    costs = allocate(shipped.region, list(shipped.kommuner.values()), shipped.on)
    kongsberg = next(r for r in costs.rows if r.kommune == "kongsberg")
    assert (kongsberg.vdi_seats, kongsberg.vdi_nok) == (2, 2 * 1800)
    assert (kongsberg.backup_gb, kongsberg.backup_nok) == (500, 500 * 12)


def test_per_inhabitant_exact_share_is_shown_to_the_ore(shipped) -> None:  # type: ignore[no-untyped-def]
    costs = allocate(shipped.region, list(shipped.kommuner.values()), shipped.on)
    kongsberg = next(r for r in costs.rows if r.kommune == "kongsberg")
    exact = Fraction(2_940_000 * 28_300, 55_400)
    assert kongsberg.per_inhabitant_exact == f"{float(exact):.2f}"
    assert abs(kongsberg.per_inhabitant_nok - exact) < 1


@pytest.mark.parametrize("total", [0, 1, 7, 1000, 4_200_001, 999_999_999])
def test_apportion_always_sums_to_total(total: int) -> None:
    weights = {"a": Fraction(1), "b": Fraction(1), "c": Fraction(1), "d": Fraction(3, 7)}
    exact, rounded = apportion(total, weights)
    assert sum(rounded.values()) == total
    assert all(abs(rounded[k] - exact[k]) < 1 for k in weights)


def test_a_municipality_joining_next_year_is_not_a_member_this_year(shipped) -> None:  # type: ignore[no-untyped-def]
    sigdal = shipped.kommuner["sigdal"]
    assert not is_member_in(sigdal, 2025)
    kongsberg = shipped.kommuner["kongsberg"]
    assert is_member_in(kongsberg, 2025)
    assert not is_member_in(kongsberg, 2007)
