"""analytics.scale: a tiny scale seeds in seconds, adds up everywhere, is repeatable for a seed, and
inject_mismatches plants exactly what it lists (and the reconciliation finds exactly that)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.scale import INJECTIONS, ScaleSummary, inject_mismatches, seed_scale
from catalog.models import Outlet
from catalog.pricing import LineInput, price_lines
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from orders.models import SecondaryOrder, SecondaryOrderLine
from reconciliation.checks import CHECKS
from reconciliation.checks.base import CheckContext
from reconciliation.services import close_instant

END = date(2026, 3, 4)  # a Wednesday, well in the past: every date is closed
TINY: dict[str, Any] = {"days": 3, "orders_per_day": 40, "lines_per_order": 10, "bookers": 5, "distributors": 2,
                        "outlets": 60, "skus": 40, "end_date": END}


def seed(slug: str = "tiny", **overrides: Any) -> ScaleSummary:
    summary = seed_scale(slug=slug, **{**TINY, **overrides})
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's transaction never commits: check the keys now
    return summary


@pytest.fixture
def tiny(db: None) -> ScaleSummary:
    return seed()


def rows(summary: ScaleSummary, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with tenant_scope(Scope.system(summary.tenant_id)), connection.cursor() as cursor:
        cursor.execute(sql, {"t": summary.tenant_id, **params})
        return list(cursor.fetchall())


def found_by_checks(summary: ScaleSummary) -> dict[str, list[tuple[str, int]]]:
    """What every registered check finds on the tenant's last date, run as the nightly run runs it (prepare, then
    the SELECT), without writing exceptions: check code -> [(subject_type, subject_id)]."""
    day = summary.business_date
    out: dict[str, list[tuple[str, int]]] = {}
    with tenant_scope(Scope.system(summary.tenant_id, "test")) as scope:
        tz = Tenant.objects.get(pk=summary.tenant_id).tz
        start = datetime(day.year, day.month, day.day, tzinfo=tz)
        ctx = CheckContext(scope=scope, run_id=0, business_date=day, tz=tz, day_start=start,
                           day_end=start + timedelta(days=1), as_of=close_instant(day, tz, 23))
        for check in CHECKS:
            if check.prepare is not None:
                check.prepare(ctx)
            sql, params = check.select(ctx)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT subject_type, subject_id FROM ({sql}) found", params)
                out[check.code] = sorted(cursor.fetchall())
    return out


def test_a_tiny_scale_has_every_part_of_a_working_day(tiny):
    # given / when: the seeded tenant
    counts = tiny.counts
    # then
    assert tiny.dates == [END - timedelta(days=2), END - timedelta(days=1), END]
    assert counts["secondaryorder"] == 120 and counts["secondaryorderline"] == 1200
    assert counts["dailyjourney"] == 15 and counts["visit"] == 15 * 10  # 40 orders / 5 bookers x 1.2 = 10 stops
    for name in ("allocation", "stockmovement", "stockbalance", "invoice", "invoiceline", "loadform",
                 "loadforminvoice", "deliveryline", "payment", "syncitem", "dayclose", "device"):
        assert counts[name] > 0, name
    statuses = dict(rows(tiny, "SELECT status, count(*) FROM orders_secondaryorder WHERE tenant_id = %(t)s "
                               "GROUP BY status"))
    assert set(statuses) <= {"booked", "confirmed", "allocated", "invoiced", "delivered"}
    assert statuses["delivered"] > 0 and statuses["invoiced"] > 0


def test_lines_add_up_and_headers_are_the_sums_of_their_lines(tiny):
    # given / when
    lines_off = rows(tiny, """SELECT count(*) FROM orders_secondaryorderline WHERE tenant_id = %(t)s
        AND (total <> gross - discount + tax OR qty_units <> cases * (SELECT units_per_case FROM catalog_sku s
             WHERE s.id = sku_id) + units)""")
    orders_off = rows(tiny, """SELECT count(*) FROM orders_secondaryorder o JOIN (
            SELECT order_id, sum(gross) g, sum(discount) d, sum(tax) x, sum(total) t FROM orders_secondaryorderline
            WHERE tenant_id = %(t)s GROUP BY order_id) l ON l.order_id = o.id
        WHERE o.gross <> l.g OR o.discount <> l.d OR o.tax <> l.x OR o.total <> l.t""")
    invoices_off = rows(tiny, """SELECT count(*) FROM invoicing_invoice i JOIN (
            SELECT invoice_id, sum(gross) g, sum(discount) d, sum(tax) x, sum(total) t, count(*) n
            FROM invoicing_invoiceline WHERE tenant_id = %(t)s GROUP BY invoice_id) l ON l.invoice_id = i.id
        JOIN orders_secondaryorder o ON o.id = i.order_id
        WHERE i.gross <> l.g OR i.discount <> l.d OR i.tax <> l.x OR i.total <> l.t OR i.total <> o.total
           OR i.outlet_id <> o.outlet_id OR l.n <> %(lines)s""", lines=TINY["lines_per_order"])
    discounted = rows(tiny, "SELECT count(*) FROM orders_secondaryorderline WHERE tenant_id = %(t)s AND discount > 0")
    # then
    assert lines_off == [(0,)] and orders_off == [(0,)] and invoices_off == [(0,)]
    assert discounted[0][0] > 0


def test_orders_are_priced_as_the_pricing_engine_prices_them(tiny):
    # given: a few orders of each date
    with tenant_scope(Scope.system(tiny.tenant_id)) as scope:
        tz = Tenant.objects.get(pk=tiny.tenant_id).tz
        orders = list(SecondaryOrder.objects.order_by("pk")[::9])
        for order in orders:
            lines = list(SecondaryOrderLine.objects.filter(order=order).order_by("line_no"))
            # when
            priced = price_lines(scope=scope, outlet=Outlet.objects.get(pk=order.outlet_id),
                                 lines=[LineInput(sku_id=ln.sku_id, cases=ln.cases, units=ln.units) for ln in lines],
                                 on_date=order.booked_at.astimezone(tz).date())
            # then
            assert [(p.gross, p.discount, p.tax_rate, p.tax, p.total, list(p.scheme_ids)) for p in priced.lines] == [
                (ln.gross, ln.discount, ln.tax_rate, ln.tax, ln.total, ln.scheme_ids) for ln in lines]
            assert (priced.gross, priced.total) == (order.gross, order.total)
    assert len(orders) >= 8


def test_stock_balances_are_their_ledger_and_reserve_the_live_allocations(tiny):
    # given / when
    off = rows(tiny, """SELECT b.id, b.on_hand, b.reserved, m.on_hand, m.reserved, coalesce(a.units, 0)
        FROM inventory_stockbalance b
        JOIN (SELECT warehouse_id, sku_id, sum(on_hand_delta) on_hand, sum(reserved_delta) reserved
              FROM inventory_stockmovement WHERE tenant_id = %(t)s GROUP BY 1, 2) m
            ON m.warehouse_id = b.warehouse_id AND m.sku_id = b.sku_id
        LEFT JOIN (SELECT warehouse_id, sku_id, sum(allocated_units) units FROM inventory_allocation
                   WHERE tenant_id = %(t)s AND status IN ('active', 'invoiced') GROUP BY 1, 2) a
            ON a.warehouse_id = b.warehouse_id AND a.sku_id = b.sku_id
        WHERE b.tenant_id = %(t)s AND (b.on_hand <> m.on_hand OR b.reserved <> m.reserved
              OR b.reserved <> coalesce(a.units, 0) OR b.reserved > b.on_hand)""")
    movements = dict(rows(tiny, "SELECT kind, count(*) FROM inventory_stockmovement WHERE tenant_id = %(t)s "
                                "GROUP BY kind"))
    dispatched = rows(tiny, """SELECT count(*) FROM inventory_allocation a JOIN orders_secondaryorder o
        ON o.id = a.order_id WHERE a.tenant_id = %(t)s AND (a.status = 'dispatched') <> (o.status = 'delivered')""")
    # then
    assert off == []
    assert set(movements) == {"receipt", "allocation", "dispatch"}
    assert dispatched == [(0,)]


INVOICE_NUMBERS = """SELECT i.distributor_id, i.fiscal_year, count(*), min(i.number), max(i.number),
            count(DISTINCT i.number), s.next_number,
            bool_and(i.number_text = 'INV/' || i.fiscal_year || '/' || lpad(i.number::text, 6, '0'))
        FROM invoicing_invoice i JOIN invoicing_numberseries s ON s.distributor_id = i.distributor_id
            AND s.kind = 'invoice' AND s.code = i.series_code AND s.fiscal_year = i.fiscal_year
        WHERE i.tenant_id = %(t)s GROUP BY i.distributor_id, i.fiscal_year, s.next_number"""


@pytest.mark.parametrize("end", [END, date(2026, 7, 1)], ids=["one fiscal year", "across the fiscal year start"])
def test_invoice_numbers_run_one_to_n_per_distributor_and_year_and_the_series_is_at_n_plus_one(db, end):
    # given: the tenant's fiscal year starts on 1 July
    summary = seed(end_date=end)
    # when
    numbers = rows(summary, INVOICE_NUMBERS)
    # then
    years = {fy for _dist, fy, *_rest in numbers}
    assert years == ({2025} if end == END else {2025, 2026})
    assert len(numbers) == TINY["distributors"] * len(years)
    for _dist, _fy, n, first, last, distinct, next_number, texts in numbers:
        assert (first, last, distinct, next_number, texts) == (1, n, n, n + 1, True)


def test_orders_belong_to_their_distributors_outlets_and_their_bookers_visits(tiny):
    # given / when
    off = rows(tiny, """SELECT o.id FROM orders_secondaryorder o
        JOIN catalog_outlet ol ON ol.id = o.outlet_id JOIN pjp_visit v ON v.id = o.visit_id
        JOIN pjp_dailyjourney j ON j.id = v.journey_id JOIN tenancy_device d ON d.id = o.device_id
        WHERE o.tenant_id = %(t)s AND (ol.distributor_id <> o.distributor_id OR v.outlet_id <> o.outlet_id
            OR v.status <> 'productive' OR j.booker_id <> o.booker_id OR d.user_id <> o.booker_id
            OR (o.booked_at AT TIME ZONE 'Asia/Karachi')::date <> j.date
            OR o.booked_at NOT BETWEEN v.checked_in_at AND v.checked_out_at)""")
    productive_without_order = rows(tiny, """SELECT count(*) FROM pjp_visit v WHERE v.tenant_id = %(t)s
        AND v.status = 'productive' AND NOT EXISTS (SELECT 1 FROM orders_secondaryorder o WHERE o.visit_id = v.id)""")
    # then
    assert off == [] and productive_without_order == [(0,)]


def test_visits_are_made_in_sequence_and_the_last_date_leaves_none_planned(tiny):
    # given / when
    out_of_sequence = rows(tiny, """SELECT count(*) FROM (
            SELECT checked_in_at, lag(checked_out_at) OVER (PARTITION BY journey_id ORDER BY sequence) AS prev_out
            FROM pjp_visit WHERE tenant_id = %(t)s AND checked_in_at IS NOT NULL) v
        WHERE checked_in_at < prev_out""")
    by_date = rows(tiny, """SELECT j.date, v.status, count(*) FROM pjp_visit v JOIN pjp_dailyjourney j
        ON j.id = v.journey_id WHERE v.tenant_id = %(t)s GROUP BY 1, 2 ORDER BY 1, 2""")
    reasons = rows(tiny, """SELECT count(*) FROM pjp_visit WHERE tenant_id = %(t)s
        AND (status = 'unproductive') <> (unproductive_reason <> '')""")
    # then
    assert out_of_sequence == [(0,)] and reasons == [(0,)]
    last = {status for day, status, _n in by_date if day == END}
    assert last == {"productive", "unproductive"}
    assert {status for day, status, _n in by_date if day < END} <= {"productive", "unproductive", "missed"}


def test_each_phone_syncs_consecutive_items_and_closes_each_day_with_their_counts(tiny):
    # given / when
    gaps = rows(tiny, """SELECT device_id, count(*), min(device_seq), max(device_seq) FROM mobile_syncitem
        WHERE tenant_id = %(t)s GROUP BY device_id HAVING count(*) <> max(device_seq) OR min(device_seq) <> 1""")
    closes_off = rows(tiny, """SELECT c.id FROM mobile_dayclose c JOIN (
            SELECT device_id, work_date, min(device_seq) f, max(device_seq) l,
                count(*) FILTER (WHERE kind = 'visit') v, count(*) FILTER (WHERE kind = 'order') o
            FROM mobile_syncitem WHERE tenant_id = %(t)s GROUP BY 1, 2) s
            ON s.device_id = c.device_id AND s.work_date = c.date
        WHERE c.first_device_seq <> s.f OR c.last_device_seq <> s.l OR (c.device_counts ->> 'visit')::int <> s.v
            OR (c.device_counts ->> 'order')::int <> s.o""")
    closes = rows(tiny, "SELECT count(*) FROM mobile_dayclose WHERE tenant_id = %(t)s")
    # then
    assert gaps == [] and closes_off == []
    assert closes == [(TINY["bookers"] * TINY["days"],)]


def test_the_same_seed_gives_the_same_figures_and_another_seed_others(db):
    # given
    def figures(summary: ScaleSummary) -> list[tuple[Any, ...]]:
        return rows(summary, """SELECT o.status, count(*), sum(o.total), sum(o.tax), (SELECT sum(on_hand)
            FROM inventory_stockbalance WHERE tenant_id = %(t)s) FROM orders_secondaryorder o
            WHERE o.tenant_id = %(t)s GROUP BY o.status ORDER BY o.status""")

    # when
    first, again, other = seed("one"), seed("two"), seed("three", seed=8)
    # then
    assert figures(first) == figures(again)
    assert figures(first) != figures(other)
    assert first.counts == again.counts


def test_the_reconciliation_finds_nothing_on_a_clean_day(tiny):
    # when
    found = found_by_checks(tiny)
    # then
    assert {code: subjects for code, subjects in found.items() if subjects} == {}
    assert "visits_missed" in found  # the checks did run


def test_inject_mismatches_plants_each_kind_and_the_reconciliation_finds_exactly_those(tiny):
    # when
    injected = inject_mismatches(tenant_id=tiny.tenant_id, per_kind=2)
    # then: two of every kind, each on a record of its own
    assert Counter(i.kind for i in injected) == {kind: 2 for kind in INJECTIONS}
    assert len({(i.kind, i.subject_id) for i in injected}) == len(injected)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    expected: dict[str, list[tuple[str, int]]] = {}
    for i in injected:
        expected.setdefault(i.check, []).append((i.subject_type, i.subject_id))
    found = found_by_checks(tiny)
    registered = {code for code in found}
    assert {code: sorted(s) for code, s in expected.items() if code in registered} == {
        code: subjects for code, subjects in found.items() if subjects}
    assert {"visits_missed", "device_not_synced", "device_day_close", "orders_stuck"} <= registered


def test_the_command_seeds_a_tenant_and_prints_its_counts_and_what_it_planted(db):
    # given
    out = StringIO()
    # when
    call_command("seed_scale", "--slug", "cmd", "--days", "1", "--orders", "20", "--bookers", "4",
                 "--distributors", "2", "--outlets", "40", "--skus", "30", "--end-date", END.isoformat(),
                 "--inject", "1", stdout=out)
    # then
    text = out.getvalue()
    assert "Tenant cmd" in text and "secondaryorderline" in text and "200" in text
    assert "Seconds per phase:" in text and "stock_ledger (stock_ledger)" in text
    assert Tenant.objects.filter(slug="cmd").exists()
    with pytest.raises(CommandError, match="exists"):
        call_command("seed_scale", "--slug", "cmd", stdout=StringIO())
