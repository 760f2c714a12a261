"""The outlet journey funnel (DESIGN §3): planned -> visited -> ordered -> invoiced -> delivered -> paid, over calls.

A call is a visit on a journey of the period (planned, or added by the app) or an order that has no visit (booked
at the counter, by the admin or the API). Calls enter the funnel where they begin: a planned visit at `planned`,
an added visit at `visited`, an order without a visit at `ordered`. From there a call reaches each next stage only
through the one before:

- visited: checked in (checked_in, productive, unproductive); the time is the check-in.
- ordered: a live (not cancelled) order of the call. An order belongs to a visit when it names it (the app's link),
  or, naming none, when the visit's booker booked it at the visit's outlet on the journey's date; else it is a call
  of its own, dated by its tenant-local booking date. The time is the first order's booked_at.
- invoiced: an invoice of one of those orders; the time is the first invoice's issued_at.
- delivered: the invoice is on a live load form stop delivered in full or in part; the time is when the delivery
  was recorded. A returned invoice stops at invoiced.
- paid: the invoice is fully settled (payment_status paid); the time is that of the payment allocation that
  completed it (the latest), or of the credit note when credits settled it. An invoice settled before its delivery
  (money on account) counts as paid on delivery, so no stage takes negative time.

Per stage: `entered` (calls that begin there), `reached` (calls that got there, entering there or before), `stopped`
(calls whose furthest stage it is: where journeys stop), and the median and 90th percentile of the hours from the
previous stage to this one over the calls that made that step (percentile_cont, interpolated; two places). Calls
still waiting in a stage do not count towards the hours: only completed steps are timed.

Cost: one query with the call set built in CTEs, filtered by tenant, distributors, the journeys' dates and the
orders' booking times first so the (distributor, date) and (distributor, status, booked_at) indexes serve it. Per
outlet rows come from the same query (GROUPING SETS) only when the call set is narrowed to a distributor (a filter,
or a distributor user's scope), a route or an outlet, and at most MAX_OUTLET_ROWS of them, most calls first:
a whole tenant's outlets over a year would be a table nobody reads and a heavy sort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection

from catalog.models import Outlet
from dispatch.enums import DeliveryOutcome
from dispatch.models import LoadFormInvoice
from dms.tenancy.scope import Scope
from invoicing.enums import PaymentStatus
from invoicing.models import CreditNote, Invoice, PaymentAllocation
from orders.enums import OrderStatus
from orders.models import SecondaryOrder
from pjp.models import DailyJourney, RouteStop, Visit

from .common import VISITED, day_bounds, distributor_ids, outlet_distributor, route_distributor, table, zone

STAGES = ("planned", "visited", "ordered", "invoiced", "delivered", "paid")
MAX_OUTLET_ROWS = 500
# An order names its visit, booked during it; one booked more than this outside the period is not looked at.
ORDER_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    entered: int
    reached: int
    stopped: int
    timed: int  # calls whose step from the previous stage was timed
    median_hours: Decimal | None  # from the previous stage; None for "planned" and when nothing was timed
    p90_hours: Decimal | None


@dataclass(frozen=True)
class FunnelOutlet:
    outlet_id: int
    outlet_code: str
    outlet_name: str
    calls: int
    stopped_planned: int
    stopped_visited: int
    stopped_ordered: int
    stopped_invoiced: int
    stopped_delivered: int
    stopped_paid: int


@dataclass(frozen=True)
class Funnel:
    date_from: date
    date_to: date
    calls: int
    stages: tuple[FunnelStage, ...]
    outlets: tuple[FunnelOutlet, ...]
    outlets_listed: bool  # false: the call set was not narrowed, so no per-outlet rows
    outlets_truncated: bool  # true: more outlets than MAX_OUTLET_ROWS had calls


FUNNEL_SQL = """
WITH visit_calls AS MATERIALIZED (
    SELECT v.id AS visit_id, v.distributor_id, v.outlet_id, j.booker_id, j.date, v.planned,
        v.status = ANY(%(visited)s) AS visited, v.checked_in_at
    FROM {journey} j
    JOIN {visit} v ON v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.tenant_id = %(tenant_id)s
    WHERE j.tenant_id = %(tenant_id)s AND j.distributor_id = ANY(%(dist)s)
      AND j.date >= %(date_from)s AND j.date <= %(date_to)s
      AND (%(route_id)s::bigint IS NULL OR j.route_id = %(route_id)s::bigint)
      AND (%(outlet_id)s::bigint IS NULL OR v.outlet_id = %(outlet_id)s::bigint)
),
orders AS (
    SELECT o.id AS order_id, o.distributor_id, o.outlet_id, o.booked_at, o.visit_id IS NOT NULL AS linked,
        coalesce(named.visit_id, matched.visit_id) AS visit_id
    FROM {order} o
    LEFT JOIN visit_calls named ON named.visit_id = o.visit_id AND named.distributor_id = o.distributor_id
    -- at most one: a booker has one journey a day, which visits an outlet once (a hash join, not a loop)
    LEFT JOIN visit_calls matched ON o.visit_id IS NULL AND matched.visited
        AND matched.distributor_id = o.distributor_id AND matched.booker_id = o.booker_id
        AND matched.outlet_id = o.outlet_id AND matched.date = (o.booked_at AT TIME ZONE %(tz)s)::date
    WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = ANY(%(dist)s) AND o.status = ANY(%(live)s)
      AND o.booked_at >= %(window_start)s AND o.booked_at < %(window_end)s
      AND (%(outlet_id)s::bigint IS NULL OR o.outlet_id = %(outlet_id)s::bigint)
),
call_orders AS (
    SELECT coalesce(o.visit_id, -o.order_id) AS call_id, o.order_id, o.distributor_id, o.outlet_id, o.booked_at
    FROM orders o
    WHERE o.visit_id IS NOT NULL
       OR (NOT o.linked AND o.booked_at >= %(day_start)s AND o.booked_at < %(day_end)s
           AND (%(route_id)s::bigint IS NULL OR EXISTS (
               SELECT 1 FROM {route_stop} rs WHERE rs.distributor_id = o.distributor_id
                 AND rs.route_id = %(route_id)s::bigint AND rs.outlet_id = o.outlet_id)))
),
order_stages AS (
    SELECT co.call_id, co.booked_at, i.issued_at, d.delivered_at,
        CASE WHEN d.delivered_at IS NOT NULL AND i.payment_status = %(paid)s
             THEN greatest(d.delivered_at, coalesce(p.paid_at, cn.credited_at)) END AS paid_at
    FROM call_orders co
    LEFT JOIN {invoice} i ON i.distributor_id = co.distributor_id AND i.order_id = co.order_id
        AND i.tenant_id = %(tenant_id)s
    LEFT JOIN LATERAL (
        SELECT min(s.recorded_at) AS delivered_at FROM {lf_stop} s
        WHERE s.distributor_id = i.distributor_id AND s.invoice_id = i.id AND s.live AND s.outcome = ANY(%(delivered)s)
    ) d ON true
    LEFT JOIN LATERAL (
        SELECT max(pa.created_at) AS paid_at FROM {allocation} pa
        WHERE i.payment_status = %(paid)s AND pa.distributor_id = i.distributor_id AND pa.invoice_id = i.id
    ) p ON true
    LEFT JOIN LATERAL (
        SELECT max(c.issued_at) AS credited_at FROM {credit_note} c
        WHERE i.payment_status = %(paid)s AND c.distributor_id = i.distributor_id AND c.invoice_id = i.id
    ) cn ON true
),
calls AS (
    SELECT visit_id AS call_id, outlet_id, true AS is_visit, planned, visited, checked_in_at FROM visit_calls
  UNION ALL
    SELECT DISTINCT call_id, outlet_id, false, false, false, NULL::timestamptz FROM call_orders WHERE call_id < 0
),
timed AS (
    SELECT c.call_id, c.outlet_id, c.is_visit, c.planned, c.visited, c.checked_in_at,
        min(s.booked_at) AS ordered_at, min(s.issued_at) AS invoiced_at, min(s.delivered_at) AS delivered_at,
        min(s.paid_at) AS paid_at
    FROM calls c
    LEFT JOIN order_stages s ON s.call_id = c.call_id
    GROUP BY c.call_id, c.outlet_id, c.is_visit, c.planned, c.visited, c.checked_in_at
),
reach AS (
    SELECT t.*, (t.is_visit AND t.planned) AS r0, (t.is_visit AND t.visited) AS r1,
        (NOT t.is_visit OR t.visited) AND t.ordered_at IS NOT NULL AS r2,
        (NOT t.is_visit OR t.visited) AND t.invoiced_at IS NOT NULL AS r3,
        (NOT t.is_visit OR t.visited) AND t.delivered_at IS NOT NULL AS r4,
        (NOT t.is_visit OR t.visited) AND t.paid_at IS NOT NULL AS r5
    FROM timed t
),
staged AS (
    SELECT r.*,
        CASE WHEN r5 THEN 5 WHEN r4 THEN 4 WHEN r3 THEN 3 WHEN r2 THEN 2 WHEN r1 THEN 1 ELSE 0 END AS furthest,
        CASE WHEN r2 AND r1 THEN extract(epoch FROM r.ordered_at - r.checked_in_at) / 3600 END AS h2,
        CASE WHEN r3 THEN extract(epoch FROM r.invoiced_at - r.ordered_at) / 3600 END AS h3,
        CASE WHEN r4 THEN extract(epoch FROM r.delivered_at - r.invoiced_at) / 3600 END AS h4,
        CASE WHEN r5 THEN extract(epoch FROM r.paid_at - r.delivered_at) / 3600 END AS h5
    FROM reach r
),
grouped AS (
    SELECT {per_outlet} AS per_outlet, {outlet_id} AS outlet_id, count(*) AS calls,
        count(*) FILTER (WHERE s.is_visit AND s.planned) AS e0,
        count(*) FILTER (WHERE s.is_visit AND NOT s.planned) AS e1,
        count(*) FILTER (WHERE NOT s.is_visit) AS e2,
        count(*) FILTER (WHERE r0) AS r0, count(*) FILTER (WHERE r1) AS r1, count(*) FILTER (WHERE r2) AS r2,
        count(*) FILTER (WHERE r3) AS r3, count(*) FILTER (WHERE r4) AS r4, count(*) FILTER (WHERE r5) AS r5,
        count(*) FILTER (WHERE furthest = 0) AS f0, count(*) FILTER (WHERE furthest = 1) AS f1,
        count(*) FILTER (WHERE furthest = 2) AS f2, count(*) FILTER (WHERE furthest = 3) AS f3,
        count(*) FILTER (WHERE furthest = 4) AS f4, count(*) FILTER (WHERE furthest = 5) AS f5,
        {percentiles}
    FROM staged s
    GROUP BY {grouping}
)
SELECT g.*, o.code, o.name
FROM grouped g
LEFT JOIN {outlet} o ON o.id = g.outlet_id AND o.tenant_id = %(tenant_id)s
ORDER BY g.per_outlet, g.calls DESC, o.code, g.outlet_id
LIMIT %(limit)s
"""

# Sent with the statement (one round trip). The row counts of the calls CTE are guessed, not known, and with a
# small guess the planner matches unlinked orders to visits by a merge join on the distributor alone, comparing
# every order with every visit of the week (seconds for one distributor); as a hash join on all four keys it is
# one probe per order.
PLAN = "SET LOCAL enable_mergejoin = off; "

PERCENTILES = ",\n        ".join(
    f"count(h{k}) AS t{k}, "
    f"round((percentile_cont(0.5) WITHIN GROUP (ORDER BY h{k}))::numeric, 2) AS m{k}, "
    f"round((percentile_cont(0.9) WITHIN GROUP (ORDER BY h{k}))::numeric, 2) AS p{k}" for k in range(2, 6))


def outlet_funnel(*, scope: Scope, date_from: date, date_to: date, distributor_id: int | None = None,
                  route_id: int | None = None, outlet_id: int | None = None) -> Funnel:
    """The funnel of the calls of the tenant-local dates date_from..date_to (inclusive) in the scope and the
    filters (module docstring). A distributor, route or outlet outside the scope is NotFound. One query."""
    dist = distributor_ids(scope, distributor_id)
    for owner in (route_distributor(scope, route_id) if route_id is not None else None,
                  outlet_distributor(scope, outlet_id) if outlet_id is not None else None):
        if owner is not None:
            dist = [d for d in dist if d == owner]
    narrowed = (distributor_id is not None or route_id is not None or outlet_id is not None
                or scope.single_distributor_id is not None)
    tz = zone(scope)
    day_start, day_end = day_bounds(tz, date_from, date_to)
    params: dict[str, Any] = {
        "tenant_id": scope.tenant_id, "dist": dist, "date_from": date_from, "date_to": date_to, "tz": str(tz.key),
        "route_id": route_id, "outlet_id": outlet_id, "day_start": day_start, "day_end": day_end,
        "window_start": day_start - ORDER_SLACK, "window_end": day_end + ORDER_SLACK,
        "visited": [s.value for s in VISITED], "live": [s.value for s in OrderStatus if s != OrderStatus.CANCELLED],
        "paid": PaymentStatus.PAID.value,
        "delivered": [DeliveryOutcome.DELIVERED.value, DeliveryOutcome.PARTIALLY_DELIVERED.value],
        "limit": MAX_OUTLET_ROWS + 2 if narrowed else 1,
    }
    sql = FUNNEL_SQL.format(
        journey=table(DailyJourney), visit=table(Visit), order=table(SecondaryOrder), route_stop=table(RouteStop),
        invoice=table(Invoice), lf_stop=table(LoadFormInvoice), allocation=table(PaymentAllocation),
        credit_note=table(CreditNote), outlet=table(Outlet), percentiles=PERCENTILES,
        per_outlet="GROUPING(s.outlet_id) = 0" if narrowed else "false",
        outlet_id="s.outlet_id" if narrowed else "NULL::bigint",
        grouping="GROUPING SETS ((), (s.outlet_id))" if narrowed else "()")
    rows: list[dict[str, Any]] = []
    if dist:
        with connection.cursor() as cursor:
            cursor.execute(PLAN + sql, params)
            names = [c.name for c in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    total = next((r for r in rows if not r["per_outlet"]), None)
    outlets = [r for r in rows if r["per_outlet"]]
    return Funnel(
        date_from=date_from, date_to=date_to, calls=int(total["calls"]) if total else 0,
        stages=tuple(_stage(k, total) for k in range(len(STAGES))),
        outlets=tuple(FunnelOutlet(
            outlet_id=r["outlet_id"], outlet_code=r["code"] or "", outlet_name=r["name"] or "", calls=r["calls"],
            stopped_planned=r["f0"], stopped_visited=r["f1"], stopped_ordered=r["f2"], stopped_invoiced=r["f3"],
            stopped_delivered=r["f4"], stopped_paid=r["f5"]) for r in outlets[:MAX_OUTLET_ROWS]),
        outlets_listed=narrowed, outlets_truncated=len(outlets) > MAX_OUTLET_ROWS)


def _stage(k: int, row: dict[str, Any] | None) -> FunnelStage:
    def get(key: str) -> Any:
        return row.get(key) if row else None

    return FunnelStage(stage=STAGES[k], entered=int(get(f"e{k}") or 0), reached=int(get(f"r{k}") or 0),
                       stopped=int(get(f"f{k}") or 0), timed=int(get(f"t{k}") or 0),
                       median_hours=get(f"m{k}"), p90_hours=get(f"p{k}"))
