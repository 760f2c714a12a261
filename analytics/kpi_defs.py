"""The KPIs: name, the sums they divide, the sentence a dashboard shows beside them, and which breakdowns carry them.

A KPI's numerator and denominator are keys of a dict of sums that analytics.kpi_reads fills from the daily facts
(analytics/models.py); `evaluate` turns one such dict into {name: {"value", "numerator", "denominator",
"definition"}}. value = numerator / denominator rounded half-up to 4 places (None when the denominator is 0); a count
(denominator None) has value = numerator. Ratios are of sums over the period, never averages of daily ratios.

Which fact feeds which KPI (and so which filters narrow it: a filter narrows the facts that carry its column):
- BookerDayFact (distributor, booker, route): visits, orders booked, time in market;
- OutletDayFact (distributor, booker, route): coverage;
- ServiceDayFact (distributor, booker, route): order and line fill, on time, in full, OTIF;
- BrandDayFact (distributor, booker, route, brand): unit and value fill, delivered against invoiced, sell-in,
  sell-through, stock cover. Sell-in and stock sit on its rows without booker and route (the distributor's), so a
  booker or route filter leaves none of them;
- DistributorDayFact (distributor): receivables ageing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Kpi:
    """One KPI: its numerator and denominator are keys of the sums (denominator None: a count). `unit` says how the
    value reads: percent (a ratio), money, count, number or days."""

    name: str
    numerator: str
    denominator: str | None
    definition: str
    unit: str = "percent"


KPIS: tuple[Kpi, ...] = (
    Kpi("pjp_adherence", "planned_visits_made", "planned_visits",
        "PJP adherence: planned visits checked in (visits made less unplanned ones) divided by planned visits."),
    Kpi("in_sequence_rate", "in_sequence_visits", "planned_visits_made",
        "In-sequence rate: planned visits made right after a visit of a smaller planned sequence (the day's first "
        "counts) divided by planned visits made."),
    Kpi("strike_rate", "productive_visits", "planned_visits",
        "Strike rate: productive visits (a visit that produced an order, planned or not) divided by planned visits."),
    Kpi("lines_per_call", "order_lines", "productive_visits",
        "Lines per call: order lines of the bookers' orders (cancelled excluded) divided by productive visits.",
        "number"),
    Kpi("drop_size", "ordered_value", "orders",
        "Drop size: value of the bookers' orders (tax included, cancelled excluded) divided by the number of orders.",
        "money"),
    Kpi("unique_outlets_called", "unique_outlets", None,
        "Unique outlets called: distinct outlets visited per booker and day, summed over the period (an outlet "
        "called on two days or by two bookers counts twice).", "count"),
    Kpi("time_in_market", "market_hours", "market_days",
        "Time in market: hours from a booker's first check-in to last check-out of the day, summed over the booker "
        "days with both, divided by those booker days.", "number"),
    Kpi("coverage", "outlets_visited", "outlets_in_scope",
        "Coverage: distinct outlets visited (checked in) at least once in the period divided by the active outlets "
        "of the distributors in scope; with a route filter, the route's stops; with a booker filter, the stops of "
        "the routes of the booker's journeys in the period; only outlets of that set count as visited."),
    Kpi("fill_rate_orders", "orders_filled", "orders_invoiced",
        "Order fill rate: orders invoiced in the period whose every line (free goods included) was invoiced in full "
        "divided by the orders invoiced in the period."),
    Kpi("fill_rate_lines", "lines_filled", "order_lines_invoiced",
        "Line fill rate: order lines invoiced in full (units invoiced at least the units ordered) divided by the "
        "order lines of the orders invoiced in the period."),
    Kpi("fill_rate_units", "invoiced_units", "brand_ordered_units",
        "Unit fill rate: units invoiced divided by units ordered, each on its own date within the period."),
    Kpi("fill_rate_value", "invoiced_value", "brand_ordered_value",
        "Value fill rate: value invoiced divided by value ordered (tax included), each on its own date within the "
        "period."),
    Kpi("delivered_vs_invoiced", "delivered_value", "invoiced_value",
        "Delivered against invoiced: value delivered (less returns) divided by value invoiced, each on its own date "
        "within the period."),
    Kpi("otif", "orders_otif", "orders_due",
        "OTIF: orders due in the period (delivery date, else booking date + the tenant's delivery days; cancelled "
        "excluded) delivered on time and in full, divided by the orders due."),
    Kpi("on_time_rate", "orders_on_time", "orders_due",
        "On-time rate: orders due in the period delivered (in full or in part) on a load form dated on or before "
        "the due date, divided by the orders due."),
    Kpi("in_full_rate", "orders_in_full", "orders_due",
        "In-full rate: orders due in the period whose delivered units reach the units ordered with nothing returned, "
        "divided by the orders due."),
    Kpi("sell_in_units", "sell_in_units", None,
        "Sell-in units: good units received from the manufacturer (goods receipts) in the period.", "count"),
    Kpi("sell_in_value", "sell_in_value", None,
        "Sell-in value: cases received in good condition in the period at the dispatch advice's case price.",
        "money"),
    Kpi("sell_through_units", "invoiced_units", None,
        "Sell-through units: units invoiced to outlets in the period.", "count"),
    Kpi("sell_through_value", "invoiced_value", None,
        "Sell-through value: value invoiced to outlets in the period (tax included).", "money"),
    Kpi("sell_through_vs_sell_in", "invoiced_value", "sell_in_value",
        "Sell-through against sell-in: value invoiced to outlets divided by the value received from the "
        "manufacturer, both in the period."),
    Kpi("stock_cover_days", "stock_on_hand", "invoiced_units_per_day",
        "Stock cover: units on hand at each distributor's latest stock snapshot on or before the period's last day, "
        "summed, divided by the units invoiced per day over the period (units invoiced / days in the period).",
        "days"),
    Kpi("receivables", "receivables", None,
        "Receivables: open balance (total less credited and paid) of the invoices not fully paid, at each "
        "distributor's latest snapshot on or before the period's last day, summed.", "money"),
    Kpi("ar_0_30", "ar_0_30", None,
        "Receivables 0-30 days: the open balance of invoices 0 to 30 days old at the latest snapshot.", "money"),
    Kpi("ar_31_60", "ar_31_60", None,
        "Receivables 31-60 days: the open balance of invoices 31 to 60 days old at the latest snapshot.", "money"),
    Kpi("ar_61_90", "ar_61_90", None,
        "Receivables 61-90 days: the open balance of invoices 61 to 90 days old at the latest snapshot.", "money"),
    Kpi("ar_over_90", "ar_over_90", None,
        "Receivables over 90 days: the open balance of invoices more than 90 days old at the latest snapshot.",
        "money"),
    Kpi("aged_over_90_share", "ar_over_90", "receivables",
        "Share over 90 days: receivables more than 90 days old divided by all receivables, at the latest snapshot."),
)
KPI_NAMES = tuple(k.name for k in KPIS)

_VISITS = ("pjp_adherence", "in_sequence_rate", "strike_rate", "lines_per_call", "drop_size",
           "unique_outlets_called", "time_in_market", "coverage")
_SERVICE = ("fill_rate_orders", "fill_rate_lines", "otif", "on_time_rate", "in_full_rate")
_SALES = ("fill_rate_units", "fill_rate_value", "delivered_vs_invoiced", "sell_through_units", "sell_through_value")
_STOCK = ("sell_in_units", "sell_in_value", "sell_through_vs_sell_in", "stock_cover_days")
_RECEIVABLES = ("receivables", "ar_0_30", "ar_31_60", "ar_61_90", "ar_over_90", "aged_over_90_share")


def _in_order(*groups: tuple[str, ...]) -> tuple[str, ...]:
    wanted = {name for group in groups for name in group}
    return tuple(name for name in KPI_NAMES if name in wanted)


# The KPIs each kpi_breakdown grouping carries, in KPIS order. A distributor or a date carries them all. A booker or
# a route: no sell-in, stock or receivables (the distributor's, not a call's). A brand: what BrandDayFact carries
# (no visits, coverage, order-level service or receivables: those facts have no brand).
BREAKDOWN_KPIS: dict[str, tuple[str, ...]] = {
    "distributor": KPI_NAMES,
    "booker": _in_order(_VISITS, _SERVICE, _SALES),
    "route": _in_order(_VISITS, _SERVICE, _SALES),
    "brand": _in_order(_SALES, _STOCK),
    "date": KPI_NAMES,
}


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (numerator / denominator).quantize(PLACES, rounding=ROUND_HALF_UP)


def _selected(names: tuple[str, ...]) -> tuple[Kpi, ...]:
    wanted = set(names)
    return tuple(kpi for kpi in KPIS if kpi.name in wanted)


def evaluate(sums: dict[str, Any], names: tuple[str, ...] = KPI_NAMES,
             selected: tuple[Kpi, ...] | None = None) -> dict[str, dict[str, Any]]:
    """The KPI dicts of `names` from the sums (missing or NULL sums are 0). `selected`: the KPIs of `names`, in
    KPIS order, when the caller evaluates many rows (evaluate_rows)."""
    kpis = selected if selected is not None else _selected(names)
    out: dict[str, dict[str, Any]] = {}
    for kpi in kpis:
        numerator = Decimal(sums.get(kpi.numerator) or 0)
        if kpi.denominator is None:
            out[kpi.name] = {"value": numerator, "numerator": numerator, "denominator": None,
                             "definition": kpi.definition}
            continue
        denominator = Decimal(sums.get(kpi.denominator) or 0)
        out[kpi.name] = {"value": ratio(numerator, denominator), "numerator": numerator,
                         "denominator": denominator, "definition": kpi.definition}
    return out


def evaluate_rows(rows: list[dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, dict[str, Any]]]:
    """evaluate() of each row of sums, the KPIs of `names` picked once."""
    selected = _selected(names)
    return [evaluate(row, names, selected) for row in rows]
