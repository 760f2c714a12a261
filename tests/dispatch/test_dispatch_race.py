"""Retries that arrive together: two receipts of one DA record one GRN and raise stock once (the distributor's and
the DA's row locks); the ERP sending one dispatch advice twice at once gets one DA back both times."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dispatch import selectors as dispatch_selectors
from dispatch.models import DispatchAdvice, GoodsReceipt
from dispatch.services import advice_issue, receipt_record
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement
from tests.factories.dispatch import DISPATCHED_ON, erp_scope, in_full

from .conftest import PARTIAL_LINES, race

pytestmark = pytest.mark.django_db(transaction=True)


def both_past(monkeypatch: Any, name: str) -> None:
    """Hold both callers after `dispatch.selectors.<name>` (their unlocked look-up) until both have made it, so
    they reach the locks together."""
    barrier = threading.Barrier(2)
    original = getattr(dispatch_selectors, name)

    def wait_for_the_other(**kwargs: Any) -> Any:
        found = original(**kwargs)
        barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(dispatch_selectors, name, wait_for_the_other)


def test_two_receipts_of_one_advice_at_once_record_one_grn_and_raise_stock_once(tid, cat, advice, monkeypatch):
    # given
    lines = in_full(advice)
    both_past(monkeypatch, "advice_visible")

    def record(scope: Scope) -> str:
        return receipt_record(scope=scope, advice_id=advice.pk, lines=lines, received_on=DISPATCHED_ON).number

    # when
    outcomes = race(Scope.system(tid), [record, record])
    # then
    assert sorted(outcomes) == ["GRN-000001", "already_received"]
    with tenant_scope(Scope.system(tid)):
        assert GoodsReceipt.objects.count() == 1
        assert StockMovement.objects.filter(reference_type="grn").count() == 3
        assert dict(StockBalance.objects.values_list("sku_id", "on_hand")) == {cat.cola.pk: 84, cat.chips.pk: 120}


def test_one_advice_sent_twice_at_once_is_issued_once(tid, order, monkeypatch):
    # given
    both_past(monkeypatch, "primary_order_for_dispatch")

    def send(scope: Scope) -> tuple[int, bool]:
        result = advice_issue(scope=scope, order_id=order.pk, reference="SAP-1", dispatched_on=DISPATCHED_ON,
                              lines=PARTIAL_LINES)
        return result.advice.pk, result.created

    # when
    outcomes = race(erp_scope(tid), [send, send])
    # then
    with tenant_scope(Scope.system(tid)):
        pk = DispatchAdvice.objects.get().pk
    assert sorted(outcomes, key=str) == [(pk, False), (pk, True)]
