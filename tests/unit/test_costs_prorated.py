"""Costs in a year of joining or leaving: shares by months of membership, shown worked out."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from regionhus.config import RegionConfig, load_region
from regionhus.reports.costs import allocate

YEAR_SIGDAL_JOINS = dt.date(2027, 10, 1)  # Sigdal joins 2027-08-01, VDI from 2027-09-01


@pytest.fixture(scope="module")
def config() -> RegionConfig:
    return load_region(on=YEAR_SIGDAL_JOINS)


def _leaving(config: RegionConfig, slug: str, until: dt.date) -> RegionConfig:
    kommune = config.kommune(slug)
    life = kommune.lifecycle.model_copy(update={"status": "leaving", "member_until": until})
    changed = kommune.model_copy(update={"lifecycle": life})
    return RegionConfig(config.root, config.region, {**config.kommuner, slug: changed}, config.on)


def test_a_municipality_joining_in_august_pays_for_five_months(config: RegionConfig) -> None:
    costs = allocate(config.region, list(config.kommuner.values()), config.on)
    rows = {r.kommune: r for r in costs.rows}
    sigdal = rows["sigdal"]
    assert sigdal.member and sigdal.months == 5
    # Seven members all year and Sigdal for five months: 89 member-months.
    assert costs.inputs.member_months == 7 * 12 + 5
    fixed = Fraction(costs.inputs.fixed_total_nok * 5, 89)
    assert sigdal.fixed_exact == f"{float(fixed):.2f}"
    assert abs(sigdal.fixed_nok - fixed) < 1
    per = Fraction(costs.inputs.per_inhabitant_total_nok * 3500 * 5, costs.inputs.inhabitant_months)
    assert abs(sigdal.per_inhabitant_nok - per) < 1
    # VDI from September (4 months), backup from August (5 months).
    assert (sigdal.vdi_months, sigdal.vdi_nok) == (4, 1 * 1800 * 4 // 12)
    assert (sigdal.backup_months, sigdal.backup_nok) == (5, 80 * 12 * 5 // 12)


def test_the_year_is_still_split_in_full(config: RegionConfig) -> None:
    costs = allocate(config.region, list(config.kommuner.values()), config.on)
    key = config.region.cost_allocation
    assert sum(r.fixed_nok + r.per_inhabitant_nok for r in costs.rows) == key.annual_cost_nok
    assert costs.totals.total_nok == key.annual_cost_nok + costs.totals.usage_nok


def test_a_municipality_leaving_on_1_july_pays_for_six_months(config: RegionConfig) -> None:
    leaving = _leaving(config, "notodden", dt.date(2027, 7, 1))
    costs = allocate(leaving.region, list(leaving.kommuner.values()), leaving.on)
    notodden = next(r for r in costs.rows if r.kommune == "notodden")
    assert (notodden.months, notodden.vdi_months, notodden.backup_months) == (6, 6, 6)
    full = allocate(config.region, list(config.kommuner.values()), config.on)
    before = next(r for r in full.rows if r.kommune == "notodden")
    assert notodden.vdi_nok == before.vdi_nok // 2
    assert notodden.fixed_nok < before.fixed_nok


def test_the_calculation_is_shown_for_part_years_only(config: RegionConfig) -> None:
    costs = allocate(config.region, list(config.kommuner.values()), config.on)
    rows = {r.kommune: r for r in costs.rows}
    assert rows["kongsberg"].calculation == ""
    assert rows["sigdal"].calculation.startswith("5/12 mnd: fast ")
    assert "× 5/89" in rows["sigdal"].calculation
    assert "VDI 1 × 1800 × 4/12" in rows["sigdal"].calculation


def test_a_year_without_membership_costs_nothing() -> None:
    config = load_region(on=dt.date(2026, 6, 1))
    costs = allocate(config.region, list(config.kommuner.values()), config.on)
    sigdal = next(r for r in costs.rows if r.kommune == "sigdal")
    assert (sigdal.member, sigdal.months, sigdal.total_nok, sigdal.calculation) == (
        False,
        0,
        0,
        "",
    )


def test_the_report_shows_the_worked_out_part_year_share(config: RegionConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from regionhus.inventory import load_inventory
    from regionhus.reports.build import build_report
    from regionhus.reports.render_html import render_html
    from regionhus.reports.render_md import render_md

    inventory = load_inventory(source="embedded", config=config)
    report = build_report(inventory, scope="sigdal", records_root=tmp_path)
    md = render_md(report)
    assert "### Medlem deler av året" in md
    assert "- Sigdal: 5/12 mnd: fast 1260000 × 5/89" in md
    assert "Summen av medlemsmåneder er 89" in md
    assert "Sigdal: 5/12 mnd" in render_html(report)
