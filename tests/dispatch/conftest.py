"""Shared cast for the dispatch tests: tenant A's catalogue (three SKUs on one price list), a partially approved
primary order of distributor A1 and its dispatch advice, and helpers that read rows back in a tenant's scope."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import PriceList, Sku
from dispatch.models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine
from dispatch.services import AdviceLineInput
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement
from orders.models import PrimaryOrder, PrimaryOrderEvent
from tests.factories.catalog import make_brand, make_price_list, make_sku
from tests.factories.dispatch import batch, issue, make_approved_order
from webhooks.models import OutboxEvent

D = Decimal


@dataclass
class Catalogue:
    cola: Sku  # 12 a case, 1234.5678 a case
    chips: Sku  # 24 a case, 480.0000 a case
    water: Sku  # 6 a case, 99.9900 a case
    price_list: PriceList


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def cat(tid: int) -> Catalogue:
    brand = make_brand(tid)
    cola = make_sku(tid, brand=brand, code="COLA", units_per_case=12)
    chips = make_sku(tid, brand=brand, code="CHIPS", units_per_case=24)
    water = make_sku(tid, brand=brand, code="WATER", units_per_case=6)
    pl = make_price_list(tid, {cola: D("1234.5678"), chips: D("480.0000"), water: D("99.9900")})
    return Catalogue(cola, chips, water, pl)


@pytest.fixture
def order(cat: Catalogue, dist_a1: Any) -> PrimaryOrder:
    """A1's order: cola 10 ordered / 8 approved, chips 5 / 5, water 3 / 0 (partially approved)."""
    return make_approved_order(dist_a1, [(cat.cola, 10, 8), (cat.chips, 5, 5), (cat.water, 3, 0)])


PARTIAL_LINES = [
    AdviceLineInput(line_no=1, batches=[batch("B1", 5), batch("B2", 2)]),
    AdviceLineInput(line_no=2, dispatched_cases=5),
]


@pytest.fixture
def advice(order: PrimaryOrder) -> DispatchAdvice:
    """`order` dispatched in part: cola 7 of 8 (batches B1 5, B2 2), chips 5 of 5 without batch detail."""
    return issue(order, PARTIAL_LINES).advice


def reload(obj: Any) -> Any:
    with tenant_scope(Scope.system(obj.tenant_id)):
        return type(obj).objects.get(pk=obj.pk)


def counts(tenant_id: int) -> dict[str, int]:
    """How many rows of each dispatch, stock and audit kind the tenant has."""
    models = {"advices": DispatchAdvice, "advice_lines": DispatchAdviceLine, "batches": DispatchBatch,
              "receipts": GoodsReceipt, "receipt_lines": GoodsReceiptLine, "movements": StockMovement,
              "balances": StockBalance, "order_events": PrimaryOrderEvent, "outbox": OutboxEvent}
    with tenant_scope(Scope.system(tenant_id)):
        return {name: model.objects.count() for name, model in models.items()}


def order_state(order: PrimaryOrder) -> tuple[str, list[tuple[str, str, str]]]:
    """The order's status and its status events (from, to, reason)."""
    with tenant_scope(Scope.system(order.tenant_id)):
        events = list(PrimaryOrderEvent.objects.filter(order_id=order.pk).exclude(to_status="")
                      .order_by("created_at", "id").values_list("from_status", "to_status", "reason"))
        return PrimaryOrder.objects.get(pk=order.pk).status, events


def outbox(tenant_id: int, event_type: str) -> list[dict[str, Any]]:
    """The `data` of the tenant's outbox events of a type, oldest first."""
    with tenant_scope(Scope.system(tenant_id)):
        return [e.payload["data"] for e in OutboxEvent.objects.filter(event_type=event_type).order_by("created_at",
                                                                                                      "id")]
