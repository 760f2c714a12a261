"""Shared cast for the dispatch tests: tenant A's catalogue (three SKUs on one price list), a partially approved
primary order of distributor A1 and its dispatch advice, and helpers that read rows back in a tenant's scope. For
the load forms: the goods (SKUs with weights and volumes), A1's warehouse, the tenant's day and A1's staff. And
`race`, which runs callers at once on their own connections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import pytest

from dispatch.models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine
from dispatch.services import AdviceLineInput
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement, Warehouse
from invoicing.models import Invoice
from orders.models import PrimaryOrder, PrimaryOrderEvent
from tests.factories.catalog import Catalogue, make_catalogue
from tests.factories.dispatch import batch, issue, make_approved_order
from tests.factories.inventory import make_warehouse
from tests.factories.loading import LoadingCatalogue, invoiced, loading_catalogue, make_shop, staff_scope, tenant_today
from tests.threads import at_once
from webhooks.models import OutboxEvent


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def cat(tid: int) -> Catalogue:
    """Untaxed."""
    return make_catalogue(tid, taxed=False)


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


# --- load forms --------------------------------------------------------------------------------------------------

@pytest.fixture
def goods(tid: int) -> LoadingCatalogue:
    return loading_catalogue(tid)


@pytest.fixture
def wh(dist_a1: Distributor) -> Warehouse:
    return make_warehouse(dist_a1, code="A1-MAIN", name="A1 main")


@pytest.fixture
def invoices_xy(dist_a1: Distributor, goods: LoadingCatalogue, wh: Warehouse) -> list[Invoice]:
    """Two invoices to load: Shop X's (cola 2 cases) and Shop Y's (chips 1, water 2)."""
    return [invoiced(make_shop(dist_a1, code="X", name="Shop X"), [(goods.cola, 2)], wh),
            invoiced(make_shop(dist_a1, code="Y", name="Shop Y"), [(goods.chips, 1), (goods.water, 2)], wh)]


@pytest.fixture
def today(tid: int) -> date:
    return tenant_today(tid)


@pytest.fixture
def staff(cast_a: Any) -> Scope:
    """A1's staff as the services see them; the API and admin test modules override it with their client."""
    return staff_scope(cast_a)


# --- helpers ------------------------------------------------------------------------------------------------------

def race(scope: Scope, acts: list[Callable[[Scope], Any]]) -> list[Any]:
    """Run each act in its own thread (its own connection) in the scope, at once; their results or error codes."""

    def in_scope(act: Callable[[Scope], Any]) -> Any:
        with tenant_scope(scope):
            return act(scope)

    return [getattr(r, "code", repr(r)) if isinstance(r, Exception) else r
            for r in at_once([partial(in_scope, a) for a in acts])]


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
