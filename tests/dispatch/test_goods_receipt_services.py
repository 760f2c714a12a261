"""Recording goods receipts through receipt_record: stock rises by exactly the good cases, the DA and the order move
on (closed at once when nothing was short or damaged, else closed later with a reason); bad figures, missing
batches, a second receipt and intruders change nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from dispatch.enums import AdviceStatus
from dispatch.models import GoodsReceiptLine
from dispatch.services import ReceiptLineInput
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement, Warehouse
from orders.enums import PrimaryOrderStatus as Status
from orders.services import primary_order_close, primary_order_mark_dispatched, primary_order_mark_received
from tests.factories.dispatch import (
    DISPATCHED_ON,
    EXPIRY,
    batches_of,
    erp_scope,
    in_full,
    make_approved_order,
    receive,
    user_scope,
)
from tests.factories.inventory import make_warehouse

from .conftest import counts, order_state, reload

pytestmark = pytest.mark.django_db
D = Decimal


def stock(tenant_id: int) -> dict[tuple[str, int], int]:
    """On hand per (warehouse code, sku id)."""
    with tenant_scope(Scope.system(tenant_id)):
        return {(b.warehouse.code, b.sku_id): b.on_hand for b in StockBalance.objects.select_related("warehouse")}


def short_and_damaged(advice):
    """B1 (5): 4 received, 1 short; B2 (2): 1 received, 1 damaged; chips (5): all received."""
    b1, b2, chips = batches_of(advice)
    return [ReceiptLineInput(batch_id=b1.pk, received_cases=4, short_cases=1, note="one case missing"),
            ReceiptLineInput(batch_id=b2.pk, received_cases=1, damaged_cases=1),
            ReceiptLineInput(batch_id=chips.pk, received_cases=5)]


def test_a_receipt_with_shortage_and_damage_raises_stock_by_the_good_cases_only(tid, cat, order, advice, dist_a1):
    # when
    receipt = receive(advice, short_and_damaged(advice))
    # then: the GRN and its lines
    assert receipt.number == "GRN-000001"
    assert (receipt.total_dispatched_cases, receipt.total_received_cases, receipt.total_short_cases,
            receipt.total_damaged_cases) == (12, 10, 1, 1)
    assert receipt.received_value == D("6172.84") + D("2400.00")  # 5 x 1234.5678 rounded, 5 x 480
    with tenant_scope(Scope.system(tid)):
        lines = list(GoodsReceiptLine.objects.filter(receipt=receipt).order_by("id").values_list(
            "batch", "dispatched_cases", "received_cases", "short_cases", "damaged_cases", "received_units"))
        movements = list(StockMovement.objects.filter(reference_type="grn", reference_id=receipt.pk)
                         .order_by("batch").values_list("sku_id", "kind", "qty_units", "batch", "expiry"))
        warehouse = Warehouse.objects.get(pk=receipt.warehouse_id)
    assert lines == [("B1", 5, 4, 1, 0, 48), ("B2", 2, 1, 0, 1, 12), ("", 5, 5, 0, 0, 120)]
    # stock: exactly the received units, one movement per (batch, expiry), in the default warehouse
    assert warehouse.is_default and warehouse.distributor_id == dist_a1.pk
    assert movements == [(cat.chips.pk, "receipt", 120, "", None), (cat.cola.pk, "receipt", 48, "B1", EXPIRY),
                         (cat.cola.pk, "receipt", 12, "B2", EXPIRY)]
    assert stock(tid) == {(warehouse.code, cat.cola.pk): 60, (warehouse.code, cat.chips.pk): 120}
    # the DA is received, the order received but not closed: the discrepancy is open
    assert reload(advice).status == AdviceStatus.RECEIVED
    status, events = order_state(order)
    assert status == Status.RECEIVED
    assert events[-1][:2] == (Status.DISPATCHED, Status.RECEIVED) and "GRN-000001" in events[-1][2]


def test_an_exact_receipt_closes_the_order(tid, order, advice):
    # when
    receive(advice)
    # then
    status, events = order_state(order)
    assert status == Status.CLOSED
    assert [e[:2] for e in events[-2:]] == [(Status.DISPATCHED, Status.RECEIVED), (Status.RECEIVED, Status.CLOSED)]
    assert "Received in full" in events[-1][2]


def test_a_received_order_is_closed_with_a_reason_once_the_discrepancy_is_settled(tid, cast_a, order, advice,
                                                                                  dist_a1):
    # given
    receive(advice, short_and_damaged(advice))
    staff = user_scope(cast_a.users[Role.DISTRIBUTOR_STAFF], Role.DISTRIBUTOR_STAFF, tid, dist_a1)
    with tenant_scope(staff):
        # when: no reason
        with pytest.raises(DomainError) as no_reason:
            primary_order_close(scope=staff, order_id=order.pk, reason=" ")
        assert list(no_reason.value.fields) == ["reason"]
        # when: with one
        closed = primary_order_close(scope=staff, order_id=order.pk, reason="Credit note CN-7 for the short case")
    # then
    assert closed.status == Status.CLOSED
    assert order_state(order)[1][-1] == (Status.RECEIVED, Status.CLOSED, "Credit note CN-7 for the short case")


def test_closing_an_order_in_transit_is_a_409_and_an_analyst_may_not_close(tid, cast_a, order, advice):
    analyst = user_scope(cast_a.users[Role.MANUFACTURER_ANALYST], Role.MANUFACTURER_ANALYST, tid)
    with tenant_scope(Scope.system(tid)) as system:
        with pytest.raises(DomainError) as early:
            primary_order_close(scope=system, order_id=order.pk, reason="settled")
    with tenant_scope(analyst):
        with pytest.raises(DomainError) as refused:
            primary_order_close(scope=analyst, order_id=order.pk, reason="settled")
    assert (early.value.status_code, early.value.code) == (409, "invalid_transition")
    assert refused.value.status_code == 403
    assert order_state(order)[0] == Status.DISPATCHED


def test_batches_can_be_named_by_line_and_code_and_go_to_a_named_warehouse(tid, cat, advice, dist_a1):
    # given
    store = make_warehouse(dist_a1, code="A1-COLD", name="Cold store")
    # when
    receipt = receive(advice, [ReceiptLineInput(line_no=2, received_cases=5),
                               ReceiptLineInput(line_no=1, batch="B2", received_cases=2),
                               ReceiptLineInput(line_no=1, batch="B1", received_cases=5)], warehouse_id=store.pk)
    # then
    assert receipt.warehouse_id == store.pk and receipt.total_received_cases == 12
    assert stock(tid) == {("A1-COLD", cat.cola.pk): 84, ("A1-COLD", cat.chips.pk): 120}


def _bad(advice, sibling_warehouse):
    b1, b2, chips = batches_of(advice)
    full = in_full(advice)
    return {
        "figures that do not add up": ({"lines": [ReceiptLineInput(batch_id=b1.pk, received_cases=4), *full[1:]]},
                                       {"lines[0].received_cases"}),
        "a negative figure": ({"lines": [ReceiptLineInput(batch_id=b1.pk, received_cases=6, short_cases=-1),
                                         *full[1:]]}, {"lines[0].short_cases"}),
        "a missing batch": ({"lines": full[:2]}, {"lines"}),
        "a batch twice": ({"lines": [*full, ReceiptLineInput(batch_id=chips.pk, received_cases=5)]},
                          {"lines[3].batch_id"}),
        "an unknown batch": ({"lines": [ReceiptLineInput(batch_id=987654, received_cases=1), *full[1:]]},
                             {"lines[0].batch_id", "lines"}),
        "a line of several batches without the code": ({"lines": [ReceiptLineInput(line_no=1, received_cases=7),
                                                                  full[2]]}, {"lines[0].batch", "lines"}),
        "a line that dispatched nothing": ({"lines": [*full, ReceiptLineInput(line_no=3, received_cases=0)]},
                                           {"lines[3].line_no"}),
        "a receipt before the dispatch": ({"received_on": DISPATCHED_ON - timedelta(days=1)}, {"received_on"}),
        "a receipt in the future": ({"received_on": DISPATCHED_ON + timedelta(days=3650)}, {"received_on"}),
        "another distributor's warehouse": ({"warehouse_id": sibling_warehouse.pk}, {"warehouse_id"}),
    }


BAD_CASES = ["figures that do not add up", "a negative figure", "a missing batch", "a batch twice", "an unknown batch",
             "a line of several batches without the code", "a line that dispatched nothing",
             "a receipt before the dispatch", "a receipt in the future", "another distributor's warehouse"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_receipts_are_400s_naming_the_field_and_write_nothing(tid, order, advice, dist_a2, case):
    # given
    kwargs, fields = _bad(advice, make_warehouse(dist_a2, code="A2-WH"))[case]
    before, state = counts(tid), order_state(order)
    # when
    with pytest.raises(DomainError) as caught:
        receive(advice, **kwargs)
    # then
    assert caught.value.status_code == 400 and set(caught.value.fields) == fields
    assert counts(tid) == before and order_state(order) == state
    assert reload(advice).status == AdviceStatus.ISSUED


def test_a_second_receipt_is_a_409_and_stock_rises_once(tid, cat, order, advice):
    # given
    receive(advice, short_and_damaged(advice))
    before, on_hand = counts(tid), stock(tid)
    # when
    with pytest.raises(DomainError) as caught:
        receive(advice)
    # then
    assert (caught.value.status_code, caught.value.code) == (409, "already_received")
    assert "GRN-000001" in caught.value.message
    assert counts(tid) == before and stock(tid) == on_hand


def test_a_sibling_distributor_finds_no_advice_and_the_erp_may_not_receive(tid, cast_a, advice, dist_a2):
    before = counts(tid)
    sibling = user_scope(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{dist_a2.code}"], Role.DISTRIBUTOR_STAFF, tid,
                         dist_a2)
    with pytest.raises(DomainError) as hidden:
        receive(advice, scope=sibling)
    with pytest.raises(DomainError) as refused:
        receive(advice, scope=erp_scope(tid))
    assert (hidden.value.status_code, refused.value.status_code) == (404, 403)
    assert counts(tid) == before


def test_the_manufacturers_admin_may_receive_for_a_distributor(tid, cast_a, order, advice):
    admin = user_scope(cast_a.users[Role.MANUFACTURER_ADMIN], Role.MANUFACTURER_ADMIN, tid)
    receipt = receive(advice, scope=admin)
    assert receipt.received_by_id == cast_a.users[Role.MANUFACTURER_ADMIN].pk
    assert order_state(order)[0] == Status.CLOSED


def test_the_dispatch_transitions_of_the_order_refuse_the_wrong_state_and_repeat_as_no_ops(tid, cat, order, advice,
                                                                                            dist_a1):
    # given: `order` is dispatched; another is only approved
    approved = make_approved_order(dist_a1, [(cat.cola, 1, 1)])
    before = counts(tid)
    with tenant_scope(Scope.system(tid)) as scope:
        # when / then: receiving goods that were never dispatched, dispatching a dispatched order again
        with pytest.raises(DomainError) as early:
            primary_order_mark_received(scope=scope, order_id=approved.pk)
        assert (early.value.status_code, early.value.code) == (409, "invalid_transition")
        assert primary_order_mark_dispatched(scope=scope, order_id=order.pk).status == Status.DISPATCHED
    assert counts(tid) == before
