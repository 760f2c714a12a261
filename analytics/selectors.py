"""KPI reads over the daily facts (analytics/models.py): a period's figures (`kpi_summary`) and the same figures per
date for charts (`kpi_series`).

Each KPI is {"value", "numerator", "denominator", "definition"}: value = numerator / denominator rounded half-up to
4 places (None when the denominator is 0; a count KPI has value = numerator and no denominator), and `definition`
is the sentence shown beside it. The ratios are of sums over the period, never averages of daily ratios.

Reads: one aggregate query per fact table (BookerDayFact for the visit and order KPIs, OutletSkuDayFact for fill and
delivery), filtered by tenant and date first so the (tenant, date) indexes serve them, then by the scope's
distributors and the caller's filters. The visit KPIs have no brand: a brand filter narrows only the fill and
delivery KPIs (OutletSkuDayFact carries brand_id); booker and route filters narrow both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from dms.tenancy.scope import Scope

from .models import BookerDayFact, OutletSkuDayFact

PLACES = Decimal("0.0001")
ZERO = Decimal("0")


@dataclass(frozen=True)
class Kpi:
    """One KPI: its numerator and denominator are keys of the aggregated sums (denominator None: a count)."""

    name: str
    numerator: str
    denominator: str | None
    definition: str


BOOKER_SUMS: dict[str, Any] = {
    "planned_visits": Sum("planned_visits"),
    "planned_visits_made": Sum(F("visits") - F("unplanned_visits")),
    "in_sequence_visits": Sum("in_sequence_visits"),
    "productive_visits": Sum("productive_visits"),
    "orders": Sum("orders"),
    "order_lines": Sum("order_lines"),
    "ordered_value": Sum("ordered_value"),
    "unique_outlets": Sum("unique_outlets_visited"),
}

SKU_SUMS: dict[str, Any] = {
    "ordered_lines": Sum("ordered_lines"),
    "lines_invoiced": Count("pk", filter=Q(invoiced_units__gt=0)),
    "sku_ordered_units": Sum("ordered_units"),
    "invoiced_units": Sum("invoiced_units"),
    "sku_ordered_value": Sum("ordered_value"),
    "invoiced_value": Sum("invoiced_value"),
    "delivered_value": Sum("delivered_value"),
}

KPIS: tuple[Kpi, ...] = (
    Kpi("pjp_adherence", "planned_visits_made", "planned_visits",
        "PJP adherence: planned visits checked in (visits made less unplanned ones) divided by planned visits."),
    Kpi("in_sequence_rate", "in_sequence_visits", "planned_visits_made",
        "In-sequence rate: planned visits made right after a visit of a smaller planned sequence (the day's first "
        "counts) divided by planned visits made."),
    Kpi("strike_rate", "productive_visits", "planned_visits",
        "Strike rate: productive visits (a visit that produced an order, planned or not) divided by planned visits."),
    Kpi("lines_per_call", "order_lines", "productive_visits",
        "Lines per call: order lines of the bookers' orders (cancelled excluded) divided by productive visits."),
    Kpi("drop_size", "ordered_value", "orders",
        "Drop size: value of the bookers' orders (tax included, cancelled excluded) divided by the number of orders."),
    Kpi("unique_outlets_called", "unique_outlets", None,
        "Unique outlets called: distinct outlets visited per booker and day, summed over the period (an outlet "
        "called on two days or by two bookers counts twice)."),
    Kpi("fill_rate_lines", "lines_invoiced", "ordered_lines",
        "Line fill rate (approximate): outlet-SKU-days with units invoiced divided by order lines booked in the "
        "period; two lines of one SKU invoiced the same day at one outlet count once."),
    Kpi("fill_rate_units", "invoiced_units", "sku_ordered_units",
        "Unit fill rate: units invoiced divided by units ordered, each on its own date within the period."),
    Kpi("fill_rate_value", "invoiced_value", "sku_ordered_value",
        "Value fill rate: value invoiced divided by value ordered (tax included), each on its own date within the "
        "period."),
    Kpi("delivered_vs_invoiced", "delivered_value", "invoiced_value",
        "Delivered against invoiced: value delivered (less returns) divided by value invoiced, each on its own date "
        "within the period."),
)
KPI_NAMES = tuple(k.name for k in KPIS)


def _facts(model: Any, *, scope: Scope, date_from: date, date_to: date, distributor_id: int | None,
           booker_id: int | None, route_id: int | None, brand_id: int | None = None) -> QuerySet[Any]:
    qs = scope.filter(model.objects.filter(tenant_id=scope.tenant_id, date__gte=date_from, date__lte=date_to))
    filters = {"distributor_id": distributor_id, "booker_id": booker_id, "route_id": route_id, "brand_id": brand_id}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(PLACES, rounding=ROUND_HALF_UP)


def _kpis(sums: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The KPI dicts from the aggregated sums (missing or NULL sums are 0)."""
    def num(key: str) -> Decimal:
        return Decimal(sums.get(key) or 0)

    out: dict[str, dict[str, Any]] = {}
    for kpi in KPIS:
        numerator = num(kpi.numerator)
        if kpi.denominator is None:
            out[kpi.name] = {"value": numerator, "numerator": numerator, "denominator": None,
                             "definition": kpi.definition}
            continue
        denominator = num(kpi.denominator)
        out[kpi.name] = {"value": _ratio(numerator, denominator), "numerator": numerator,
                         "denominator": denominator, "definition": kpi.definition}
    return out


def _sums(agg: dict[str, Any]) -> dict[str, Any]:
    return {k: Coalesce(v, ZERO if k.endswith("value") else 0) for k, v in agg.items()}


def _by_date(qs: QuerySet[Any], agg: dict[str, Any]) -> QuerySet[Any]:
    return qs.order_by().values("date").annotate(**_sums(agg))


def kpi_summary(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
                booker_id: int | None = None, route_id: int | None = None,
                brand_id: int | None = None) -> dict[str, dict[str, Any]]:
    """The KPIs over the tenant-local dates date_from..date_to (inclusive), in the scope and the filters; keyed by
    KPI name (KPI_NAMES). Two queries, one aggregate per fact table."""
    common: dict[str, Any] = {"scope": scope, "date_from": date_from, "date_to": date_to,
                              "distributor_id": distributor_id, "booker_id": booker_id, "route_id": route_id}
    booker = _facts(BookerDayFact, **common).aggregate(**_sums(BOOKER_SUMS))
    sku = _facts(OutletSkuDayFact, brand_id=brand_id, **common).aggregate(**_sums(SKU_SUMS))
    return _kpis({**booker, **sku})


def kpi_series(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
               booker_id: int | None = None, route_id: int | None = None,
               brand_id: int | None = None) -> list[dict[str, Any]]:
    """The KPIs per date, one row {"date", <KPI name>: {...}, ..} for each date of the period that has facts, in date
    order. Two queries, one aggregate per fact table grouped by date; the rows are merged by date."""
    common: dict[str, Any] = {"scope": scope, "date_from": date_from, "date_to": date_to,
                              "distributor_id": distributor_id, "booker_id": booker_id, "route_id": route_id}
    by_date: dict[date, dict[str, Any]] = {}
    for row in _by_date(_facts(BookerDayFact, **common), BOOKER_SUMS):
        by_date.setdefault(row["date"], {}).update(row)
    for row in _by_date(_facts(OutletSkuDayFact, brand_id=brand_id, **common), SKU_SUMS):
        by_date.setdefault(row["date"], {}).update(row)
    return [{"date": day, **_kpis(by_date[day])} for day in sorted(by_date)]
