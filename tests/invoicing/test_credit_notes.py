"""Credit notes never exceed the invoice (per line and in total, also when two are issued at once), a full credit
equals the invoice to the cent, partial credits are rounded per line, and returned goods come back into stock."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.enums import SchemeKind, SlabBasis
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import StockMovement
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, NumberSeries
from invoicing.services import credit_note_issue
from invoicing.services.credit_notes import credit_value
from tests.conftest import build_tenant
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_scheme, make_sku, make_tax_rate
from tests.factories.inventory import balance_of, make_warehouse
from tests.factories.invoicing import allocate_order, invoice_lines, issue, reload_invoice
from tests.factories.orders import make_order

from .conftest import ISSUE_AT, in_a

D = Decimal
AMOUNTS = ("gross", "discount", "tax", "total")


def credit(invoice: Invoice, lines: list[tuple[int, int]], *, reason: str = "return", restock: str = "",
           scope: Scope | None = None) -> CreditNote:
    scope = scope or Scope.system(invoice.tenant_id)
    with tenant_scope(scope):
        return credit_note_issue(scope=scope, invoice_id=invoice.pk, reason=reason, lines=lines, restock=restock)


def note_lines(note: CreditNote) -> list[CreditNoteLine]:
    with in_a(note.tenant_id):
        return list(CreditNoteLine.objects.filter(credit_note=note).order_by("line_no"))


@pytest.mark.django_db
def test_credits_of_a_line_add_up_to_it_and_a_full_credit_equals_the_invoice(allocated):
    # given
    invoice = issue(allocated, at=ISSUE_AT)
    cola, chips = invoice_lines(invoice)
    # when: 5 of 42 cola units, then 7, then the 30 left with all the chips
    notes = [credit(invoice, [(cola.pk, 5)]), credit(invoice, [(cola.pk, 7)]),
             credit(invoice, [(cola.pk, 30), (chips.pk, 48)], reason="cancellation")]
    # then: each partial credit rounded per line, pro rata
    first = note_lines(notes[0])[0]
    assert (first.gross, first.tax, first.total) == (D("514.40"), D("87.45"), D("601.85"))  # 4320.99 x 5/42
    fy = allocated.tenant.fiscal_year(timezone.now().astimezone(allocated.tenant.tz).date())  # notes are dated today
    assert [n.number_text for n in notes] == [f"CN/{fy}/000001", f"CN/{fy}/000002", f"CN/{fy}/000003"]
    # and every line, and the invoice, credited exactly
    for line in (cola, chips):
        credited = [cl for n in notes for cl in note_lines(n) if cl.invoice_line_id == line.pk]
        for name in AMOUNTS:
            assert sum((getattr(cl, name) for cl in credited), D("0")) == getattr(line, name), (line.line_no, name)
    assert sum((n.total for n in notes), D("0")) == invoice.total
    fresh = reload_invoice(invoice)
    assert fresh.credited_amount == invoice.total
    assert (fresh.payment_status, fresh.balance) == ("paid", D("0.00"))  # nothing left to collect


@pytest.mark.django_db
def test_more_than_is_left_of_a_line_is_refused_and_nothing_is_written(allocated, tid, cat):
    # given
    invoice = issue(allocated, at=ISSUE_AT)
    cola, chips = invoice_lines(invoice)
    credit(invoice, [(cola.pk, 40)])
    # when
    with pytest.raises(DomainError) as too_much:
        credit(invoice, [(chips.pk, 1), (cola.pk, 3)])
    with pytest.raises(DomainError) as foreign:
        credit(invoice, [(cola.pk + 1000, 1)])
    with pytest.raises(DomainError) as bad:
        credit(invoice, [(cola.pk, 0)], reason="whim")
    # then
    assert too_much.value.code == "credit_exceeds_invoice"
    assert too_much.value.fields == {"lines[1].qty_units": [
        "Only 2 of the 42 units of line 1 are left to credit; 3 asked."]}
    assert list(foreign.value.fields) == ["lines[0].invoice_line_id"]
    assert set(bad.value.fields) == {"reason", "lines[0].qty_units"}
    with in_a(tid):
        [note] = CreditNote.objects.all()
        assert NumberSeries.objects.get(kind="credit_note").next_number == 2
    assert reload_invoice(invoice).credited_amount == note.total


@pytest.mark.django_db
def test_a_note_of_free_goods_only_is_refused(outlet, cat, wh, tid):
    # given: 10 cases of cola earn a free case of water
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, basis=SlabBasis.QUANTITY, skus=[cat.cola],
                slabs=[("10", "1", cat.water)])
    order = make_order(outlet, [(cat.cola, 10)])
    allocate_order(order, wh)
    invoice = issue(order, at=ISSUE_AT)
    _cola, water = invoice_lines(invoice)
    assert water.is_free
    # when / then
    with pytest.raises(DomainError) as nothing:
        credit(invoice, [(water.pk, 6)])
    assert nothing.value.fields == {"lines": ["Worth nothing."]}
    with in_a(tid):
        assert not CreditNote.objects.exists()


@pytest.mark.django_db
def test_another_tenants_or_distributors_invoice_is_not_found(allocated, cast_b, dist_a2):
    # given
    invoice = issue(allocated, at=ISSUE_AT)
    cola, _chips = invoice_lines(invoice)
    sibling = Scope(tenant_id=invoice.tenant_id, distributor_ids=frozenset({dist_a2.pk}),
                    actor=Scope.system(1).actor)
    # when / then
    with pytest.raises(NotFound):
        credit(invoice, [(cola.pk, 1)], scope=Scope.system(cast_b.tenant.pk))
    with pytest.raises(NotFound):
        credit(invoice, [(cola.pk, 1)], scope=sibling)
    assert reload_invoice(invoice).credited_amount == D("0.00")


@pytest.mark.django_db
def test_saleable_returns_go_back_into_the_orders_warehouse(allocated, wh, cat, tid):
    # given: 42 cola and 48 chips received and reserved for the order
    invoice = issue(allocated, at=ISSUE_AT)
    cola, chips = invoice_lines(invoice)
    assert balance_of(wh, cat.cola) == (42, 42)
    # when
    note = credit(invoice, [(cola.pk, 5), (chips.pk, 24)], restock="saleable")
    # then
    assert balance_of(wh, cat.cola) == (47, 42) and balance_of(wh, cat.chips) == (72, 48)
    with in_a(tid):
        moves = list(StockMovement.objects.filter(reference_type="credit_note", reference_id=note.pk)
                     .order_by("sku_id").values_list("kind", "sku_id", "qty_units"))
    assert moves == sorted([("return", cat.cola.pk, 5), ("return", cat.chips.pk, 24)], key=lambda m: m[1])


@pytest.mark.django_db
def test_damaged_returns_are_recorded_and_written_off(allocated, wh, cat, tid):
    invoice = issue(allocated, at=ISSUE_AT)
    cola, _chips = invoice_lines(invoice)
    # when
    note = credit(invoice, [(cola.pk, 6)], reason="damage", restock="damaged")
    # then: on hand is back where it was; the ledger shows the return and the write-off
    assert balance_of(wh, cat.cola) == (42, 42)
    with in_a(tid):
        moves = list(StockMovement.objects.filter(reference_type="credit_note", reference_id=note.pk)
                     .order_by("id").values_list("kind", "qty_units", "reason"))
    assert moves == [("return", 6, f"{note.number_text}: damaged goods"),
                     ("adjustment", -6, f"{note.number_text}: returned damaged, written off")]


@pytest.mark.django_db
def test_no_restock_moves_no_stock(allocated, wh, cat, tid):
    invoice = issue(allocated, at=ISSUE_AT)
    cola, _chips = invoice_lines(invoice)
    credit(invoice, [(cola.pk, 6)], reason="price")
    assert balance_of(wh, cat.cola) == (42, 42)
    with in_a(tid):
        assert not StockMovement.objects.filter(reference_type="credit_note").exists()


# --- two credit notes at once ------------------------------------------------------------------------------------

def _concurrent_cast() -> tuple[Invoice, InvoiceLine]:
    cast = build_tenant("cn")
    tid = cast.tenant.pk
    make_tax_rate(tid, tax_class="STD", rate=D("0.1700"))
    sku = make_sku(tid, brand=make_brand(tid), units_per_case=12)
    make_price_list(tid, {sku: D("1234.5678")})
    order = make_order(make_outlet(cast.distributors[0], credit_limit=D("0")), [(sku, 3, 6)])
    allocate_order(order, make_warehouse(cast.distributors[0]))
    invoice = issue(order, at=ISSUE_AT)
    return invoice, invoice_lines(invoice)[0]


@pytest.mark.django_db(transaction=True)
def test_two_notes_at_once_never_credit_more_than_the_invoice():
    # given: an invoice of 42 units; two clerks credit 30 units each at the same moment
    invoice, line = _concurrent_cast()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def clerk() -> None:
        try:
            barrier.wait()
            credit(invoice, [(line.pk, 30)])
            outcomes.append("issued")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # then: one note, the other refused under the invoice's lock
    assert sorted(outcomes) == ["credit_exceeds_invoice", "issued"]
    with in_a(invoice.tenant_id):
        notes = list(CreditNote.objects.filter(invoice=invoice))
        assert len(notes) == 1 and notes[0].number == 1
        assert Invoice.objects.get(pk=invoice.pk).credited_amount == notes[0].total <= invoice.total


# --- the valuation rule, over many lines and sequences of credits ---------------------------------------------------

def _line(gross: Decimal, discount: Decimal, rate: Decimal, qty: int) -> InvoiceLine:
    net = gross - discount
    tax = (net * rate).quantize(D("0.01"))
    return InvoiceLine(gross=gross, discount=discount, tax=tax, total=net + tax, qty_units=qty)


@st.composite
def credit_runs(draw) -> tuple[InvoiceLine, list[int]]:  # type: ignore[no-untyped-def]
    qty = draw(st.integers(1, 500))
    gross = D(draw(st.integers(0, 10_000_000))).scaleb(-2)
    discount = min(gross, D(draw(st.integers(0, 10_000_000))).scaleb(-2))
    rate = D(draw(st.integers(0, 3000))).scaleb(-4)
    steps, left = [], qty
    while left > 0:
        step = draw(st.integers(1, left))
        steps.append(step)
        left -= step
    return _line(gross, discount, rate, qty), steps


@settings(max_examples=800, deadline=None)
@given(credit_runs())
def test_credits_are_never_negative_never_exceed_the_line_and_the_last_takes_the_rest(run) -> None:
    # given
    line, steps = run
    credited = {name: D("0.00") for name in AMOUNTS}
    done = 0
    for qty in steps:
        # when
        value = credit_value(line, before_qty=done, before=credited, qty=qty)
        # then
        assert all(value[name] >= 0 and value[name].as_tuple().exponent == -2 for name in AMOUNTS), value
        assert value["total"] == value["gross"] - value["discount"] + value["tax"]
        done += qty
        for name in AMOUNTS:
            credited[name] += value[name]
            assert credited[name] <= getattr(line, name)
    assert credited == {name: getattr(line, name) for name in AMOUNTS}
