"""invoice_issue: an allocated order becomes an invoice priced by the engine as of its booking date, billing what was
allocated; free goods are recomputed and capped by what was allocated; numbers per distributor and fiscal year."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.enums import SchemeKind, SlabBasis
from catalog.models import PriceListItem
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import StockMovement
from invoicing.models import Invoice, NumberSeries
from orders.models import OrderEvent, SecondaryOrder, SecondaryOrderLine
from tests.factories.catalog import make_outlet, make_scheme
from tests.factories.inventory import balance_of, make_warehouse
from tests.factories.invoicing import allocate_order, allocations_of, invoice_lines, issue
from tests.factories.orders import make_order

from .conftest import ISSUE_AT, in_a

pytestmark = pytest.mark.django_db
D = Decimal
AMOUNTS = ("gross", "discount", "tax", "total")


def order_lines(order: SecondaryOrder) -> list[SecondaryOrderLine]:
    with in_a(order.tenant_id):
        return list(SecondaryOrderLine.objects.filter(order_id=order.pk).order_by("line_no"))


def status_of(order: SecondaryOrder) -> str:
    with in_a(order.tenant_id):
        return SecondaryOrder.objects.get(pk=order.pk).status


def test_a_fully_allocated_order_is_invoiced_at_exactly_its_booked_figures(allocated, tid):
    # when
    invoice = issue(allocated, at=ISSUE_AT)
    # then: every line and total as booked, the booked figures kept beside them
    booked = order_lines(allocated)
    lines = invoice_lines(invoice)
    assert [(ln.sku_id, ln.cases, ln.units, ln.qty_units, ln.case_price, *(getattr(ln, a) for a in AMOUNTS))
            for ln in lines] == [
        (b.sku_id, b.cases, b.units, b.qty_units, b.case_price, *(getattr(b, a) for a in AMOUNTS)) for b in booked]
    assert [(ln.booked_case_price, ln.booked_qty_units, ln.order_line_id) for ln in lines] == [
        (b.case_price, b.qty_units, b.pk) for b in booked]
    assert (invoice.gross, invoice.discount, invoice.tax, invoice.total) == (
        allocated.gross, allocated.discount, allocated.tax, allocated.total)
    assert invoice.booked_total == allocated.total == sum((ln.total for ln in lines), D("0"))
    # cola: 42 units at 1234.5678 a case of 12 = 4320.99; chips 2 x 480 = 960; 17 % tax per line
    assert [ln.gross for ln in lines] == [D("4320.99"), D("960.00")]
    assert invoice.total == D("4320.99") + D("734.57") + D("960.00") + D("163.20")
    assert (invoice.number_text, invoice.fiscal_year, invoice.invoice_date.isoformat()) == (
        "INV/2025/000001", 2025, "2025-09-01")
    assert invoice.priced_on.isoformat() == "2025-06-02"
    # the order is invoiced, with an event naming the invoice; its allocations are invoiced
    assert status_of(allocated) == "invoiced"
    assert allocations_of(allocated) == [(1, "invoiced", 42), (2, "invoiced", 48)]
    with in_a(tid):
        event = OrderEvent.objects.filter(order_id=allocated.pk, to_status="invoiced").get()
    assert (event.from_status, event.detail["number"], event.detail["total"]) == (
        "allocated", "INV/2025/000001", str(invoice.total))


def test_issuing_again_returns_the_same_invoice_and_takes_no_number(allocated, outlet, cat, wh, tid):
    # given
    first = issue(allocated, at=ISSUE_AT)
    # when
    again = issue(allocated, at=ISSUE_AT)
    other = make_order(outlet, [(cat.water, 1)])
    allocate_order(other, wh)
    second = issue(other, at=ISSUE_AT)
    # then
    assert again.pk == first.pk
    assert second.number == 2
    with in_a(tid):
        assert Invoice.objects.filter(order_id=allocated.pk).count() == 1
        assert OrderEvent.objects.filter(order_id=allocated.pk, to_status="invoiced").count() == 1


def test_a_partial_allocation_bills_the_allocated_units_as_cases_and_units(outlet, cat, wh):
    # given: 3 cases 6 units of cola booked (42 units), 20 allocated; chips not allocated at all
    order = make_order(outlet, [(cat.cola, 3, 6), (cat.chips, 2)])
    allocate_order(order, wh, units={1: 20, 2: 0})
    # when
    invoice = issue(order, at=ISSUE_AT)
    # then
    [line] = invoice_lines(invoice)
    assert (line.sku_id, line.cases, line.units, line.qty_units) == (cat.cola.pk, 1, 8, 20)
    assert line.gross == D("2057.61")  # 1234.5678 x 20 / 12 = 2057.613
    assert line.tax == D("349.79") and line.total == D("2407.40") == invoice.total
    assert (line.booked_qty_units, line.booked_case_price) == (42, D("1234.5678"))
    assert invoice.booked_total == order.total != invoice.total
    assert status_of(order) == "invoiced"
    assert allocations_of(order) == [(1, "invoiced", 20), (2, "invoiced", 0)]


def test_only_an_allocated_order_is_invoiced_and_a_refusal_takes_no_number(outlet, cat, wh, tid):
    # given: a booked order, and an allocated one with nothing allocated
    booked = make_order(outlet, [(cat.cola, 1)])
    empty = make_order(outlet, [(cat.cola, 1)])
    allocate_order(empty, wh, units={1: 0})
    # when / then
    with pytest.raises(DomainError) as not_allocated:
        issue(booked, at=ISSUE_AT)
    with pytest.raises(DomainError) as nothing:
        issue(empty, at=ISSUE_AT)
    assert (not_allocated.value.code, not_allocated.value.status_code) == ("not_allocated", 409)
    assert (nothing.value.code, nothing.value.status_code) == ("nothing_allocated", 409)
    with in_a(tid):
        assert not Invoice.objects.exists()
        assert not NumberSeries.objects.exists()
    assert status_of(booked) == "booked" and status_of(empty) == "partially_allocated"


def test_a_sibling_distributors_order_is_not_found(allocated, cast_a, dist_a2):
    # given: a user scope of distributor A2
    scope = Scope(tenant_id=cast_a.tenant.pk, distributor_ids=frozenset({dist_a2.pk}), actor=Scope.system(1).actor)
    # when / then
    with pytest.raises(NotFound):
        issue(allocated, scope=scope)
    assert status_of(allocated) == "allocated"


def test_a_price_changed_after_booking_is_invoiced_with_the_booked_price_kept(allocated, cat, tid):
    # given: the list's cola price raised after the order was booked (same list, same validity)
    with in_a(tid):
        PriceListItem.objects.filter(price_list=cat.price_list, sku=cat.cola).update(case_price=D("1300.0000"))
    # when
    invoice = issue(allocated, at=ISSUE_AT)
    # then
    cola, chips = invoice_lines(invoice)
    assert (cola.case_price, cola.booked_case_price) == (D("1300.0000"), D("1234.5678"))
    assert cola.gross == D("4550.00")
    assert (chips.case_price, chips.booked_case_price) == (D("480.0000"), D("480.0000"))
    assert invoice.booked_total == allocated.total
    assert invoice.total - invoice.booked_total == (D("4550.00") - D("4320.99")) + (D("773.50") - D("734.57"))


@pytest.fixture
def free_water(tid, cat):
    """10 cases of cola earn 1 case of water (6 units)."""
    return make_scheme(tid, kind=SchemeKind.FREE_GOODS, basis=SlabBasis.QUANTITY, skus=[cat.cola],
                       slabs=[("10", "1", cat.water)])


def test_free_goods_are_recomputed_from_the_allocated_quantities_and_unearned_ones_released(
        outlet, cat, wh, free_water, tid):
    # given: 10 cases of cola book 1 free case of water; only 7 cases of cola are allocated, the free case fully
    order = make_order(outlet, [(cat.cola, 10)])
    assert [(ln.sku_id, ln.is_free, ln.qty_units) for ln in order_lines(order)] == [
        (cat.cola.pk, False, 120), (cat.water.pk, True, 6)]
    allocate_order(order, wh, units={1: 84}, reserve=True)
    assert balance_of(wh, cat.water) == (6, 6)
    # when
    invoice = issue(order, at=ISSUE_AT)
    # then: 7 cases earn nothing; the water is not invoiced and its reservation goes back
    assert [(ln.sku_id, ln.qty_units, ln.is_free) for ln in invoice_lines(invoice)] == [(cat.cola.pk, 84, False)]
    assert balance_of(wh, cat.water) == (6, 0)
    assert allocations_of(order) == [(1, "invoiced", 84), (2, "invoiced", 0)]
    with in_a(tid):
        release = StockMovement.objects.get(kind="release", sku=cat.water)
    assert (release.qty_units, release.reference_type, release.reference_id) == (-6, "secondary_order", order.pk)


def test_free_goods_are_capped_by_the_free_units_allocated(outlet, cat, wh, free_water):
    # given: 20 cases of cola book 2 free cases of water; cola fully allocated, only 8 of the 12 water units
    order = make_order(outlet, [(cat.cola, 20)])
    allocate_order(order, wh, units={2: 8}, reserve=True)
    # when
    invoice = issue(order, at=ISSUE_AT)
    # then
    cola, water = invoice_lines(invoice)
    assert (water.sku_id, water.is_free, water.cases, water.units, water.qty_units) == (cat.water.pk, True, 1, 2, 8)
    assert (water.gross, water.discount, water.tax, water.total) == (D("133.32"), D("133.32"), D("0.00"), D("0.00"))
    assert water.scheme_ids == [free_water.pk] and water.booked_qty_units == 12
    assert invoice.total == cola.total and invoice.gross == cola.gross + water.gross
    assert balance_of(wh, cat.water) == (8, 8)  # all 8 allocated units are invoiced: nothing released


def test_a_fully_allocated_order_with_free_goods_matches_its_booking(outlet, cat, wh, free_water):
    # given
    order = make_order(outlet, [(cat.cola, 20), (cat.chips, 1)])
    allocate_order(order, wh)
    # when
    invoice = issue(order, at=ISSUE_AT)
    # then
    booked = order_lines(order)
    assert [(ln.sku_id, ln.qty_units, ln.is_free, ln.scheme_ids, *(getattr(ln, a) for a in AMOUNTS))
            for ln in invoice_lines(invoice)] == [
        (b.sku_id, b.qty_units, b.is_free, b.scheme_ids, *(getattr(b, a) for a in AMOUNTS)) for b in booked]
    assert (invoice.gross, invoice.discount, invoice.total) == (order.gross, order.discount, order.total)


def test_numbers_restart_with_the_tenants_fiscal_year_and_count_per_distributor(outlet, cat, wh, dist_a2, tid):
    # given: tenant A's fiscal year starts on 1 July
    orders = [make_order(outlet, [(cat.water, 1)]) for _ in range(3)]
    sibling_outlet = make_outlet(dist_a2)
    sibling = make_order(sibling_outlet, [(cat.water, 1)])
    for order in orders:
        allocate_order(order, wh)
    allocate_order(sibling, make_warehouse(dist_a2))
    # when
    june = issue(orders[0], at=datetime(2025, 6, 30, 12, 0, tzinfo=UTC))
    july = issue(orders[1], at=datetime(2025, 7, 1, 12, 0, tzinfo=UTC))
    july_again = issue(orders[2], at=datetime(2025, 7, 2, 12, 0, tzinfo=UTC))
    other_distributor = issue(sibling, at=datetime(2025, 7, 2, 12, 0, tzinfo=UTC))
    # then
    assert [i.number_text for i in (june, july, july_again, other_distributor)] == [
        "INV/2024/000001", "INV/2025/000001", "INV/2025/000002", "INV/2025/000001"]
    with tenant_scope(Scope.system(tid)):
        assert sorted(NumberSeries.objects.values_list("distributor_id", "fiscal_year", "next_number")) == sorted([
            (outlet.distributor_id, 2024, 2), (outlet.distributor_id, 2025, 3), (dist_a2.pk, 2025, 2)])
