"""Issue 5's flow end to end over HTTP, as the two parties do it: the distributor drafts and submits over its
session, the manufacturer's ERP approves part of it, issues the Dispatch Advice and reads stock over its API key,
the distributor records the receipt with a shortage and a damaged case, and stock rises by exactly the cases
received in good condition. Every step leaves its webhook event in the outbox."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement
from tests.factories.catalog import make_brand, make_price_list, make_sku
from webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def skus(cast_a: Any) -> tuple[Any, Any]:
    tid = cast_a.tenant.pk
    brand = make_brand(tid)
    cola = make_sku(tid, brand=brand, code="COLA-1L", units_per_case=12)
    chips = make_sku(tid, brand=brand, code="CHIPS-50", units_per_case=24)
    make_price_list(tid, {cola: Decimal("1234.5678"), chips: Decimal("480.0000")})
    return cola, chips


def on_hand(tid: int, sku: Any) -> int:
    with tenant_scope(Scope.system(tid)):
        return sum(StockBalance.objects.filter(sku=sku).values_list("on_hand", flat=True))


def test_submit_approve_in_part_dispatch_receive_short_and_stock_rises_by_exactly_what_was_received(
        cast_a, api_as, skus):
    tid, (cola, chips) = cast_a.tenant.pk, skus
    distributor = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    erp = api_as(cast_a.api_key_raw, kind="api_key")
    before = {cola.pk: on_hand(tid, cola), chips.pk: on_hand(tid, chips)}

    # the distributor drafts and submits
    r = distributor.post("/api/v1/orders/primary/", {"lines": [{"sku_id": cola.pk, "cases": 10},
                                                              {"sku_id": chips.pk, "cases": 5}]}, format="json")
    assert r.status_code == 201, r.content
    order_id, number = r.json()["id"], r.json()["number"]
    assert r.json()["total_ordered"] == "14745.68"  # 12,345.678 rounds to 12,345.68 on its line, + 2,400.00
    r = distributor.post(f"/api/v1/orders/primary/{order_id}/submit/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "submitted", r.content

    # the ERP finds it in its queue and approves 8 of the 10 cola, all the chips
    r = erp.get("/api/v1/manufacturer/primary-orders/", {"status": "submitted"})
    assert [o["number"] for o in r.json()["results"]] == [number]
    r = erp.post(f"/api/v1/manufacturer/primary-orders/{order_id}/decision/",
                 {"decisions": [{"sku_id": cola.pk, "approved_cases": 8, "note": "allocation cut"},
                                {"sku_id": chips.pk, "approved_cases": 5}]}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "partially_approved", r.content

    # the ERP dispatches 7 cola in two batches and the 5 chips, and a retry of the same DA is the same DA
    today = timezone.now().date()
    expiry = (today + timedelta(days=300)).isoformat()
    advice_body = {"reference": "SAP-DA-4711", "dispatched_on": today.isoformat(), "vehicle": "LES-1234",
                   "lines": [{"sku_id": cola.pk, "batches": [{"batch": "B1", "expiry": expiry, "cases": 5},
                                                             {"batch": "B2", "expiry": expiry, "cases": 2}]},
                             {"sku_id": chips.pk, "batches": [{"batch": "C9", "expiry": expiry, "cases": 5}]}]}
    r = erp.post(f"/api/v1/manufacturer/primary-orders/{order_id}/dispatch-advice/", advice_body, format="json")
    assert r.status_code == 201, r.content
    advice_id = r.json()["id"]
    again = erp.post(f"/api/v1/manufacturer/primary-orders/{order_id}/dispatch-advice/", advice_body, format="json")
    assert again.status_code == 200 and again.json()["id"] == advice_id

    # the distributor reads the DA: placed, approved and dispatched per line, with totals
    r = distributor.get(f"/api/v1/dispatch/advices/{advice_id}/")
    assert r.status_code == 200, r.content
    advice = r.json()
    by_sku = {line["sku"]: line for line in advice["lines"]}
    assert [(by_sku[s.pk]["ordered_cases"], by_sku[s.pk]["approved_cases"], by_sku[s.pk]["dispatched_cases"])
            for s in (cola, chips)] == [(10, 8, 7), (5, 5, 5)]
    assert (advice["total_ordered_cases"], advice["total_approved_cases"], advice["total_dispatched_cases"]) == (
        15, 13, 12)

    # the receipt: B1 in full, B2 one case short, chips one case damaged
    batch_ids = {b["batch"]: b["id"] for line in advice["lines"] for b in line["batches"]}
    r = distributor.post(f"/api/v1/dispatch/advices/{advice_id}/receipt/", {"lines": [
        {"batch_id": batch_ids["B1"], "received_cases": 5},
        {"batch_id": batch_ids["B2"], "received_cases": 1, "short_cases": 1},
        {"batch_id": batch_ids["C9"], "received_cases": 4, "damaged_cases": 1, "note": "crushed"},
    ]}, format="json")
    assert r.status_code == 201, r.content
    receipt = r.json()
    assert (receipt["total_received_cases"], receipt["total_short_cases"], receipt["total_damaged_cases"]) == (
        10, 1, 1)

    # stock rose by exactly the good cases, in units, each movement naming the GRN
    assert on_hand(tid, cola) - before[cola.pk] == 6 * 12
    assert on_hand(tid, chips) - before[chips.pk] == 4 * 24
    with tenant_scope(Scope.system(tid)):
        movements = StockMovement.objects.filter(reference_type="grn", reference_id=receipt["id"])
        assert sorted((m.sku_id, m.batch, m.qty_units) for m in movements) == sorted(
            [(cola.pk, "B1", 60), (cola.pk, "B2", 12), (chips.pk, "C9", 96)])
    # the manufacturer sees the same stock
    r = erp.get("/api/v1/manufacturer/stock/", {"sku": cola.pk})
    assert r.status_code == 200 and sum(row["on_hand_units"] for row in r.json()["results"]) == on_hand(tid, cola)

    # a shortage leaves the order received (a claim to settle); closing it is explicit
    r = distributor.get(f"/api/v1/orders/primary/{order_id}/")
    assert r.json()["status"] == "received"
    r = distributor.post(f"/api/v1/dispatch/primary-orders/{order_id}/close/", {"reason": "short claim credited"},
                         format="json")
    assert r.status_code == 200 and r.json()["status"] == "closed", r.content

    # every step is in the outbox for the manufacturer's webhooks, in order
    with tenant_scope(Scope.system(tid)):
        events = list(OutboxEvent.objects.order_by("pk").values_list("event_type", flat=True))
    assert events == ["primary_order.submitted", "primary_order.decided", "dispatch_advice.issued",
                      "goods_receipt.recorded", "primary_order.closed"]
