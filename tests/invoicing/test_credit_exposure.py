"""The booking credit check counts what an outlet owes on its invoices (invoicing.selectors.outlet_receivable,
registered into orders.selectors by InvoicingConfig.ready): an invoiced order moves from "open order" to "owed on
an invoice" without being counted twice, and a payment lowers the exposure by what was paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from invoicing.services import payment_record
from orders import selectors
from tests.factories.catalog import make_outlet
from tests.factories.invoicing import allocate_order, issue
from tests.factories.orders import make_order

from .conftest import in_a

pytestmark = pytest.mark.django_db


def exposure(tid: int, outlet: Any) -> Decimal:
    with in_a(tid) as scope:
        return selectors.outlet_open_total(scope=scope, outlet_id=outlet.pk)


def test_an_invoiced_order_is_owed_once_and_a_payment_lowers_the_exposure(tid, cat, wh, dist_a1):
    # given: an outlet with a credit limit and one booked order
    shop = make_outlet(dist_a1, code="EXPO-1", credit_limit=Decimal("100000.00"))
    order = make_order(shop, [(cat.cola, 2), (cat.chips, 1)])
    booked = exposure(tid, shop)
    assert booked == order.total > 0
    # when: it is allocated and invoiced
    allocate_order(order, wh, reserve=True)
    invoice = issue(order)
    # then: the same amount, now owed on the invoice, counted once
    assert exposure(tid, shop) == invoice.total == order.total
    # when: the outlet pays part of it
    with in_a(tid) as scope:
        payment_record(scope=scope, outlet_id=shop.pk, amount=Decimal("1000.00"), method="cash",
                       received_on=date.today(), idempotency_key="expo-pay-1")
    # then
    assert exposure(tid, shop) == invoice.total - Decimal("1000.00")
    # and a second booked order adds on top
    second = make_order(shop, [(cat.water, 3)])
    assert exposure(tid, shop) == invoice.total - Decimal("1000.00") + second.total
