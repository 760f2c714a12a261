"""Webhook events (OutboxEvent rows) written in the transaction of each change: the primary order's submit,
cancel, decision and close, the dispatch advice and the goods receipt; a refused change emits nothing."""

from __future__ import annotations

import pytest

from dispatch.services import AdviceLineInput, ReceiptLineInput
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders.services import primary_order_cancel
from tests.factories.dispatch import batches_of, issue, make_approved_order, receive
from tests.factories.orders import make_primary_order
from webhooks.models import OutboxEvent

from .conftest import PARTIAL_LINES, outbox

pytestmark = pytest.mark.django_db


def test_submit_decide_and_cancel_each_emit_the_order_with_its_lines(tid, cat, dist_a1):
    # when
    decided = make_approved_order(dist_a1, [(cat.cola, 3, 1), (cat.water, 2, 2)])
    cancelled = make_primary_order(dist_a1, [(cat.chips, 1)], submit=True)
    with tenant_scope(Scope.system(tid)) as scope:
        primary_order_cancel(scope=scope, order_id=cancelled.pk, reason="ordered twice")
    # then
    submitted = outbox(tid, "primary_order.submitted")
    assert [e["number"] for e in submitted] == ["PO-000001", "PO-000002"]
    assert submitted[0]["status"] == "submitted" and submitted[0]["distributor_code"] == dist_a1.code
    assert [(x["sku_code"], x["ordered_cases"], x["approved_cases"]) for x in submitted[0]["lines"]] == [
        ("COLA", 3, None), ("WATER", 2, None)]
    [decision] = outbox(tid, "primary_order.decided")
    assert (decision["id"], decision["status"], decision["total_approved"]) == (
        decided.pk, "partially_approved", "1434.55")  # 1234.57 + 2 x 99.99, money as strings
    assert [(x["approved_cases"], x["approved_value"]) for x in decision["lines"]] == [(1, "1234.57"), (2, "199.98")]
    [cancel] = outbox(tid, "primary_order.cancelled")
    assert (cancel["number"], cancel["status"], cancel["reason"]) == ("PO-000002", "cancelled", "ordered twice")


def test_issuing_emits_the_advice_with_ordered_approved_dispatched_and_batches(tid, order, dist_a1):
    # when
    advice = issue(order, PARTIAL_LINES, reference="SAP-7").advice
    # then
    [event] = outbox(tid, "dispatch_advice.issued")
    assert (event["id"], event["number"], event["reference"], event["order_id"], event["order_number"]) == (
        advice.pk, "DA-000001", "SAP-7", order.pk, "PO-000001")
    assert (event["distributor_id"], event["distributor_code"], event["dispatched_value"]) == (
        dist_a1.pk, dist_a1.code, "11041.97")
    assert [(x["line_no"], x["ordered_cases"], x["approved_cases"], x["dispatched_cases"]) for x in event["lines"]] \
        == [(1, 10, 8, 7), (2, 5, 5, 5), (3, 3, 0, 0)]
    assert [(b["batch"], b["expiry"], b["cases"]) for b in event["lines"][0]["batches"]] == [
        ("B1", "2027-01-31", 5), ("B2", "2027-01-31", 2)]
    with tenant_scope(Scope.system(tid)):
        assert OutboxEvent.objects.get(event_type="dispatch_advice.issued").distributor_id == dist_a1.pk


def test_a_refused_or_replayed_advice_emits_nothing_more(tid, order):
    issue(order, PARTIAL_LINES, reference="SAP-7")
    issue(order, PARTIAL_LINES, reference="SAP-7")
    with pytest.raises(DomainError):
        issue(order, [AdviceLineInput(line_no=1, dispatched_cases=1)], reference="SAP-8")
    assert len(outbox(tid, "dispatch_advice.issued")) == 1


def test_a_receipt_emits_its_figures_and_closes_the_order_only_when_exact(tid, order, advice):
    # given
    b1, b2, chips = batches_of(advice)
    # when
    receipt = receive(advice, [ReceiptLineInput(batch_id=b1.pk, received_cases=5),
                               ReceiptLineInput(batch_id=b2.pk, received_cases=0, short_cases=2),
                               ReceiptLineInput(batch_id=chips.pk, received_cases=4, damaged_cases=1)])
    # then
    [event] = outbox(tid, "goods_receipt.recorded")
    assert (event["id"], event["number"], event["advice_number"], event["order_number"]) == (
        receipt.pk, "GRN-000001", "DA-000001", "PO-000001")
    assert [(x["line_no"], x["batch"], x["received_cases"], x["short_cases"], x["damaged_cases"])
            for x in event["lines"]] == [(1, "B1", 5, 0, 0), (1, "B2", 0, 2, 0), (2, "", 4, 0, 1)]
    assert (event["total_received_cases"], event["total_short_cases"], event["total_damaged_cases"]) == (9, 2, 1)
    assert outbox(tid, "primary_order.closed") == []


def test_an_exact_receipt_emits_the_order_closed(tid, order, advice):
    receive(advice)
    [closed] = outbox(tid, "primary_order.closed")
    assert (closed["id"], closed["status"]) == (order.pk, "closed")
    assert closed["reason"].startswith("Received in full")
