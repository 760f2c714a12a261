"""The parameters of a seed and what it reports; the shapes of the generated world (shares, stages, sizes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pjp.enums import UnproductiveReason

ASSORTMENT = 400  # SKUs a distributor carries (a window of the tenant's range)
INVOICES_PER_LOAD_FORM = 30
CHUNK_LINES = 75_000  # order lines (over all days) written per transaction
DISCOUNT_BRAND = 2  # index of the demo brand with the flat scheme (Chai Bahar)
DISCOUNT_PERCENT = Decimal("5")
INVOICE_SERIES = "INV"
ACTOR = "scale-seed"
# Where the orders of a date stand by the last date's evening, by the date's age (0 = the last date):
# cumulative shares of the stages, in order.
LAST_DAY_STAGES = (("booked", 0.10), ("confirmed", 0.25), ("allocated", 0.50), ("invoiced", 1.0))
DAY_BEFORE_STAGES = (("invoiced", 0.15), ("delivered", 1.0))
MISSED_SHARE = 0.3  # of the visits without an order on a closed (earlier) date; the last date has none
REASONS = tuple(r.value for r in UnproductiveReason if r != UnproductiveReason.OTHER)

Log = Callable[[str], None]

# Hash purposes: each random decision draws from its own stream.
P_PROD, P_MISS, P_REASON, P_IN, P_OUT, P_LAT, P_LNG, P_GPS, P_BOOK, P_STAGE, P_CONF, P_ALLOC, P_INV, P_SKU, \
    P_CASES, P_LOOSE, P_UNITS = range(1, 18)


# --- the parameters --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScaleSpec:
    slug: str
    days: int
    orders_per_day: int
    lines_per_order: int
    bookers: int
    distributors: int
    outlets: int
    skus: int
    seed: int
    end_date: date
    tz: str

    @property
    def visits_per_journey(self) -> int:
        """About 1.2 planned visits per order; never fewer than the most orders a booker books."""
        per_booker = self.orders_per_day / self.bookers
        return max(math.ceil(per_booker), round(per_booker * 1.2), 1)

    @property
    def assortment(self) -> int:
        return min(self.skus, max(ASSORTMENT, self.lines_per_order))

    def dates(self) -> list[date]:
        return [self.end_date - timedelta(days=self.days - 1 - t) for t in range(self.days)]

    def share(self, total: int, i: int) -> tuple[int, int]:
        """The first index and the count of distributor i's share of `total` (contiguous, sizes differ by <= 1)."""
        first = total * i // self.distributors
        return first, total * (i + 1) // self.distributors - first

    def validate(self) -> None:
        problems = []
        if self.days < 1 or self.orders_per_day < 1 or self.lines_per_order < 1:
            problems.append("days, orders and lines per order are at least 1")
        if self.bookers < self.distributors or self.distributors < 1:
            problems.append("every distributor needs a booker: bookers >= distributors >= 1")
        if self.outlets // max(self.distributors, 1) < self.visits_per_journey:
            problems.append(f"each distributor needs at least {self.visits_per_journey} outlets (one day-route); "
                            f"raise outlets to {self.visits_per_journey * self.distributors}")
        if self.skus < self.lines_per_order:
            problems.append("an order's lines are distinct SKUs: skus >= lines per order")
        if problems:
            raise ValueError("; ".join(problems) + ".")


@dataclass
class ScaleSummary:
    tenant_id: int
    slug: str
    dates: list[date]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def business_date(self) -> date:
        """The last date: the one the nightly reconciliation would run for."""
        return self.dates[-1]
