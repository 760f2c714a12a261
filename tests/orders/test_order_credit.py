"""The credit check at booking and at edits, per the tenant's policy (TenantSettings.credit_check): exposure is the
outlet's open orders plus this one, against the outlet's credit limit (0 = none set)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from orders.enums import HoldKind, OrderStatus
from orders.errors import OrderError
from orders.services import BookedLine, order_confirm, order_edit, order_release_hold
from tests.factories.catalog import make_outlet
from tests.factories.orders import book, make_order
from tests.factories.pjp import staff_scope

from .conftest import count_orders, events_of, reload, set_credit_check, set_status

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def shop(dist_a1, cat):
    """An outlet with a credit limit of 5,000.00."""
    return make_outlet(dist_a1, code="CREDIT-1", credit_limit=D("5000.00"))


def test_an_order_over_the_credit_limit_is_held_with_the_amounts(cat, shop):
    # given: an open order of 4,333.33 (3 cases of cola)
    first = make_order(shop, [(cat.cola, 3)])
    assert reload(first).total == D("4333.33")
    # when: one more case (1,444.45) takes the exposure to 5,777.78
    order = reload(make_order(shop, [(cat.cola, 1)]))
    # then
    assert (order.hold, order.status, order.total) == (HoldKind.CREDIT, OrderStatus.BOOKED, D("1444.45"))
    assert order.hold_reason == ("Outlet CREDIT-1: open orders 4333.33 + this order 1444.45 = 5777.78 PKR, over its "
                                 "credit limit of 5000.00 PKR.")
    assert events_of(order)[0].detail["hold"] == {"kind": "credit", "reason": order.hold_reason}
    assert reload(first).hold == ""


def test_an_exposure_equal_to_the_limit_is_not_held(tid, cat, dist_a1):
    # given
    shop = make_outlet(dist_a1, credit_limit=D("5777.78"))
    make_order(shop, [(cat.cola, 3)])
    # when
    order = make_order(shop, [(cat.cola, 1)])
    # then
    assert reload(order).hold == ""


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.CLOSED])
def test_cancelled_and_closed_orders_do_not_count(cat, shop, status):
    # given
    set_status(make_order(shop, [(cat.cola, 3)]), status)
    # when
    order = make_order(shop, [(cat.cola, 1)])
    # then
    assert reload(order).hold == ""


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED])
def test_orders_on_their_way_count_until_invoiced(cat, shop, status):
    # (from invoiced on, the order is owed on its invoice: tests/invoicing/test_credit_exposure.py)
    set_status(make_order(shop, [(cat.cola, 3)]), status)
    assert reload(make_order(shop, [(cat.cola, 1)])).hold == HoldKind.CREDIT


def test_a_held_order_cannot_be_confirmed_until_the_hold_is_released(cat, shop, dist_a1):
    # given
    make_order(shop, [(cat.cola, 3)])
    held = make_order(shop, [(cat.cola, 1)])
    scope = staff_scope(dist_a1)
    # when
    with tenant_scope(scope), pytest.raises(DomainError) as exc:
        order_confirm(scope=scope, order_id=held.pk)
    with tenant_scope(scope):
        order_release_hold(scope=scope, order_id=held.pk, reason="owner paid cash for the last invoice")
        confirmed = order_confirm(scope=scope, order_id=held.pk)
    # then
    assert (exc.value.code, exc.value.status_code, set(exc.value.fields)) == (OrderError.ON_HOLD, 409, {"hold"})
    assert (confirmed.status, confirmed.hold, confirmed.hold_reason) == (OrderStatus.CONFIRMED, "", "")
    assert [(e.action, e.from_status, e.to_status, e.reason) for e in events_of(held)] == [
        ("booked", "", "booked", ""),
        ("hold_released", "", "", "owner paid cash for the last invoice"),
        ("transition", "booked", "confirmed", ""),
    ]
    assert events_of(held)[1].detail["hold"] == "credit"


def test_under_the_refuse_policy_an_order_over_the_limit_is_refused_and_nothing_written(tid, cat, shop):
    # given
    set_credit_check(tid, "refuse")
    make_order(shop, [(cat.cola, 3)])
    before = count_orders(tid)
    # when
    with pytest.raises(DomainError) as exc:
        book(shop, [(cat.cola, 1)])
    # then
    assert (exc.value.code, set(exc.value.fields)) == (OrderError.CREDIT_LIMIT, {"outlet_id"})
    assert "credit limit of 5000.00" in exc.value.message
    assert count_orders(tid) == before


def test_with_the_check_off_nothing_is_held(tid, cat, shop):
    set_credit_check(tid, "off")
    make_order(shop, [(cat.cola, 3)])
    assert reload(make_order(shop, [(cat.cola, 9)])).hold == ""


def test_a_credit_limit_of_zero_means_no_limit(cat, dist_a1):
    shop = make_outlet(dist_a1, credit_limit=D("0"))
    assert reload(make_order(shop, [(cat.cola, 90)])).hold == ""


def test_an_edit_from_the_app_over_the_limit_puts_the_order_on_hold_and_a_smaller_one_keeps_it(cat, shop):
    # given
    order_uuid = uuid.uuid4()
    book(shop, [(cat.cola, 1)], uuid=order_uuid)
    # when
    grown = book(shop, [(cat.cola, 4)], uuid=order_uuid)
    shrunk = book(shop, [(cat.cola, 1)], uuid=order_uuid, note="smaller again")
    # then: a hold is lifted by a person (order_release_hold), never by an edit
    assert reload(grown.order).version == 3
    assert (reload(shrunk.order).hold, shrunk.outcome) == (HoldKind.CREDIT, "applied")
    assert "hold" in events_of(grown.order)[1].detail and "hold" not in events_of(grown.order)[2].detail


def test_a_staff_edit_over_the_limit_is_held_or_refused_per_policy(tid, cat, shop, dist_a1):
    # given
    order = make_order(shop, [(cat.cola, 1)])
    scope = staff_scope(dist_a1)
    # when
    with tenant_scope(scope):
        edited = order_edit(scope=scope, order_id=order.pk, version=1, lines=[BookedLine(cat.cola.pk, 4)])
    set_credit_check(tid, "refuse")
    with tenant_scope(scope), pytest.raises(DomainError) as exc:
        order_edit(scope=scope, order_id=order.pk, version=2, lines=[BookedLine(cat.cola.pk, 5)])
    # then
    assert (edited.hold, edited.version) == (HoldKind.CREDIT, 2)
    assert exc.value.code == OrderError.CREDIT_LIMIT
    assert reload(order).version == 2
