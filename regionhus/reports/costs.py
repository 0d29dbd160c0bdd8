"""The cost allocation key (fordelingsnøkkel), computed so an auditor can redo it.

Shares are computed exactly (fractions), then rounded to whole kroner with the
largest-remainder method: each column is rounded down, and the kroner left over go
to the rows with the largest fractional parts (ties by name). So every column adds
up exactly to its total, and the totals add up to annual_cost_nok plus usage, which
plain rounding cannot promise.

A municipality that joins or leaves during the year takes part for its months of
membership (every started month counts whole, see regionhus.kommune.lifecycle): its
weight in the fixed share is months/12, in the per-inhabitant share population ×
months/12, so the year's cost is still split in full between those who were members.
Usage is charged for the months the service was delivered: price × months/12,
rounded to whole kroner (half up).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from regionhus.kommune.lifecycle import member_months, service_months
from regionhus.model import Kommune, Region, ServiceName, UsagePrices

FULL_YEAR = 12


@dataclass(frozen=True)
class CostRow:
    kommune: str
    name: str
    member: bool
    population: int
    fixed_exact: str
    fixed_nok: int
    per_inhabitant_exact: str
    per_inhabitant_nok: int
    vdi_seats: int
    vdi_nok: int
    backup_gb: int
    backup_nok: int
    total_nok: int
    # Months of the year as a member (0-12), and of each usage service delivered.
    months: int = FULL_YEAR
    vdi_months: int = 0
    backup_months: int = 0
    # How a part-year share was computed, for an auditor to redo ("" for a full year).
    calculation: str = ""


@dataclass(frozen=True)
class CostInputs:
    year: int
    annual_cost_nok: int
    fixed_share_percent: float
    per_inhabitant_percent: float
    fixed_total_nok: int
    per_inhabitant_total_nok: int
    member_count: int
    member_population: int
    vdi_seat_nok_per_year: int
    backup_gb_nok_per_year: int
    # Sums of the weights: member-months, and inhabitant-months (population × months).
    member_months: int = 0
    inhabitant_months: int = 0


@dataclass(frozen=True)
class CostTotals:
    fixed_nok: int
    per_inhabitant_nok: int
    vdi_nok: int
    backup_nok: int
    usage_nok: int
    total_nok: int


@dataclass(frozen=True)
class CostAllocation:
    inputs: CostInputs
    rows: list[CostRow]
    totals: CostTotals


def is_member_in(kommune: Kommune, year: int) -> bool:
    """Member some day of the year, by its dates: such a municipality pays its share."""
    return bool(member_months(kommune, year))


def apportion(
    total: int, weights: dict[str, Fraction]
) -> tuple[dict[str, Fraction], dict[str, int]]:
    """Split `total` kroner by weight: exact shares and whole-krone shares that sum to total."""
    weight_sum = sum(weights.values(), Fraction(0))
    if not weights or weight_sum == 0:
        return {k: Fraction(0) for k in weights}, {k: 0 for k in weights}
    exact = {k: total * w / weight_sum for k, w in weights.items()}
    rounded = {k: int(v) for k, v in exact.items()}  # shares are >= 0: int() rounds down
    left = total - sum(rounded.values())
    by_remainder = sorted(exact, key=lambda k: (-(exact[k] - rounded[k]), k))
    for key in by_remainder[:left]:
        rounded[key] += 1
    return exact, rounded


def _exact_text(value: Fraction) -> str:
    """Two decimals, rounded half up: what an auditor's calculator shows."""
    cents = (value * 100 + Fraction(1, 2)).__floor__()
    return f"{cents // 100}.{cents % 100:02d}"


def _kroner(value: Fraction) -> int:
    return (value + Fraction(1, 2)).__floor__()


@dataclass(frozen=True)
class _Usage:
    seats: int
    vdi_months: int
    gb: int
    backup_months: int


def _usage(kommune: Kommune, year: int) -> _Usage:
    """Seats and GB charged, with the months of the year each service was delivered."""
    vdi, backup = kommune.services.vdi, kommune.services.backup
    vdi_months = len(service_months(kommune, ServiceName.VDI, year)) if vdi else 0
    backup_months = len(service_months(kommune, ServiceName.BACKUP, year)) if backup else 0
    return _Usage(
        seats=vdi.pool_size if vdi and vdi_months else 0,
        vdi_months=vdi_months,
        gb=backup.quota_gb if backup and backup_months else 0,
        backup_months=backup_months,
    )


def allocate(region: Region, kommuner: list[Kommune], on: dt.date) -> CostAllocation:
    key = region.cost_allocation
    prices = key.usage_prices
    year = on.year
    months = {k.slug: len(member_months(k, year)) for k in kommuner}
    members = [k for k in kommuner if months[k.slug]]
    # Percentages are decimals in region.yml; Fraction(str) keeps 33.3 exactly 33.3.
    fixed_total_exact = key.annual_cost_nok * Fraction(str(key.fixed_share_percent)) / 100
    fixed_total = round(fixed_total_exact)
    per_total = key.annual_cost_nok - fixed_total
    fixed_exact, fixed = apportion(
        fixed_total, {k.slug: Fraction(months[k.slug], FULL_YEAR) for k in members}
    )
    per_exact, per = apportion(
        per_total, {k.slug: Fraction(k.population * months[k.slug], FULL_YEAR) for k in members}
    )
    weights = _Weights(
        fixed_total,
        per_total,
        sum(months.values()),
        sum(k.population * months[k.slug] for k in members),
    )
    rows = [
        _row(k, months[k.slug], fixed_exact, fixed, per_exact, per, year, prices, weights)
        for k in kommuner
    ]
    totals = CostTotals(
        fixed_nok=sum(r.fixed_nok for r in rows),
        per_inhabitant_nok=sum(r.per_inhabitant_nok for r in rows),
        vdi_nok=sum(r.vdi_nok for r in rows),
        backup_nok=sum(r.backup_nok for r in rows),
        usage_nok=sum(r.vdi_nok + r.backup_nok for r in rows),
        total_nok=sum(r.total_nok for r in rows),
    )
    inputs = CostInputs(
        year=year,
        annual_cost_nok=key.annual_cost_nok,
        fixed_share_percent=key.fixed_share_percent,
        per_inhabitant_percent=key.per_inhabitant_percent,
        fixed_total_nok=fixed_total,
        per_inhabitant_total_nok=per_total,
        member_count=len(members),
        member_population=sum(k.population for k in members),
        vdi_seat_nok_per_year=prices.vdi_seat_nok_per_year,
        backup_gb_nok_per_year=prices.backup_gb_nok_per_year,
        member_months=weights.member_months,
        inhabitant_months=weights.inhabitant_months,
    )
    return CostAllocation(inputs=inputs, rows=rows, totals=totals)


@dataclass(frozen=True)
class _Weights:
    fixed_total: int
    per_total: int
    member_months: int
    inhabitant_months: int


def _calculation(
    kommune: Kommune, months: int, usage: _Usage, prices: UsagePrices, w: _Weights
) -> str:
    """The part-year arithmetic in one line (empty when everything ran all year)."""
    full = months == FULL_YEAR and usage.vdi_months in (0, FULL_YEAR)
    if full and usage.backup_months in (0, FULL_YEAR):
        return ""
    parts = [
        f"{months}/12 mnd: fast {w.fixed_total} × {months}/{w.member_months}",
        f"innbygger {w.per_total} × {kommune.population}·{months}/{w.inhabitant_months}",
    ]
    if usage.seats:
        parts.append(f"VDI {usage.seats} × {prices.vdi_seat_nok_per_year} × {usage.vdi_months}/12")
    if usage.gb:
        parts.append(
            f"kopi {usage.gb} × {prices.backup_gb_nok_per_year} × {usage.backup_months}/12"
        )
    return "; ".join(parts)


def _row(
    kommune: Kommune,
    months: int,
    fixed_exact: dict[str, Fraction],
    fixed: dict[str, int],
    per_exact: dict[str, Fraction],
    per: dict[str, int],
    year: int,
    prices: UsagePrices,
    weights: _Weights,
) -> CostRow:
    member = kommune.slug in fixed
    # Usage follows membership: a municipality outside the key is not charged through it.
    usage = _usage(kommune, year) if member else _Usage(0, 0, 0, 0)
    seats, gb = usage.seats, usage.gb
    vdi_nok = _kroner(Fraction(seats * prices.vdi_seat_nok_per_year * usage.vdi_months, 12))
    backup_nok = _kroner(Fraction(gb * prices.backup_gb_nok_per_year * usage.backup_months, 12))
    fixed_nok = fixed.get(kommune.slug, 0)
    per_nok = per.get(kommune.slug, 0)
    return CostRow(
        kommune=kommune.slug,
        name=kommune.name,
        member=member,
        population=kommune.population,
        fixed_exact=_exact_text(fixed_exact.get(kommune.slug, Fraction(0))),
        fixed_nok=fixed_nok,
        per_inhabitant_exact=_exact_text(per_exact.get(kommune.slug, Fraction(0))),
        per_inhabitant_nok=per_nok,
        vdi_seats=seats,
        vdi_nok=vdi_nok,
        backup_gb=gb,
        backup_nok=backup_nok,
        total_nok=fixed_nok + per_nok + vdi_nok + backup_nok,
        months=months,
        vdi_months=usage.vdi_months,
        backup_months=usage.backup_months,
        calculation=_calculation(kommune, months, usage, prices, weights) if member else "",
    )
