"""KPI reads over the daily facts (analytics/models.py): a period's figures (`kpi_summary`), the same per date for
charts (`kpi_series`) and per distributor, booker, route, brand or date for tables (`kpi_breakdown`).

The KPIs, their definitions and BREAKDOWN_KPIS (which grouping carries which KPI) are in analytics/kpi_defs.py and
re-exported here; the queries are in analytics/kpi_reads.py. Each KPI is {"value", "numerator", "denominator",
"definition"}. Every call costs a fixed number of queries whatever the range (one per fact table, one for coverage,
one for the snapshots, and for a breakdown one for the labels), none per row.

Filters: `distributor_id` narrows everything (the API has already refused one outside the scope with a 404; here
it is intersected with the scope all the same); `booker_id` and `route_id` narrow the facts that carry a booker and
a route (all but the receivables); `brand_id` narrows the facts that carry a brand (BrandDayFact: unit and value
fill, delivered against invoiced, sell-in, sell-through, stock cover). An id that is not the caller's matches
nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth import get_user_model

from catalog.models import Brand
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list
from pjp.models import Route

from .kpi_defs import BREAKDOWN_KPIS, KPI_NAMES, KPIS, PLACES, Kpi, evaluate, evaluate_rows
from .kpi_reads import (
    BOOKER_SUMS,
    BRAND_SUMS,
    SERVICE_SUMS,
    Filters,
    carried,
    coverage,
    fact_sums,
    period_days,
    snapshots,
)
from .models import BookerDayFact, BrandDayFact, ServiceDayFact

__all__ = ["BREAKDOWN_KPIS", "BREAKDOWN_BY", "KPIS", "KPI_NAMES", "Kpi", "kpi_breakdown", "kpi_series", "kpi_summary"]

BREAKDOWN_BY = tuple(BREAKDOWN_KPIS)
NO_KEY_LABELS = {"booker": "(no booker)", "route": "(no route)"}
# The fact tables a grouping reads (brand: BrandDayFact only; the others have no brand).
TABLES = ((BookerDayFact, BOOKER_SUMS), (BrandDayFact, BRAND_SUMS), (ServiceDayFact, SERVICE_SUMS))


def _filters(distributor_id: int | None, booker_id: int | None, route_id: int | None,
             brand_id: int | None) -> Filters:
    return {"distributor_id": distributor_id, "booker_id": booker_id, "route_id": route_id, "brand_id": brand_id}


def _grouped(scope: Scope, date_from: date, date_to: date, filters: Filters,
             group: str | None) -> dict[Any, dict[str, Any]]:
    """Every sum the KPIs of the grouping need, per group key (None: the whole period). The keys are those with
    activity facts; a snapshot or the outlet set alone does not make a group (but a distributor's snapshot does)."""
    names = KPI_NAMES if group in (None, "date") else BREAKDOWN_KPIS[group]
    wanted = {name for kpi in KPIS if kpi.name in names for name in (kpi.numerator, kpi.denominator) if name}
    common: dict[str, Any] = {"scope": scope, "date_from": date_from, "date_to": date_to, "filters": filters,
                              "group": group}
    out: dict[Any, dict[str, Any]] = {}
    for model, sums in TABLES:
        if set(sums) & wanted:
            for key, row in fact_sums(model, sums, **common).items():
                out.setdefault(key, {}).update(row)
    found = snapshots(**common) if wanted & {"stock_on_hand", "receivables"} else {}
    if group != "date":
        for key, row in found.items():
            if key in out or group in (None, "distributor"):
                out.setdefault(key, {}).update(row)
    if "outlets_visited" in wanted:
        for key, row in coverage(**common).items():
            if key in out:
                out[key].update(row)
    if group == "date":
        for day, row in out.items():
            row.update(carried(found, day))
    days = 1 if group == "date" else period_days(date_from, date_to)
    for row in out.values():
        per_day = Decimal(row.get("invoiced_units") or 0) / days
        row["invoiced_units_per_day"] = per_day.quantize(PLACES, rounding=ROUND_HALF_UP)
    return out


def kpi_summary(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
                booker_id: int | None = None, route_id: int | None = None,
                brand_id: int | None = None) -> dict[str, dict[str, Any]]:
    """The KPIs over the tenant-local dates date_from..date_to (inclusive), in the scope and the filters; keyed by
    KPI name (KPI_NAMES). Five queries."""
    sums = _grouped(scope, date_from, date_to, _filters(distributor_id, booker_id, route_id, brand_id), None)
    return evaluate(sums.get(None, {}))


def kpi_series(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
               booker_id: int | None = None, route_id: int | None = None,
               brand_id: int | None = None) -> list[dict[str, Any]]:
    """The KPIs per date, one row {"date", <KPI name>: {...}, ..} for each date of the period that has activity
    facts (visits, orders, invoices, deliveries, receipts or stock), in date order. Per date: coverage counts that
    date's visits against the whole outlet set; stock cover and receivables take each distributor's latest snapshot
    on or before the date. Five queries."""
    rows = _grouped(scope, date_from, date_to, _filters(distributor_id, booker_id, route_id, brand_id), "date")
    return [{"date": day, **evaluate(rows[day])} for day in sorted(rows)]


def _labels(scope: Scope, by: str, keys: list[Any]) -> dict[Any, str]:
    """Human labels of the group keys, one query (none for dates)."""
    ids = [k for k in keys if k is not None]
    labels: dict[Any, str] = {None: NO_KEY_LABELS.get(by, "—")}
    if by == "date":
        labels.update({k: k.isoformat() for k in ids})
    elif by == "distributor":
        labels.update({pk: f"{code} {name}" for pk, code, name in
                       distributor_list(scope=scope).filter(pk__in=ids).values_list("pk", "code", "name")})
    elif by == "route":
        labels.update({pk: f"{code} {name}" for pk, code, name in
                       scope.filter(Route.objects.filter(pk__in=ids)).values_list("pk", "code", "name")})
    elif by == "brand":
        labels.update(dict(Brand.objects.filter(tenant_id=scope.tenant_id, pk__in=ids).values_list("pk", "name")))
    else:
        for pk, username, first, last in get_user_model().objects.filter(pk__in=ids).values_list(
                "pk", "username", "first_name", "last_name"):
            full = f"{first} {last}".strip()
            labels[pk] = f"{full} ({username})" if full else username
    return labels


def kpi_breakdown(*, scope: Scope, date_from: date, date_to: date, by: str, distributor_id: int | None = None,
                  booker_id: int | None = None, route_id: int | None = None,
                  brand_id: int | None = None) -> list[dict[str, Any]]:
    """The KPIs of BREAKDOWN_KPIS[by] per group over the period: one row {"key", "label", <KPI name>: {...}} per
    distributor, booker (user), route, brand or date that has facts in the period (a distributor also with only a
    stock or receivables snapshot), sorted by label. `key` is the id (the date for "date"; None for the orders
    without a booker or a route); `label` is "CODE Name" (distributor, route), "Full Name (username)" or the
    username (booker), the brand's name, or the ISO date. Six queries at most."""
    return kpi_breakdown_page(scope=scope, date_from=date_from, date_to=date_to, by=by, distributor_id=distributor_id,
                              booker_id=booker_id, route_id=route_id, brand_id=brand_id)[1]


def kpi_breakdown_page(*, scope: Scope, date_from: date, date_to: date, by: str, distributor_id: int | None = None,
                       booker_id: int | None = None, route_id: int | None = None, brand_id: int | None = None,
                       offset: int = 0, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(the number of groups, the rows offset..offset + limit of kpi_breakdown's): the groups are sorted by label
    first and only the page's rows are evaluated."""
    if by not in BREAKDOWN_KPIS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWN_BY)}")
    rows = _grouped(scope, date_from, date_to, _filters(distributor_id, booker_id, route_id, brand_id), by)
    labels = _labels(scope, by, list(rows))
    keys = sorted(rows, key=lambda key: (labels.get(key, str(key)), str(key)))
    page = keys[offset:None if limit is None else offset + limit]
    figures = evaluate_rows([rows[key] for key in page], BREAKDOWN_KPIS[by])
    return len(keys), [{"key": key, "label": labels.get(key, str(key)), **kpis}
                       for key, kpis in zip(page, figures, strict=True)]
