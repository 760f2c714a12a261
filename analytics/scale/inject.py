"""Planted mismatches: the faults the nightly reconciliation exists to find, one kind per check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from inventory.models import Allocation, StockBalance
from invoicing.models import Invoice, InvoiceLine, NumberSeries
from mobile.models import SyncItem
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import DailyJourney, Visit

from .spec import INVOICE_SERIES
from .sql import day_close_model, execute, insert_select, nextval, pairs, scalar, table

# --- planted mismatches ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Injected:
    """One planted mismatch: what it is, the check meant to find it, and its subject as that check reports it."""

    kind: str
    check: str
    distributor_id: int
    subject_type: str
    subject_id: int


# kind -> the reconciliation check (reconciliation.checks) that should find it, and what was done.
INJECTIONS: dict[str, tuple[str, str]] = {
    "stock_ledger": ("stock_ledger", "a balance's on hand raised by 7 units with no movement"),
    "reservation": ("stock_reserved", "an active allocation marked released with no release movement "
                                      "(the balance still reserves it)"),
    "invoice_total": ("invoice_totals", "an allocated order of the date invoiced with a header 1.00 above the sum "
                                        "of its lines (gross and total; numbered from the series, gap-free)"),
    "order_stuck": ("orders_stuck", "a booked order of the date moved two days back (booked, entered its state)"),
    "missed_visit": ("visits_missed", "an unproductive visit of the date put back to planned (the day close then "
                                      "marks it missed)"),
    "device_not_synced": ("device_not_synced", "every sync item and the day close of the date deleted for a device"),
    "sync_gap": ("device_day_close", "one sync item in the middle of a device's day deleted (its day close still "
                                     "counts it)"),
}


def inject_mismatches(*, tenant_id: int, business_date: date | None = None, per_kind: int = 2) -> list[Injected]:
    """Plant `per_kind` mismatches of each kind of INJECTIONS in a seeded tenant, on `business_date` (default: the
    last date with journeys), each on its own record (devices differ between the two device kinds). Raw SQL as the
    application role: these are the faults the reconciliation exists to find, so no service would write them. Fewer
    are planted of a kind whose records the date lacks (e.g. no allocated order). Returns what was planted."""
    out: list[Injected] = []
    with tenant_scope(Scope.system(tenant_id, "scale-inject")):
        day = business_date or scalar(f"SELECT max(date) FROM {table(DailyJourney)} WHERE tenant_id = %(t)s",
                                       {"t": tenant_id})
        tenant = Tenant.objects.get(pk=tenant_id)
        zone = tenant.tz
        p: dict[str, Any] = {"t": tenant_id, "day": day, "n": per_kind,
                             "start": datetime(day.year, day.month, day.day, tzinfo=zone),
                             "end": datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)}

        def planted(kind: str, subject_type: str, rows: list[tuple[int, int]]) -> None:
            out.extend(Injected(kind, INJECTIONS[kind][0], dist, subject_type, pk) for dist, pk in rows)

        planted("stock_ledger", "balance", pairs(f"""
            UPDATE {table(StockBalance)} b SET on_hand = on_hand + 7, version = version + 1, updated_at = %(end)s
            WHERE b.id IN (SELECT id FROM {table(StockBalance)} WHERE tenant_id = %(t)s AND reserved > 0
                           ORDER BY distributor_id DESC, id LIMIT %(n)s)
            RETURNING b.distributor_id, b.id""", p))
        planted("reservation", "balance", pairs(f"""
            WITH pick AS (
                SELECT DISTINCT ON (a.warehouse_id, a.sku_id) a.id, a.warehouse_id, a.sku_id
                FROM {table(Allocation)} a JOIN {table(SecondaryOrder)} o ON o.distributor_id = a.distributor_id
                    AND o.id = a.order_id
                WHERE a.tenant_id = %(t)s AND a.status = 'active' AND o.booked_at >= %(start)s
                    AND o.booked_at < %(end)s
                ORDER BY a.warehouse_id, a.sku_id, a.id LIMIT %(n)s
            ), released AS (
                UPDATE {table(Allocation)} a SET status = 'released', updated_at = %(end)s FROM pick
                WHERE a.id = pick.id RETURNING a.distributor_id, a.warehouse_id, a.sku_id
            )
            SELECT r.distributor_id, b.id FROM released r JOIN {table(StockBalance)} b
                ON b.distributor_id = r.distributor_id AND b.warehouse_id = r.warehouse_id AND b.sku_id = r.sku_id""",
            p))
        planted("invoice_total", "invoice", _invoice_off_its_lines(tenant, p))
        planted("order_stuck", "order", pairs(f"""
            UPDATE {table(SecondaryOrder)} o SET booked_at = booked_at - interval '2 days',
                status_changed_at = status_changed_at - interval '2 days', created_at = created_at - interval '2 days',
                updated_at = updated_at - interval '2 days'
            WHERE o.id IN (SELECT id FROM {table(SecondaryOrder)} WHERE tenant_id = %(t)s AND status = 'booked'
                           AND booked_at >= %(start)s AND booked_at < %(end)s ORDER BY id LIMIT %(n)s)
            RETURNING o.distributor_id, o.id""", p))
        planted("missed_visit", "journey", pairs(f"""
            UPDATE {table(Visit)} v SET status = 'planned', uuid = NULL, checked_in_at = NULL, checked_out_at = NULL,
                check_in_lat = NULL, check_in_lng = NULL, gps_accuracy_m = NULL, distance_m = NULL,
                unproductive_reason = ''
            WHERE v.id IN (
                SELECT DISTINCT ON (v.journey_id) v.id FROM {table(Visit)} v
                JOIN {table(DailyJourney)} j ON j.distributor_id = v.distributor_id AND j.id = v.journey_id
                WHERE j.tenant_id = %(t)s AND j.date = %(day)s AND v.status = 'unproductive'
                ORDER BY v.journey_id, v.sequence LIMIT %(n)s)
            RETURNING v.distributor_id, v.journey_id""", p))
        devices = [(int(dist), int(dev)) for dist, dev in pairs(f"""
            SELECT DISTINCT distributor_id, device_id FROM {table(SyncItem)} WHERE tenant_id = %(t)s
                AND work_date = %(day)s ORDER BY device_id LIMIT %(n2)s""", {**p, "n2": 2 * per_kind})]
        silent, gapped = devices[:per_kind], devices[per_kind:]
        for _dist, dev in silent:
            execute(f"DELETE FROM {table(SyncItem)} WHERE tenant_id = %(t)s AND device_id = %(d)s "
                    "AND work_date = %(day)s", {**p, "d": dev})
            if (model := day_close_model()) is not None:
                execute(f"DELETE FROM {table(model)} WHERE tenant_id = %(t)s AND device_id = %(d)s AND date = %(day)s",
                        {**p, "d": dev})
        planted("device_not_synced", "device", silent)
        for _dist, dev in gapped:
            execute(f"""DELETE FROM {table(SyncItem)} WHERE id = (
                SELECT id FROM {table(SyncItem)} WHERE tenant_id = %(t)s AND device_id = %(d)s AND work_date = %(day)s
                ORDER BY device_seq OFFSET 1 LIMIT 1)""", {**p, "d": dev})
        planted("sync_gap", "device", gapped)
    return out


def _invoice_off_its_lines(tenant: Tenant, p: dict[str, Any]) -> list[tuple[int, int]]:
    """Invoice allocated orders of the date as the generator does, but with a header 1.00 above its lines. Issued
    documents are insert-only (the immutability trigger), so the fault is written in, not edited in."""
    issued = p["start"] + timedelta(hours=22, minutes=15)
    fy = tenant.fiscal_year(p["day"])
    orders = pairs(f"""SELECT distributor_id, id FROM {table(SecondaryOrder)} WHERE tenant_id = %(t)s
        AND status = 'allocated' AND booked_at >= %(start)s AND booked_at < %(end)s ORDER BY id LIMIT %(n)s""", p)
    out = []
    for dist, order_id in orders:
        q = {**p, "o": order_id, "dist": dist, "fy": fy, "at": issued, "series": INVOICE_SERIES}
        number = scalar(f"""UPDATE {table(NumberSeries)} SET next_number = next_number + 1, updated_at = %(at)s
            WHERE distributor_id = %(dist)s AND kind = 'invoice' AND code = %(series)s AND fiscal_year = %(fy)s
            RETURNING next_number - 1""", q)
        if number is None:
            insert_select(NumberSeries, {"tenant_id": "%(t)s", "distributor_id": "%(dist)s", "kind": "'invoice'",
                                         "code": "%(series)s", "fiscal_year": "%(fy)s", "next_number": "2",
                                         "created_at": "%(at)s", "updated_at": "%(at)s"}, "", q, pk=None)
            number = 1
        q["number"] = number
        invoice_id = scalar(f"SELECT {nextval(Invoice)}")
        q["i"] = invoice_id
        insert_select(Invoice, {
            "tenant_id": "%(t)s", "distributor_id": "o.distributor_id", "order_id": "o.id", "outlet_id": "o.outlet_id",
            "series_code": "%(series)s", "fiscal_year": "%(fy)s", "number": "%(number)s",
            "number_text": "%(series)s || '/' || %(fy)s || '/' || lpad(%(number)s::text, 6, '0')",
            "invoice_date": "%(day)s", "issued_at": "%(at)s", "priced_on": "%(day)s", "currency": "o.currency",
            "gross": "o.gross + 1", "discount": "o.discount", "tax": "o.tax", "total": "o.total + 1",
            "booked_total": "o.total", "status": "'issued'", "payment_status": "'unpaid'", "paid_amount": "0",
            "credited_amount": "0", "version": "1", "created_at": "%(at)s", "updated_at": "%(at)s"},
            f"FROM {table(SecondaryOrder)} o WHERE o.id = %(o)s", q, pk="%(i)s")
        insert_select(InvoiceLine, {
            "tenant_id": "%(t)s", "distributor_id": "l.distributor_id", "invoice_id": "%(i)s", "order_line_id": "l.id",
            "line_no": "l.line_no", "sku_id": "l.sku_id", "cases": "l.cases", "units": "l.units",
            "qty_units": "l.qty_units", "case_price": "l.case_price", "gross": "l.gross", "discount": "l.discount",
            "tax_rate": "l.tax_rate", "tax": "l.tax", "total": "l.total", "is_free": "l.is_free",
            "scheme_ids": "l.scheme_ids", "booked_case_price": "l.case_price", "booked_qty_units": "l.qty_units",
            "created_at": "%(at)s", "updated_at": "%(at)s"},
            f"FROM {table(SecondaryOrderLine)} l WHERE l.distributor_id = %(dist)s AND l.order_id = %(o)s", q, pk=None)
        execute(f"""UPDATE {table(Allocation)} SET status = 'invoiced', updated_at = %(at)s
            WHERE distributor_id = %(dist)s AND order_id = %(o)s AND status = 'active'""", q)
        execute(f"""UPDATE {table(SecondaryOrder)} SET status = 'invoiced', status_changed_at = %(at)s,
            updated_at = %(at)s WHERE id = %(o)s""", q)
        out.append((dist, invoice_id))
    return out
