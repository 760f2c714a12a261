"""The commit of an allocation, and its release (see the package docstring)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.core.transitions import transition
from dms.tenancy.jobs import Progress
from dms.tenancy.scope import Scope
from orders.locks import lock_orders
from orders.models import OrderEvent, SecondaryOrder

from .. import selectors
from ..enums import MovementKind
from ..locks import lock_balances
from ..models import Allocation, AllocationStatus, StockBalance, Warehouse
from ..services import _change, _is_int, _write
from .plan import (
    ALLOCATED,
    ALREADY,
    MAX_ORDERS,
    PARTIAL,
    REFUSED,
    TEXT_MAX,
    E,
    LinePlan,
    OrderPlan,
    S,
    _all_or_nothing,
    _Batch,
    _check,
    _chosen_warehouse,
    _invalid,
    _plan,
    _read,
    _text,
)
from .policy import FIFO, POLICIES


@dataclass(frozen=True)
class PreviewChange:
    line_id: int
    expected_units: int
    allocated_units: int


@dataclass(frozen=True)
class AllocationResult:
    """One order of orders_allocate. `ok`: allocated (fully or partly) now or before; `status` is the order's now."""

    order_id: int
    ok: bool
    outcome: str
    status: str
    code: str = ""
    message: str = ""
    lines: tuple[LinePlan, ...] = ()
    changed_since_preview: tuple[PreviewChange, ...] = ()


def _check_expected(expected: Mapping[int, int] | None) -> dict[int, int]:
    if expected is None:
        return {}
    if not isinstance(expected, Mapping) or any(not _is_int(k) or not _is_int(v) or v < 0
                                                 for k, v in expected.items()):
        raise _invalid("expected", "Expected units are whole numbers of 0 or more, by order line id.")
    return dict(expected)


# --- the commit ----------------------------------------------------------------------------------------------------

def _write_order(scope: Scope, order: SecondaryOrder, plan: OrderPlan, warehouse: Warehouse,
                 balances: dict[int, StockBalance], *, policy: str, reason: str, run_id: int | None,
                 changed: Sequence[PreviewChange]) -> SecondaryOrder:
    """The allocations, the movements and the transition of one order, under the locks the caller holds."""
    Allocation.objects.bulk_create([
        Allocation(tenant_id=order.tenant_id, distributor_id=order.distributor_id, order_id=order.pk,
                   order_line_id=line.line_id, warehouse_id=warehouse.pk, sku_id=line.sku_id,
                   requested_units=line.requested_units, allocated_units=line.proposed_units, policy=policy,
                   explanation=line.explanation, run_id=run_id)
        for line in plan.lines if line.proposed_units > 0])
    per_sku: dict[int, int] = defaultdict(int)
    for line in plan.lines:
        per_sku[line.sku_id] += line.proposed_units
    text = reason or f"allocated: {POLICIES[policy].lower()}"
    _write(scope, warehouse, MovementKind.ALLOCATION,
           [_change(MovementKind.ALLOCATION, sku_id, units) for sku_id, units in sorted(per_sku.items()) if units],
           balances, reason=text, reference=("secondary_order", order.pk))
    detail: dict[str, Any] = {
        "policy": policy, "warehouse_id": warehouse.pk,
        "lines": [{"line_id": line.line_id, "line_no": line.line_no, "sku_id": line.sku_id,
                   "requested_units": line.requested_units, "allocated_units": line.proposed_units,
                   "explanation": line.explanation} for line in plan.lines]}
    if run_id is not None:
        detail["run_id"] = run_id
    if changed:
        detail["changed_since_preview"] = [vars(c) for c in changed]
    return transition(order, to=plan.outcome, actor=scope.actor, reason=text[:TEXT_MAX], event_model=OrderEvent,
                      event_fk="order", distributor_id=order.distributor_id, detail=detail)


def _commit(scope: Scope, batch: _Batch, plan: OrderPlan, *, policy: str, expected: Mapping[int, int],
            reason: str, run_id: int | None) -> AllocationResult:
    changed = tuple(PreviewChange(line.line_id, expected[line.line_id], line.proposed_units) for line in plan.lines
                    if line.line_id in expected and expected[line.line_id] != line.proposed_units)
    note = (f" Stock changed since the preview: {len(changed)} line{'s' if len(changed) != 1 else ''} differ."
            if changed else "")
    if plan.outcome not in (ALLOCATED, PARTIAL):
        return AllocationResult(plan.order_id, ok=plan.outcome == ALREADY, outcome=plan.outcome, status=plan.status,
                                code=plan.code, message=plan.message + note, lines=plan.lines,
                                changed_since_preview=changed)
    order = batch.orders[plan.order_id]
    warehouse = batch.where[order.distributor_id].warehouse
    assert warehouse is not None  # a planned order has a warehouse
    try:
        with transaction.atomic():
            order = _write_order(scope, order, plan, warehouse, batch.balances[warehouse.pk], policy=policy,
                                 reason=reason, run_id=run_id, changed=changed)
    except IntegrityError:
        # reserved <= on_hand, one live allocation per line: the database refused; this order's savepoint is gone
        return AllocationResult(plan.order_id, ok=False, outcome=REFUSED, status=S.CONFIRMED, code=E.STOCK_REFUSED,
                                message="The database refused the allocation; nothing was written for this order.",
                                lines=plan.lines, changed_since_preview=changed)
    except DomainError as exc:
        return AllocationResult(plan.order_id, ok=False, outcome=REFUSED, status=S.CONFIRMED, code=exc.code,
                                message=exc.message, lines=plan.lines, changed_since_preview=changed)
    return AllocationResult(plan.order_id, ok=True, outcome=plan.outcome, status=order.status,
                            message=plan.message + note, lines=plan.lines, changed_since_preview=changed)


def _allocate(scope: Scope, ids: list[int], *, warehouse_id: int | None, policy: str, expected: Mapping[int, int],
              reason: str, run_id: int | None = None, progress: Progress | None = None) -> list[AllocationResult]:
    batch = _read(scope, ids, _chosen_warehouse(scope, warehouse_id), lock=True)
    plan = _plan(batch, policy=policy, all_or_nothing=_all_or_nothing(scope))
    results = []
    for done, order_plan in enumerate(plan.orders, start=1):
        results.append(_commit(scope, batch, order_plan, policy=policy, expected=expected, reason=reason,
                               run_id=run_id))
        if progress is not None and (done % 50 == 0 or done == len(plan.orders)):
            progress(done, len(plan.orders), f"{done} of {len(plan.orders)} orders")
    return results


@transaction.atomic
def orders_allocate(*, scope: Scope, order_ids: Collection[int], warehouse_id: int | None = None,
                    policy: str = FIFO, expected: Mapping[int, int] | None = None,
                    reason: str = "") -> list[AllocationResult]:
    """Confirmed -> allocated | partially_allocated, for each order (at most MAX_ORDERS), with a result per order in
    order id order.

    Takes the orders' locks (by pk), then the balances' (by warehouse, sku), and plans under them exactly as
    allocation_plan does: the preview may be stale, so `expected` (the preview's proposed units by line id,
    AllocationPlan.proposed()) is compared, the order is still allocated, and the lines that differ are reported.
    An order that gets nothing stays confirmed (nothing_available); under the tenant's all-or-nothing policy a
    short order is refused and nothing is written for it. Idempotent: an allocated order is reported
    (already_allocated), never allocated twice. One savepoint per order: a refused order rolls back alone.
    """
    ids = _check(order_ids, policy, MAX_ORDERS)
    return _allocate(scope, ids, warehouse_id=warehouse_id, policy=policy, expected=_check_expected(expected),
                     reason=_text(reason))


# --- release -------------------------------------------------------------------------------------------------------

@transaction.atomic
def allocation_release(*, scope: Scope, order_id: int, reason: str) -> list[Allocation]:
    """Give back the stock of an order's active allocations: one RELEASE movement per warehouse and SKU (reference
    ("secondary_order", id), with the reason), and the allocations marked released. The order's status is the
    caller's business (orders.services.order_deallocate). Idempotent: with no active allocation nothing is
    written. Takes the order's lock (orders.locks), then the balances' (inventory.locks) in (warehouse, sku)
    order. Returns the allocations released."""
    order = lock_orders(scope).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    text = _text(reason) or "allocation released"
    active = list(selectors.allocation_active_list(scope=scope, order_id=order.pk))
    by_warehouse: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for allocation in active:
        by_warehouse[allocation.warehouse_id][allocation.sku_id] += allocation.allocated_units
    for warehouse_id in sorted(by_warehouse):
        # stock may be released from an inactive warehouse: it was reserved there
        warehouse = selectors.warehouse_get(scope=scope, pk=warehouse_id)
        per_sku = by_warehouse[warehouse_id]
        balances = lock_balances(scope, warehouse, per_sku)
        changes = [_change(MovementKind.RELEASE, sku_id, units) for sku_id, units in sorted(per_sku.items()) if units]
        if changes:
            _write(scope, warehouse, MovementKind.RELEASE, changes, balances, reason=text,
                   reference=("secondary_order", order.pk))
    released = Allocation.objects.filter(pk__in=[a.pk for a in active], status=AllocationStatus.ACTIVE).update(
        status=AllocationStatus.RELEASED, updated_at=timezone.now())
    if released != len(active):  # under the order's lock nobody else releases them
        raise InvalidTransition("Allocation", AllocationStatus.ACTIVE, AllocationStatus.RELEASED)
    for allocation in active:
        allocation.status = AllocationStatus.RELEASED
    return active
