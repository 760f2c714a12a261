"""Stock and money checks: the stock ledger and reservations, invoices and credit notes, load forms, primary orders.

Each is one set-based SELECT (checks/base.py). Day checks reach the date's documents through (distributor, date)
index probes, one per distributor of the tenant (credit notes have no date index yet: their headers are scanned).
State checks read the present state: stock balances (the ledger sum is the one check that reads a table's whole
history, see `stock_ledger`), open allocations, and the primary orders and dispatch advices in flight (their
headers are scanned, their lines read only for those).

Lines are aggregated either in one GROUP BY over the documents joined to their lines, or in a LATERAL aggregate per
document (an index probe each); never is an aggregate of lines joined back to the documents: row estimates through
the (distributor_id, id) joins are poor, and a misjudged join of two derived sets is a nested loop over both
(quadratic). Either form costs at worst one probe per document and its lines, whatever the planner guesses.

A state check that looks only at what is in flight, or was settled recently, would clear an exception as soon as its
document leaves that window although the mismatch is still there. So the primary checks also look again at every
document that has an open (or assigned) exception of the check: a mismatch stays in the queue until staff resolve
it or the data is corrected, whatever the document's age. Those lookups read the queue's (tenant, check, status)
index, a handful of rows.

Figures in messages are formatted in SQL ("1,234.50", "1,200 units"); amounts in `detail` are strings (exact
decimals), quantities integers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from catalog.models import Outlet, Sku
from dispatch.enums import AdviceStatus, DeliveryOutcome, LoadFormStatus
from dispatch.models import (
    DeliveryLine,
    DispatchAdvice,
    DispatchAdviceLine,
    GoodsReceipt,
    GoodsReceiptLine,
    LoadForm,
    LoadFormInvoice,
)
from dms.tenancy.models import Distributor
from inventory.models import Allocation, AllocationStatus, StockBalance, StockMovement, Warehouse
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from orders.enums import PrimaryOrderStatus
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine

from ..enums import CheckScope
from ..models import LedgerCheckpoint, ReconciliationException
from .base import Check, CheckContext, fingerprint, table

# How far back the primary checks look at documents that are no longer in flight (a closed or rejected order, a DA
# received): a week of missed nights is still caught. Older ones are looked at again only while they have an open
# exception.
RECENT = timedelta(days=7)
# How many invoice numbers a load form's message lists (the count is always given; the records hold them all).
MAX_LISTED = 10

P = PrimaryOrderStatus
# Allocations that hold reserved stock: an invoiced allocation keeps its units reserved until the van is loaded
# (dispatch.services.loading dispatches them: -on_hand and -reserved, and marks them dispatched).
HOLDING = [AllocationStatus.ACTIVE.value, AllocationStatus.INVOICED.value]
# Primary orders the manufacturer decided that are not done yet: their approvals can still be dispatched against.
IN_FLIGHT = [P.APPROVED.value, P.PARTIALLY_APPROVED.value, P.DISPATCHED.value, P.RECEIVED.value]
DECIDED = [P.APPROVED.value, P.PARTIALLY_APPROVED.value, P.REJECTED.value]
# Load forms a date's reconciliation looks at: a planned one never left (its orders are "invoiced, not loaded" for
# the stuck-orders check), a cancelled one carries nothing.
ON_THE_ROAD = [LoadFormStatus.LOADED.value, LoadFormStatus.OUT_FOR_DELIVERY.value, LoadFormStatus.SETTLED.value]


def money(expr: str) -> str:
    """SQL formatting an amount for a message: 1,234.50."""
    return f"to_char({expr}, 'FM999,999,999,999,990.00')"


def units(expr: str) -> str:
    """SQL formatting a count for a message: 1,200."""
    return f"to_char({expr}, 'FM999,999,999,999,990')"


def among(column: str) -> str:
    """SQL: the row's distributor is one of the gate's suspects (every distributor when the check runs ungated)."""
    return f"(%(suspects)s::bigint[] IS NULL OR {column} = ANY(%(suspects)s::bigint[]))"


def _tables() -> dict[str, str]:
    return {
        "distributor": table(Distributor), "warehouse": table(Warehouse), "sku": table(Sku), "outlet": table(Outlet),
        "movement": table(StockMovement), "balance": table(StockBalance), "allocation": table(Allocation),
        "invoice": table(Invoice), "invoice_line": table(InvoiceLine), "note": table(CreditNote),
        "note_line": table(CreditNoteLine), "load_form": table(LoadForm), "stop": table(LoadFormInvoice),
        "delivery_line": table(DeliveryLine), "advice": table(DispatchAdvice),
        "advice_line": table(DispatchAdviceLine), "receipt": table(GoodsReceipt),
        "receipt_line": table(GoodsReceiptLine), "primary": table(PrimaryOrder), "checkpoint": table(LedgerCheckpoint),
        "primary_line": table(PrimaryOrderLine), "primary_event": table(PrimaryOrderEvent),
    }


def _still_open(code: str, prefix: str) -> str:
    """SQL: the subject ids of the check's exceptions still open or assigned, from their keys ('<prefix><id>')."""
    return f"""
    SELECT substr(e.key, {len(prefix) + 1})::bigint AS id
    FROM {table(ReconciliationException)} e
    WHERE e.tenant_id = %(tenant_id)s AND e.check_code = '{code}' AND e.status IN ('open', 'assigned')
      AND left(e.key, {len(prefix)}) = '{prefix}'
"""


# --- 1. stock balances against the ledger --------------------------------------------------------------------------

# The detailed pass, for the distributors the gate suspects: one hash aggregate of their movements by (distributor,
# warehouse, SKU), full-joined to their balances: a balance with no movements and movements with no balance row are
# found too (the latter keyed by warehouse and SKU). It reads those distributors' whole ledger, so what it reports
# never depends on a checkpoint. The SELECT reads one snapshot, and a movement and its balance update commit
# together, so a stock change made while the check runs never shows as a mismatch.
STOCK_LEDGER = """
WITH ledger AS (
    SELECT m.distributor_id, m.warehouse_id, m.sku_id, sum(m.on_hand_delta) AS on_hand,
        sum(m.reserved_delta) AS reserved, count(*) AS movements
    FROM {movement} m
    WHERE m.tenant_id = %(tenant_id)s AND {among_m}
    GROUP BY m.distributor_id, m.warehouse_id, m.sku_id
),
off AS (
    SELECT coalesce(b.distributor_id, l.distributor_id) AS distributor_id,
        coalesce(b.warehouse_id, l.warehouse_id) AS warehouse_id, coalesce(b.sku_id, l.sku_id) AS sku_id,
        b.id AS balance_id, coalesce(b.on_hand, 0) AS on_hand, coalesce(b.reserved, 0) AS reserved,
        coalesce(l.on_hand, 0) AS ledger_on_hand, coalesce(l.reserved, 0) AS ledger_reserved,
        coalesce(l.movements, 0) AS movements
    FROM (SELECT id, distributor_id, warehouse_id, sku_id, on_hand, reserved
          FROM {balance} WHERE tenant_id = %(tenant_id)s AND {among_bal}) b
    FULL JOIN ledger l
        ON l.distributor_id = b.distributor_id AND l.warehouse_id = b.warehouse_id AND l.sku_id = b.sku_id
    WHERE coalesce(b.on_hand, 0) <> coalesce(l.on_hand, 0) OR coalesce(b.reserved, 0) <> coalesce(l.reserved, 0)
)
SELECT o.distributor_id,
    CASE WHEN o.balance_id IS NULL THEN 'ledger:' || o.warehouse_id || ':' || o.sku_id
         ELSE 'balance:' || o.balance_id END AS key,
    'balance' AS subject_type,
    o.balance_id AS subject_id,
    'SKU ' || s.code || ' in warehouse ' || w.code
        || CASE WHEN o.balance_id IS NULL THEN ' has ' || {movements}
                || CASE WHEN o.movements = 1 THEN ' movement' ELSE ' movements' END || ' but no balance row'
                ELSE '' END
        || ': ' || concat_ws('; ',
            CASE WHEN o.on_hand <> o.ledger_on_hand THEN 'on hand ' || {on_hand} || ' units, the ledger says '
                || {ledger_on_hand} END,
            CASE WHEN o.reserved <> o.ledger_reserved THEN 'reserved ' || {reserved} || ' units, the ledger says '
                || {ledger_reserved} END) || '.' AS message,
    CASE WHEN o.balance_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('type', 'balance', 'id', o.balance_id, 'ref', s.code || ' @ ' || w.code)) END
    || jsonb_build_array(
        jsonb_build_object('type', 'warehouse', 'id', w.id, 'ref', w.code),
        jsonb_build_object('type', 'sku', 'id', s.id, 'ref', s.code)) AS records,
    jsonb_build_object('warehouse_id', o.warehouse_id, 'sku_id', o.sku_id, 'on_hand', o.on_hand,
        'ledger_on_hand', o.ledger_on_hand, 'reserved', o.reserved, 'ledger_reserved', o.ledger_reserved,
        'movements', o.movements) AS detail
FROM off o
JOIN {warehouse} w ON w.id = o.warehouse_id
JOIN {sku} s ON s.id = o.sku_id
"""


def _stock_ledger(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    sql = STOCK_LEDGER.format(**_tables(), among_m=among("m.distributor_id"), among_bal=among("distributor_id"),
                              movements=units("o.movements"), on_hand=units("o.on_hand"),
                              ledger_on_hand=units("o.ledger_on_hand"), reserved=units("o.reserved"),
                              ledger_reserved=units("o.ledger_reserved"))
    return sql, ctx.params(suspects=None)


# The gate (checks/base.py): per distributor, the balances' on hand and reserved against the movements' deltas, each
# side summed under two weightings of (warehouse, SKU); the detailed comparison above runs only for a distributor
# whose totals disagree. The ledger side is the distributor's checkpoint (LedgerCheckpoint) plus the movements after
# it, read through stockmovement_since (tenant, id): each night reads the movements written since the night before
# (and the last RECONCILIATION_LEDGER_SETTLED_MINUTES' again), never the whole history. The check's prepare step
# first moves the checkpoints forward (`_ledger_advance`).
LEDGER_WEIGHTS = "fingerprint-v1"  # LedgerCheckpoint.weights: the weighting below; a checkpoint of another is none
STOCK_LEDGER_GATE = """
WITH cp AS MATERIALIZED (
    SELECT c.distributor_id, c.on_hand_1, c.on_hand_2, c.reserved_1, c.reserved_2
    FROM {checkpoint} c
    WHERE c.tenant_id = %(tenant_id)s AND c.weights = %(weights)s
),
since AS (
    SELECT m.distributor_id, sum(m.on_hand_delta * {mw1}) AS h1, sum(m.on_hand_delta * {mw2}) AS h2,
        sum(m.reserved_delta * {mw1}) AS r1, sum(m.reserved_delta * {mw2}) AS r2
    FROM {movement} m
    WHERE m.tenant_id = %(tenant_id)s AND m.id > %(from_id)s
    GROUP BY m.distributor_id
),
ledger AS (
    SELECT coalesce(cp.distributor_id, s.distributor_id) AS distributor_id,
        coalesce(cp.on_hand_1, 0) + coalesce(s.h1, 0) AS h1, coalesce(cp.on_hand_2, 0) + coalesce(s.h2, 0) AS h2,
        coalesce(cp.reserved_1, 0) + coalesce(s.r1, 0) AS r1, coalesce(cp.reserved_2, 0) + coalesce(s.r2, 0) AS r2
    FROM cp
    FULL JOIN since s ON s.distributor_id = cp.distributor_id
),
held AS (
    SELECT b.distributor_id, sum(b.on_hand * {bw1}) AS h1, sum(b.on_hand * {bw2}) AS h2,
        sum(b.reserved * {bw1}) AS r1, sum(b.reserved * {bw2}) AS r2
    FROM {balance} b
    WHERE b.tenant_id = %(tenant_id)s
    GROUP BY b.distributor_id
)
SELECT coalesce(l.distributor_id, b.distributor_id) AS distributor_id
FROM ledger l
FULL JOIN held b ON b.distributor_id = l.distributor_id
WHERE coalesce(l.h1, 0) <> coalesce(b.h1, 0) OR coalesce(l.h2, 0) <> coalesce(b.h2, 0)
   OR coalesce(l.r1, 0) <> coalesce(b.r1, 0) OR coalesce(l.r2, 0) <> coalesce(b.r2, 0)
"""


def _ledger_weights(alias: str) -> dict[str, str]:
    return {f"{alias}w{n}": fingerprint(f"{alias}.warehouse_id", f"{alias}.sku_id", salt=n) for n in (1, 2)}


def _ledger_from(ctx: CheckContext) -> int:
    """The movement id the tenant's checkpoints stop at (0: none), where the gate's and the advance's index range
    starts. All of a tenant's checkpoints stop at the same id: the advance moves them together."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(upto_movement_id), 0) FROM {table(LedgerCheckpoint)} "
                       "WHERE tenant_id = %s AND weights = %s", [ctx.tenant_id, LEDGER_WEIGHTS])
        return int(cursor.fetchone()[0])


def _stock_ledger_gate(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    sql = STOCK_LEDGER_GATE.format(**_tables(), **_ledger_weights("m"), **_ledger_weights("b"))
    return sql, ctx.params(weights=LEDGER_WEIGHTS, from_id=_ledger_from(ctx))


# The prepare step: fold the movements settled since the checkpoints (ids after them, up to the newest movement
# older than the settling time) into each distributor's checkpoint; every distributor with movements gets a row, and
# all the tenant's rows move to the same upto. If any checkpoint is of another weighting, the tenant's are deleted
# and summed again from the first movement. Movements cannot change once written (the ledger is append-only:
# inventory migration 0004), so what a checkpoint summed stays true. Three statements: the bound, found walking the
# (tenant, id) index down from the newest movement; the sums, a plain aggregate that PostgreSQL may read in parallel
# (an INSERT .. SELECT never is); then the upsert of one row per distributor.
LEDGER_BOUND = """
SELECT m.id FROM {movement} m
WHERE m.tenant_id = %(tenant_id)s AND m.id > %(from_id)s AND m.created_at < %(settled_before)s
ORDER BY m.id DESC LIMIT 1
"""
LEDGER_FOLD = """
SELECT m.distributor_id, count(*), sum(m.on_hand_delta * {mw1}), sum(m.on_hand_delta * {mw2}),
    sum(m.reserved_delta * {mw1}), sum(m.reserved_delta * {mw2})
FROM {movement} m
WHERE m.tenant_id = %(tenant_id)s AND m.id > %(from_id)s AND m.id <= %(upto)s
GROUP BY m.distributor_id
"""
LEDGER_UPSERT = """
WITH cp AS (
    SELECT c.distributor_id, c.movements, c.on_hand_1, c.on_hand_2, c.reserved_1, c.reserved_2 FROM {checkpoint} c
    WHERE c.tenant_id = %(tenant_id)s AND c.weights = %(weights)s
),
fold AS (
    SELECT * FROM unnest(%(dist)s::bigint[], %(n)s::bigint[], %(h1)s::numeric[], %(h2)s::numeric[],
                         %(r1)s::numeric[], %(r2)s::numeric[]) AS f(distributor_id, n, h1, h2, r1, r2)
)
INSERT INTO {checkpoint} AS c (tenant_id, distributor_id, upto_movement_id, movements, on_hand_1, on_hand_2,
    reserved_1, reserved_2, weights, created_at, updated_at)
SELECT %(tenant_id)s, coalesce(cp.distributor_id, f.distributor_id), %(upto)s,
    coalesce(cp.movements, 0) + coalesce(f.n, 0), coalesce(cp.on_hand_1, 0) + coalesce(f.h1, 0),
    coalesce(cp.on_hand_2, 0) + coalesce(f.h2, 0), coalesce(cp.reserved_1, 0) + coalesce(f.r1, 0),
    coalesce(cp.reserved_2, 0) + coalesce(f.r2, 0), %(weights)s, %(now)s, %(now)s
FROM cp
FULL JOIN fold f ON f.distributor_id = cp.distributor_id
ON CONFLICT (tenant_id, distributor_id) DO UPDATE SET upto_movement_id = EXCLUDED.upto_movement_id,
    movements = EXCLUDED.movements, on_hand_1 = EXCLUDED.on_hand_1, on_hand_2 = EXCLUDED.on_hand_2,
    reserved_1 = EXCLUDED.reserved_1, reserved_2 = EXCLUDED.reserved_2, weights = EXCLUDED.weights,
    updated_at = EXCLUDED.updated_at
"""


def _ledger_advance(ctx: CheckContext) -> dict[str, int]:
    """Move the tenant's ledger checkpoints forward; returns {"folded": movements summed into them now}."""
    tables = _tables()
    with connection.cursor() as cursor:  # checkpoints of another weighting: all are summed again, from the start
        cursor.execute(f"DELETE FROM {table(LedgerCheckpoint)} WHERE tenant_id = %s AND EXISTS (SELECT 1 FROM "
                       f"{table(LedgerCheckpoint)} o WHERE o.tenant_id = %s AND o.weights <> %s)",
                       [ctx.tenant_id, ctx.tenant_id, LEDGER_WEIGHTS])
    from_id = _ledger_from(ctx)
    params = ctx.params(weights=LEDGER_WEIGHTS, from_id=from_id, now=timezone.now(), settled_before=timezone.now()
                        - timedelta(minutes=settings.RECONCILIATION_LEDGER_SETTLED_MINUTES))
    with connection.cursor() as cursor:
        cursor.execute(LEDGER_BOUND.format(**tables), params)
        row = cursor.fetchone()
        if row is None:  # nothing settled since the checkpoints
            return {"folded": 0}
        params["upto"] = row[0]
        cursor.execute(LEDGER_FOLD.format(**tables, **_ledger_weights("m")), params)
        folded = cursor.fetchall()
        columns = ("dist", "n", "h1", "h2", "r1", "r2")
        params |= {name: [r[i] for r in folded] for i, name in enumerate(columns)}
        cursor.execute(LEDGER_UPSERT.format(**tables), params)
    return {"folded": sum(params["n"])}


# --- 2. reserved stock against open allocations --------------------------------------------------------------------

# Open allocations are the orders not yet on a van (about a day's lines): read through the (distributor, status,
# warehouse) index per distributor and hash-aggregated (no DISTINCT: it would sort them). Balances are read where
# something is reserved; a balance holding nothing while allocations say it should is reached from the allocations'
# side.
STOCK_RESERVED = """
WITH held AS (
    SELECT a.distributor_id, a.warehouse_id, a.sku_id, sum(a.allocated_units) AS units, count(*) AS allocations
    FROM {distributor} dist
    JOIN {allocation} a ON a.distributor_id = dist.id AND a.status = ANY(%(holding)s)
    WHERE dist.tenant_id = %(tenant_id)s AND a.tenant_id = %(tenant_id)s AND {among_dist}
    GROUP BY a.distributor_id, a.warehouse_id, a.sku_id
),
reserved AS (
    SELECT b.id, b.distributor_id, b.warehouse_id, b.sku_id, b.reserved
    FROM {balance} b
    WHERE b.tenant_id = %(tenant_id)s AND b.reserved <> 0 AND {among_b}
),
off AS (
    SELECT coalesce(r.distributor_id, h.distributor_id) AS distributor_id,
        coalesce(r.warehouse_id, h.warehouse_id) AS warehouse_id, coalesce(r.sku_id, h.sku_id) AS sku_id,
        coalesce(r.id, b.id) AS balance_id, coalesce(r.reserved, 0) AS reserved, coalesce(h.units, 0) AS held,
        coalesce(h.allocations, 0) AS allocations
    FROM reserved r
    FULL JOIN held h ON h.distributor_id = r.distributor_id AND h.warehouse_id = r.warehouse_id
        AND h.sku_id = r.sku_id
    LEFT JOIN {balance} b ON r.id IS NULL AND b.distributor_id = h.distributor_id
        AND b.warehouse_id = h.warehouse_id AND b.sku_id = h.sku_id
    WHERE coalesce(r.reserved, 0) <> coalesce(h.units, 0)
)
SELECT o.distributor_id,
    'reserved:' || coalesce(o.balance_id::text, o.warehouse_id || ':' || o.sku_id) AS key,
    'balance' AS subject_type,
    o.balance_id AS subject_id,
    'SKU ' || s.code || ' in warehouse ' || w.code || ': ' || {reserved} || ' units reserved, '
        || CASE WHEN o.allocations = 0 THEN 'no open allocation holds any'
                WHEN o.allocations = 1 THEN 'its one open allocation holds ' || {held}
                ELSE 'its ' || o.allocations || ' open allocations hold ' || {held} END || '.' AS message,
    CASE WHEN o.balance_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('type', 'balance', 'id', o.balance_id, 'ref', s.code || ' @ ' || w.code)) END
    || jsonb_build_array(
        jsonb_build_object('type', 'warehouse', 'id', w.id, 'ref', w.code),
        jsonb_build_object('type', 'sku', 'id', s.id, 'ref', s.code)) AS records,
    jsonb_build_object('warehouse_id', o.warehouse_id, 'sku_id', o.sku_id, 'reserved', o.reserved,
        'allocated', o.held, 'allocations', o.allocations) AS detail
FROM off o
JOIN {warehouse} w ON w.id = o.warehouse_id
JOIN {sku} s ON s.id = o.sku_id
"""


def _stock_reserved(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    sql = STOCK_RESERVED.format(**_tables(), among_dist=among("dist.id"), among_b=among("b.distributor_id"),
                                reserved=units("o.reserved"), held=units("o.held"))
    return sql, ctx.params(holding=HOLDING, suspects=None)


# The gate: per distributor, reserved units against the holding allocations' units, under two weightings of
# (warehouse, SKU).
STOCK_RESERVED_GATE = """
WITH held AS (
    SELECT a.distributor_id, sum(a.allocated_units * {aw1}) AS u1, sum(a.allocated_units * {aw2}) AS u2
    FROM {distributor} dist
    JOIN {allocation} a ON a.distributor_id = dist.id AND a.status = ANY(%(holding)s)
    WHERE dist.tenant_id = %(tenant_id)s AND a.tenant_id = %(tenant_id)s
    GROUP BY a.distributor_id
),
reserved AS (
    SELECT b.distributor_id, sum(b.reserved * {bw1}) AS u1, sum(b.reserved * {bw2}) AS u2
    FROM {balance} b
    WHERE b.tenant_id = %(tenant_id)s AND b.reserved <> 0
    GROUP BY b.distributor_id
)
SELECT coalesce(h.distributor_id, r.distributor_id) AS distributor_id
FROM held h
FULL JOIN reserved r ON r.distributor_id = h.distributor_id
WHERE coalesce(h.u1, 0) <> coalesce(r.u1, 0) OR coalesce(h.u2, 0) <> coalesce(r.u2, 0)
"""


def _stock_reserved_gate(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    weights = {f"{side}w{n}": fingerprint(f"{side}.warehouse_id", f"{side}.sku_id", salt=n)
               for side in ("a", "b") for n in (1, 2)}
    return STOCK_RESERVED_GATE.format(**_tables(), **weights), ctx.params(holding=HOLDING)


# --- 3. invoice totals against their lines -------------------------------------------------------------------------

# total = gross - discount + tax holds on every header and line by check constraints (invoice_total_adds_up,
# invoiceline_total_adds_up), which no writer passes, not even a superuser with the triggers off; so a header can
# only disagree with its lines: in a figure's sum, or by having none.
#
# The detailed pass: one aggregate over the date's invoices joined to their lines, grouped by invoice, for the
# distributors the gate suspects. The planner hash-joins a scan of the lines when the date holds most of them, or
# probes the (invoice) index per invoice when history dominates. Either way no aggregate is joined back to a derived
# set (see the module docstring).
INVOICE_TOTALS = """
WITH c AS (
    SELECT i.id, i.distributor_id, i.order_id, i.outlet_id, i.number_text, i.gross, i.discount, i.tax, i.total,
        count(l.id) AS lines, coalesce(sum(l.gross), 0.00) AS l_gross,
        coalesce(sum(l.discount), 0.00) AS l_discount, coalesce(sum(l.tax), 0.00) AS l_tax,
        coalesce(sum(l.total), 0.00) AS l_total
    FROM {distributor} dist
    JOIN {invoice} i ON i.distributor_id = dist.id AND i.invoice_date = %(business_date)s
    LEFT JOIN {invoice_line} l ON l.distributor_id = i.distributor_id AND l.invoice_id = i.id
    WHERE dist.tenant_id = %(tenant_id)s AND i.tenant_id = %(tenant_id)s AND {among_dist}
    GROUP BY i.id
)
SELECT c.distributor_id,
    'invoice:' || c.id AS key,
    'invoice' AS subject_type,
    c.id AS subject_id,
    'Invoice ' || c.number_text || ': ' || concat_ws('; ',
        CASE WHEN c.lines = 0 THEN 'it has no lines' END,
        CASE WHEN c.total <> c.l_total THEN 'lines add to ' || {l_total} || ', header says ' || {total} END,
        CASE WHEN c.gross <> c.l_gross THEN 'gross: lines add to ' || {l_gross} || ', header says ' || {gross} END,
        CASE WHEN c.discount <> c.l_discount THEN 'discount: lines add to ' || {l_discount} || ', header says '
            || {discount} END,
        CASE WHEN c.tax <> c.l_tax THEN 'tax: lines add to ' || {l_tax} || ', header says ' || {tax} END)
        || '.' AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'invoice', 'id', c.id, 'ref', c.number_text),
        jsonb_build_object('type', 'order', 'id', c.order_id),
        (SELECT jsonb_build_object('type', 'outlet', 'id', ol.id, 'ref', ol.code || ' ' || ol.name)
         FROM {outlet} ol WHERE ol.distributor_id = c.distributor_id AND ol.id = c.outlet_id)) AS records,
    jsonb_build_object(
        'header', jsonb_build_object('gross', c.gross::text, 'discount', c.discount::text, 'tax', c.tax::text,
                                     'total', c.total::text),
        'lines', jsonb_build_object('gross', c.l_gross::text, 'discount', c.l_discount::text, 'tax', c.l_tax::text,
                                    'total', c.l_total::text),
        'line_count', c.lines) AS detail
FROM c
WHERE c.lines = 0 OR c.total <> c.l_total OR c.gross <> c.l_gross OR c.discount <> c.l_discount OR c.tax <> c.l_tax
"""


def _invoice_totals(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    figures = {name: money(f"c.{name}") for name in ("gross", "discount", "tax", "total")}
    figures |= {f"l_{name}": money(f"c.l_{name}") for name in ("gross", "discount", "tax", "total")}
    sql = INVOICE_TOTALS.format(**_tables(), **figures, among_dist=among("dist.id"))
    return sql, ctx.params(suspects=None)


# The gate: per distributor, the headers' sums of gross, discount and tax, and of the total weighted by the invoice,
# against the same sums of their lines, over the span of invoice ids the date's invoices take (ids come from a
# sequence: a day's invoices sit in one narrow range, and the lines of that range are read from the index
# invoiceline_money alone, in parallel, never a wide line row). The span may hold a few invoices of other dates;
# they are summed on both sides alike. An invoice with no lines is seen as a total missing from the lines' side, or,
# if its total is zero, by its zero total: a distributor with a zero-total invoice in the span is always a suspect.
# The span is read first, so the planner sizes the line scan from real bounds.
INVOICE_SPAN = """
SELECT min(i.id), max(i.id)
FROM {distributor} dist
JOIN {invoice} i ON i.distributor_id = dist.id AND i.invoice_date = %(business_date)s
WHERE dist.tenant_id = %(tenant_id)s AND i.tenant_id = %(tenant_id)s
"""
INVOICE_TOTALS_GATE = """
WITH heads AS (
    SELECT i.distributor_id, count(*) FILTER (WHERE i.total = 0) AS zero_totals, sum(i.gross) AS gross,
        sum(i.discount) AS discount, sum(i.tax) AS tax, sum(i.total * {hw}) AS total
    FROM {invoice} i
    WHERE i.tenant_id = %(tenant_id)s AND i.id BETWEEN %(lo)s AND %(hi)s
    GROUP BY i.distributor_id
),
lines AS (
    SELECT l.distributor_id, sum(l.gross) AS gross, sum(l.discount) AS discount, sum(l.tax) AS tax,
        sum(l.total * {lw}) AS total
    FROM {invoice_line} l
    WHERE l.tenant_id = %(tenant_id)s AND l.invoice_id BETWEEN %(lo)s AND %(hi)s
    GROUP BY l.distributor_id
)
SELECT coalesce(h.distributor_id, l.distributor_id) AS distributor_id
FROM heads h
FULL JOIN lines l ON l.distributor_id = h.distributor_id
WHERE h.zero_totals > 0 OR h.gross IS DISTINCT FROM l.gross OR h.discount IS DISTINCT FROM l.discount
   OR h.tax IS DISTINCT FROM l.tax OR h.total IS DISTINCT FROM l.total
"""


def _invoice_totals_gate(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    params = ctx.params()
    with connection.cursor() as cursor:
        cursor.execute(INVOICE_SPAN.format(**_tables()), params)
        lo, hi = cursor.fetchone()
    sql = INVOICE_TOTALS_GATE.format(**_tables(), hw=fingerprint("i.id", salt=1),
                                     lw=fingerprint("l.invoice_id", salt=1))
    # No invoice on the date: an empty span, so no suspect (and what was found before on the date is cleared).
    return sql, {**params, "lo": lo if lo is not None else 0, "hi": hi if hi is not None else -1}


# --- 4. credit notes against their lines and their invoices --------------------------------------------------------

# A day check: a note is immutable from its first write (invoicing/migrations/0002), so its figures are what they
# were on its date; the night of that date looks at the notes written then, and at every note of the invoices they
# credit. An exception found stays in the queue until resolved (a day check clears only its own date's).
CREDIT_NOTES = """
WITH day_notes AS (
    SELECT n.id, n.distributor_id, n.invoice_id, n.number_text, n.gross, n.discount, n.tax, n.total
    FROM {distributor} dist
    JOIN {note} n ON n.distributor_id = dist.id AND n.note_date = %(business_date)s
    WHERE dist.tenant_id = %(tenant_id)s AND n.tenant_id = %(tenant_id)s
),
bad_notes AS (
    SELECT n.distributor_id,
        'credit_note:' || n.id AS key,
        'credit_note' AS subject_type,
        n.id AS subject_id,
        'Credit note ' || n.number_text || ' (' || i.number_text || '): ' || concat_ws('; ',
            CASE WHEN s.lines = 0 THEN 'it has no lines' END,
            CASE WHEN n.total <> s.total THEN 'lines add to ' || {ns_total} || ', header says ' || {n_total} END,
            CASE WHEN n.gross <> s.gross THEN 'gross: lines add to ' || {ns_gross} || ', header says ' || {n_gross}
                END,
            CASE WHEN n.discount <> s.discount THEN 'discount: lines add to ' || {ns_discount} || ', header says '
                || {n_discount} END,
            CASE WHEN n.tax <> s.tax THEN 'tax: lines add to ' || {ns_tax} || ', header says ' || {n_tax} END,
            CASE WHEN n.total <> n.gross - n.discount + n.tax THEN 'header total ' || {n_total}
                || ' is not gross less discount plus tax (' || {n_computed} || ')' END,
            CASE WHEN s.foreign_lines > 0 THEN s.foreign_lines || ' lines credit lines of another invoice' END)
            || '.' AS message,
        jsonb_build_array(
            jsonb_build_object('type', 'credit_note', 'id', n.id, 'ref', n.number_text),
            jsonb_build_object('type', 'invoice', 'id', i.id, 'ref', i.number_text)) AS records,
        jsonb_build_object(
            'header', jsonb_build_object('gross', n.gross::text, 'discount', n.discount::text, 'tax', n.tax::text,
                                         'total', n.total::text),
            'lines', jsonb_build_object('gross', s.gross::text, 'discount', s.discount::text, 'tax', s.tax::text,
                                        'total', s.total::text),
            'line_count', s.lines, 'foreign_lines', s.foreign_lines) AS detail
    FROM day_notes n
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines, coalesce(sum(cl.gross), 0.00) AS gross,
            coalesce(sum(cl.discount), 0.00) AS discount, coalesce(sum(cl.tax), 0.00) AS tax,
            coalesce(sum(cl.total), 0.00) AS total,
            count(*) FILTER (WHERE il.invoice_id IS DISTINCT FROM n.invoice_id) AS foreign_lines
        FROM {note_line} cl
        LEFT JOIN {invoice_line} il ON il.distributor_id = cl.distributor_id AND il.id = cl.invoice_line_id
        WHERE cl.distributor_id = n.distributor_id AND cl.credit_note_id = n.id
    ) s
    JOIN {invoice} i ON i.distributor_id = n.distributor_id AND i.id = n.invoice_id
    WHERE s.lines = 0 OR s.foreign_lines > 0 OR n.total <> s.total OR n.gross <> s.gross
       OR n.discount <> s.discount OR n.tax <> s.tax OR n.total <> n.gross - n.discount + n.tax
),
bad_invoices AS (
    SELECT i.distributor_id,
        'credit:' || i.id AS key,
        'invoice' AS subject_type,
        i.id AS subject_id,
        'Invoice ' || i.number_text || ': ' || concat_ws('; ',
            CASE WHEN c.total > i.total THEN
                CASE WHEN c.notes = 1 THEN 'its credit note is worth ' ELSE 'its ' || c.notes || ' credit notes add to '
                END || {c_total} || ', more than the invoice total ' || {i_total} END,
            CASE WHEN o.lines > 0 THEN 'more units credited than invoiced (' || o.text || ')' END,
            CASE WHEN i.credited_amount <> c.total THEN 'its credited amount is ' || {i_credited}
                || ', its credit notes add to ' || {c_total} END) || '.' AS message,
        jsonb_build_array(jsonb_build_object('type', 'invoice', 'id', i.id, 'ref', i.number_text))
            || c.records AS records,
        jsonb_build_object('invoice_total', i.total::text, 'credited_amount', i.credited_amount::text,
            'credit_notes_total', c.total::text, 'credit_notes', c.notes,
            'lines_over', coalesce(o.lines_detail, '[]'::jsonb)) AS detail
    FROM (SELECT DISTINCT distributor_id, invoice_id FROM day_notes) v
    JOIN {invoice} i ON i.distributor_id = v.distributor_id AND i.id = v.invoice_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS notes, sum(n.total) AS total,
            jsonb_agg(jsonb_build_object('type', 'credit_note', 'id', n.id, 'ref', n.number_text) ORDER BY n.id)
                AS records
        FROM {note} n
        WHERE n.distributor_id = v.distributor_id AND n.invoice_id = v.invoice_id
    ) c
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines,
            string_agg('line ' || x.line_no || ' credits ' || x.credited || ' of ' || x.qty_units || ' units', ', '
                       ORDER BY x.line_no) AS text,
            jsonb_agg(jsonb_build_object('line_no', x.line_no, 'invoiced_units', x.qty_units,
                                         'credited_units', x.credited) ORDER BY x.line_no) AS lines_detail
        FROM (
            SELECT il.line_no, il.qty_units, sum(cl.qty_units) AS credited
            FROM {note} n
            JOIN {note_line} cl ON cl.distributor_id = n.distributor_id AND cl.credit_note_id = n.id
            JOIN {invoice_line} il ON il.distributor_id = cl.distributor_id AND il.id = cl.invoice_line_id
            WHERE n.distributor_id = v.distributor_id AND n.invoice_id = v.invoice_id
              AND il.invoice_id = v.invoice_id
            GROUP BY il.id, il.line_no, il.qty_units
            HAVING sum(cl.qty_units) > il.qty_units
        ) x
    ) o
    WHERE c.total > i.total OR o.lines > 0 OR i.credited_amount <> c.total
)
SELECT distributor_id, key, subject_type, subject_id, message, records, detail FROM bad_notes
UNION ALL
SELECT distributor_id, key, subject_type, subject_id, message, records, detail FROM bad_invoices
"""


def _credit_notes(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    figures = {f"n_{name}": money(f"n.{name}") for name in ("gross", "discount", "tax", "total")}
    figures |= {f"ns_{name}": money(f"s.{name}") for name in ("gross", "discount", "tax", "total")}
    sql = CREDIT_NOTES.format(**_tables(), **figures, n_computed=money("n.gross - n.discount + n.tax"),
                              c_total=money("c.total"), i_total=money("i.total"),
                              i_credited=money("i.credited_amount"))
    return sql, ctx.params()


# --- 5. load forms: delivered, returned and cash against the invoices ----------------------------------------------

# Per invoice on a load form of the date with an outcome: its invoice lines against its delivery records (as many
# records as lines; delivered + returned = invoiced), the outcome against the units (delivered: nothing back;
# returned: nothing delivered), what came back against the stop's credit note (it credits exactly the units
# returned; with no note, only goods worth nothing may come back) and the invoice's state against the outcome. Per
# load form: still loaded or out for delivery at the close (the invoices with no outcome listed), or settled with
# invoices unaccounted for, with less collected than expected (as settlement computes it: each invoice's due at
# loading less its return's credit, those left on account excepted), with counts other than what was recorded, or
# with an expected cash other than its invoices'.
#
# Each stop's invoice lines and delivery records are read with one index probe each and compared as totals: the
# count, the units, and a checksum weighting each line's units by its invoice line id, so that units recorded
# against another line than invoiced do not cancel out. Matching them line by line would cost a probe per line.
LOAD_FORMS = """
WITH forms AS (
    SELECT lf.id, lf.distributor_id, lf.number, lf.status, lf.expected_cash, lf.collected_cash,
        lf.collected_cheques, lf.counted_cash, lf.counted_cheques
    FROM {distributor} dist
    JOIN {load_form} lf ON lf.distributor_id = dist.id AND lf.date = %(business_date)s
    WHERE dist.tenant_id = %(tenant_id)s AND lf.tenant_id = %(tenant_id)s AND lf.status = ANY(%(on_the_road)s)
),
stop_checked AS (
    SELECT f.number, s.id, s.distributor_id, s.load_form_id, s.invoice_id, s.outcome, i.number_text,
        i.status AS invoice_status, il.lines, il.invoiced, dl.recorded, dl.delivered, dl.returned,
        nu.note_id, nu.note_number, nu.note_units,
        dl.recorded <> il.lines AS records_off,
        dl.delivered + dl.returned <> il.invoiced OR dl.recorded_sum <> il.invoiced_sum AS units_off,
        CASE WHEN s.outcome = %(delivered)s THEN dl.returned > 0
             WHEN s.outcome = %(returned)s THEN dl.delivered > 0
             ELSE dl.delivered = 0 OR dl.returned = 0 END AS outcome_off,
        CASE WHEN nu.note_id IS NOT NULL THEN nu.note_units <> dl.returned
             WHEN dl.returned = 0 THEN false
             ELSE EXISTS (SELECT 1 FROM {delivery_line} d
                          JOIN {invoice_line} l ON l.distributor_id = d.distributor_id AND l.id = d.invoice_line_id
                          WHERE d.distributor_id = s.distributor_id AND d.stop_id = s.id AND d.returned_units > 0
                            AND l.total > 0) END AS credit_off
    FROM forms f
    JOIN {stop} s ON s.distributor_id = f.distributor_id AND s.load_form_id = f.id AND s.live
        AND s.outcome <> %(pending)s
    JOIN {invoice} i ON i.distributor_id = s.distributor_id AND i.id = s.invoice_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines, coalesce(sum(l.qty_units), 0) AS invoiced,
            coalesce(sum(l.id::numeric * l.qty_units), 0) AS invoiced_sum
        FROM {invoice_line} l
        WHERE l.distributor_id = s.distributor_id AND l.invoice_id = s.invoice_id
    ) il
    CROSS JOIN LATERAL (
        SELECT count(*) AS recorded, coalesce(sum(d.delivered_units), 0) AS delivered,
            coalesce(sum(d.returned_units), 0) AS returned,
            coalesce(sum(d.invoice_line_id::numeric * (d.delivered_units + d.returned_units)), 0) AS recorded_sum
        FROM {delivery_line} d
        WHERE d.distributor_id = s.distributor_id AND d.stop_id = s.id
    ) dl
    LEFT JOIN LATERAL (
        SELECT n.id AS note_id, n.number_text AS note_number, coalesce(sum(cl.qty_units), 0) AS note_units
        FROM {note} n
        LEFT JOIN {note_line} cl ON cl.distributor_id = n.distributor_id AND cl.credit_note_id = n.id
        WHERE n.distributor_id = s.distributor_id AND n.id = s.credit_note_id
        GROUP BY n.id, n.number_text
    ) nu ON true
),
stop_rows AS (
    SELECT s.distributor_id,
        'load_form:' || s.load_form_id || ':invoice:' || s.invoice_id AS key,
        'load_form' AS subject_type,
        s.load_form_id AS subject_id,
        s.number || ', ' || s.number_text || ' (' || replace(s.outcome, '_', ' ') || '): ' || concat_ws('; ',
            CASE WHEN s.delivered + s.returned <> s.invoiced THEN 'invoiced ' || {invoiced} || ' units, delivered '
                    || {delivered} || ' + returned ' || {returned} || ' = ' || {accounted}
                 WHEN s.units_off THEN 'the units delivered and returned are recorded against other lines than '
                    || 'invoiced' END,
            CASE WHEN s.records_off THEN s.recorded || ' delivery records for ' || s.lines || ' invoice lines' END,
            CASE WHEN s.outcome_off THEN
                CASE WHEN s.outcome = %(delivered)s THEN {returned} || ' units came back'
                     WHEN s.outcome = %(returned)s THEN {delivered} || ' units were delivered'
                     WHEN s.delivered = 0 THEN 'nothing was delivered'
                     ELSE 'nothing came back' END END,
            CASE WHEN s.credit_off THEN
                CASE WHEN s.note_id IS NULL THEN 'goods of value came back with no credit note'
                     ELSE {returned} || ' units came back, credit note ' || s.note_number || ' credits '
                         || {note_units} END END,
            CASE WHEN s.invoice_status <> s.outcome THEN 'the invoice is '
                || replace(s.invoice_status, '_', ' ') END) || '.' AS message,
        jsonb_build_array(
            jsonb_build_object('type', 'load_form', 'id', s.load_form_id, 'ref', s.number),
            jsonb_build_object('type', 'invoice', 'id', s.invoice_id, 'ref', s.number_text))
        || CASE WHEN s.note_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
            jsonb_build_object('type', 'credit_note', 'id', s.note_id, 'ref', s.note_number)) END AS records,
        jsonb_build_object('outcome', s.outcome, 'invoice_status', s.invoice_status, 'invoice_lines', s.lines,
            'delivery_records', s.recorded, 'invoiced_units', s.invoiced, 'delivered_units', s.delivered,
            'returned_units', s.returned, 'credited_units', s.note_units) AS detail
    FROM stop_checked s
    WHERE s.units_off OR s.records_off OR s.outcome_off OR s.credit_off OR s.invoice_status <> s.outcome
),
form_checked AS (
    SELECT f.*, fs.invoices, fs.pending, fs.expected, fs.on_account,
        f.collected_cash + f.collected_cheques AS collected, f.status = %(settled)s AS settled,
        pn.numbers AS pending_numbers, coalesce(pn.records, '[]'::jsonb) AS pending_records
    FROM forms f
    CROSS JOIN LATERAL (
        SELECT count(*) AS invoices, count(*) FILTER (WHERE s.outcome = %(pending)s) AS pending,
            array_agg(s.invoice_id ORDER BY s.sequence) FILTER (WHERE s.outcome = %(pending)s) AS pending_ids,
            coalesce(sum(greatest(s.due - s.credited, 0)) FILTER (WHERE NOT s.on_account), 0.00) AS expected,
            coalesce(sum(greatest(s.due - s.credited, 0)) FILTER (WHERE s.on_account), 0.00) AS on_account
        FROM {stop} s
        WHERE s.distributor_id = f.distributor_id AND s.load_form_id = f.id AND s.live
    ) fs
    CROSS JOIN LATERAL (
        SELECT string_agg(i.number_text, ', ' ORDER BY p.ord) FILTER (WHERE p.ord <= %(listed)s) AS numbers,
            jsonb_agg(jsonb_build_object('type', 'invoice', 'id', i.id, 'ref', i.number_text) ORDER BY p.ord)
                AS records
        FROM unnest(fs.pending_ids) WITH ORDINALITY AS p(id, ord)
        JOIN {invoice} i ON i.distributor_id = f.distributor_id AND i.id = p.id
    ) pn
),
form_rows AS (
    SELECT f.distributor_id,
        'load_form:' || f.id AS key,
        'load_form' AS subject_type,
        f.id AS subject_id,
        CASE WHEN NOT f.settled THEN
            f.number || ' is still ' || replace(f.status, '_', ' ') || ' at the close: '
            || CASE WHEN f.pending > 0 THEN f.pending || ' of its ' || f.invoices || ' invoices not accounted for ('
                    || f.pending_numbers || CASE WHEN f.pending > %(listed)s THEN ', ...' ELSE '' END || ')'
                    ELSE 'every invoice has an outcome but it is not settled' END
            || '; collected ' || {collected} || ' of ' || {expected} || ' expected.'
        ELSE
            f.number || ' is settled but ' || concat_ws('; ',
                CASE WHEN f.pending > 0 THEN f.pending || ' of its ' || f.invoices || ' invoices have no outcome ('
                    || f.pending_numbers || CASE WHEN f.pending > %(listed)s THEN ', ...' ELSE '' END || ')' END,
                CASE WHEN f.collected < f.expected THEN 'collected ' || {collected} || ' of ' || {expected}
                    || ' expected: ' || {short} || ' short' END,
                CASE WHEN f.counted_cash IS DISTINCT FROM f.collected_cash THEN 'cash counted '
                    || coalesce({counted_cash}, 'nothing') || ', ' || {collected_cash} || ' recorded as collected' END,
                CASE WHEN f.counted_cheques IS DISTINCT FROM f.collected_cheques THEN 'cheques counted '
                    || coalesce({counted_cheques}, 'nothing') || ', ' || {collected_cheques}
                    || ' recorded as collected' END,
                CASE WHEN f.expected_cash <> f.expected THEN 'its expected cash is ' || {expected_cash}
                    || ', its invoices add to ' || {expected} END) || '.'
        END AS message,
        jsonb_build_array(jsonb_build_object('type', 'load_form', 'id', f.id, 'ref', f.number))
            || f.pending_records AS records,
        jsonb_build_object('status', f.status, 'invoices', f.invoices, 'pending', f.pending,
            'expected', f.expected::text, 'expected_cash', f.expected_cash::text, 'on_account', f.on_account::text,
            'collected_cash', f.collected_cash::text, 'collected_cheques', f.collected_cheques::text,
            'counted_cash', f.counted_cash::text, 'counted_cheques', f.counted_cheques::text,
            'short', greatest(f.expected - f.collected, 0)::text) AS detail
    FROM form_checked f
    WHERE NOT f.settled OR f.pending > 0 OR f.collected < f.expected
       OR f.counted_cash IS DISTINCT FROM f.collected_cash OR f.counted_cheques IS DISTINCT FROM f.collected_cheques
       OR f.expected_cash <> f.expected
)
SELECT distributor_id, key, subject_type, subject_id, message, records, detail FROM stop_rows
UNION ALL
SELECT distributor_id, key, subject_type, subject_id, message, records, detail FROM form_rows
"""


def _load_forms(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    figures = {name: units(f"s.{name}") for name in ("invoiced", "delivered", "returned", "note_units")}
    figures |= {name: money(f"f.{name}") for name in ("collected", "expected", "counted_cash", "collected_cash",
                                                      "counted_cheques", "collected_cheques", "expected_cash")}
    sql = LOAD_FORMS.format(**_tables(), **figures, accounted=units("s.delivered + s.returned"),
                            short=money("f.expected - f.collected"))
    return sql, ctx.params(on_the_road=ON_THE_ROAD, pending=DeliveryOutcome.PENDING.value,
                           delivered=DeliveryOutcome.DELIVERED.value, returned=DeliveryOutcome.RETURNED.value,
                           settled=LoadFormStatus.SETTLED.value, listed=MAX_LISTED)


# --- 6. dispatch advices against goods receipts --------------------------------------------------------------------

# The DAs looked at: in transit (no GRN yet), of an order not closed, with a GRN recorded in the last RECENT, or
# with an open exception. A receipt line per dispatch batch: per DA line, received + short + damaged over its
# batches must be its dispatched cases.
PRIMARY_DA_GRN = """
WITH open_keys AS ({still_open}),
advices AS (
    SELECT a.id, a.distributor_id, a.number, a.status, a.dispatched_on, a.order_id, o.number AS order_number,
        g.id AS receipt_id, g.number AS receipt_number
    FROM {advice} a
    JOIN {primary} o ON o.distributor_id = a.distributor_id AND o.id = a.order_id
    LEFT JOIN {receipt} g ON g.distributor_id = a.distributor_id AND g.advice_id = a.id
    WHERE a.tenant_id = %(tenant_id)s
      AND (a.status = %(issued)s OR o.status <> %(closed)s OR g.created_at >= %(as_of)s - %(recent)s
           OR a.id IN (SELECT id FROM open_keys))
),
checked AS (
    SELECT a.*, off.lines, off.text, off.lines_detail
    FROM advices a
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines,
            string_agg('line ' || l.line_no || ' (' || s.code || ') dispatched ' || l.dispatched_cases
                       || ' cases, received ' || r.received || ' + short ' || r.short || ' + damaged ' || r.damaged
                       || ' = ' || (r.received + r.short + r.damaged), '; ' ORDER BY l.line_no) AS text,
            jsonb_agg(jsonb_build_object('line_no', l.line_no, 'sku_id', l.sku_id, 'dispatched', l.dispatched_cases,
                                         'received', r.received, 'short', r.short, 'damaged', r.damaged)
                      ORDER BY l.line_no) AS lines_detail
        FROM {advice_line} l
        JOIN {sku} s ON s.id = l.sku_id
        CROSS JOIN LATERAL (
            SELECT coalesce(sum(gl.received_cases), 0) AS received, coalesce(sum(gl.short_cases), 0) AS short,
                coalesce(sum(gl.damaged_cases), 0) AS damaged
            FROM {receipt_line} gl
            WHERE gl.distributor_id = l.distributor_id AND gl.advice_line_id = l.id AND gl.receipt_id = a.receipt_id
        ) r
        WHERE a.receipt_id IS NOT NULL AND l.distributor_id = a.distributor_id AND l.advice_id = a.id
          AND l.dispatched_cases <> r.received + r.short + r.damaged
    ) off
)
SELECT a.distributor_id,
    'da:' || a.id AS key,
    'dispatch_advice' AS subject_type,
    a.id AS subject_id,
    a.number || ' (' || a.order_number || ')' || CASE
        WHEN a.receipt_id IS NULL AND a.status = %(issued)s THEN ', dispatched on ' || a.dispatched_on
            || ', has no goods receipt after ' || (%(business_date)s::date - a.dispatched_on)
            || ' days (due within ' || %(grn_due_days)s::int || ').'
        WHEN a.receipt_id IS NULL THEN ' is marked ' || a.status || ' but has no goods receipt.'
        ELSE ', ' || a.receipt_number || ': ' || a.text || '.' END AS message,
    jsonb_build_array(
        jsonb_build_object('type', 'dispatch_advice', 'id', a.id, 'ref', a.number),
        jsonb_build_object('type', 'primary_order', 'id', a.order_id, 'ref', a.order_number))
    || CASE WHEN a.receipt_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('type', 'goods_receipt', 'id', a.receipt_id, 'ref', a.receipt_number)) END AS records,
    jsonb_build_object('status', a.status, 'dispatched_on', a.dispatched_on,
        'days_since_dispatch', %(business_date)s::date - a.dispatched_on, 'grn_due_days', %(grn_due_days)s::int,
        'lines', coalesce(a.lines_detail, '[]'::jsonb)) AS detail
FROM checked a
WHERE a.lines > 0
   OR (a.receipt_id IS NULL AND (a.status <> %(issued)s
                                 OR %(business_date)s::date - a.dispatched_on > %(grn_due_days)s::int))
"""


def _primary_da_grn(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    tables = _tables()
    sql = PRIMARY_DA_GRN.format(**tables, still_open=_still_open("primary_da_grn", "da:"))
    return sql, ctx.params(issued=AdviceStatus.ISSUED.value, closed=P.CLOSED.value, recent=RECENT,
                           grn_due_days=ctx.limits.grn_due_days)


# --- 7. primary approvals against the manufacturer's confirmation --------------------------------------------------

# The confirmation is the decide event (orders.services.primary.primary_order_decide): submitted -> approved |
# partially_approved | rejected, its detail {"lines": [{"line_no", "sku_id", "ordered_cases", "approved_cases"}]}.
# "The approval" a DA is held to is that confirmation, else (no event) the line's approved cases.
PRIMARY_APPROVALS = """
WITH open_keys AS ({still_open}),
orders AS (
    SELECT o.id, o.distributor_id, o.number, o.status
    FROM {primary} o
    WHERE o.tenant_id = %(tenant_id)s AND o.decided_at IS NOT NULL
      AND (o.status = ANY(%(in_flight)s) OR o.decided_at >= %(as_of)s - %(recent)s
           OR o.id IN (SELECT id FROM open_keys))
),
checked AS (
    SELECT o.*, dec.event_id, off.lines, off.text, off.lines_detail, off.advice_id, off.advice_number
    FROM orders o
    LEFT JOIN LATERAL (
        SELECT e.id AS event_id, e.detail
        FROM {primary_event} e
        WHERE e.distributor_id = o.distributor_id AND e.order_id = o.id AND e.from_status = %(submitted)s
          AND e.to_status = ANY(%(decided)s)
        ORDER BY e.id DESC
        LIMIT 1
    ) dec ON true
    CROSS JOIN LATERAL (
        SELECT count(*) AS lines, string_agg('line ' || y.line_no || ' (' || y.sku_code || ') ' || y.text, '; '
                                             ORDER BY y.line_no) AS text,
            jsonb_agg(jsonb_build_object('line_no', y.line_no, 'sku_id', y.sku_id, 'ordered', y.ordered_cases,
                                         'approved', y.approved_cases, 'confirmed', y.confirmed,
                                         'da_approved', y.da_approved, 'da_dispatched', y.da_dispatched)
                      ORDER BY y.line_no) AS lines_detail,
            min(y.advice_id) AS advice_id, min(y.advice_number) AS advice_number
        FROM (
            SELECT z.*, concat_ws(', ',
                CASE WHEN z.has_decision AND z.confirmed IS NULL THEN 'approved '
                        || coalesce(z.approved_cases::text, 'no') || ' cases, not in the manufacturer confirmation'
                     WHEN z.has_decision AND z.approved_cases IS DISTINCT FROM z.confirmed THEN 'approved '
                        || coalesce(z.approved_cases::text, 'no') || ' cases, the manufacturer confirmed '
                        || z.confirmed END,
                CASE WHEN z.da_approved > z.approval THEN z.advice_number || ' shows ' || z.da_approved
                    || ' approved, the approval is ' || z.approval END,
                CASE WHEN z.da_dispatched > z.approval THEN z.advice_number || ' dispatched ' || z.da_dispatched
                    || ', more than the ' || z.approval || ' approved' END) AS text
            FROM (
                SELECT l.line_no, l.sku_id, s.code AS sku_code, l.ordered_cases, l.approved_cases,
                    c.cases AS confirmed, dec.event_id IS NOT NULL AS has_decision, d.advice_id, d.advice_number,
                    d.da_approved, d.da_dispatched,
                    CASE WHEN dec.event_id IS NOT NULL THEN coalesce(c.cases, 0) ELSE coalesce(l.approved_cases, 0)
                        END AS approval
                FROM {primary_line} l
                JOIN {sku} s ON s.id = l.sku_id
                LEFT JOIN LATERAL (
                    SELECT (x.value ->> 'approved_cases')::int AS cases
                    FROM jsonb_array_elements(coalesce(dec.detail -> 'lines', '[]'::jsonb)) AS x(value)
                    WHERE (x.value ->> 'line_no')::int = l.line_no
                    LIMIT 1
                ) c ON true
                LEFT JOIN LATERAL (
                    SELECT a.id AS advice_id, a.number AS advice_number, dl.approved_cases AS da_approved,
                        dl.dispatched_cases AS da_dispatched
                    FROM {advice_line} dl
                    JOIN {advice} a ON a.distributor_id = dl.distributor_id AND a.id = dl.advice_id
                    WHERE dl.distributor_id = l.distributor_id AND dl.order_line_id = l.id
                    LIMIT 1
                ) d ON true
                WHERE l.distributor_id = o.distributor_id AND l.order_id = o.id
            ) z
        ) y
        WHERE y.text <> ''
    ) off
)
SELECT o.distributor_id,
    'primary:' || o.id AS key,
    'primary_order' AS subject_type,
    o.id AS subject_id,
    o.number || ' (' || replace(o.status, '_', ' ') || '): ' || concat_ws('; ',
        CASE WHEN o.event_id IS NULL THEN 'no decision of the manufacturer is recorded' END,
        o.text) || '.' AS message,
    jsonb_build_array(jsonb_build_object('type', 'primary_order', 'id', o.id, 'ref', o.number))
    || CASE WHEN o.event_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('type', 'primary_order_event', 'id', o.event_id)) END
    || CASE WHEN o.advice_id IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
        jsonb_build_object('type', 'dispatch_advice', 'id', o.advice_id, 'ref', o.advice_number)) END
        AS records,
    jsonb_build_object('status', o.status, 'decision_event_id', o.event_id,
        'lines', coalesce(o.lines_detail, '[]'::jsonb)) AS detail
FROM checked o
WHERE o.event_id IS NULL OR o.lines > 0
"""


def _primary_approvals(ctx: CheckContext) -> tuple[str, dict[str, Any]]:
    sql = PRIMARY_APPROVALS.format(**_tables(), still_open=_still_open("primary_approvals", "primary:"))
    return sql, ctx.params(in_flight=IN_FLIGHT, decided=DECIDED, submitted=P.SUBMITTED.value, recent=RECENT)


MONEY_CHECKS: tuple[Check, ...] = (
    Check(code="stock_ledger", title="Stock against the ledger",
          description="Each stock balance's on hand and reserved units against the sums of its movements' deltas "
                      "(and movements with no balance row).",
          scope=CheckScope.STATE, select=_stock_ledger, gate=_stock_ledger_gate, prepare=_ledger_advance),
    Check(code="stock_reserved", title="Reserved stock against allocations",
          description="Each stock balance's reserved units against the allocated units of the allocations that "
                      "hold stock in its warehouse and SKU (active, and invoiced until the van is loaded).",
          scope=CheckScope.STATE, select=_stock_reserved, gate=_stock_reserved_gate),
    Check(code="invoice_totals", title="Invoice totals",
          description="Invoices of the date: header gross, discount, tax and total against the sums of their "
                      "lines, and invoices with no lines (total = gross - discount + tax on every header and "
                      "line is a database constraint).",
          scope=CheckScope.DAY, select=_invoice_totals, gate=_invoice_totals_gate),
    Check(code="credit_notes", title="Credit notes",
          description="Credit notes of the date whose lines do not add up to their header; the invoices they "
                      "credit whose credit notes exceed the invoice (in total or in a line's units) or differ "
                      "from its credited amount.",
          scope=CheckScope.DAY, select=_credit_notes),
    Check(code="load_forms", title="Load forms",
          description="Load forms of the date: per invoice, delivered + returned against invoiced units, the "
                      "outcome, the credit of what came back and the invoice's state; per load form, one not "
                      "settled at the close (with the invoices not accounted for), or settled with invoices "
                      "unaccounted for, less collected than expected, counts that differ from what was recorded "
                      "or an expected cash that is not its invoices'.",
          scope=CheckScope.DAY, select=_load_forms),
    Check(code="primary_da_grn", title="Dispatch advices against goods receipts",
          description="Per dispatch advice line, the cases dispatched against the goods receipt's received + "
                      "short + damaged; dispatch advices with no goods receipt more than the tenant's GRN due "
                      "days after dispatch.",
          scope=CheckScope.STATE, select=_primary_da_grn),
    Check(code="primary_approvals", title="Primary approvals",
          description="Primary orders decided by the manufacturer: each line's approved cases against the "
                      "manufacturer's confirmation (the decision event), and the dispatch advice's approved and "
                      "dispatched cases against that approval.",
          scope=CheckScope.STATE, select=_primary_approvals),
)
