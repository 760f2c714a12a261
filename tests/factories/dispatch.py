"""Primary orders taken through approval, dispatch advices and goods receipts, all written through the services in
the owning tenant's scope, as production does."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date
from typing import Any

from catalog.models import Sku
from dispatch.models import DispatchAdvice, DispatchBatch, GoodsReceipt
from dispatch.services import (
    AdviceLineInput,
    BatchInput,
    IssueResult,
    ReceiptLineInput,
    advice_issue,
    receipt_record,
)
from dms.tenancy.context import current_scope_or_none, tenant_scope
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Actor, Scope
from orders.models import PrimaryOrder
from orders.services import LineDecision, primary_order_decide
from tests.factories.orders import make_primary_order

DISPATCHED_ON = date(2025, 6, 2)
EXPIRY = date(2027, 1, 31)


def erp_scope(tenant_id: int) -> Scope:
    """The manufacturer's ERP, as an API key acts (role manufacturer_system)."""
    return Scope(tenant_id=tenant_id, distributor_ids=None,
                 actor=Actor(kind=ActorKind.API_KEY, id=None, role=Role.MANUFACTURER_SYSTEM, label="api-key:test"))


def user_scope(user: Any, role: str, tenant_id: int, distributor: Distributor | None = None) -> Scope:
    """A signed-in user's scope (a distributor user's own distributor only)."""
    dids = frozenset({distributor.pk}) if distributor is not None else None
    return Scope(tenant_id=tenant_id, distributor_ids=dids,
                 actor=Actor(kind=ActorKind.USER, id=user.pk, role=role, label=user.get_username()))


@contextmanager
def entered(scope: Scope) -> Iterator[Scope]:
    """`scope`, inside its tenant (entered unless that tenant's scope is current already)."""
    current = current_scope_or_none()
    with nullcontext(current) if current is not None and current.tenant_id == scope.tenant_id else \
            tenant_scope(scope):
        yield scope


def make_approved_order(distributor: Distributor, lines: Sequence[tuple[Sku, int, int]]) -> PrimaryOrder:
    """A submitted primary order of (sku, ordered, approved) lines, decided by the ERP: approved, partially
    approved or rejected, as the figures say. The SKUs need a price valid today."""
    order = make_primary_order(distributor, [(sku, ordered) for sku, ordered, _ in lines], submit=True)
    with entered(erp_scope(distributor.tenant_id)) as scope:
        return primary_order_decide(scope=erp_scope(scope.tenant_id), order_id=order.pk, decisions=[
            LineDecision(line_no=i + 1, approved_cases=approved) for i, (_s, _o, approved) in enumerate(lines)])


def batch(code: str, cases: int, expiry: date | None = EXPIRY, made: date | None = None) -> BatchInput:
    return BatchInput(batch=code, expiry=expiry, manufactured_on=made, cases=cases)


def issue(order: PrimaryOrder, lines: Sequence[AdviceLineInput], *, reference: str = "ERP-DN-1",
          dispatched_on: date = DISPATCHED_ON, scope: Scope | None = None, **kw: Any) -> IssueResult:
    """Issue `order`'s dispatch advice as the ERP (or `scope`)."""
    scope = scope or erp_scope(order.tenant_id)
    with entered(scope):
        return advice_issue(scope=scope, order_id=order.pk, reference=reference, dispatched_on=dispatched_on,
                            lines=lines, **kw)


def batches_of(advice: DispatchAdvice) -> list[DispatchBatch]:
    """The DA's batches in line, then batch order (the order the receipt form lists them)."""
    with entered(Scope.system(advice.tenant_id)):
        return list(DispatchBatch.objects.filter(line__advice_id=advice.pk).select_related("line")
                    .order_by("line__line_no", "expiry", "batch", "id"))


def in_full(advice: DispatchAdvice) -> list[ReceiptLineInput]:
    """Every batch received in full."""
    return [ReceiptLineInput(batch_id=b.pk, received_cases=b.cases) for b in batches_of(advice)]


def receive(advice: DispatchAdvice, lines: Sequence[ReceiptLineInput] | None = None, *, scope: Scope | None = None,
            **kw: Any) -> GoodsReceipt:
    """Record the DA's goods receipt (every batch in full unless `lines` say otherwise) as `scope` (the system by
    default), on the dispatch day unless `received_on` is given."""
    scope = scope or Scope.system(advice.tenant_id)
    kw.setdefault("received_on", advice.dispatched_on)
    with entered(scope):
        return receipt_record(scope=scope, advice_id=advice.pk, lines=lines if lines is not None else in_full(advice),
                              **kw)
