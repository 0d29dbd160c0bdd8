"""The cost allocation key (fordelingsnøkkel), computed so an auditor can redo it.

Shares are computed exactly (fractions), then rounded to whole kroner with the
largest-remainder method: each column is rounded down, and the kroner left over go
to the rows with the largest fractional parts (ties by name). So every column adds
up exactly to its total, and the totals add up to annual_cost_nok plus usage, which
plain rounding cannot promise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from regionhus.model import Kommune, LifecycleStatus, Region, ServiceName, UsagePrices

MEMBER_STATUSES = (LifecycleStatus.ACTIVE, LifecycleStatus.LEAVING)


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
    """Member some time in the year (active or leaving): such a municipality pays its share."""
    life = kommune.lifecycle
    if life.status not in MEMBER_STATUSES or life.member_from.year > year:
        return False
    return life.member_until is None or life.member_until.year >= year


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


def _usage(kommune: Kommune, on: dt.date) -> tuple[int, int]:
    """Seats and GB charged: only for services delivered on the report date."""
    seats = gb = 0
    vdi, backup = kommune.services.vdi, kommune.services.backup
    if vdi and kommune.service_state(ServiceName.VDI, on) == "active":
        seats = vdi.pool_size
    if backup and kommune.service_state(ServiceName.BACKUP, on) == "active":
        gb = backup.quota_gb
    return seats, gb


def allocate(region: Region, kommuner: list[Kommune], on: dt.date) -> CostAllocation:
    key = region.cost_allocation
    prices = key.usage_prices
    year = on.year
    members = [k for k in kommuner if is_member_in(k, year)]
    # Percentages are decimals in region.yml; Fraction(str) keeps 33.3 exactly 33.3.
    fixed_total_exact = key.annual_cost_nok * Fraction(str(key.fixed_share_percent)) / 100
    fixed_total = round(fixed_total_exact)
    per_total = key.annual_cost_nok - fixed_total
    fixed_exact, fixed = apportion(fixed_total, {k.slug: Fraction(1) for k in members})
    per_exact, per = apportion(per_total, {k.slug: Fraction(k.population) for k in members})
    rows = [_row(k, fixed_exact, fixed, per_exact, per, on, prices) for k in kommuner]
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
    )
    return CostAllocation(inputs=inputs, rows=rows, totals=totals)


def _row(
    kommune: Kommune,
    fixed_exact: dict[str, Fraction],
    fixed: dict[str, int],
    per_exact: dict[str, Fraction],
    per: dict[str, int],
    on: dt.date,
    prices: UsagePrices,
) -> CostRow:
    member = kommune.slug in fixed
    # Usage follows membership: a municipality outside the key is not charged through it.
    seats, gb = _usage(kommune, on) if member else (0, 0)
    vdi_nok = seats * prices.vdi_seat_nok_per_year
    backup_nok = gb * prices.backup_gb_nok_per_year
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
    )
