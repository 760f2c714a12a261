"""Delivery settlement: a full round (one invoice delivered, one partly delivered with a damaged return, one
returned), collections short, the settlement refused with every difference listed, corrected, then settled with
every figure reconciling: credit notes worth exactly what came back, stock back only when saleable, the ledger equal
to the balances, payments allocated, orders and invoices in their final states."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dispatch.models import DeliveryLine, LoadForm, LoadFormEvent, LoadFormInvoice
from dispatch.services import cash_record, load_form_settle
from dms.core.errors import DomainError
from dms.core.money import div, money, mul
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.scope import Actor, Scope
from inventory.models import StockMovement
from inventory.selectors import ledger_mismatches
from invoicing.models import CreditNote, Invoice, Payment, PaymentAllocation
from orders.models import OrderEvent, SecondaryOrder
from tests.factories.inventory import balance_of
from tests.factories.loading import (
    create,
    deliver,
    invoiced,
    lines_of,
    make_shop,
    make_vehicle,
    on_the_road,
    reload_load_form,
    stops,
)

pytestmark = pytest.mark.django_db
D = Decimal


def driver_scope(cast: Any, key: str = Role.DELIVERY_MAN) -> Scope:
    user = cast.users[key]
    distributor = cast.distributors[0] if key == Role.DELIVERY_MAN else cast.distributors[1]
    return Scope(tenant_id=cast.tenant.pk, distributor_ids=frozenset({distributor.pk}),
                 actor=Actor(kind=ActorKind.USER, id=user.pk, role=Role.DELIVERY_MAN, label=user.get_username()))


def collect(scope: Scope, load_form: LoadForm, outlet: Any, amount: Decimal, method: str = "cash", key: str = "",
            reference: str = "") -> Payment:
    with tenant_scope(scope):
        outlet_id = getattr(outlet, "pk", outlet)
        return cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=outlet_id, amount=amount, method=method,
                           idempotency_key=key or f"{outlet_id}-{method}-{amount}", reference=reference)


def settle(scope: Scope, load_form: LoadForm, cash: Decimal, cheques: Decimal = D("0"), **kw: Any) -> LoadForm:
    with tenant_scope(scope):
        return load_form_settle(scope=scope, load_form_id=load_form.pk, counted_cash=cash, counted_cheques=cheques,
                                **kw)


def invoice_of(invoice: Invoice) -> Invoice:
    with tenant_scope(Scope.system(invoice.tenant_id)):
        return Invoice.objects.get(pk=invoice.pk)


@pytest.fixture
def round_(tid: int, goods: Any, dist_a1: Any, wh: Any, staff: Scope, today: date, cast_a: Any) -> dict[str, Any]:
    """Three outlets and their invoices on one van, out for delivery, driven by A1's delivery man."""
    shops = [make_shop(dist_a1, code=code, name=f"Shop {code}") for code in ("X", "Y", "Z")]
    full = invoiced(shops[0], [(goods.cola, 2), (goods.chips, 1)], wh)
    part = invoiced(shops[1], [(goods.cola, 3), (goods.water, 2)], wh)
    back = invoiced(shops[2], [(goods.chips, 2)], wh)
    load_form = create(staff, make_vehicle(dist_a1), [full, part, back], today,
                       delivery_man_id=cast_a.users[Role.DELIVERY_MAN].pk)
    on_the_road(staff, load_form)
    return {"shops": shops, "full": full, "part": part, "back": back, "load_form": load_form}


def test_a_full_round_settles_only_once_every_figure_reconciles(tid, goods, wh, staff, cast_a, round_):
    x, y, z = round_["shops"]
    full, part, back, load_form = round_["full"], round_["part"], round_["back"], round_["load_form"]
    driver = driver_scope(cast_a)
    assert balance_of(wh, goods.cola) == (0, 0) and balance_of(wh, goods.chips) == (0, 0)  # all on the van
    cola_line, water_line = lines_of(part)
    # when: X takes everything, Y refuses 6 damaged cola units, Z returns its invoice (the delivery man records)
    deliver(driver, load_form, full)
    deliver(driver, load_form, part, "partially_delivered", lines=[(cola_line.pk, 30)], restock="damaged",
            return_reason="6 bottles broken")
    # and collects: X pays 100.00 short in cash, Y pays what it owes by cheque
    credit_y = invoice_of(part).credited_amount
    collect(driver, load_form, x, full.total - D("100.00"))
    collect(driver, load_form, y, part.total - credit_y, "cheque", reference="CHQ-778")
    # then: the settlement is refused, listing every difference: Z has no outcome (so its due is still expected),
    # X paid 100.00 short, the cash was miscounted
    with pytest.raises(DomainError) as refused:
        settle(staff, load_form, full.total - D("120.00"), part.total - credit_y)
    error = refused.value
    assert (error.code, error.status_code) == ("not_settled", 409)
    kinds = [(d["kind"], d.get("invoice_id") or d.get("method") or d.get("difference")) for d in
             error.extra["differences"]]
    assert kinds == [("not_accounted", back.pk), ("collection_short", str(-(back.total + D("100.00")))),
                     ("count", "cash")]
    short = error.extra["differences"][1]
    assert short["outlets"] == [
        {"outlet_id": x.pk, "outlet": "X Shop X", "expected": str(full.total), "collected": str(full.total - 100)},
        {"outlet_id": z.pk, "outlet": "Z Shop Z", "expected": str(back.total), "collected": "0.00"}]
    assert "20.00 short" in error.extra["differences"][2]["message"]
    assert error.fields["differences"][0] == f"{back.number_text} (Shop Z) has no delivery outcome."
    assert reload_load_form(load_form).status == "out_for_delivery"
    # when: corrected: Z's return is recorded, X's missing 100.00 is collected, the cash counted again
    deliver(driver, load_form, back, "returned", return_reason="shop closed", restock="saleable")
    collect(driver, load_form, x, D("100.00"), key="x-late")
    settled = settle(staff, load_form, full.total, part.total - credit_y)
    # then: settled, its figures the sum of the round
    fresh = reload_load_form(load_form)
    assert (settled.status, fresh.status) == ("settled", "settled")
    assert fresh.expected_cash == full.total + part.total - credit_y
    assert (fresh.collected_cash, fresh.collected_cheques) == (full.total, part.total - credit_y)
    assert (fresh.counted_cash, fresh.counted_cheques) == (full.total, part.total - credit_y)
    assert fresh.settled_at is not None
    # and the credit notes are worth exactly what came back, to the cent
    with tenant_scope(Scope.system(tid)) as system:
        notes = {n.invoice_id: n for n in CreditNote.objects.all()}
        assert set(notes) == {part.pk, back.pk}
        net, tax = cola_line.gross - cola_line.discount, cola_line.tax
        assert notes[part.pk].total == money(div(mul(net, 6), 36)) + money(div(mul(tax, 6), 36)) == D("702.00")
        assert (notes[part.pk].reason, notes[part.pk].restock) == ("damage", "damaged")
        assert (notes[back.pk].total, notes[back.pk].reason, notes[back.pk].restock) == (back.total, "return",
                                                                                         "saleable")
        # and the invoices and orders are in their final states, every invoice paid or credited in full
        invoices = {i.pk: i for i in Invoice.objects.filter(pk__in=[full.pk, part.pk, back.pk])}
        assert [(invoices[i.pk].status, invoices[i.pk].payment_status) for i in (full, part, back)] == [
            ("delivered", "paid"), ("partially_delivered", "paid"), ("returned", "paid")]
        assert invoices[part.pk].credited_amount + invoices[part.pk].paid_amount == part.total
        orders = dict(SecondaryOrder.objects.filter(pk__in=[full.order_id, part.order_id, back.order_id])
                      .values_list("pk", "status"))
        assert [orders[i.order_id] for i in (full, part, back)] == ["delivered", "partially_delivered", "returned"]
        assert OrderEvent.objects.filter(order_id=part.order_id, from_status="loaded",
                                         to_status="partially_delivered").count() == 1
        # and the money: three payments on the round, each allocated to its outlet's invoice
        payments = list(Payment.objects.filter(load_form_id=load_form.pk).order_by("pk"))
        assert [(p.outlet_id, p.method, p.amount) for p in payments] == [
            (x.pk, "cash", full.total - D("100.00")), (y.pk, "cheque", part.total - credit_y), (x.pk, "cash",
                                                                                                 D("100.00"))]
        assert sum(a.amount for a in PaymentAllocation.objects.filter(payment__in=payments)) == fresh.expected_cash
        # and the stock: Z's chips are back on hand, Y's broken cola came back and was written off
        moves = sorted(StockMovement.objects.filter(reference_type="credit_note").values_list(
            "kind", "sku_id", "qty_units"))
        assert moves == sorted([("return", goods.chips.pk, 48), ("return", goods.cola.pk, 6),
                                ("adjustment", goods.cola.pk, -6)])
        assert ledger_mismatches(scope=system) == []
        lines = sorted(DeliveryLine.objects.filter(stop__load_form=load_form).values_list(
            "invoice_line_id", "invoiced_units", "delivered_units", "returned_units"))
        assert (cola_line.pk, 36, 30, 6) in lines and (water_line.pk, 12, 12, 0) in lines
        actions = list(LoadFormEvent.objects.filter(load_form=load_form).values_list("action", flat=True))
        assert actions.count("delivery") == 3 and actions.count("collection") == 3 and actions[-1] == "transition"
    assert balance_of(wh, goods.chips) == (48, 0) and balance_of(wh, goods.cola) == (0, 0)
    assert balance_of(wh, goods.water) == (0, 0)


def test_recording_again_is_a_no_op_and_another_outcome_is_refused(tid, goods, staff, round_):
    load_form, full = round_["load_form"], round_["full"]
    first = deliver(staff, load_form, full)
    again = deliver(staff, load_form, full)
    assert (first.pk, again.pk, again.outcome) == (first.pk, first.pk, "delivered")
    with pytest.raises(DomainError) as other:
        deliver(staff, load_form, full, "returned", return_reason="changed")
    assert (other.value.code, other.value.status_code) == ("already_recorded", 409)
    # and a collection sent twice under one key is recorded once
    x = round_["shops"][0]
    one = collect(staff, load_form, x, D("50.00"), key="k-1")
    two = collect(staff, load_form, x, D("50.00"), key="k-1")
    assert one.pk == two.pk
    assert reload_load_form(load_form).collected_cash == D("50.00")


def test_refused_deliveries_name_the_field_and_write_nothing(tid, goods, staff, round_, dist_a1, wh):
    load_form, part, back = round_["load_form"], round_["part"], round_["back"]
    cola_line, water_line = lines_of(part)
    cases = [
        ({"outcome": "returned"}, "return_reason"),
        ({"outcome": "partially_delivered", "lines": [(cola_line.pk, 36)]}, "lines"),
        ({"outcome": "partially_delivered", "lines": [(cola_line.pk, 0), (water_line.pk, 0)]}, "lines"),
        ({"outcome": "partially_delivered", "lines": [(cola_line.pk, 37)]}, "lines[0].delivered_units"),
        ({"outcome": "partially_delivered", "lines": [(999_999, 1)]}, "lines[0].invoice_line_id"),
        ({"outcome": "lost"}, "outcome"),
        ({"outcome": "returned", "return_reason": "x", "restock": "maybe"}, "restock"),
    ]
    for kwargs, field in cases:
        with pytest.raises(DomainError) as refused:
            deliver(staff, load_form, part, **kwargs)
        assert refused.value.status_code == 400 and field in refused.value.fields, (kwargs, refused.value.fields)
    # an invoice that is not on the load form
    stranger = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    with pytest.raises(DomainError) as elsewhere:
        deliver(staff, load_form, stranger)
    assert elsewhere.value.fields == {"invoice_id": [f"Not on {load_form.number}."]}
    with tenant_scope(Scope.system(tid)):
        assert CreditNote.objects.count() == 0 and DeliveryLine.objects.count() == 0
        assert set(LoadFormInvoice.objects.filter(load_form=load_form).values_list("outcome", flat=True)) == {
            "pending"}
    assert invoice_of(back).status == "issued"


def test_nothing_is_recorded_before_the_van_leaves_or_after_it_settled(tid, goods, dist_a1, wh, staff, today):
    # given
    invoice = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    load_form = create(staff, make_vehicle(dist_a1), [invoice], today)
    # when / then
    with pytest.raises(DomainError) as early:
        deliver(staff, load_form, invoice)
    assert (early.value.code, early.value.status_code) == ("wrong_state", 409)
    with pytest.raises(DomainError) as not_out:
        settle(staff, load_form, D("0"))
    assert not_out.value.code == "invalid_transition"
    on_the_road(staff, load_form)
    deliver(staff, load_form, invoice)
    collect(staff, load_form, invoice.outlet_id, invoice.total)
    assert settle(staff, load_form, invoice.total).status == "settled"
    assert settle(staff, load_form, invoice.total).status == "settled"  # the same settlement again: a no-op
    with pytest.raises(DomainError) as late:
        deliver(staff, load_form, invoice)
    assert late.value.code == "wrong_state"
    with pytest.raises(DomainError) as recount:
        settle(staff, load_form, invoice.total - D("1.00"))
    assert recount.value.code == "wrong_state"


def test_an_invoice_left_on_account_settles_without_its_cash(tid, goods, staff, round_):
    # given: everything delivered, X and Y pay, Z pays nothing (the distributor gives it credit)
    load_form = round_["load_form"]
    x, y, _z = round_["shops"]
    for invoice in (round_["full"], round_["part"], round_["back"]):
        deliver(staff, load_form, invoice)
    collect(staff, load_form, x, round_["full"].total)
    collect(staff, load_form, y, round_["part"].total)
    cash = round_["full"].total + round_["part"].total
    with pytest.raises(DomainError) as short:
        settle(staff, load_form, cash)
    assert [d["kind"] for d in short.value.extra["differences"]] == ["collection_short"]
    # when
    settled = settle(staff, load_form, cash, on_account_invoice_ids=[round_["back"].pk])
    # then
    assert settled.status == "settled" and reload_load_form(load_form).expected_cash == cash
    assert {s.invoice_id: s.on_account for s in stops(load_form)} == {
        round_["full"].pk: False, round_["part"].pk: False, round_["back"].pk: True}
    assert invoice_of(round_["back"]).payment_status == "unpaid"


def test_a_delivery_man_records_on_his_own_load_form_only(tid, goods, cast_a, round_):
    load_form, full = round_["load_form"], round_["full"]
    other = driver_scope(cast_a, f"{Role.DELIVERY_MAN}@{cast_a.distributors[1].code}")
    # another distributor's delivery man does not even see it
    with pytest.raises(DomainError) as hidden:
        deliver(other, load_form, full)
    assert hidden.value.status_code == 404
    # and his own cannot settle it: that is the cashier's
    with pytest.raises(DomainError) as refused:
        settle(driver_scope(cast_a), load_form, D("0"))
    assert refused.value.status_code == 403
    assert deliver(driver_scope(cast_a), load_form, full).outcome == "delivered"


def test_one_outlet_paying_over_does_not_cover_another_outlets_shortfall(tid, goods, staff, round_):
    # given: everything delivered; X pays 50.00 of an old debt on top, Y pays 50.00 short, Z pays in full
    load_form = round_["load_form"]
    x, y, z = round_["shops"]
    for invoice in (round_["full"], round_["part"], round_["back"]):
        deliver(staff, load_form, invoice)
    collect(staff, load_form, x, round_["full"].total + D("50.00"))
    collect(staff, load_form, y, round_["part"].total - D("50.00"))
    collect(staff, load_form, z, round_["back"].total)
    cash = round_["full"].total + round_["part"].total + round_["back"].total
    # when: the totals match
    with pytest.raises(DomainError) as short:
        settle(staff, load_form, cash)
    # then: Y's shortfall is still listed, by outlet
    [difference] = short.value.extra["differences"]
    assert (difference["kind"], difference["difference"]) == ("collection_short", "-50.00")
    assert [o["outlet_id"] for o in difference["outlets"]] == [getattr(y, "pk", y)]
    assert "does not cover it" in difference["message"]
    # when: Y's invoice is left on account, it settles
    assert settle(staff, load_form, cash, on_account_invoice_ids=[round_["part"].pk]).status == "settled"
