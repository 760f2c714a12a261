"""Properties of invoicing over random catalogues, schemes (free goods included), taxes and orders, against the
database: an invoice's totals are the sums of its lines to the cent; a fully allocated order is invoiced at exactly
its booked figures; a partly allocated one at what the engine gives for the allocated quantities, free goods never
beyond what was allocated; a price changed after booking shows on the invoice with the booked price kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.enums import SchemeKind, SlabBasis
from catalog.models import Outlet, PriceListItem
from catalog.pricing import LineInput, price_lines
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from invoicing.models import InvoiceLine
from invoicing.services import invoice_issue
from orders.models import SecondaryOrderLine
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_scheme, make_sku, make_tax_rate
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order
from tests.factories.orders import BOOKED_AT, make_order

pytestmark = pytest.mark.django_db
D = Decimal
AMOUNTS = ("gross", "discount", "tax", "total")
TAX_CLASSES = ("A", "B")
DB_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def places(n: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, hi * 10**n).map(lambda i: Decimal(i).scaleb(-n))


@st.composite
def orders(draw: Any) -> dict[str, Any]:
    n_skus = draw(st.integers(1, 4))
    skus = [{"upc": draw(st.integers(1, 24)), "tax_class": draw(st.sampled_from(TAX_CLASSES)),
             "price": draw(places(4, 9_999))} for _ in range(n_skus)]
    schemes = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(list(SchemeKind)))
        basis = draw(st.sampled_from(list(SlabBasis)))
        schemes.append({
            "kind": kind, "basis": basis,
            "threshold": draw(places(1, 20) if basis == SlabBasis.QUANTITY else places(2, 50_000)).max(D("0.1")),
            "benefit": draw({SchemeKind.PERCENT_OFF: places(2, 60), SchemeKind.AMOUNT_OFF: places(2, 500),
                             SchemeKind.FREE_GOODS: places(0, 3)}[kind]),
            "sku": draw(st.none() | st.integers(0, n_skus - 1)), "free_sku": draw(st.integers(0, n_skus - 1))})
    booked = draw(st.lists(st.integers(0, n_skus - 1), min_size=1, max_size=n_skus, unique=True))
    lines = []
    for i in booked:
        cases, units = draw(st.integers(0, 40)), draw(st.integers(0, 30))
        lines.append((i, cases or (0 if units else 1), units))
    return {"skus": skus, "rates": {c: draw(places(4, 1)) for c in TAX_CLASSES}, "schemes": schemes,
            "lines": lines, "share": draw(st.lists(st.floats(0, 1), min_size=10, max_size=10))}


@pytest.fixture
def outlet(dist_a1: Distributor) -> Outlet:
    return make_outlet(dist_a1, credit_limit=D("0"))


def _catalogue(tid: int, spec: dict[str, Any]) -> tuple[list[Any], Any]:
    brand = make_brand(tid)
    skus = [make_sku(tid, brand=brand, units_per_case=s["upc"], tax_class=s["tax_class"]) for s in spec["skus"]]
    price_list = make_price_list(tid, {sku: s["price"] for sku, s in zip(skus, spec["skus"], strict=True)})
    for tax_class, rate in spec["rates"].items():
        make_tax_rate(tid, tax_class=tax_class, rate=rate)
    for s in spec["schemes"]:
        free = skus[s["free_sku"]] if s["kind"] == SchemeKind.FREE_GOODS else None
        make_scheme(tid, kind=s["kind"], basis=s["basis"], slabs=[(s["threshold"], s["benefit"], free)]
                    if free else [(s["threshold"], s["benefit"])], skus=[] if s["sku"] is None else [skus[s["sku"]]])
    return skus, price_list


def _lines(rows: Any, **kw: Any) -> list[Any]:
    """Lines of a model or queryset, by line number."""
    qs = rows.objects.all() if isinstance(rows, type) else rows
    return list(qs.filter(**kw).order_by("line_no"))


def _assert_adds_up(invoice: Any, lines: list[InvoiceLine]) -> None:
    for name in AMOUNTS:
        assert getattr(invoice, name) == sum((getattr(ln, name) for ln in lines), D("0")), name
        assert getattr(invoice, name).as_tuple().exponent == -2
    for ln in lines:
        assert ln.total == ln.gross - ln.discount + ln.tax
        assert ln.qty_units == ln.cases * ln.sku.units_per_case + ln.units


@DB_SETTINGS
@given(spec=orders())
def test_a_fully_allocated_order_is_invoiced_at_its_booked_figures(cast_a: Any, outlet: Outlet,
                                                                   spec: dict[str, Any]) -> None:
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)) as scope, transaction.atomic():
        # given: rows in a savepoint that each example rolls back
        skus, _pl = _catalogue(tid, spec)
        order = make_order(outlet, [(skus[i], cases, units) for i, cases, units in spec["lines"]])
        allocate_order(order, make_warehouse(outlet.distributor))
        # when
        invoice = invoice_issue(scope=scope, order_id=order.pk)
        lines = _lines(InvoiceLine.objects.select_related("sku"), invoice_id=invoice.pk)
        booked = _lines(SecondaryOrderLine, order_id=order.pk)
        transaction.set_rollback(True)
    # then
    _assert_adds_up(invoice, lines)
    assert [(ln.sku_id, ln.qty_units, ln.is_free, ln.case_price, ln.tax_rate, *(getattr(ln, a) for a in AMOUNTS))
            for ln in lines] == [(b.sku_id, b.qty_units, b.is_free, b.case_price, b.tax_rate,
                                  *(getattr(b, a) for a in AMOUNTS)) for b in booked]
    assert (invoice.gross, invoice.discount, invoice.tax, invoice.total) == (
        order.gross, order.discount, order.tax, order.total) == (
        invoice.gross, invoice.discount, invoice.tax, invoice.booked_total)


@DB_SETTINGS
@given(spec=orders())
def test_a_partly_allocated_order_is_invoiced_at_the_engines_figures_for_what_was_allocated(
        cast_a: Any, outlet: Outlet, spec: dict[str, Any]) -> None:
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)) as scope, transaction.atomic():
        # given: each line allocated a random share of what it booked (free lines too), the stock really reserved
        # (free units not earned are released)
        skus, _pl = _catalogue(tid, spec)
        order = make_order(outlet, [(skus[i], cases, units) for i, cases, units in spec["lines"]])
        booked = _lines(SecondaryOrderLine.objects.select_related("sku"), order_id=order.pk)
        units = {b.line_no: int(b.qty_units * spec["share"][n % 10]) for n, b in enumerate(booked)}
        if not any(units[b.line_no] for b in booked if not b.is_free):
            units[booked[0].line_no] = booked[0].qty_units  # something to invoice
        allocate_order(order, make_warehouse(outlet.distributor), units=units, reserve=True)
        paid = [b for b in booked if not b.is_free and units[b.line_no] > 0]
        expected = price_lines(scope=scope, outlet=outlet, on_date=BOOKED_AT.date(), lines=[
            LineInput(sku_id=b.sku_id, cases=units[b.line_no] // b.sku.units_per_case,
                      units=units[b.line_no] % b.sku.units_per_case) for b in paid])
        # when
        invoice = invoice_issue(scope=scope, order_id=order.pk)
        lines = _lines(InvoiceLine.objects.select_related("sku"), invoice_id=invoice.pk)
        transaction.set_rollback(True)
    # then: totals add up; the paid lines are the engine's for the allocated units
    _assert_adds_up(invoice, lines)
    assert invoice.booked_total == order.total
    charged = [ln for ln in lines if not ln.is_free]
    assert [(ln.sku_id, ln.qty_units, ln.case_price, *(getattr(ln, a) for a in AMOUNTS)) for ln in charged] == [
        (p.sku_id, p.qty_units, p.case_price, *(getattr(p, a) for a in AMOUNTS))
        for p in expected.lines if not p.is_free]
    assert [(ln.booked_qty_units, ln.booked_case_price) for ln in charged] == [(b.qty_units, b.case_price)
                                                                               for b in paid]
    # free goods: earned on the allocated quantities, and never more than the free units allocated
    earned = {(p.sku_id, p.free_of_scheme_id): p.qty_units for p in expected.lines if p.is_free}
    allocated_free = {(b.sku_id, b.scheme_ids[0]): units[b.line_no] for b in booked if b.is_free}
    for ln in lines:
        if ln.is_free:
            key = (ln.sku_id, ln.scheme_ids[0])
            assert 0 < ln.qty_units <= min(earned[key], allocated_free[key])
            assert ln.total == 0 and ln.discount == ln.gross


@DB_SETTINGS
@given(spec=orders(), rise=places(4, 500).filter(lambda d: d > 0))
def test_a_price_changed_after_booking_is_invoiced_with_the_booked_price_kept(
        cast_a: Any, outlet: Outlet, spec: dict[str, Any], rise: Decimal) -> None:
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)) as scope, transaction.atomic():
        # given: a fully allocated order, then every booked SKU's list price raised
        skus, price_list = _catalogue(tid, spec)
        order = make_order(outlet, [(skus[i], cases, units) for i, cases, units in spec["lines"]])
        allocate_order(order, make_warehouse(outlet.distributor))
        booked = _lines(SecondaryOrderLine, order_id=order.pk)
        changed = {b.sku_id for b in booked if not b.is_free}
        for item in PriceListItem.objects.filter(price_list=price_list, sku_id__in=changed):
            PriceListItem.objects.filter(pk=item.pk).update(case_price=item.case_price + rise)
        # when
        invoice = invoice_issue(scope=scope, order_id=order.pk)
        lines = _lines(InvoiceLine.objects.select_related("sku"), invoice_id=invoice.pk)
        transaction.set_rollback(True)
    # then
    _assert_adds_up(invoice, lines)
    assert invoice.booked_total == order.total
    for ln in lines:
        if not ln.is_free and ln.sku_id in changed:
            assert ln.case_price == ln.booked_case_price + rise
            assert ln.gross >= next(b.gross for b in booked if b.pk == ln.order_line_id)
    assert invoice.gross > order.gross or all(ln.qty_units * rise < D("0.005") * ln.sku.units_per_case
                                              for ln in lines if not ln.is_free)
