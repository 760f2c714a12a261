"""The reads behind the KPIs (analytics.kpi_defs): sums of the daily facts over a period, whole or grouped by one
column, as dicts keyed by the group (None: the whole period). analytics.selectors merges them and evaluates the KPIs.

- `fact_sums`: one aggregate query per fact table (BookerDayFact, BrandDayFact, ServiceDayFact, or their roll-ups
  per distributor when no booker or route narrows them), filtered by tenant and date first so the (tenant, date)
  indexes serve them, then by the scope's distributors and the filters the table has a column for.
- `coverage`: one query: the outlet set (active outlets in scope, narrowed by the route and booker filters; per
  group for route, booker and distributor) against the distinct outlets visited. Neither a route nor a booker
  narrowing it: a period within a month (or per date) is a lookup of CoverageMonthFact's precomputed counts, a
  period across months is counted from OutletMonthFact's day bits (a tenant's month is one row per outlet); else
  from OutletDayFact.
- `snapshots`: one query: stock on hand (DistributorBrandDayFact; BrandDayFact under a booker or route filter) and
  receivables (DistributorDayFact) at each distributor's latest snapshot on or before a date. Per date (group
  "date"), each date gets each distributor's latest snapshot on or before it: the snapshots are turned into
  per-distributor changes and summed cumulatively, so a distributor not refreshed on some date carries its last
  figures forward.
Raw SQL where the ORM cannot say it (LATERAL, windows); every statement names tenant_id and the distributors. That SQL
is PostgreSQL's, as the builder's is: on the SQLite demo, where no facts are built, it is not run and reads nothing.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DurationField, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from catalog.models import Outlet
from dms.tenancy.scope import Scope
from pjp.models import DailyJourney, RouteStop

from .builders import table
from .kpi_defs import PLACES
from .models import (
    BookerDayFact,
    BrandDayFact,
    CoverageMonthFact,
    DistributorActivityDayFact,
    DistributorBrandDayFact,
    DistributorDayFact,
    OutletDayFact,
    OutletMonthFact,
    ServiceDayFact,
)

GROUP_FIELDS = {"date": "date", "distributor": "distributor_id", "booker": "booker_id", "route": "route_id",
                "brand": "brand_id"}
HOUR = Decimal(3600)

BOOKER_SUMS: dict[str, Any] = {
    "planned_visits": Sum("planned_visits"),
    "planned_visits_made": Sum(F("visits") - F("unplanned_visits")),
    "in_sequence_visits": Sum("in_sequence_visits"),
    "productive_visits": Sum("productive_visits"),
    "orders": Sum("orders"),
    "order_lines": Sum("order_lines"),
    "ordered_value": Sum("ordered_value"),
    "unique_outlets": Sum("unique_outlets_visited"),
    "market_time": Sum(F("last_check_out") - F("first_check_in"), output_field=DurationField(),
                       filter=Q(first_check_in__isnull=False, last_check_out__isnull=False)),
    "market_days": Count("pk", filter=Q(first_check_in__isnull=False, last_check_out__isnull=False)),
}
BRAND_SUMS: dict[str, Any] = {
    "brand_ordered_units": Sum("ordered_units"),
    "brand_ordered_value": Sum("ordered_value"),
    "invoiced_units": Sum("invoiced_units"),
    "invoiced_value": Sum("invoiced_value"),
    "delivered_value": Sum("delivered_value"),
    "sell_in_units": Sum("primary_received_units"),
    "sell_in_value": Sum("primary_received_value"),
}
SERVICE_SUMS: dict[str, Any] = {name: Sum(name) for name in (
    "orders_invoiced", "orders_filled", "order_lines_invoiced", "lines_filled", "orders_due", "orders_on_time",
    "orders_in_full", "orders_otif")}
# BOOKER_SUMS and SERVICE_SUMS over the roll-up DistributorActivityDayFact, and the count of the source's rows.
ACTIVITY_SUMS: dict[str, Any] = {
    **{name: Sum(name) for name in ("planned_visits", "planned_visits_made", "in_sequence_visits", "productive_visits",
                                    "orders", "order_lines", "ordered_value", "market_time")},
    "unique_outlets": Sum("unique_outlets_visited"), "market_days": Coalesce(Sum("market_days"), 0),
    **{name: Sum(name) for name in SERVICE_SUMS},
}
ACTIVITY_ROWS = {BookerDayFact: "booker_rows", ServiceDayFact: "service_rows"}
SNAPSHOT_KEYS = ("stock_on_hand", "receivables", "ar_0_30", "ar_31_60", "ar_61_90", "ar_over_90")

Filters = dict[str, int | None]  # distributor_id, booker_id, route_id, brand_id


def facts(model: Any, *, scope: Scope, date_from: date, date_to: date, filters: Filters) -> QuerySet[Any]:
    """The model's facts of the period in the scope, narrowed by the filters it has a column for."""
    qs = scope.filter(model.objects.filter(tenant_id=scope.tenant_id, date__gte=date_from, date__lte=date_to))
    columns = {f.attname for f in model._meta.fields}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None and k in columns})


def _hours(value: Any) -> Decimal:
    """A summed duration (timedelta, or None) in hours to 4 places, half up (no float on the way)."""
    if value is None:
        return Decimal(0)
    seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / Decimal(10**6)
    return (seconds / HOUR).quantize(PLACES, rounding=ROUND_HALF_UP)


def _source(model: Any, sums: dict[str, Any], filters: Filters, group: str | None
            ) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Where the sums are read: the model, or its roll-up per distributor when no booker or route narrows or groups
    them; the sums over the table read; and the conditions on its rows (a roll-up's: those of the model's rows)."""
    if filters.get("booker_id") is not None or filters.get("route_id") is not None or group in ("booker", "route"):
        return model, sums, {}
    if model in ACTIVITY_ROWS:
        return DistributorActivityDayFact, {k: ACTIVITY_SUMS[k] for k in sums}, {f"{ACTIVITY_ROWS[model]}__gt": 0}
    if model is BrandDayFact:  # the brand's rows with a brand filter or by brand, else the all-brands rows
        brands = {} if filters.get("brand_id") is not None else {"brand_id__isnull": group != "brand"}
        return DistributorBrandDayFact, sums, brands
    return model, sums, {}


def fact_sums(model: Any, sums: dict[str, Any], *, scope: Scope, date_from: date, date_to: date, filters: Filters,
              group: str | None) -> dict[Any, dict[str, Any]]:
    """The sums of the model's facts, whole ({None: sums}) or per value of the group's column. One query. When no
    booker or route narrows or groups them, BookerDayFact's and ServiceDayFact's sums come from their roll-up per
    distributor (DistributorActivityDayFact) and BrandDayFact's from its (DistributorBrandDayFact)."""
    model, sums, narrowing = _source(model, sums, filters, group)
    qs = facts(model, scope=scope, date_from=date_from, date_to=date_to, filters=filters).filter(**narrowing)
    if group is None:
        rows = {None: qs.aggregate(**sums)}
    else:
        field = GROUP_FIELDS[group]
        rows = {row.pop(field): row for row in qs.order_by().values(field).annotate(**sums)}
    for row in rows.values():
        if "market_time" in row:
            row["market_hours"] = _hours(row.pop("market_time"))
    return rows


def _dist_clause(column: str, scope: Scope, distributor_id: int | None) -> tuple[str, list[int] | None]:
    """`AND <column> = ANY(%(dist)s)` when the scope or the filter narrows the distributors, and the ids."""
    ids = None if scope.distributor_ids is None else set(scope.distributor_ids)
    if distributor_id is not None:
        ids = {distributor_id} & ids if ids is not None else {distributor_id}
    if ids is None:
        return "", None
    return f" AND {column} = ANY(%(dist)s)", sorted(ids)


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    if connection.vendor != "postgresql":
        return []  # the SQLite demo: no facts are built there (analytics.backfill.facts_supported), nothing to read
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _tables() -> dict[str, str]:
    return {"outlet": table(Outlet), "stop": table(RouteStop), "journey": table(DailyJourney),
            "outlet_fact": table(OutletDayFact),
            "dist_fact": table(DistributorDayFact), "month_fact": table(OutletMonthFact),
            "coverage_fact": table(CoverageMonthFact),
            "distributor": '"tenancy_distributor"'}


COVERAGE_BASE = {
    None: "SELECT 0::bigint AS key, s.id AS outlet_id FROM s",
    "date": "SELECT 0::bigint AS key, s.id AS outlet_id FROM s",
    "distributor": "SELECT s.distributor_id AS key, s.id AS outlet_id FROM s",
    "route": """SELECT DISTINCT rs.route_id AS key, s.id AS outlet_id FROM s
        JOIN {stop} rs ON rs.distributor_id = s.distributor_id AND rs.outlet_id = s.id""",
    # the routes of each booker's journeys in the period, then their stops
    "booker": """SELECT DISTINCT r.booker_id AS key, s.id AS outlet_id FROM (
            SELECT DISTINCT j.booker_id, j.distributor_id, j.route_id FROM {journey} j
            WHERE j.tenant_id = %(t)s AND j.date BETWEEN %(date_from)s AND %(date_to)s{dist_j}
        ) r
        JOIN {stop} rs ON rs.distributor_id = r.distributor_id AND rs.route_id = r.route_id
        JOIN s ON s.distributor_id = rs.distributor_id AND s.id = rs.outlet_id""",
}
COVERAGE_SEEN_KEY = {None: "0::bigint", "date": "0::bigint", "distributor": "f.distributor_id",
                     "route": "f.route_id", "booker": "f.booker_id"}
COVERAGE = """
WITH s AS MATERIALIZED (
    SELECT o.id, o.distributor_id FROM {outlet} o
    WHERE o.tenant_id = %(t)s AND o.active{dist_o}{route_o}{booker_o}
),
base AS ({base}),
seen AS (
    SELECT DISTINCT {seen_key} AS key, {seen_date} AS date, f.outlet_id FROM {outlet_fact} f
    WHERE f.tenant_id = %(t)s AND f.date BETWEEN %(date_from)s AND %(date_to)s AND f.visited{dist_f}{route_f}{booker_f}
)
"""
COVERAGE_BY_KEY = """SELECT b.key, NULL::date, count(*), count(v.outlet_id) FROM base b
LEFT JOIN seen v ON v.key = b.key AND v.outlet_id = b.outlet_id GROUP BY b.key"""
COVERAGE_BY_DATE = """SELECT 0::bigint, NULL::date, count(*), 0 FROM base
UNION ALL SELECT 0::bigint, v.date, 0, count(*) FROM seen v JOIN base b ON b.outlet_id = v.outlet_id GROUP BY v.date"""
ROUTE_STOPS = """ AND EXISTS (SELECT 1 FROM {stop} rs WHERE rs.distributor_id = o.distributor_id
        AND rs.outlet_id = o.id AND rs.route_id = %(route)s)"""
BOOKER_STOPS = """ AND EXISTS (SELECT 1 FROM {journey} j
        JOIN {stop} rs ON rs.distributor_id = j.distributor_id AND rs.route_id = j.route_id
        WHERE j.tenant_id = %(t)s AND j.booker_id = %(booker)s AND j.date BETWEEN %(date_from)s AND %(date_to)s
          AND rs.distributor_id = o.distributor_id AND rs.outlet_id = o.id)"""


# Not narrowed to a route or a booker: the month facts (one row per outlet and month), each month's rows tested
# against the bits of the period's days in that month, joined to the active outlets in scope (read from the partial
# index outlet_active_scope alone). Plain joins, no CTE fence, so PostgreSQL may read both sides in parallel. A
# period within one month has one row per outlet; across months an outlet's rows are made distinct first.
MONTH_SEEN = """
SELECT m.distributor_id, m.outlet_id FROM {month_fact} m
WHERE m.tenant_id = %(t)s AND m.date = ANY(%(months)s::date[])
  AND m.visited_days & (%(masks)s::int[])[array_position(%(months)s::date[], m.date)] <> 0{dist_m}
"""
MONTH_BY_KEY = """
SELECT {key}, NULL::date, count(*), count(v.outlet_id)
FROM {outlet} s
LEFT JOIN ({seen}) v ON v.distributor_id = s.distributor_id AND v.outlet_id = s.id
WHERE s.tenant_id = %(t)s AND s.active{dist_s}
GROUP BY 1
"""
# Per date, one pass over the period's month rows, per month a count for each day of the month the period has of
# the outlets whose bit of that day is set (at most 31 counts, however long the period).
MONTH_BY_DATE = """
SELECT NULL::date, ARRAY[count(*)]::bigint[] FROM {outlet} s WHERE s.tenant_id = %(t)s AND s.active{dist_s}
UNION ALL
SELECT m.date, ARRAY[{per_day}]::bigint[]
FROM {outlet} s
JOIN {month_fact} m ON m.tenant_id = %(t)s AND m.distributor_id = s.distributor_id AND m.outlet_id = s.id
    AND m.date = ANY(%(months)s::date[])
    AND m.visited_days & (%(masks)s::int[])[array_position(%(months)s::date[], m.date)] <> 0
WHERE s.tenant_id = %(t)s AND s.active{dist_s}
GROUP BY m.date
"""
# Sent with the coverage statement (one round trip): its joins hash some 200,000 outlets, in memory, not on disk.
WORK_MEM = "SET LOCAL work_mem = '32MB'; "


def month_masks(date_from: date, date_to: date) -> tuple[list[date], list[int]]:
    """The months the period touches (their first days) and, for each, the bits of the period's days in it."""
    masks: dict[date, int] = {}
    day = date_from
    while day <= date_to:
        month = day.replace(day=1)
        masks[month] = masks.get(month, 0) | (1 << (day.day - 1))
        day += timedelta(days=1)
    return list(masks), list(masks.values())


def _month_coverage(*, scope: Scope, date_from: date, date_to: date, filters: Filters, group: str | None,
                    dist: list[int] | None = None) -> list[tuple[Any, ...]]:
    """Coverage from the month bits, as COVERAGE_BY_KEY / COVERAGE_BY_DATE give it; `dist` narrows the distributors
    further (the ones the lookup could not serve)."""
    dist_sql, dist_ids = _dist_clause("{col}", scope, filters.get("distributor_id"))
    if dist is not None:  # already within the scope and the filter
        dist_sql, dist_ids = " AND {col} = ANY(%(dist)s)", dist
    months, masks = month_masks(date_from, date_to)
    params: dict[str, Any] = {"t": scope.tenant_id, "dist": dist_ids, "months": months, "masks": masks}
    if group == "date":
        return _month_coverage_by_date(params, dist_sql.format(col="s.distributor_id"), date_from, date_to)
    seen = MONTH_SEEN.format(dist_m=dist_sql.format(col="m.distributor_id"), **_tables())
    if len(months) > 1:
        seen = f"SELECT DISTINCT x.distributor_id, x.outlet_id FROM ({seen}) x"
    sql = MONTH_BY_KEY.format(key="s.distributor_id" if group == "distributor" else "0::bigint", seen=seen,
                              dist_s=dist_sql.format(col="s.distributor_id"), **_tables())
    return _fetch(WORK_MEM + sql, params)


# The lookup (CoverageMonthFact), one statement: each month's marker rows (0, 0), which hold the distributor's active
# outlets (the outlets in scope); the rows of each month's days in the period ({days}: whole periods: from_day = the
# first day, call_day up to the last; per date: from_day = call_day); and, flagged from_day -1, the distributors'
# months without a marker (never built, or made stale by an outlet change), with whether the month has month bits
# (then the distributor is read from the bits) and the distributor's active outlets (outlet_active_scope, one
# index range each).
LOOKUP = """
SELECT c.distributor_id, c.date, c.from_day, c.call_day, c.outlets FROM {coverage_fact} c
WHERE c.tenant_id = %(t)s AND ((c.date = ANY(%(months)s::date[]) AND c.from_day = 0 AND c.call_day = 0){days}){dist_c}
UNION ALL
SELECT d.id, mo.m, -1,
    (EXISTS (SELECT 1 FROM {month_fact} m WHERE m.tenant_id = %(t)s AND m.distributor_id = d.id
        AND m.date = mo.m))::int,
    (SELECT count(*) FROM {outlet} o WHERE o.tenant_id = %(t)s AND o.distributor_id = d.id AND o.active)
FROM {distributor} d CROSS JOIN unnest(%(months)s::date[]) mo(m)
WHERE d.tenant_id = %(t)s{dist_d}
  AND NOT EXISTS (SELECT 1 FROM {coverage_fact} c WHERE c.tenant_id = %(t)s AND c.distributor_id = d.id
      AND c.date = mo.m AND c.from_day = 0 AND c.call_day = 0)
"""
LOOKUP_PERIOD = " OR (c.date = %(m{i})s AND c.from_day = %(a{i})s AND c.call_day <= %(b{i})s)"
LOOKUP_DAYS = " OR (c.date = %(m{i})s AND c.from_day BETWEEN %(a{i})s AND %(b{i})s AND c.call_day = c.from_day)"


def _month_spans(date_from: date, date_to: date) -> list[tuple[date, int, int]]:
    """(month, first day, last day) of each month the period touches."""
    spans: dict[date, tuple[int, int]] = {}
    day = date_from
    while day <= date_to:
        month = day.replace(day=1)
        spans[month] = (spans.get(month, (day.day, 0))[0], day.day)
        day += timedelta(days=1)
    return [(m, a, b) for m, (a, b) in spans.items()]


def _lookup_coverage(*, scope: Scope, date_from: date, date_to: date, filters: Filters, group: str | None
                     ) -> list[tuple[Any, ...]]:
    """Coverage from CoverageMonthFact, in _month_coverage's rows; the distributors whose month is not built (no
    marker row: never built, or made stale by an outlet change) are read from the month bits and added."""
    spans = _month_spans(date_from, date_to)
    dist_sql, dist = _dist_clause("{col}", scope, filters.get("distributor_id"))
    pattern = LOOKUP_DAYS if group == "date" else LOOKUP_PERIOD
    params: dict[str, Any] = {"t": scope.tenant_id, "dist": dist, "months": [m for m, _a, _b in spans]}
    for i, (month, first, last) in enumerate(spans):
        params.update({f"m{i}": month, f"a{i}": first, f"b{i}": last})
    sql = LOOKUP.format(days="".join(pattern.format(i=i) for i in range(len(spans))),
                        dist_s=dist_sql.format(col="s.distributor_id"), dist_c=dist_sql.format(col="c.distributor_id"),
                        dist_d=dist_sql.format(col="d.id"), **_tables())
    in_scope: dict[int, int] = {}
    stale: set[int] = set()  # read from the bits, over the whole period
    period_rows = []
    for distributor, month, from_day, call_day, outlets in _fetch(sql, params):
        if from_day > 0:
            period_rows.append((distributor, month, call_day, outlets))
        elif from_day == 0 or distributor not in in_scope:
            in_scope[distributor] = outlets  # a marker's count is the present one, as an unmarked month's
        if from_day < 0 and call_day:
            stale.add(distributor)
    visited: dict[Any, int] = {}
    for distributor, month, call_day, outlets in period_rows:
        if distributor not in stale:
            key = month.replace(day=call_day) if group == "date" else distributor
            visited[key] = visited.get(key, 0) + outlets
    in_scope = {d: n for d, n in in_scope.items() if n and d not in stale}
    if group == "date":
        total = sum(in_scope.values())
        by_bits = _month_coverage(scope=scope, date_from=date_from, date_to=date_to, filters=filters, group="date",
                                  dist=sorted(stale)) if stale else []
        for _k, day, outlets, seen in by_bits:
            if day is None:
                total += outlets
            else:
                visited[day] = visited.get(day, 0) + seen
        return [(0, None, total, 0)] + [(0, day, 0, n) for day, n in sorted(visited.items()) if n]
    if stale:
        for distributor, _d, outlets, seen in _month_coverage(scope=scope, date_from=date_from, date_to=date_to,
                                                              filters=filters, group="distributor", dist=sorted(stale)):
            in_scope[distributor], visited[distributor] = outlets, seen
    if group == "distributor":
        return [(d, None, n, visited.get(d, 0)) for d, n in in_scope.items()]
    return [(0, None, sum(in_scope.values()), sum(visited.get(d, 0) for d in in_scope))]


def _month_coverage_by_date(params: dict[str, Any], dist_s: str, date_from: date, date_to: date
                            ) -> list[tuple[Any, ...]]:
    """Rows as COVERAGE_BY_DATE gives them: (0, None, in scope, 0), then (0, day, 0, visited) per day with a visit."""
    days_of_month = sorted({(date_from + timedelta(days=i)).day for i in range(period_days(date_from, date_to))})
    per_day = ", ".join(f"count(*) FILTER (WHERE m.visited_days & {1 << (k - 1)} <> 0)" for k in days_of_month)
    rows: list[tuple[Any, ...]] = []
    for month, counts in _fetch(WORK_MEM + MONTH_BY_DATE.format(per_day=per_day, dist_s=dist_s, **_tables()), params):
        if month is None:
            rows.append((0, None, counts[0], 0))
            continue
        for k, seen in zip(days_of_month, counts, strict=True):
            if seen and k <= monthrange(month.year, month.month)[1] and date_from <= month.replace(day=k) <= date_to:
                rows.append((0, month.replace(day=k), 0, seen))
    return rows


def coverage(*, scope: Scope, date_from: date, date_to: date, filters: Filters,
             group: str | None) -> dict[Any, dict[str, Any]]:
    """{key: {"outlets_visited", "outlets_in_scope"}} (see the coverage KPI's definition); per date, every date with
    a visit, each against the whole outlet set. One query: over the month facts unless narrowed to a route or a
    booker (or grouped by them), else over the day facts, which carry the route and the booker."""
    route, booker = filters.get("route_id"), filters.get("booker_id")
    if route is None and booker is None and group in (None, "distributor", "date"):
        one_month = date_from.replace(day=1) == date_to.replace(day=1)
        read = _lookup_coverage if one_month or group == "date" else _month_coverage
        return _coverage_rows(read(scope=scope, date_from=date_from, date_to=date_to, filters=filters, group=group),
                              group)
    dist_sql, dist = _dist_clause("{col}", scope, filters.get("distributor_id"))
    tables = _tables()
    sql = COVERAGE.format(
        base=COVERAGE_BASE[group].format(dist_j=dist_sql.format(col="j.distributor_id"), **tables),
        seen_key=COVERAGE_SEEN_KEY[group], seen_date="f.date" if group == "date" else "NULL::date",
        dist_o=dist_sql.format(col="o.distributor_id"), dist_f=dist_sql.format(col="f.distributor_id"),
        route_o=ROUTE_STOPS.format(**tables) if route is not None else "",
        booker_o=BOOKER_STOPS.format(**tables) if booker is not None else "",
        route_f=" AND f.route_id = %(route)s" if route is not None else "",
        booker_f=" AND f.booker_id = %(booker)s" if booker is not None else "", **tables)
    sql += COVERAGE_BY_DATE if group == "date" else COVERAGE_BY_KEY
    params = {"t": scope.tenant_id, "date_from": date_from, "date_to": date_to, "dist": dist, "route": route,
              "booker": booker}
    return _coverage_rows(_fetch(sql, params), group)


def _coverage_rows(rows: list[tuple[Any, ...]], group: str | None) -> dict[Any, dict[str, Any]]:
    if group != "date":
        return {(None if group is None else key): {"outlets_in_scope": total, "outlets_visited": seen}
                for key, _d, total, seen in rows}
    total = sum(r[2] for r in rows if r[1] is None)
    return {day: {"outlets_in_scope": total, "outlets_visited": seen} for _k, day, _t, seen in rows if day}


SNAPSHOT = """
WITH snaps AS MATERIALIZED (
    SELECT d.id AS distributor_id, l.* FROM {distributor} d
    CROSS JOIN LATERAL (
        SELECT f.date, f.receivables, f.ar_0_30, f.ar_31_60, f.ar_61_90, f.ar_over_90 FROM {dist_fact} f
        WHERE f.tenant_id = %(t)s AND f.distributor_id = d.id AND f.date <= %(first)s
          AND f.stock_on_hand_units IS NOT NULL
        ORDER BY f.date DESC LIMIT 1
    ) l
    WHERE d.tenant_id = %(t)s{dist_d}
  UNION ALL
    SELECT f.distributor_id, f.date, f.receivables, f.ar_0_30, f.ar_31_60, f.ar_61_90, f.ar_over_90
    FROM {dist_fact} f
    WHERE f.tenant_id = %(t)s AND f.date > %(first)s AND f.date <= %(last)s
      AND f.stock_on_hand_units IS NOT NULL{dist_f}
),
per_snap AS (
    SELECT s.distributor_id, s.date, st.key, coalesce(st.units, 0) AS stock, coalesce(s.receivables, 0) AS receivables,
        coalesce(s.ar_0_30, 0) AS ar_0_30, coalesce(s.ar_31_60, 0) AS ar_31_60, coalesce(s.ar_61_90, 0) AS ar_61_90,
        coalesce(s.ar_over_90, 0) AS ar_over_90
    FROM snaps s
    LEFT JOIN LATERAL (
        SELECT {stock_key} AS key, sum(b.stock_on_hand_units) AS units FROM {stock_fact} b
        WHERE b.tenant_id = %(t)s AND b.distributor_id = s.distributor_id AND b.date = s.date
          AND b.stock_on_hand_units IS NOT NULL{brand_filters}
        GROUP BY 1
    ) st ON true
)
"""
SNAPSHOT_TOTAL = """SELECT {key}, NULL::date, sum(stock), sum(receivables), sum(ar_0_30), sum(ar_31_60), sum(ar_61_90),
    sum(ar_over_90) FROM per_snap GROUP BY 1"""
# Per date: each snapshot less the same distributor's previous one, summed cumulatively over the dates.
SNAPSHOT_SERIES = """SELECT NULL, date, sum(sum(stock)) OVER w, sum(sum(receivables)) OVER w, sum(sum(ar_0_30)) OVER w,
    sum(sum(ar_31_60)) OVER w, sum(sum(ar_61_90)) OVER w, sum(sum(ar_over_90)) OVER w
FROM (
    SELECT distributor_id, date, stock - coalesce(lag(stock) OVER d, 0) AS stock,
        receivables - coalesce(lag(receivables) OVER d, 0) AS receivables,
        ar_0_30 - coalesce(lag(ar_0_30) OVER d, 0) AS ar_0_30, ar_31_60 - coalesce(lag(ar_31_60) OVER d, 0) AS ar_31_60,
        ar_61_90 - coalesce(lag(ar_61_90) OVER d, 0) AS ar_61_90,
        ar_over_90 - coalesce(lag(ar_over_90) OVER d, 0) AS ar_over_90
    FROM per_snap WINDOW d AS (PARTITION BY distributor_id ORDER BY date)
) deltas
GROUP BY date WINDOW w AS (ORDER BY date) ORDER BY date"""


def _stock_source(filters: Filters, group: str | None) -> tuple[str, str]:
    """Where a snapshot's stock is read and the conditions on it: the roll-up per distributor and brand (its
    all-brands row, or the brand's rows) unless a booker or route narrows it, else BrandDayFact's rows with those
    columns (stock rows have neither, so the stock is then zero, as on BrandDayFact)."""
    if filters.get("booker_id") is None and filters.get("route_id") is None:
        if filters.get("brand_id") is not None:
            return table(DistributorBrandDayFact), " AND b.brand_id = %(brand_id)s"
        return table(DistributorBrandDayFact), " AND b.brand_id IS NOT NULL" if group == "brand" else \
            " AND b.brand_id IS NULL"
    return table(BrandDayFact), "".join(f" AND b.{k} = %({k})s" for k in ("brand_id", "booker_id", "route_id")
                                        if filters.get(k) is not None)


def snapshots(*, scope: Scope, date_from: date, date_to: date, filters: Filters,
              group: str | None) -> dict[Any, dict[str, Any]]:
    """Stock on hand and receivables ({key: {SNAPSHOT_KEYS..}}) at each distributor's latest snapshot on or before
    date_to, whole or per distributor or brand (brand: stock only); per date, on or before each date (the dict then
    holds the dates that have a snapshot: a date between two holds the earlier one's figures). One query."""
    dist_sql, dist = _dist_clause("{col}", scope, filters.get("distributor_id"))
    stock_fact, brand_filters = _stock_source(filters, group)
    key = {"distributor": "distributor_id", "brand": "key"}.get(group or "", "NULL::bigint")
    sql = SNAPSHOT.format(dist_d=dist_sql.format(col="d.id"), dist_f=dist_sql.format(col="f.distributor_id"),
                          stock_key="b.brand_id" if group == "brand" else "NULL::bigint", stock_fact=stock_fact,
                          brand_filters=brand_filters, **_tables())
    sql += SNAPSHOT_SERIES if group == "date" else SNAPSHOT_TOTAL.format(key=key)
    params = {"t": scope.tenant_id, "first": date_from if group == "date" else date_to, "last": date_to,
              "dist": dist, **{k: v for k, v in filters.items() if v is not None}}
    out: dict[Any, dict[str, Any]] = {}
    for row in _fetch(sql, params):
        if group == "brand" and row[0] is None:
            continue  # a snapshot of a distributor with no stock row matching the filters
        values = dict(zip(SNAPSHOT_KEYS, row[2:], strict=True))
        if group == "brand":
            values = {"stock_on_hand": values["stock_on_hand"]}
        out[row[1] if group == "date" else (row[0] if group else None)] = values
    return out


def carried(snapshots_by_date: dict[date, dict[str, Any]], day: date) -> dict[str, Any]:
    """The figures of the latest snapshot date on or before `day` (none: {})."""
    earlier = [d for d in snapshots_by_date if d <= day]
    return snapshots_by_date[max(earlier)] if earlier else {}


def period_days(date_from: date, date_to: date) -> int:
    return (date_to - date_from + timedelta(days=1)).days
