"""Two pushes of the same order uuid at once never make two orders: the outlet's credit lock serialises pushes
for one outlet, and the unique (distributor, uuid) constraint catches the rest."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders import selectors
from orders.models import SecondaryOrder
from orders.services import booking as booking_module
from orders.services import order_book
from tests.factories.catalog import make_outlet
from tests.factories.orders import booking_for
from tests.threads import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def race(tid: int, bookings: list[Any]) -> list[str]:
    def push(booking: Any) -> str:
        with tenant_scope(Scope.system(tid)) as scope:
            return order_book(scope=scope, booking=booking).outcome

    return sorted(repr(r) if isinstance(r, Exception) else r for r in at_once([partial(push, b) for b in bookings]))


def orders_of(tid: int) -> list[tuple[Any, int]]:
    with tenant_scope(Scope.system(tid)):
        return list(SecondaryOrder.objects.values_list("uuid", "outlet_id"))


def test_the_same_order_pushed_twice_at_once_is_booked_once(tid, cat, outlet, monkeypatch):
    # given: both pushes pass the unlocked "seen it already?" check before either books
    barrier = threading.Barrier(2)
    read = selectors.order_by_uuid

    def both_look_first(**kwargs: Any) -> Any:
        found = read(**kwargs)
        barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(selectors, "order_by_uuid", both_look_first)
    order_uuid = uuid.uuid4()
    booking = booking_for(outlet, [(cat.cola, 2)], uuid=order_uuid)
    # when
    outcomes = race(tid, [booking, booking])
    # then
    assert outcomes == ["applied", "duplicate"]
    assert orders_of(tid) == [(order_uuid, outlet.pk)]


def test_one_uuid_booked_for_two_outlets_at_once_is_caught_by_the_unique_constraint(tid, cat, outlet, dist_a1,
                                                                                    monkeypatch):
    # given: two outlets (two credit locks), and both pushes priced before either inserts
    other = make_outlet(dist_a1, credit_limit=Decimal("0"))
    barrier = threading.Barrier(2)
    price = booking_module.price_order

    def both_priced_first(**kwargs: Any) -> Any:
        priced = price(**kwargs)
        barrier.wait(timeout=10)
        return priced

    monkeypatch.setattr(booking_module, "price_order", both_priced_first)
    order_uuid = uuid.uuid4()
    # when
    outcomes = race(tid, [booking_for(outlet, [(cat.cola, 2)], uuid=order_uuid),
                          booking_for(other, [(cat.cola, 2)], uuid=order_uuid)])
    # then: the second insert waited for the first, failed on the constraint and found the first
    assert outcomes == ["applied", "conflict"]
    assert len(orders_of(tid)) == 1
