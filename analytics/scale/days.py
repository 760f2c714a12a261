"""A chunk of distributors: every date of their field work, orders and lines, stock, invoices, deliveries and sync,
one INSERT .. SELECT per table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dispatch.models import DeliveryLine, LoadForm, LoadFormInvoice
from dms.tenancy.models import Device, Tenant
from inventory.models import Allocation, StockBalance, StockMovement
from invoicing.models import Invoice, InvoiceLine, NumberSeries, Payment, PaymentAllocation
from mobile.models import SyncHealth, SyncItem
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import DailyJourney, Visit

from .spec import (
    ACTOR,
    DAY_BEFORE_STAGES,
    INVOICE_SERIES,
    INVOICES_PER_LOAD_FORM,
    LAST_DAY_STAGES,
    MISSED_SHARE,
    P_ALLOC,
    P_BOOK,
    P_CASES,
    P_CONF,
    P_GPS,
    P_IN,
    P_INV,
    P_LAT,
    P_LNG,
    P_LOOSE,
    P_MISS,
    P_OUT,
    P_PROD,
    P_REASON,
    P_SKU,
    P_STAGE,
    P_UNITS,
    REASONS,
    ScaleSpec,
)
from .sql import CHUNK_TABLES, Hash, day_close_model, drop, execute, insert_select, md5_uuid, nextval, secs, table

# --- a chunk of distributors: every day of their field work, orders, stock, invoices, deliveries, sync -------------

def _stage_case(stages: Sequence[tuple[str, float]], u: str) -> str:
    whens = " ".join(f"WHEN {u} < {share} THEN '{stage}'" for stage, share in stages[:-1])
    return f"CASE {whens} ELSE '{stages[-1][0]}' END" if whens else f"'{stages[-1][0]}'"


def seed_chunk(spec: ScaleSpec, tenant: Tenant, d0: int, d1: int) -> None:
    """Every date of distributors d0..d1-1 (by code order), in the caller's transaction: staged in temporary tables
    (ids taken from the sequences), then written table by table."""
    h = Hash(spec.seed)
    slot = 32_400 / spec.visits_per_journey  # seconds per planned stop in a 09:00-18:00 day
    p: dict[str, Any] = {"t": tenant.pk, "d0": d0, "d1": d1, "currency": tenant.currency, "actor": ACTOR,
                         "reasons": list(REASONS), "series": INVOICE_SERIES}
    drop(*CHUNK_TABLES)
    _stage_journeys_and_visits(spec, h, p, slot)
    _stage_orders_and_lines(spec, h, p)
    _stage_documents(p)
    _write_field_work(p, spec.visits_per_journey)
    _write_orders(p)
    _write_stock(spec, p)
    _write_invoices_and_deliveries(p)
    _write_sync(p)
    drop(*CHUNK_TABLES)


def _stage_journeys_and_visits(spec: ScaleSpec, h: Hash, p: dict[str, Any], slot: float) -> None:
    v, b = spec.visits_per_journey, spec.bookers
    execute(f"""CREATE TEMP TABLE c_journey AS
        SELECT {nextval(DailyJourney)} AS id, b.j, b.di, b.k, b.user_id, b.device_id, b.pjp_id, b.n_ord,
            dist.id AS distributor_id, d.t, d.day, d.age, d.t0, s.r, s.route_id
        FROM s_booker b JOIN s_dist dist USING (di) CROSS JOIN s_day d
        JOIN s_slot s ON s.j = b.j AND s.w = d.weekday
        WHERE b.di >= %(d0)s AND b.di < %(d1)s""", p)
    # Which stops get an order: the booker's n_ord stops of lowest hash. The rest are unproductive (a reason), or on a
    # closed earlier date some were missed. Visits are made in sequence, each inside its planned slot.
    visited = "s.status <> 'missed'"
    execute(f"""CREATE TEMP TABLE c_visit AS
        WITH st AS (
            SELECT jr.id AS journey_id, jr.j, jr.di, jr.distributor_id, jr.user_id, jr.device_id, jr.n_ord, jr.t,
                jr.day, jr.age, jr.t0, s.seq, s.outlet_id, s.lat, s.lng,
                (jr.t::bigint * {b} + jr.j) * {v} + s.seq - 1 AS vkey
            FROM c_journey jr JOIN s_stop s ON s.di = jr.di AND s.r = jr.r
        ), ranked AS (
            SELECT st.*, row_number() OVER (PARTITION BY st.journey_id ORDER BY {h.number('st.vkey', P_PROD)}, st.seq)
                AS prank
            FROM st
        ), s AS (
            SELECT ranked.*,
                CASE WHEN prank <= n_ord THEN 'productive'
                     WHEN age > 0 AND {h.unit('vkey', P_MISS)} < {MISSED_SHARE} THEN 'missed'
                     ELSE 'unproductive' END AS status,
                t0 + {secs(f'32400 + (seq - 1) * {slot}')} AS eta,
                (({h.unit('vkey', P_LAT)}) - 0.5) * 0.0006 AS dlat, (({h.unit('vkey', P_LNG)}) - 0.5) * 0.0006 AS dlng
            FROM ranked
        ), timed AS (
            SELECT s.*, s.eta + {secs(f'{h.unit("vkey", P_IN)} * {slot * 0.3}')} AS checkin FROM s
        )
        SELECT {nextval(Visit)} AS id, s.journey_id, s.j, s.di, s.distributor_id, s.user_id, s.device_id, s.t, s.day,
            s.age, s.t0, s.seq, s.outlet_id, s.vkey, s.status, s.eta, s.eta + {secs(slot * 0.6)} AS etd,
            CASE WHEN {visited} THEN s.checkin END AS checkin,
            CASE WHEN {visited} THEN s.checkin + {secs(f'(0.3 + 0.2 * {h.unit("vkey", P_OUT)}) * {slot}')} END
                AS checkout,
            CASE WHEN {visited} THEN {md5_uuid(spec.seed, 'visit', 's.vkey')} END AS uuid,
            CASE WHEN {visited} THEN round((s.lat + s.dlat)::numeric, 6) END AS lat,
            CASE WHEN {visited} THEN round((s.lng + s.dlng)::numeric, 6) END AS lng,
            CASE WHEN {visited} THEN 4 + mod({h.number('s.vkey', P_GPS)}, 26) END AS gps,
            CASE WHEN {visited} THEN round(sqrt((s.dlat * 111320) ^ 2
                + (s.dlng * 111320 * cos(radians(s.lat))) ^ 2))::int END AS distance,
            CASE WHEN s.status = 'unproductive'
                 THEN (%(reasons)s::text[])[(1 + mod({h.number('s.vkey', P_REASON)}, {len(REASONS)}))::int] ELSE '' END
                AS reason
        FROM timed s""", p)


def _stage_orders_and_lines(spec: ScaleSpec, h: Hash, p: dict[str, Any]) -> None:
    lines, a, skus = spec.lines_per_order, spec.assortment, spec.skus
    stride = max(1, a // lines)
    u = h.unit("o.okey", P_STAGE)
    execute(f"""CREATE TEMP TABLE c_order AS
        WITH o AS (
            SELECT v.id AS visit_id, v.vkey AS okey, v.journey_id, v.j, v.di, v.distributor_id, v.user_id, v.device_id,
                v.t, v.day, v.age, v.t0, v.outlet_id, v.seq, v.checkout,
                v.checkin + (v.checkout - v.checkin) * (0.4 + 0.4 * {h.unit('v.vkey', P_BOOK)}) AS booked_at
            FROM c_visit v WHERE v.status = 'productive'
        )
        SELECT {nextval(SecondaryOrder)} AS id, o.*, {md5_uuid(spec.seed, 'order', 'o.okey')} AS uuid,
            CASE WHEN o.age = 0 THEN {_stage_case(LAST_DAY_STAGES, u)}
                 WHEN o.age = 1 THEN {_stage_case(DAY_BEFORE_STAGES, u)}
                 ELSE 'delivered' END AS stage,
            o.t0 + {secs(f"70200 + 1800 * {h.unit('o.okey', P_CONF)}")} AS conf_at,
            o.t0 + {secs(f"73800 + 1800 * {h.unit('o.okey', P_ALLOC)}")} AS alloc_at,
            o.t0 + {secs(f"77400 + 1800 * {h.unit('o.okey', P_INV)}")} AS inv_at,
            0::numeric AS gross, 0::numeric AS discount, 0::numeric AS tax, 0::numeric AS total
        FROM o""", p)
    execute("ALTER TABLE c_order ADD PRIMARY KEY (id)")
    lkey = f"(o.okey * {lines} + ln)"
    execute(f"""CREATE TEMP TABLE c_line AS
        WITH q AS (
            SELECT o.id AS order_id, o.distributor_id, o.di, o.t, o.stage, ln AS line_no, s.id AS sku_id, s.upc,
                s.case_price, s.pct, s.scheme_ids, s.kg, s.litres, r.rate,
                1 + mod({h.number(lkey, P_CASES)}, 5) AS cases,
                CASE WHEN s.upc > 1 AND {h.unit(lkey, P_LOOSE)} < 0.2
                     THEN 1 + mod({h.number(lkey, P_UNITS)}, s.upc - 1) ELSE 0 END AS units
            FROM c_order o JOIN s_dist d ON d.di = o.di CROSS JOIN generate_series(1, {lines}) ln
            JOIN s_sku s ON s.si = mod(d.sku0 + mod({h.number('o.okey', P_SKU)} + (ln - 1) * {stride}, {a}), {skus})
            JOIN s_dayrate r ON r.t = o.t AND r.tax_class = s.tax_class
        ), g AS (
            SELECT q.*, q.cases * q.upc + q.units AS qty, round(q.case_price * (q.cases * q.upc + q.units) / q.upc, 2)
                AS gross
            FROM q
        ), dsc AS (
            SELECT g.*, round(g.gross * g.pct / 100, 2) AS discount FROM g
        )
        SELECT {nextval(SecondaryOrderLine)} AS id, dsc.*, round((dsc.gross - dsc.discount) * dsc.rate, 2) AS tax,
            dsc.gross - dsc.discount + round((dsc.gross - dsc.discount) * dsc.rate, 2) AS total
        FROM dsc""", p)
    execute("CREATE INDEX ON c_line (order_id)")
    execute("""UPDATE c_order o SET gross = l.gross, discount = l.discount, tax = l.tax, total = l.total
        FROM (SELECT order_id, sum(gross) AS gross, sum(discount) AS discount, sum(tax) AS tax, sum(total) AS total
              FROM c_line GROUP BY order_id) l
        WHERE l.order_id = o.id""")
    execute("ANALYZE c_order; ANALYZE c_line")


def _stage_documents(p: dict[str, Any]) -> None:
    """Invoices (numbered 1..N per distributor and fiscal year, in issue order), and the load forms of the delivered
    orders: a distributor's day of invoices in booker and route order, INVOICES_PER_LOAD_FORM to a vehicle."""
    execute(f"""CREATE TEMP TABLE c_invoice AS
        SELECT {nextval(Invoice)} AS id, o.id AS order_id, o.di, o.distributor_id, d.fy, d.day,
            row_number() OVER (PARTITION BY o.di, d.fy ORDER BY o.inv_at, o.okey) AS number
        FROM c_order o JOIN s_day d ON d.t = o.t WHERE o.stage IN ('invoiced', 'delivered')""")
    execute("ALTER TABLE c_invoice ADD PRIMARY KEY (id); CREATE UNIQUE INDEX ON c_invoice (order_id)")
    per = INVOICES_PER_LOAD_FORM
    execute(f"""CREATE TEMP TABLE c_stop AS
        WITH s AS (
            SELECT i.id AS invoice_id, o.id AS order_id, o.di, o.distributor_id, o.t, o.outlet_id, o.okey, o.total,
                row_number() OVER (PARTITION BY o.di, o.t ORDER BY o.j, o.seq) - 1 AS rn
            FROM c_invoice i JOIN c_order o ON o.id = i.order_id WHERE o.stage = 'delivered'
        ), load AS (
            SELECT order_id, round(sum(qty * kg / upc), 3) AS weight_kg, round(sum(qty * litres / upc), 3) AS volume_l,
                sum((qty + upc - 1) / upc) AS cases
            FROM c_line WHERE stage = 'delivered' GROUP BY order_id
        )
        SELECT {nextval(LoadFormInvoice)} AS id, {nextval(Payment)} AS payment_id, s.*, s.rn / {per} AS lf_k,
            mod(s.rn, {per}) + 1 AS sequence, l.weight_kg, l.volume_l, l.cases
        FROM s JOIN load l USING (order_id)""")
    execute(f"""CREATE TEMP TABLE c_lf AS
        SELECT {nextval(LoadForm)} AS id, x.*, row_number() OVER (PARTITION BY x.di ORDER BY x.t, x.lf_k) AS n,
            d.t1 + {secs('25200 + 300 * x.lf_k')} AS loaded_at, d.t1 + {secs('28800 + 300 * x.lf_k')} AS departed_at,
            d.t1 + {secs('68400 + 300 * x.lf_k')} AS settled_at, d.day + 1 AS day
        FROM (SELECT di, distributor_id, t, lf_k, count(*) AS invoices, sum(weight_kg) AS weight_kg,
                  sum(volume_l) AS volume_l, sum(cases) AS cases, sum(total) AS total
              FROM c_stop GROUP BY di, distributor_id, t, lf_k) x
        JOIN s_day d ON d.t = x.t""")
    execute("ALTER TABLE c_lf ADD PRIMARY KEY (di, t, lf_k)")


def _write_field_work(p: dict[str, Any], v: int) -> None:
    built = "jr.t0 - interval '14 hours'"  # built the evening before, as the beat job does
    insert_select(DailyJourney, {
        "tenant_id": "%(t)s", "distributor_id": "jr.distributor_id", "booker_id": "jr.user_id", "date": "jr.day",
        "pjp_id": "jr.pjp_id", "route_id": "jr.route_id", "route_version": "1",
        "planned_start": "jr.t0 + interval '9 hours'", "planned_end": "jr.t0 + interval '18 hours'",
        "planned_distance_m": f"{v * 650}", "created_at": built, "updated_at": built},
                  "FROM c_journey jr", p, pk="jr.id")
    insert_select(Visit, {"tenant_id": "%(t)s", "distributor_id": "v.distributor_id", "journey_id": "v.journey_id",
                          "outlet_id": "v.outlet_id", "sequence": "v.seq", "eta": "v.eta", "etd": "v.etd",
                          "status": "v.status", "window_missed": "false", "planned": "true", "uuid": "v.uuid",
                          "checked_in_at": "v.checkin", "checked_out_at": "v.checkout", "check_in_lat": "v.lat",
                          "check_in_lng": "v.lng", "gps_accuracy_m": "v.gps", "distance_m": "v.distance",
                          "unproductive_reason": "v.reason", "note": "''", "created_at": "v.t0 - interval '14 hours'",
                          "updated_at": "coalesce(v.checkout, v.t1_close)"},
                  "FROM (SELECT c.*, c.t0 + interval '23 hours' AS t1_close FROM c_visit c) v", p, pk="v.id")


def _write_orders(p: dict[str, Any]) -> None:
    since = """CASE o.stage WHEN 'booked' THEN o.booked_at + interval '1 minute' WHEN 'confirmed' THEN o.conf_at
        WHEN 'allocated' THEN o.alloc_at WHEN 'invoiced' THEN o.inv_at ELSE lf.settled_at END"""
    insert_select(SecondaryOrder, {
        "tenant_id": "%(t)s", "distributor_id": "o.distributor_id", "uuid": "o.uuid", "outlet_id": "o.outlet_id",
        "booker_id": "o.user_id", "device_id": "o.device_id", "visit_id": "o.visit_id", "source": "'mobile'",
        "status": "o.stage", "booked_at": "o.booked_at", "status_changed_at": since,
        "delivery_date": "o.day + 1", "note": "''", "currency": "%(currency)s", "gross": "o.gross",
        "discount": "o.discount", "tax": "o.tax", "total": "o.total", "device_total": "o.total",
        "price_flag": "false", "hold": "''", "hold_reason": "''",
        "fingerprint": "encode(sha256(convert_to(o.uuid::text || ':' || o.total::text, 'UTF8')), 'hex')",
        "version": "1", "created_at": "o.booked_at + interval '1 minute'", "updated_at": since},
        """FROM c_order o LEFT JOIN c_stop s ON s.order_id = o.id
           LEFT JOIN c_lf lf ON lf.di = s.di AND lf.t = s.t AND lf.lf_k = s.lf_k""", p, pk="o.id")
    insert_select(SecondaryOrderLine, {
        "tenant_id": "%(t)s", "distributor_id": "l.distributor_id", "order_id": "l.order_id", "line_no": "l.line_no",
        "sku_id": "l.sku_id", "cases": "l.cases", "units": "l.units", "qty_units": "l.qty",
        "case_price": "l.case_price", "gross": "l.gross", "discount": "l.discount", "tax_rate": "l.rate",
        "tax": "l.tax", "total": "l.total", "is_free": "false", "scheme_ids": "l.scheme_ids",
        "device_case_price": "l.case_price", "device_total": "l.total", "created_at": "o.booked_at",
        "updated_at": "o.booked_at"},
        "FROM c_line l JOIN c_order o ON o.id = l.order_id", p, pk="l.id")


def _write_stock(spec: ScaleSpec, p: dict[str, Any]) -> None:
    """Opening stock (a receipt per SKU of the assortment: what the dates need and a quarter more, in whole cases),
    an ALLOCATION per allocated line, a DISPATCH per load form and SKU; allocations; balances from the movements."""
    actor = {"actor_kind": "'system'", "actor_label": "%(actor)s", "batch": "''", "reason": "''"}
    opening = "(SELECT t0 FROM s_day WHERE t = 0) - interval '18 hours'"
    insert_select(StockMovement, {
        "tenant_id": "%(t)s", "distributor_id": "d.id", "warehouse_id": "d.warehouse_id", "sku_id": "s.id",
        "kind": "'receipt'", "qty_units": "q.units", "on_hand_delta": "q.units", "reserved_delta": "0",
        **actor, "reason": "'opening stock'", "reference_type": "''", "created_at": opening, "updated_at": opening},
        f"""FROM (SELECT d.di, mod(d.sku0 + x, {spec.skus}) AS si FROM s_dist d
                  CROSS JOIN generate_series(0, {spec.assortment} - 1) x WHERE d.di >= %(d0)s AND d.di < %(d1)s) a
           JOIN s_dist d ON d.di = a.di JOIN s_sku s ON s.si = a.si
           LEFT JOIN (SELECT di, sku_id, sum(qty) AS qty FROM c_line GROUP BY di, sku_id) l
               ON l.di = a.di AND l.sku_id = s.id
           CROSS JOIN LATERAL (SELECT (ceil(coalesce(l.qty, 0) * 1.25 / s.upc)::int + 10) * s.upc AS units) q""", p,
        pk=None)
    live = "l.stage IN ('allocated', 'invoiced', 'delivered')"
    insert_select(StockMovement, {
        "tenant_id": "%(t)s", "distributor_id": "l.distributor_id", "warehouse_id": "d.warehouse_id",
        "sku_id": "l.sku_id", "kind": "'allocation'", "qty_units": "l.qty", "on_hand_delta": "0",
        "reserved_delta": "l.qty", **actor, "reason": "'allocated: first come, first served'",
        "reference_type": "'secondary_order'", "reference_id": "l.order_id", "created_at": "o.alloc_at",
        "updated_at": "o.alloc_at"},
        f"FROM c_line l JOIN c_order o ON o.id = l.order_id JOIN s_dist d ON d.di = l.di WHERE {live}", p, pk=None)
    insert_select(StockMovement, {
        "tenant_id": "%(t)s", "distributor_id": "x.distributor_id", "warehouse_id": "d.warehouse_id",
        "sku_id": "x.sku_id", "kind": "'dispatch'", "qty_units": "-x.qty", "on_hand_delta": "-x.qty",
        "reserved_delta": "-x.qty", **actor,
        "reason": "'LF-' || lpad(lf.n::text, 6, '0') || ' loaded on TRUCK-' || (lf.lf_k + 1)",
        "reference_type": "'load_form'", "reference_id": "lf.id", "created_at": "lf.loaded_at",
        "updated_at": "lf.loaded_at"},
        """FROM (SELECT s.di, s.distributor_id, s.t, s.lf_k, l.sku_id, sum(l.qty) AS qty
                 FROM c_stop s JOIN c_line l ON l.order_id = s.order_id
                 GROUP BY s.di, s.distributor_id, s.t, s.lf_k, l.sku_id) x
           JOIN c_lf lf ON lf.di = x.di AND lf.t = x.t AND lf.lf_k = x.lf_k JOIN s_dist d ON d.di = x.di""", p,
        pk=None)
    status = "CASE l.stage WHEN 'allocated' THEN 'active' WHEN 'invoiced' THEN 'invoiced' ELSE 'dispatched' END"
    insert_select(Allocation, {
        "tenant_id": "%(t)s", "distributor_id": "l.distributor_id", "order_id": "l.order_id",
        "order_line_id": "l.id", "warehouse_id": "d.warehouse_id", "sku_id": "l.sku_id",
        "requested_units": "l.qty", "allocated_units": "l.qty", "policy": "'fifo'",
        "explanation": "l.qty || ' of ' || l.qty || ' units: in stock'", "status": status,
        "created_at": "o.alloc_at",
        "updated_at": "CASE l.stage WHEN 'allocated' THEN o.alloc_at ELSE o.inv_at END"},
        f"FROM c_line l JOIN c_order o ON o.id = l.order_id JOIN s_dist d ON d.di = l.di WHERE {live}", p, pk=None)
    insert_select(StockBalance, {
        "tenant_id": "%(t)s", "distributor_id": "m.distributor_id", "warehouse_id": "m.warehouse_id",
        "sku_id": "m.sku_id", "on_hand": "m.on_hand", "reserved": "m.reserved", "version": "m.n",
        "created_at": "m.first_at", "updated_at": "m.last_at"},
        f"""FROM (SELECT distributor_id, warehouse_id, sku_id, sum(on_hand_delta) AS on_hand,
                     sum(reserved_delta) AS reserved, count(*) AS n, min(created_at) AS first_at,
                     max(created_at) AS last_at
                 FROM {table(StockMovement)}
                 WHERE tenant_id = %(t)s
                   AND distributor_id IN (SELECT id FROM s_dist WHERE di >= %(d0)s AND di < %(d1)s)
                 GROUP BY distributor_id, warehouse_id, sku_id) m""", p, pk=None)


def _write_invoices_and_deliveries(p: dict[str, Any]) -> None:
    delivered = "o.stage = 'delivered'"
    insert_select(Invoice, {
        "tenant_id": "%(t)s", "distributor_id": "i.distributor_id", "order_id": "i.order_id",
        "outlet_id": "o.outlet_id", "series_code": "%(series)s", "fiscal_year": "i.fy", "number": "i.number",
        "number_text": "%(series)s || '/' || i.fy || '/' || lpad(i.number::text, 6, '0')",
        "invoice_date": "i.day", "issued_at": "o.inv_at", "priced_on": "o.day", "currency": "%(currency)s",
        "gross": "o.gross", "discount": "o.discount", "tax": "o.tax", "total": "o.total",
        "booked_total": "o.total",
        "status": f"CASE WHEN {delivered} THEN 'delivered' ELSE 'issued' END",
        "payment_status": f"CASE WHEN {delivered} THEN 'paid' ELSE 'unpaid' END",
        "paid_amount": f"CASE WHEN {delivered} THEN o.total ELSE 0 END", "credited_amount": "0",
        "version": f"CASE WHEN {delivered} THEN 3 ELSE 1 END", "created_at": "o.inv_at",
        "updated_at": f"CASE WHEN {delivered} THEN lf.settled_at ELSE o.inv_at END"},
        """FROM c_invoice i JOIN c_order o ON o.id = i.order_id LEFT JOIN c_stop s ON s.order_id = o.id
           LEFT JOIN c_lf lf ON lf.di = s.di AND lf.t = s.t AND lf.lf_k = s.lf_k""", p, pk="i.id")
    insert_select(InvoiceLine, {
        "tenant_id": "%(t)s", "distributor_id": "l.distributor_id", "invoice_id": "i.id", "order_line_id": "l.id",
        "line_no": "l.line_no", "sku_id": "l.sku_id", "cases": "l.cases", "units": "l.units", "qty_units": "l.qty",
        "case_price": "l.case_price", "gross": "l.gross", "discount": "l.discount", "tax_rate": "l.rate",
        "tax": "l.tax", "total": "l.total", "is_free": "false", "scheme_ids": "l.scheme_ids",
        "booked_case_price": "l.case_price", "booked_qty_units": "l.qty", "created_at": "o.inv_at",
        "updated_at": "o.inv_at"},
        "FROM c_line l JOIN c_invoice i ON i.order_id = l.order_id JOIN c_order o ON o.id = l.order_id", p, pk=None)
    insert_select(NumberSeries, {
        "tenant_id": "%(t)s", "distributor_id": "i.distributor_id", "kind": "'invoice'", "code": "%(series)s",
        "fiscal_year": "i.fy", "next_number": "max(i.number) + 1", "created_at": "min(o.inv_at)",
        "updated_at": "max(o.inv_at)"},
        "FROM c_invoice i JOIN c_order o ON o.id = i.order_id GROUP BY i.distributor_id, i.fy", p, pk=None)
    actor = {"actor_kind": "'system'", "actor_label": "%(actor)s"}
    insert_select(LoadForm, {
        "tenant_id": "%(t)s", "distributor_id": "lf.distributor_id", "number": "'LF-' || lpad(lf.n::text, 6, '0')",
        "date": "lf.day", "vehicle_id": "v.id", "delivery_man_id": "d.delivery_id", "status": "'settled'",
        "note": "''", "invoice_count": "lf.invoices", "total_weight_kg": "lf.weight_kg",
        "total_volume_l": "lf.volume_l", "total_cases": "lf.cases", "total_value": "lf.total",
        "expected_cash": "lf.total", "collected_cash": "lf.total", "collected_cheques": "0",
        "counted_cash": "lf.total", "counted_cheques": "0", "planned_distance_m": "1500 * lf.invoices",
        "planned_duration_s": "900 * lf.invoices", "plan_note": "''", "loaded_at": "lf.loaded_at",
        "departed_at": "lf.departed_at", "settled_at": "lf.settled_at", "version": "4", **actor,
        "created_at": "lf.loaded_at - interval '90 minutes'", "updated_at": "lf.settled_at"},
        "FROM c_lf lf JOIN s_dist d ON d.di = lf.di JOIN s_vehicle v ON v.di = lf.di AND v.v = lf.lf_k", p, pk="lf.id")
    stop_from = "FROM c_stop s JOIN c_lf lf ON lf.di = s.di AND lf.t = s.t AND lf.lf_k = s.lf_k"
    recorded = "lf.departed_at + make_interval(mins => 10 * s.sequence::int)"
    insert_select(LoadFormInvoice, {
        "tenant_id": "%(t)s", "distributor_id": "s.distributor_id", "load_form_id": "lf.id",
        "invoice_id": "s.invoice_id", "outlet_id": "s.outlet_id", "order_id": "s.order_id",
        "sequence": "s.sequence", "eta": "'09:00'::time + make_interval(mins => 10 * s.sequence::int)",
        "plan_note": "''", "weight_kg": "s.weight_kg", "volume_l": "s.volume_l", "cases": "s.cases",
        "amount": "s.total", "due": "s.total", "outcome": "'delivered'", "return_reason": "''", "restock": "''",
        "credited": "0", "on_account": "false", "live": "true", "recorded_at": recorded,
        "recorded_by": "%(actor)s", "created_at": "lf.loaded_at - interval '90 minutes'", "updated_at": recorded},
        stop_from, p, pk="s.id")
    insert_select(DeliveryLine, {
        "tenant_id": "%(t)s", "distributor_id": "s.distributor_id", "stop_id": "s.id", "invoice_line_id": "il.id",
        "sku_id": "il.sku_id", "invoiced_units": "il.qty_units", "delivered_units": "il.qty_units",
        "returned_units": "0", "created_at": recorded, "updated_at": recorded},
        f"{stop_from} JOIN {table(InvoiceLine)} il "
        "ON il.distributor_id = s.distributor_id AND il.invoice_id = s.invoice_id",
        p, pk=None)
    insert_select(Payment, {
        "tenant_id": "%(t)s", "distributor_id": "s.distributor_id", "outlet_id": "s.outlet_id", "method": "'cash'",
        "amount": "s.total", "currency": "%(currency)s", "received_on": "lf.day", "reference": "''",
        "load_form_id": "lf.id", "idempotency_key": "md5('pay:' || s.okey::text)", "unallocated": "0", **actor,
        "created_at": recorded, "updated_at": recorded},
        stop_from, p, pk="s.payment_id")
    insert_select(PaymentAllocation, {
        "tenant_id": "%(t)s", "distributor_id": "s.distributor_id", "payment_id": "s.payment_id",
        "invoice_id": "s.invoice_id", "amount": "s.total", "created_at": recorded, "updated_at": recorded},
        stop_from, p, pk=None)


def _write_sync(p: dict[str, Any]) -> None:
    """Each phone pushes a visit as it checks out, with the visit's order; sequence numbers run on across days. The
    booker closes the day at 18:30 with the counts and the range; SyncHealth is the last day close's answer."""
    execute("""CREATE TEMP TABLE c_sync AS
        WITH items AS (
            SELECT v.device_id, v.distributor_id, v.t, v.day, v.t0, v.seq, 0 AS k, 'visit' AS kind, v.uuid,
                v.checkout + interval '30 seconds' AS at
            FROM c_visit v WHERE v.status <> 'missed'
            UNION ALL
            SELECT o.device_id, o.distributor_id, o.t, o.day, o.t0, o.seq, 1, 'order', o.uuid,
                o.checkout + interval '30 seconds'
            FROM c_order o
        )
        SELECT items.*, row_number() OVER (PARTITION BY device_id ORDER BY t, seq, k) AS device_seq FROM items""")
    insert_select(SyncItem, {
        "tenant_id": "%(t)s", "distributor_id": "s.distributor_id", "device_id": "s.device_id",
        "device_seq": "s.device_seq", "kind": "s.kind", "object_uuid": "s.uuid", "result": "'applied'",
        "work_date": "s.day", "created_at": "s.at", "updated_at": "s.at"}, "FROM c_sync s", p, pk=None)
    closes = """SELECT device_id, distributor_id, t, day, t0, t0 + interval '18 hours 30 minutes' AS reported_at,
            min(device_seq) AS first_seq, max(device_seq) AS last_seq, max(at) AS last_at,
            jsonb_build_object('visit', count(*) FILTER (WHERE kind = 'visit'),
                               'order', count(*) FILTER (WHERE kind = 'order')) AS counts
        FROM c_sync GROUP BY device_id, distributor_id, t, day, t0"""
    model = day_close_model()
    if model is not None:
        insert_select(model, {
            "tenant_id": "%(t)s", "distributor_id": "c.distributor_id", "device_id": "c.device_id", "date": "c.day",
            "first_device_seq": "c.first_seq", "last_device_seq": "c.last_seq", "device_counts": "c.counts",
            "reported_at": "c.reported_at", "created_at": "c.reported_at", "updated_at": "c.reported_at"},
            f"FROM ({closes}) c", p, pk=None)
    result = """jsonb_build_object('date', c.day, 'status', 'ok', 'missing_seqs', '[]'::jsonb,
        'mismatches', '[]'::jsonb, 'server_counts', c.counts, 'device_counts', c.counts, 'rejected', 0,
        'first_device_seq', c.first_seq, 'last_device_seq', c.last_seq)"""
    insert_select(SyncHealth, {
        "tenant_id": "%(t)s", "distributor_id": "c.distributor_id", "device_id": "c.device_id", "status": "'ok'",
        "last_pull_at": "c.t0 + interval '8 hours 30 minutes'", "last_push_at": "c.last_at",
        "high_water_seq": "c.last_seq", "last_day_close_at": "c.reported_at", "last_day_close": result,
        "missing_seqs": "'[]'::jsonb", "rejected_items": "0", "failures": "0", "last_failure": "''",
        "created_at": "c.reported_at", "updated_at": "c.reported_at"},
        f"""FROM (SELECT DISTINCT ON (device_id) * FROM ({closes}) x ORDER BY device_id, t DESC) c""", p, pk=None)
    execute(f"""UPDATE {table(Device)} dev SET last_seen_at = c.last_at
        FROM (SELECT device_id, max(at) AS last_at FROM c_sync GROUP BY device_id) c
        WHERE dev.tenant_id = %(t)s AND dev.id = c.device_id""", p)
