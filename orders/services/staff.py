"""What distributor staff do with booked orders (DESIGN §3): confirm, cancel, release a credit hold, edit while
booked; and the bulk forms of confirm and cancel. The later states (allocated, invoiced, ...) belong to their apps.

Deallocating (allocated or partially allocated -> confirmed) is here because it is the way back for staff: DESIGN
§3 cancels only booked and confirmed orders, so an allocated order is deallocated first (its stock released by
inventory.allocation.allocation_release), then cancelled or allocated again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Final, Literal

from django.db import transaction

from catalog.pricing import PricedOrder
from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.core.transitions import transition
from dms.tenancy.scope import Scope

from .. import selectors
from ..enums import HoldKind, OrderStatus
from ..errors import OrderError
from ..locks import lock_orders, lock_outlet_credit
from ..models import OrderEvent, SecondaryOrder, SecondaryOrderLine
from .booking import NOTE_MAX
from .common import (
    BookedLine,
    add_error,
    credit_check,
    line_errors,
    order_policy,
    price_order,
    raise_field_errors,
    record,
    set_totals,
    store_lines,
)

MAX_BULK = 500
ALLOCATED_STATES = frozenset({OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED})
REASON_MAX = OrderEvent._meta.get_field("reason").max_length or 300


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP  # order_edit: leave the delivery date as it is (None clears it)


@dataclass(frozen=True)
class BulkResult:
    """One order of a bulk action: done (with the status it has now) or refused (code and message)."""

    order_id: int
    ok: bool
    status: str = ""
    code: str = ""
    message: str = ""


def _locked(scope: Scope, order_id: int) -> SecondaryOrder:
    order = lock_orders(scope).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(OrderError.INVALID, f"Say why the order is {what}.",
                          fields={"reason": [f"Say why the order is {what}."]})
    if len(reason) > REASON_MAX:
        raise DomainError(OrderError.INVALID, f"A reason has at most {REASON_MAX} characters.",
                          fields={"reason": [f"At most {REASON_MAX} characters."]})
    return reason


def _transition(scope: Scope, order: SecondaryOrder, to: str, reason: str) -> SecondaryOrder:
    return transition(order, to=to, actor=scope.actor, reason=reason[:REASON_MAX], event_model=OrderEvent,
                      event_fk="order", distributor_id=order.distributor_id)


@transaction.atomic
def order_confirm(*, scope: Scope, order_id: int, reason: str = "") -> SecondaryOrder:
    """Booked -> confirmed. Idempotent: confirming a confirmed order changes nothing. An order on hold is refused
    (ON_HOLD, 409) until the hold is released. Takes the order's lock."""
    order = _locked(scope, order_id)
    if order.status == OrderStatus.CONFIRMED:
        return order
    if order.status != OrderStatus.BOOKED:
        # the table also leads allocated orders back to confirmed, but only order_deallocate, which releases
        # their stock, may take that way
        raise InvalidTransition("SecondaryOrder", order.status, OrderStatus.CONFIRMED)
    if order.hold:
        message = (f"The order is on {order.hold} hold ({order.get_hold_display().lower()}): release the hold "
                   "first.")
        raise DomainError(OrderError.ON_HOLD, message, fields={"hold": [order.hold_reason or message]},
                          status_code=409)
    return _transition(scope, order, OrderStatus.CONFIRMED, reason)


@transaction.atomic
def order_cancel(*, scope: Scope, order_id: int, reason: str) -> SecondaryOrder:
    """Booked or confirmed -> cancelled; the reason is required. Idempotent: a cancelled order stays as it is.
    Cancelling takes the order out of the outlet's credit exposure. Takes the order's lock."""
    order = _locked(scope, order_id)
    reason = _reason(reason, "cancelled")
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status in ALLOCATED_STATES:
        refused = InvalidTransition("SecondaryOrder", order.status, OrderStatus.CANCELLED)
        refused.message = (f"The order is {order.get_status_display().lower()}: deallocate it first (its stock is "
                           "released), then cancel it.")
        raise refused
    return _transition(scope, order, OrderStatus.CANCELLED, reason)


@transaction.atomic
def order_deallocate(*, scope: Scope, order_id: int, reason: str) -> SecondaryOrder:
    """Allocated or partially allocated -> confirmed: the order's reserved stock is given back (RELEASE movements,
    its allocations marked released) so that it can be cancelled or allocated again; the reason is required and
    the event lists what was released. Idempotent: a confirmed order is returned as it is. Other states are an
    InvalidTransition (409). Takes the order's lock, then the stock balances' (inventory.locks)."""
    # inventory builds on orders (its allocations point at order lines): imported here, not at the top
    from inventory.allocation import allocation_release

    order = _locked(scope, order_id)
    reason = _reason(reason, "deallocated")
    if order.status == OrderStatus.CONFIRMED:
        return order
    if order.status not in ALLOCATED_STATES:
        raise InvalidTransition("SecondaryOrder", order.status, OrderStatus.CONFIRMED)
    released = allocation_release(scope=scope, order_id=order.pk, reason=reason)
    detail = {"released": [{"line_id": a.order_line_id, "sku_id": a.sku_id, "warehouse_id": a.warehouse_id,
                            "units": a.allocated_units} for a in released]}
    return transition(order, to=OrderStatus.CONFIRMED, actor=scope.actor, reason=reason[:REASON_MAX],
                      event_model=OrderEvent, event_fk="order", distributor_id=order.distributor_id, detail=detail)


@transaction.atomic
def order_release_hold(*, scope: Scope, order_id: int, reason: str) -> SecondaryOrder:
    """Clear a booked order's credit hold (a "hold_released" event with the reason, which is required), so it can
    be confirmed. Idempotent: an order not on hold is returned as it is. Takes the order's lock."""
    order = _locked(scope, order_id)
    reason = _reason(reason, "released")
    if not order.hold:
        return order
    if order.status != OrderStatus.BOOKED:
        raise DomainError(OrderError.NOT_BOOKED, f"The order is {order.get_status_display().lower()}: only a booked "
                          "order's hold can be released.", fields={"status": ["Not booked."]}, status_code=409)
    detail = {"hold": order.hold, "hold_reason": order.hold_reason}
    order.hold, order.hold_reason = HoldKind.NONE, ""
    order.save(update_fields=["hold", "hold_reason", "updated_at"])
    record(order, action="hold_released", actor=scope.actor, reason=reason, detail=detail)
    return order


@transaction.atomic
def order_edit(*, scope: Scope, order_id: int, version: int, lines: Sequence[BookedLine] | None = None,
               note: str | None = None, delivery_date: date | None | Literal[_Keep.KEEP] = KEEP,
               reason: str = "") -> SecondaryOrder:
    """Staff change a booked order's lines, note or delivery date. `version` is the version the caller edited: a
    newer one is a 409 (STALE_VERSION), so two editors never overwrite each other unknowingly.

    New lines are re-priced by the catalogue's engine as of the order's booking date (the prices the outlet was
    offered) and replace the old ones; the credit check runs again and may put the order on hold (or refuse the
    edit), never lift a hold. What the app showed stays as it was: each SKU keeps the device case price it was
    booked with, and device_total and price_flag describe the booking. Only a booked order can be edited
    (NOT_BOOKED, 409). Idempotent: no change, no new version. Takes the outlet's credit lock, then the order's.
    """
    outlet = lock_outlet_credit(scope, selectors.order_visible(scope=scope, pk=order_id).outlet_id)
    order = _locked(scope, order_id)
    if order.version != version:
        raise DomainError(OrderError.STALE_VERSION,
                          f"The order changed since version {version}: it is at version {order.version}. Reload it "
                          "and try again.", fields={"version": [f"The order is at version {order.version}."]},
                          status_code=409)
    if order.status not in SecondaryOrder.EDITABLE:
        raise DomainError(OrderError.NOT_BOOKED, f"The order is {order.get_status_display().lower()}: only a booked "
                          "order can be edited.", fields={"status": ["Not booked."]}, status_code=409)
    policy = order_policy(scope)
    booked_on = policy.local_date(order.booked_at)
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if note is not None and note != order.note:
        if len(note) > NOTE_MAX:
            add_error(errors, "note", f"A note has at most {NOTE_MAX} characters.")
        changed.append("note")
    if delivery_date is not KEEP and delivery_date != order.delivery_date:
        if delivery_date is not None and delivery_date < booked_on:
            add_error(errors, "delivery_date", f"The delivery date is before the booking date ({booked_on}).")
        changed.append("delivery_date")

    current = list(selectors.order_line_list(scope=scope, order_id=order.pk).filter(is_free=False))
    new_lines = None
    if lines is not None and [(b.sku_id, b.cases, b.units) for b in lines] != [
            (line.sku_id, line.cases, line.units) for line in current]:
        shown = {line.sku_id: line.device_case_price for line in current}
        new_lines = [BookedLine(sku_id=b.sku_id, cases=b.cases, units=b.units, device_case_price=shown.get(b.sku_id))
                     for b in lines]
        errors.update(line_errors(new_lines))
        changed.append("lines")
    if not changed:
        raise_field_errors(errors, "The order has problems: see the fields.")
        return order

    detail: dict[str, Any] = {"by": "staff", "version": order.version + 1, "fields": changed}
    priced: PricedOrder | None = None
    if new_lines is not None:
        priced = price_order(scope=scope, outlet=outlet, lines=new_lines, on_date=booked_on, errors=errors)
        hold_reason = credit_check(scope=scope, policy=policy, outlet=outlet, total=priced.total,
                                   currency=priced.currency, exclude_order_id=order.pk)
        detail["total"] = [str(order.total), str(priced.total)]
        if hold_reason and not order.hold:
            detail["hold"] = {"kind": HoldKind.CREDIT.value, "reason": hold_reason}
        if hold_reason:
            order.hold, order.hold_reason = HoldKind.CREDIT, hold_reason
        scope.filter(SecondaryOrderLine.objects.filter(order_id=order.pk)).delete()
        set_totals(order, priced)
    else:
        raise_field_errors(errors, "The order has problems: see the fields.")
    if note is not None:
        order.note = note
    if delivery_date is not KEEP:
        order.delivery_date = delivery_date
    order.version += 1  # under the order's lock
    order.save()
    if new_lines is not None and priced is not None:
        store_lines(order, priced, new_lines)
    record(order, action="edited", actor=scope.actor, reason=reason[:REASON_MAX], detail=detail)
    return order


def _each(order_ids: Iterable[int], act: Callable[[int], SecondaryOrder]) -> list[BulkResult]:
    """Apply `act` to each order, by pk (the lock order); one refusal never blocks the others: each service call
    is its own savepoint, rolled back alone."""
    results = []
    for order_id in sorted(set(order_ids)):
        try:
            order = act(order_id)
        except DomainError as exc:
            results.append(BulkResult(order_id=order_id, ok=False, code=exc.code, message=exc.message))
        else:
            results.append(BulkResult(order_id=order_id, ok=True, status=order.status))
    return results


def _bulk_size(order_ids: Sequence[int]) -> None:
    if len(order_ids) > MAX_BULK:
        raise DomainError(OrderError.INVALID, f"At most {MAX_BULK} orders at once.",
                          fields={"ids": [f"At most {MAX_BULK} orders at once."]})


@transaction.atomic
def order_confirm_many(*, scope: Scope, order_ids: Sequence[int], reason: str = "") -> list[BulkResult]:
    """order_confirm for each order (by pk); a result per order. Orders outside the scope are "not_found"."""
    _bulk_size(order_ids)
    return _each(order_ids, lambda pk: order_confirm(scope=scope, order_id=pk, reason=reason))


@transaction.atomic
def order_release_hold_many(*, scope: Scope, order_ids: Sequence[int], reason: str) -> list[BulkResult]:
    """order_release_hold for each order (by pk) with one reason, which is required; a result per order."""
    _bulk_size(order_ids)
    reason = _reason(reason, "released")
    return _each(order_ids, lambda pk: order_release_hold(scope=scope, order_id=pk, reason=reason))


@transaction.atomic
def order_cancel_many(*, scope: Scope, order_ids: Sequence[int], reason: str) -> list[BulkResult]:
    """order_cancel for each order (by pk) with one reason, which is required; a result per order."""
    _bulk_size(order_ids)
    reason = _reason(reason, "cancelled")
    return _each(order_ids, lambda pk: order_cancel(scope=scope, order_id=pk, reason=reason))


@transaction.atomic
def order_deallocate_many(*, scope: Scope, order_ids: Sequence[int], reason: str) -> list[BulkResult]:
    """order_deallocate for each order (by pk) with one reason, which is required; a result per order."""
    _bulk_size(order_ids)
    reason = _reason(reason, "deallocated")
    return _each(order_ids, lambda pk: order_deallocate(scope=scope, order_id=pk, reason=reason))
