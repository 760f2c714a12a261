"""The facts builder's SQL (analytics.builders.facts_refresh runs it): per fact table one DELETE of the slice and one
INSERT .. SELECT. What each column means is in analytics/models.py; how each statement finds its rows (which index
serves it) is said beside it. Parameters are named (%(name)s) and filled by the builder.

Every statement filters by `tenant_id = %(tenant_id)s` and `distributor_id = ANY(%(dist)s)` explicitly; row-level
security is the backstop. Joins between distributor-owned tables repeat distributor_id, so that the composite
(distributor_id, id) keys serve them and the statements stay valid once the tables are distributed by it (Citus).
"""

from __future__ import annotations

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

# Runs after SKU_INSERT in the same transaction: the sales part is the OutletSkuDayFact slice just written (its
# (tenant, date) index), so the two tables agree by construction. Receipts: the date's goods receipts
# (goodsreceipt_day), valued per (receipt, DA line) at the DA line's case price and rounded to the cent there, as
# dispatch.services.receipt values GoodsReceipt.received_value. Stock: the distributor's balances (stockbalance_uniq),
# only when refreshed on the date itself. Receipts and stock land on the (booker NULL, route NULL) rows, merged with
# the sales of orders that have no booker, so the unique key (NULLs equal) holds.
BRAND_INSERT = """
INSERT INTO {brand_fact} (tenant_id, distributor_id, date, booker_id, route_id, brand_id, ordered_lines,
    ordered_units, ordered_value, invoiced_lines, invoiced_units, invoiced_value, delivered_units, delivered_value,
    returned_units, returned_value, primary_received_units, primary_received_value, stock_on_hand_units)
WITH parts AS (
    SELECT f.distributor_id, f.booker_id, f.route_id, f.brand_id, f.ordered_lines, f.ordered_units,
        f.ordered_value, (f.invoiced_units > 0)::int AS invoiced_lines, f.invoiced_units, f.invoiced_value,
        f.delivered_units, f.delivered_value, f.returned_units, f.returned_value,
        0 AS received_units, 0 AS received_value, NULL::bigint AS on_hand
    FROM {sku_fact} f
    WHERE f.tenant_id = %(tenant_id)s AND f.date = %(business_date)s AND f.distributor_id = ANY(%(dist)s)
  UNION ALL
    SELECT r.distributor_id, NULL, NULL, sku.brand_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        r.units, round(r.cases * al.case_price, 2), NULL
    FROM (
        SELECT rl.distributor_id, rl.receipt_id, rl.advice_line_id, sum(rl.received_cases) AS cases,
            sum(rl.received_units) AS units
        FROM {receipt} gr
        JOIN {receipt_line} rl ON rl.distributor_id = gr.distributor_id AND rl.receipt_id = gr.id
        WHERE gr.tenant_id = %(tenant_id)s AND gr.distributor_id = ANY(%(dist)s)
          AND gr.received_on = %(business_date)s
        GROUP BY rl.distributor_id, rl.receipt_id, rl.advice_line_id
    ) r
    JOIN {advice_line} al ON al.distributor_id = r.distributor_id AND al.id = r.advice_line_id
    JOIN {sku} sku ON sku.id = al.sku_id
  UNION ALL
    SELECT sb.distributor_id, NULL, NULL, sku.brand_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sb.on_hand
    FROM {balance} sb
    JOIN {sku} sku ON sku.id = sb.sku_id
    WHERE %(is_today)s AND sb.tenant_id = %(tenant_id)s AND sb.distributor_id = ANY(%(dist)s)
)
SELECT %(tenant_id)s, p.distributor_id, %(business_date)s, p.booker_id, p.route_id, p.brand_id,
    sum(p.ordered_lines), sum(p.ordered_units), sum(p.ordered_value), sum(p.invoiced_lines), sum(p.invoiced_units),
    sum(p.invoiced_value), sum(p.delivered_units), sum(p.delivered_value), sum(p.returned_units),
    sum(p.returned_value), sum(p.received_units), sum(p.received_value),
    CASE WHEN %(is_today)s AND p.booker_id IS NULL AND p.route_id IS NULL THEN coalesce(sum(p.on_hand), 0) END
FROM parts p
GROUP BY p.distributor_id, p.booker_id, p.route_id, p.brand_id
"""

# One row per visit of the date's journeys that was planned or made (journey_tenant_date, then
# visit_outlet_once_a_day); a journey has one visit per outlet and a booker one journey a date, so the rows are
# unique on (distributor, outlet, booker).
OUTLET_INSERT = """
INSERT INTO {outlet_fact} (tenant_id, distributor_id, date, outlet_id, route_id, booker_id, planned, visited,
    productive)
SELECT %(tenant_id)s, j.distributor_id, %(business_date)s, v.outlet_id, j.route_id, j.booker_id, v.planned,
    v.status = ANY(%(visited)s), v.status = %(productive)s
FROM {journey} j
JOIN {visit} v ON v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.tenant_id = %(tenant_id)s
WHERE j.tenant_id = %(tenant_id)s AND j.date = %(business_date)s AND j.distributor_id = ANY(%(dist)s)
  AND (v.planned OR v.status = ANY(%(visited)s))
"""

# Two kinds of event, summed per (distributor, booker, route of the booking call):
# - invoiced: the date's invoices (invoice_day), one per order; per order line its units ordered less the units of
#   the invoice's lines pointing at it (the order's lines by order_id, the invoice's by invoice_id: one index range
#   each per order, summed in one small aggregate);
# - due: the live orders due on the date, found in two index ranges: a delivery_date of the date
#   (order_delivery_due, partial), or none and booked on the local date delivery_due_days earlier (order_queue);
#   their stops on load forms that were not cancelled (by order_id), and the stops' delivery lines (by stop_id).
#   On time: a stop delivered or partly delivered on a load form dated on or before the due date. In full: the units
#   delivered on all stops (whatever their date, as of the refresh) reach the units ordered over all lines, and
#   nothing came back. Since an invoice never bills more of a line than was ordered, "reach" over the order's total
#   means every line delivered in full.
SERVICE_INSERT = """
INSERT INTO {service_fact} (tenant_id, distributor_id, date, booker_id, route_id, orders_invoiced, orders_filled,
    order_lines_invoiced, lines_filled, orders_due, orders_on_time, orders_in_full, orders_otif)
WITH invoiced AS (
    SELECT o.distributor_id, o.booker_id, j.route_id, 1 AS orders_invoiced, (l.filled = l.lines)::int AS orders_filled,
        l.lines AS order_lines_invoiced, l.filled AS lines_filled,
        0 AS orders_due, 0 AS orders_on_time, 0 AS orders_in_full, 0 AS orders_otif
    FROM {invoice} i
    JOIN {order} o ON o.distributor_id = i.distributor_id AND o.id = i.order_id
    CROSS JOIN LATERAL (
        -- per order line: units ordered less units invoiced against it (<= 0: filled)
        SELECT count(*) AS lines, count(*) FILTER (WHERE u.short <= 0) AS filled
        FROM (
            SELECT q.line_id, sum(q.units) AS short FROM (
                SELECT ol.id AS line_id, ol.qty_units AS units FROM {order_line} ol
                WHERE ol.distributor_id = o.distributor_id AND ol.order_id = o.id
              UNION ALL
                SELECT il.order_line_id, -il.qty_units FROM {invoice_line} il
                WHERE il.distributor_id = i.distributor_id AND il.invoice_id = i.id AND il.order_line_id IS NOT NULL
            ) q
            GROUP BY q.line_id
        ) u
    ) l
    {order_journey}
    WHERE i.tenant_id = %(tenant_id)s AND i.distributor_id = ANY(%(dist)s) AND i.invoice_date = %(business_date)s
),
due AS (
    SELECT o.id, o.distributor_id, o.booker_id, o.booked_at FROM {order} o
    WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = ANY(%(dist)s) AND o.delivery_date = %(business_date)s
      AND o.status = ANY(%(live_order)s)
  UNION ALL
    SELECT o.id, o.distributor_id, o.booker_id, o.booked_at FROM {order} o
    WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = ANY(%(dist)s) AND o.status = ANY(%(live_order)s)
      AND o.booked_at >= %(due_booked_start)s AND o.booked_at < %(due_booked_end)s AND o.delivery_date IS NULL
),
served AS (
    SELECT o.distributor_id, o.booker_id, j.route_id, 0, 0, 0, 0, 1,
        s.on_time::int, s.in_full::int, (s.on_time AND s.in_full)::int
    FROM due o
    CROSS JOIN LATERAL (
        SELECT coalesce(bool_or(lf.date <= %(business_date)s AND st.outcome = ANY(%(delivered)s)), false) AS on_time,
            coalesce(sum(d.delivered), 0) >= (
                SELECT sum(ol.qty_units) FROM {order_line} ol
                WHERE ol.distributor_id = o.distributor_id AND ol.order_id = o.id
            ) AND coalesce(sum(d.returned), 0) = 0 AS in_full
        FROM {stop} st
        JOIN {load_form} lf ON lf.distributor_id = st.distributor_id AND lf.id = st.load_form_id
        LEFT JOIN LATERAL (
            SELECT sum(dl.delivered_units) AS delivered, sum(dl.returned_units) AS returned FROM {delivery_line} dl
            WHERE dl.distributor_id = st.distributor_id AND dl.stop_id = st.id
        ) d ON true
        WHERE st.distributor_id = o.distributor_id AND st.order_id = o.id AND lf.status <> %(cancelled_load)s
    ) s
    {order_journey}
),
events AS (SELECT * FROM invoiced UNION ALL SELECT * FROM served)
SELECT %(tenant_id)s, e.distributor_id, %(business_date)s, e.booker_id, e.route_id, sum(e.orders_invoiced),
    sum(e.orders_filled), sum(e.order_lines_invoiced), sum(e.lines_filled), sum(e.orders_due), sum(e.orders_on_time),
    sum(e.orders_in_full), sum(e.orders_otif)
FROM events e
GROUP BY e.distributor_id, e.booker_id, e.route_id
"""

# Receivables ageing: the open invoices (payment_status not paid) through the partial index invoice_receivable, so
# the nightly refresh reads the open invoices only, never a distributor's paid history.
DISTRIBUTOR_INSERT = """
INSERT INTO {dist_fact} (tenant_id, distributor_id, date, collections, primary_received_units,
    primary_received_cases, stock_on_hand_units, invoices_issued, invoice_value, credit_note_value,
    outlets_with_orders, receivables, ar_0_30, ar_31_60, ar_61_90, ar_over_90, refreshed_at)
SELECT %(tenant_id)s, d.id, %(business_date)s, p.amount, r.units, r.cases, b.on_hand, i.n, i.value, c.value,
    o.outlets, ar.total, ar.a30, ar.a60, ar.a90, ar.older, %(now)s
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
CROSS JOIN LATERAL (
    SELECT CASE WHEN %(is_today)s THEN coalesce(sum(x.open), 0) END AS total,
        CASE WHEN %(is_today)s THEN coalesce(sum(x.open) FILTER (WHERE x.age <= 30), 0) END AS a30,
        CASE WHEN %(is_today)s THEN coalesce(sum(x.open) FILTER (WHERE x.age BETWEEN 31 AND 60), 0) END AS a60,
        CASE WHEN %(is_today)s THEN coalesce(sum(x.open) FILTER (WHERE x.age BETWEEN 61 AND 90), 0) END AS a90,
        CASE WHEN %(is_today)s THEN coalesce(sum(x.open) FILTER (WHERE x.age > 90), 0) END AS older
    FROM (
        SELECT i.total - i.credited_amount - i.paid_amount AS open, %(business_date)s - i.invoice_date AS age
        FROM {invoice} i
        WHERE %(is_today)s AND i.distributor_id = d.id AND i.payment_status <> %(paid)s
          AND i.tenant_id = %(tenant_id)s
    ) x
) ar
WHERE d.tenant_id = %(tenant_id)s AND d.id = ANY(%(dist)s)
"""

# BrandDayFact's slice summed per distributor and brand, and per distributor over all brands (brand_id null).
DIST_BRAND_INSERT = """
INSERT INTO {dist_brand_fact} (tenant_id, distributor_id, date, brand_id, ordered_lines, ordered_units,
    ordered_value, invoiced_lines, invoiced_units, invoiced_value, delivered_units, delivered_value, returned_units,
    returned_value, primary_received_units, primary_received_value, stock_on_hand_units)
SELECT %(tenant_id)s, b.distributor_id, %(business_date)s, b.brand_id, sum(ordered_lines), sum(ordered_units),
    sum(ordered_value), sum(invoiced_lines), sum(invoiced_units), sum(invoiced_value), sum(delivered_units),
    sum(delivered_value), sum(returned_units), sum(returned_value), sum(primary_received_units),
    sum(primary_received_value), sum(stock_on_hand_units)
FROM {brand_fact} b
WHERE b.tenant_id = %(tenant_id)s AND b.date = %(business_date)s AND b.distributor_id = ANY(%(dist)s)
GROUP BY GROUPING SETS ((b.distributor_id, b.brand_id), (b.distributor_id))
"""

# BookerDayFact's and ServiceDayFact's slices just written, summed per distributor (a row where either has rows).
DIST_ACTIVITY_INSERT = """
INSERT INTO {dist_activity_fact} (tenant_id, distributor_id, date, booker_rows, planned_visits, planned_visits_made,
    in_sequence_visits, productive_visits, orders, order_lines, ordered_value, unique_outlets_visited, market_time,
    market_days, service_rows, orders_invoiced, orders_filled, order_lines_invoiced, lines_filled, orders_due,
    orders_on_time, orders_in_full, orders_otif)
SELECT %(tenant_id)s, coalesce(b.distributor_id, s.distributor_id), %(business_date)s, coalesce(b.rows, 0),
    coalesce(b.planned_visits, 0), coalesce(b.planned_visits_made, 0), coalesce(b.in_sequence_visits, 0),
    coalesce(b.productive_visits, 0), coalesce(b.orders, 0), coalesce(b.order_lines, 0), coalesce(b.ordered_value, 0),
    coalesce(b.unique_outlets_visited, 0), b.market_time, coalesce(b.market_days, 0), coalesce(s.rows, 0),
    coalesce(s.orders_invoiced, 0), coalesce(s.orders_filled, 0), coalesce(s.order_lines_invoiced, 0),
    coalesce(s.lines_filled, 0), coalesce(s.orders_due, 0), coalesce(s.orders_on_time, 0),
    coalesce(s.orders_in_full, 0), coalesce(s.orders_otif, 0)
FROM (
    SELECT f.distributor_id, count(*) AS rows, sum(f.planned_visits) AS planned_visits,
        sum(f.visits - f.unplanned_visits) AS planned_visits_made, sum(f.in_sequence_visits) AS in_sequence_visits,
        sum(f.productive_visits) AS productive_visits, sum(f.orders) AS orders, sum(f.order_lines) AS order_lines,
        sum(f.ordered_value) AS ordered_value, sum(f.unique_outlets_visited) AS unique_outlets_visited,
        sum(f.last_check_out - f.first_check_in) AS market_time,
        count(*) FILTER (WHERE f.first_check_in IS NOT NULL AND f.last_check_out IS NOT NULL) AS market_days
    FROM {booker_fact} f
    WHERE f.tenant_id = %(tenant_id)s AND f.date = %(business_date)s AND f.distributor_id = ANY(%(dist)s)
    GROUP BY 1
) b
FULL JOIN (
    SELECT f.distributor_id, count(*) AS rows, sum(f.orders_invoiced) AS orders_invoiced,
        sum(f.orders_filled) AS orders_filled, sum(f.order_lines_invoiced) AS order_lines_invoiced,
        sum(f.lines_filled) AS lines_filled, sum(f.orders_due) AS orders_due, sum(f.orders_on_time) AS orders_on_time,
        sum(f.orders_in_full) AS orders_in_full, sum(f.orders_otif) AS orders_otif
    FROM {service_fact} f
    WHERE f.tenant_id = %(tenant_id)s AND f.date = %(business_date)s AND f.distributor_id = ANY(%(dist)s)
    GROUP BY 1
) s ON s.distributor_id = b.distributor_id
"""

# OutletMonthFact from the OutletDayFact slice just written: clear the date's bit of the outlets not visited that
# date any more (only rows whose bit is set, so a first refresh touches none), then set it for those visited, an
# upsert that rewrites only rows whose bit was clear. Not a DELETE of a slice: a month row holds the other days too.
MONTH_CLEAR = """
UPDATE {month_fact} m SET visited_days = m.visited_days & ~%(day_bit)s
WHERE m.tenant_id = %(tenant_id)s AND m.date = %(month)s AND m.distributor_id = ANY(%(dist)s)
  AND m.visited_days & %(day_bit)s <> 0
  AND NOT EXISTS (SELECT 1 FROM {outlet_fact} f WHERE f.tenant_id = %(tenant_id)s
      AND f.distributor_id = m.distributor_id AND f.date = %(business_date)s AND f.outlet_id = m.outlet_id
      AND f.visited)
"""
MONTH_SET = """
INSERT INTO {month_fact} AS m (tenant_id, distributor_id, date, outlet_id, visited_days)
SELECT DISTINCT %(tenant_id)s, f.distributor_id, %(month)s::date, f.outlet_id, %(day_bit)s FROM {outlet_fact} f
WHERE f.tenant_id = %(tenant_id)s AND f.date = %(business_date)s AND f.distributor_id = ANY(%(dist)s) AND f.visited
ON CONFLICT (tenant_id, distributor_id, date, outlet_id)
DO UPDATE SET visited_days = m.visited_days | EXCLUDED.visited_days WHERE m.visited_days & EXCLUDED.visited_days = 0
"""

# CoverageMonthFact of the month from its OutletMonthFact rows just updated: the distributors' months are deleted
# and built anew, the marker row (0, 0) first, with the distributor's active outlets. Per distinct bit pattern of
# the active outlets (by their distributor, as the coverage KPI counts them), for each day a of the month with a
# call on or after it: the first such call is on day a - 1 + k, where 2^(k-1) is the lowest set bit of
# bits >> (a - 1).
COVERAGE_DELETE = """
DELETE FROM {coverage_fact} WHERE tenant_id = %(tenant_id)s AND distributor_id = ANY(%(dist)s) AND date = %(month)s
"""
COVERAGE_INSERT = """
INSERT INTO {coverage_fact} (tenant_id, distributor_id, date, from_day, call_day, outlets)
SELECT %(tenant_id)s, d.id, %(month)s::date, 0, 0, (
        SELECT count(*) FROM {outlet} o WHERE o.tenant_id = %(tenant_id)s AND o.distributor_id = d.id AND o.active)
FROM unnest(%(dist)s::bigint[]) d(id)
UNION ALL
SELECT %(tenant_id)s, p.distributor_id, %(month)s::date, a.day,
    a.day - 1 + array_position(%(powers)s::int[], (p.bits >> (a.day - 1)) & -(p.bits >> (a.day - 1))),
    sum(p.outlets)::int
FROM (
    SELECT m.distributor_id, m.visited_days AS bits, count(*) AS outlets FROM {month_fact} m
    JOIN {outlet} o ON o.tenant_id = m.tenant_id AND o.distributor_id = m.distributor_id AND o.id = m.outlet_id
        AND o.active
    WHERE m.tenant_id = %(tenant_id)s AND m.date = %(month)s AND m.distributor_id = ANY(%(dist)s)
      AND m.visited_days <> 0
    GROUP BY 1, 2
) p
CROSS JOIN generate_series(1, 31) a(day)
WHERE p.bits >> (a.day - 1) <> 0
GROUP BY 2, 4, 5
"""
POWERS = [1 << k for k in range(31)]
# The (distributor, month) pairs of the months given with month bits but no CoverageMonthFact marker row.
STALE_MONTHS = """
SELECT d.id, mo.m FROM unnest(%(dist)s::bigint[]) d(id) CROSS JOIN unnest(%(months)s::date[]) mo(m)
WHERE NOT EXISTS (SELECT 1 FROM {coverage_fact} c WHERE c.tenant_id = %(tenant_id)s AND c.distributor_id = d.id
      AND c.date = mo.m AND c.from_day = 0 AND c.call_day = 0)
  AND EXISTS (SELECT 1 FROM {month_fact} m WHERE m.tenant_id = %(tenant_id)s AND m.distributor_id = d.id
      AND m.date = mo.m)
ORDER BY 2, 1
"""

# (fact table key, insert, key of the returned counts), in the order they run: BRAND_INSERT reads SKU_INSERT's rows.
FACTS = (
    ("booker_fact", BOOKER_INSERT, "booker"),
    ("sku_fact", SKU_INSERT, "outlet_sku"),
    ("brand_fact", BRAND_INSERT, "brand"),
    ("dist_brand_fact", DIST_BRAND_INSERT, "distributor_brand"),
    ("outlet_fact", OUTLET_INSERT, "outlet"),
    ("service_fact", SERVICE_INSERT, "service"),
    ("dist_activity_fact", DIST_ACTIVITY_INSERT, "distributor_activity"),
    ("dist_fact", DISTRIBUTOR_INSERT, "distributor"),
)
