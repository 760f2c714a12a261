"""The facts builder: rebuild one tenant-local date's facts of some or all of a tenant's distributors, set-based.

Per fact table one DELETE of the (tenant, distributors, date) slice and one INSERT .. SELECT aggregating the
operational tables, all in the caller's transaction (the task's tenant_scope), so a refresh is idempotent and a
reader sees the old slice or the new one, never half of it. No row passes through Python.

The SQL filters by `tenant_id = %(tenant_id)s` and `distributor_id = ANY(%(dist)s)` explicitly (the distributor
ids are resolved in Python: the tenant's distributors, narrowed by the caller's list and the scope); row-level
security is the backstop. Instants are compared with the date's bounds in UTC, computed from the tenant's zone.
What each column means is in analytics/models.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from catalog.models import Sku
from dispatch.enums import LoadFormStatus
from dispatch.models import DeliveryLine, GoodsReceipt, GoodsReceiptLine, LoadForm, LoadFormInvoice
from dms.tenancy.context import current_scope_or_none
from dms.tenancy.models import Distributor, Tenant
from dms.tenancy.scope import Scope
from inventory.models import StockBalance
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment
from orders.enums import OrderStatus
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.enums import VisitStatus
from pjp.models import DailyJourney, Visit

from .models import BookerDayFact, DistributorDayFact, OutletSkuDayFact

# The visit statuses of a visit made (checked in), as the reconciliation counts them.
VISITED = (VisitStatus.CHECKED_IN, VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE)
# Every order status but cancelled: an equality list, so (distributor, status, booked_at) can serve it.
LIVE_ORDER = tuple(s for s in OrderStatus if s != OrderStatus.CANCELLED)
WORK_MEM_MB = 64


def table(model: type[models.Model]) -> str:
    """A model's table name, quoted for SQL."""
    return f'"{model._meta.db_table}"'


def _tables() -> dict[str, str]:
    return {
        "booker_fact": table(BookerDayFact), "sku_fact": table(OutletSkuDayFact),
        "dist_fact": table(DistributorDayFact), "distributor": table(Distributor),
        "journey": table(DailyJourney), "visit": table(Visit), "order": table(SecondaryOrder),
        "order_line": table(SecondaryOrderLine), "invoice": table(Invoice), "invoice_line": table(InvoiceLine),
        "credit_note": table(CreditNote), "credit_line": table(CreditNoteLine), "payment": table(Payment),
        "load_form": table(LoadForm), "stop": table(LoadFormInvoice), "delivery_line": table(DeliveryLine),
        "receipt": table(GoodsReceipt), "receipt_line": table(GoodsReceiptLine), "balance": table(StockBalance),
        "sku": table(Sku),
    }


DELETE = ("DELETE FROM {fact} WHERE tenant_id = %(tenant_id)s AND date = %(business_date)s"
          " AND distributor_id = ANY(%(dist)s)")

# The route of the order's booker's journey of the order's booking date: the call that made the order.
ORDER_JOURNEY = """LEFT JOIN {journey} j ON j.distributor_id = o.distributor_id AND j.booker_id = o.booker_id
        AND j.date = (o.booked_at AT TIME ZONE %(tz)s)::date AND j.tenant_id = %(tenant_id)s"""

BOOKER_INSERT = """
INSERT INTO {booker_fact} (tenant_id, distributor_id, date, booker_id, route_id, planned_visits, visits,
    productive_visits, unproductive_visits, missed_visits, in_sequence_visits, unplanned_visits, orders, order_lines,
    ordered_units, ordered_value, unique_outlets_visited, first_check_in, last_check_out)
WITH day_journeys AS MATERIALIZED (
    SELECT j.id, j.distributor_id, j.booker_id, j.route_id FROM {journey} j
    WHERE j.tenant_id = %(tenant_id)s AND j.date = %(business_date)s AND j.distributor_id = ANY(%(dist)s)
),
day_visits AS (
    SELECT j.id AS journey_id, v.outlet_id, v.planned, v.status, v.checked_in_at, v.checked_out_at,
        v.status = ANY(%(visited)s) AS made,
        -- in sequence: a planned visit made whose predecessor among the planned visits made (by check-in time) has a
        -- smaller planned sequence; the first has none and is in sequence. NULL for the visits not counted.
        CASE WHEN v.planned AND v.status = ANY(%(visited)s) THEN coalesce(
            lag(v.sequence) OVER (PARTITION BY j.id, v.planned AND v.status = ANY(%(visited)s)
                                  ORDER BY v.checked_in_at, v.sequence) < v.sequence, true) END AS in_sequence
    FROM day_journeys j
    JOIN {visit} v ON v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.tenant_id = %(tenant_id)s
),
visit_totals AS (
    SELECT j.distributor_id, j.booker_id, j.route_id,
        count(v.journey_id) FILTER (WHERE v.planned) AS planned_visits,
        count(v.journey_id) FILTER (WHERE v.made) AS visits,
        count(v.journey_id) FILTER (WHERE v.status = %(productive)s) AS productive_visits,
        count(v.journey_id) FILTER (WHERE v.status = %(unproductive)s) AS unproductive_visits,
        count(v.journey_id) FILTER (WHERE v.status = %(missed)s) AS missed_visits,
        count(v.journey_id) FILTER (WHERE v.in_sequence) AS in_sequence_visits,
        count(v.journey_id) FILTER (WHERE v.made AND NOT v.planned) AS unplanned_visits,
        count(DISTINCT v.outlet_id) FILTER (WHERE v.made) AS unique_outlets_visited,
        min(v.checked_in_at) FILTER (WHERE v.made) AS first_check_in,
        max(v.checked_out_at) FILTER (WHERE v.made) AS last_check_out
    FROM day_journeys j
    LEFT JOIN day_visits v ON v.journey_id = j.id
    GROUP BY j.distributor_id, j.booker_id, j.route_id
),
order_totals AS (
    SELECT o.distributor_id, o.booker_id, count(*) AS orders, sum(l.lines) AS order_lines,
        sum(l.units) AS ordered_units, sum(o.total) AS ordered_value
    FROM {order} o
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines, coalesce(sum(ol.qty_units), 0) AS units FROM {order_line} ol
        WHERE ol.distributor_id = o.distributor_id AND ol.order_id = o.id
    ) l
    WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = ANY(%(dist)s) AND o.status = ANY(%(live_order)s)
      AND o.booked_at >= %(day_start)s AND o.booked_at < %(day_end)s AND o.booker_id IS NOT NULL
    GROUP BY o.distributor_id, o.booker_id
)
SELECT %(tenant_id)s, coalesce(v.distributor_id, o.distributor_id), %(business_date)s,
    coalesce(v.booker_id, o.booker_id), v.route_id,
    coalesce(v.planned_visits, 0), coalesce(v.visits, 0), coalesce(v.productive_visits, 0),
    coalesce(v.unproductive_visits, 0), coalesce(v.missed_visits, 0), coalesce(v.in_sequence_visits, 0),
    coalesce(v.unplanned_visits, 0), coalesce(o.orders, 0), coalesce(o.order_lines, 0),
    coalesce(o.ordered_units, 0), coalesce(o.ordered_value, 0), coalesce(v.unique_outlets_visited, 0),
    v.first_check_in, v.last_check_out
FROM visit_totals v
FULL JOIN order_totals o ON o.distributor_id = v.distributor_id AND o.booker_id = v.booker_id
"""

SKU_INSERT = """
INSERT INTO {sku_fact} (tenant_id, distributor_id, date, outlet_id, sku_id, brand_id, route_id, booker_id,
    ordered_lines, ordered_units, ordered_value, invoiced_units, invoiced_value, delivered_units, delivered_value,
    returned_units, returned_value)
WITH events AS (
    SELECT o.distributor_id, o.outlet_id, ol.sku_id, o.booker_id, j.route_id,
        1 AS ordered_lines, ol.qty_units AS ordered_units, ol.total AS ordered_value,
        0 AS invoiced_units, 0 AS invoiced_value, 0 AS delivered_units, 0 AS delivered_value,
        0 AS returned_units, 0 AS returned_value
    FROM {order} o
    JOIN {order_line} ol ON ol.distributor_id = o.distributor_id AND ol.order_id = o.id
    {order_journey}
    WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = ANY(%(dist)s) AND o.status = ANY(%(live_order)s)
      AND o.booked_at >= %(day_start)s AND o.booked_at < %(day_end)s
  UNION ALL
    SELECT i.distributor_id, i.outlet_id, il.sku_id, o.booker_id, j.route_id,
        0, 0, 0, il.qty_units, il.total, 0, 0, 0, 0
    FROM {invoice} i
    JOIN {invoice_line} il ON il.distributor_id = i.distributor_id AND il.invoice_id = i.id
    JOIN {order} o ON o.distributor_id = i.distributor_id AND o.id = i.order_id
    {order_journey}
    WHERE i.tenant_id = %(tenant_id)s AND i.distributor_id = ANY(%(dist)s) AND i.invoice_date = %(business_date)s
  UNION ALL
    SELECT s.distributor_id, s.outlet_id, dl.sku_id, o.booker_id, j.route_id,
        0, 0, 0, 0, 0, dl.delivered_units, il.total - coalesce(cl.total, 0), dl.returned_units, coalesce(cl.total, 0)
    FROM {load_form} lf
    JOIN {stop} s ON s.distributor_id = lf.distributor_id AND s.load_form_id = lf.id
    JOIN {delivery_line} dl ON dl.distributor_id = s.distributor_id AND dl.stop_id = s.id
    JOIN {invoice_line} il ON il.distributor_id = dl.distributor_id AND il.id = dl.invoice_line_id
    JOIN {order} o ON o.distributor_id = s.distributor_id AND o.id = s.order_id
    LEFT JOIN {credit_line} cl ON cl.distributor_id = s.distributor_id AND cl.credit_note_id = s.credit_note_id
        AND cl.invoice_line_id = dl.invoice_line_id
    {order_journey}
    WHERE lf.tenant_id = %(tenant_id)s AND lf.distributor_id = ANY(%(dist)s) AND lf.date = %(business_date)s
      AND lf.status <> %(cancelled_load)s
)
SELECT %(tenant_id)s, e.distributor_id, %(business_date)s, e.outlet_id, e.sku_id, sku.brand_id, e.route_id,
    e.booker_id, sum(e.ordered_lines), sum(e.ordered_units), sum(e.ordered_value), sum(e.invoiced_units),
    sum(e.invoiced_value), sum(e.delivered_units), sum(e.delivered_value), sum(e.returned_units),
    sum(e.returned_value)
FROM events e
JOIN {sku} sku ON sku.id = e.sku_id
GROUP BY e.distributor_id, e.outlet_id, e.sku_id, sku.brand_id, e.route_id, e.booker_id
"""

DISTRIBUTOR_INSERT = """
INSERT INTO {dist_fact} (tenant_id, distributor_id, date, collections, primary_received_units,
    primary_received_cases, stock_on_hand_units, invoices_issued, invoice_value, credit_note_value,
    outlets_with_orders, refreshed_at)
SELECT %(tenant_id)s, d.id, %(business_date)s, p.amount, r.units, r.cases, b.on_hand, i.n, i.value, c.value,
    o.outlets, %(now)s
FROM {distributor} d
CROSS JOIN LATERAL (
    SELECT coalesce(sum(p.amount), 0) AS amount FROM {payment} p
    WHERE p.distributor_id = d.id AND p.received_on = %(business_date)s AND p.tenant_id = %(tenant_id)s
) p
CROSS JOIN LATERAL (
    SELECT coalesce(sum(rl.received_units), 0) AS units, coalesce(sum(rl.received_cases), 0) AS cases
    FROM {receipt} gr
    JOIN {receipt_line} rl ON rl.distributor_id = gr.distributor_id AND rl.receipt_id = gr.id
    WHERE gr.distributor_id = d.id AND gr.received_on = %(business_date)s AND gr.tenant_id = %(tenant_id)s
) r
CROSS JOIN LATERAL (
    SELECT CASE WHEN %(is_today)s THEN coalesce(sum(sb.on_hand), 0) END AS on_hand FROM {balance} sb
    WHERE %(is_today)s AND sb.distributor_id = d.id AND sb.tenant_id = %(tenant_id)s
) b
CROSS JOIN LATERAL (
    SELECT count(*) AS n, coalesce(sum(i.total), 0) AS value FROM {invoice} i
    WHERE i.distributor_id = d.id AND i.invoice_date = %(business_date)s AND i.tenant_id = %(tenant_id)s
) i
CROSS JOIN LATERAL (
    SELECT coalesce(sum(c.total), 0) AS value FROM {credit_note} c
    WHERE c.distributor_id = d.id AND c.note_date = %(business_date)s AND c.tenant_id = %(tenant_id)s
) c
CROSS JOIN LATERAL (
    SELECT count(DISTINCT o.outlet_id) AS outlets FROM {order} o
    WHERE o.distributor_id = d.id AND o.status = ANY(%(live_order)s) AND o.booked_at >= %(day_start)s
      AND o.booked_at < %(day_end)s AND o.tenant_id = %(tenant_id)s
) o
WHERE d.tenant_id = %(tenant_id)s AND d.id = ANY(%(dist)s)
"""

FACTS = (("booker_fact", BOOKER_INSERT), ("sku_fact", SKU_INSERT), ("dist_fact", DISTRIBUTOR_INSERT))


def _distributor_ids(scope: Scope, distributor_ids: Iterable[int] | None) -> list[int]:
    """The tenant's distributors (read under RLS), narrowed by the caller's list and the scope's."""
    ids = set(Distributor.objects.filter(tenant_id=scope.tenant_id).values_list("pk", flat=True))
    if distributor_ids is not None:
        ids &= {int(d) for d in distributor_ids}
    if scope.distributor_ids is not None:
        ids &= scope.distributor_ids
    return sorted(ids)


def facts_refresh(*, scope: Scope, business_date: date, distributor_ids: Iterable[int] | None = None
                  ) -> dict[str, int]:
    """Rebuild the facts of the tenant-local `business_date` for the tenant's distributors (all, or those of
    `distributor_ids`), in one transaction: each fact table's slice is deleted and inserted anew. Idempotent.
    Call it inside tenant_scope of the scope's tenant. Returns the rows written per table
    ({"booker": .., "outlet_sku": .., "distributor": ..})."""
    current = current_scope_or_none()
    if current is None or current.tenant_id != scope.tenant_id:
        raise RuntimeError("facts_refresh runs inside tenant_scope() of the scope's tenant")
    dist = _distributor_ids(scope, distributor_ids)
    counts = {"booker": 0, "outlet_sku": 0, "distributor": 0}
    if not dist:
        return counts
    tz = Tenant.objects.get(pk=scope.tenant_id).tz
    start = datetime(business_date.year, business_date.month, business_date.day, tzinfo=tz)
    nxt = business_date + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    now = timezone.now()
    params: dict[str, Any] = {
        "tenant_id": scope.tenant_id, "business_date": business_date, "dist": dist, "tz": str(tz.key),
        "day_start": start, "day_end": end, "now": now, "is_today": now.astimezone(tz).date() == business_date,
        "visited": [s.value for s in VISITED], "productive": VisitStatus.PRODUCTIVE.value,
        "unproductive": VisitStatus.UNPRODUCTIVE.value, "missed": VisitStatus.MISSED.value,
        "live_order": [s.value for s in LIVE_ORDER], "cancelled_load": LoadFormStatus.CANCELLED.value,
    }
    tables = _tables()
    order_journey = ORDER_JOURNEY.format(**tables)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '{WORK_MEM_MB:d}MB'")
        for (key, insert), name in zip(FACTS, counts, strict=True):
            cursor.execute(DELETE.format(fact=tables[key]), params)
            cursor.execute(insert.format(order_journey=order_journey, **tables), params)
            counts[name] = cursor.rowcount
    return counts
