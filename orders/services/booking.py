"""Booking a secondary order: the order-booker app's push calls order_book for every order in its outbox (so may
the API and the admin later). An order's identity is its uuid, so a re-sent order is recognised however it arrives.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from catalog.models import Outlet
from catalog.pricing import PricedOrder
from catalog.pricing.resolve import preload as pricing_preload
from dms.core.bulk import insert_new
from dms.core.errors import DomainError, NotFound
from dms.core.memo import memoized, remember
from dms.tenancy import selectors as tenancy_selectors
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp import selectors as pjp_selectors

from .. import selectors
from ..enums import HoldKind, OrderSource, OrderStatus
from ..errors import OrderError
from ..locks import lock_orders, lock_outlet_credit
from ..models import SecondaryOrder, SecondaryOrderLine
from .common import (
    CREDIT_OFF,
    BookedLine,
    OrderPolicy,
    add_error,
    credit_check,
    device_amount,
    line_errors,
    order_policy,
    price_differences,
    price_order,
    record,
    set_totals,
    store_lines,
)

APPLIED, DUPLICATE, CONFLICT = "applied", "duplicate", "conflict"
NOTE_MAX = SecondaryOrder._meta.get_field("note").max_length or 500


@dataclass(frozen=True)
class Booking:
    """An order as the app (or another source) booked it."""

    uuid: UUID
    outlet_id: int
    booked_at: datetime  # device clock; the server clamps it to <= now
    lines: tuple[BookedLine, ...]
    booker_id: int | None = None
    device_id: int | None = None
    visit_id: int | None = None
    device_total: Decimal | None = None
    note: str = ""
    delivery_date: date | None = None
    source: str = OrderSource.MOBILE


@dataclass(frozen=True)
class BookResult:
    order: SecondaryOrder
    outcome: str  # "applied" | "duplicate" | "conflict"
    message: str = ""


def _canonical_amount(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite():
        return format(value.normalize(), "f")  # 12.50 and 12.5 are the same price
    return str(value)


def booking_fingerprint(booking: Booking) -> str:
    """SHA-256 (hex) of a canonical JSON of the booked content: outlet, lines (SKU, cases, units and the case price
    the app showed, in any order), the app's total, note and delivery date.

    booked_at is left out on purpose: a device whose clock runs ahead has its booking time clamped to the sync
    time, so each retry of the same order would carry another booked_at and read as an edit (or, once the order
    is confirmed, as a conflict). Who booked it (booker, device, visit) is not content either.
    """
    lines = sorted(json.dumps([line.sku_id, line.cases, line.units, _canonical_amount(line.device_case_price)],
                               default=str) for line in booking.lines)
    content = {
        "outlet_id": booking.outlet_id,
        "lines": lines,
        "device_total": _canonical_amount(booking.device_total),
        "note": booking.note,
        "delivery_date": booking.delivery_date.isoformat() if booking.delivery_date else None,
    }
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def order_book(*, scope: Scope, booking: Booking) -> BookResult:
    """Book an order (a new uuid), or apply a re-send of one already held. Runs in a transaction (a savepoint
    when nested, so one bad order of a batch rolls back alone).

    - New uuid: validated, priced by the catalogue's engine as of the tenant-local date of booked_at (clamped to
      now), stored with its lines and a "booked" event -> "applied". Other prices shown by the app set
      price_flag (the server's figures stand; both are kept, the differences in the event's detail). Over the
      outlet's credit limit the order is held (policy "hold") or refused (policy "refuse", field outlet_id).
    - Same uuid, same fingerprint: "duplicate"; the order held is returned and nothing is written.
    - Same uuid, other content, still booked: an edit from the app (re-priced, lines replaced, version bumped,
      an "edited" event) -> "applied". A hold is never lifted by an edit; only order_release_hold does that.
    - Same uuid, other content, past booked (or for another outlet): "conflict"; the server's copy wins.

    Invalid input is a DomainError whose `fields` name each problem (`outlet_id`, `lines[2].sku_id`, ...), and
    nothing is written. Takes the outlet's credit lock (when a credit check applies), then the order's. Two
    pushes of one uuid at once never make two orders: the unique (distributor, uuid) constraint backs the lock.
    """
    fingerprint = booking_fingerprint(booking)
    outlet = _outlet(scope, booking.outlet_id)
    existing = memoized(_uuid_key(scope, outlet.distributor_id, booking.uuid), lambda: selectors.order_by_uuid(
        scope=scope, distributor_id=outlet.distributor_id, uuid=booking.uuid))
    if existing is not None and existing.fingerprint == fingerprint:
        return _duplicate(existing)

    policy = order_policy(scope)
    if policy.credit_check != CREDIT_OFF and outlet.credit_limit > 0:
        # the credit check reads the outlet's open orders: bookings for one outlet take turns. Without a check
        # there is nothing to serialise; the unique (distributor, uuid) key still makes a re-send a duplicate.
        lock_outlet_credit(scope, outlet.pk)
        existing = None  # re-read below, now that bookings of this outlet take turns
    if existing is not None or policy.credit_check != CREDIT_OFF and outlet.credit_limit > 0:
        existing = lock_orders(scope).filter(distributor_id=outlet.distributor_id, uuid=booking.uuid).first()
    # else: no order had this uuid; one booked meanwhile by another request makes the insert below do nothing
    if existing is not None:
        early = _resend_outcome(existing, booking, fingerprint)
        if early is not None:
            return early

    booked_at = min(booking.booked_at, timezone.now()) if timezone.is_aware(booking.booked_at) else timezone.now()
    errors = _booking_errors(scope, booking, outlet, policy.local_date(booked_at))
    priced = price_order(scope=scope, outlet=outlet, lines=booking.lines, on_date=policy.local_date(booked_at),
                         errors=errors)
    if existing is not None:
        return _apply_edit(scope, policy, existing, booking, outlet, priced, fingerprint, booked_at)

    differences = price_differences(priced, booking.lines, booking.device_total)
    hold_reason = credit_check(scope=scope, policy=policy, outlet=outlet, total=priced.total,
                               currency=priced.currency)
    order = SecondaryOrder(
        distributor_id=outlet.distributor_id, uuid=booking.uuid, outlet=outlet, booker_id=booking.booker_id,
        device_id=booking.device_id, visit_id=booking.visit_id, source=booking.source, booked_at=booked_at,
        status_changed_at=timezone.now(), delivery_date=booking.delivery_date, note=booking.note,
        price_flag=bool(differences),
        device_total=None if booking.device_total is None else device_amount(booking.device_total),
        hold=HoldKind.CREDIT if hold_reason else HoldKind.NONE, hold_reason=hold_reason, fingerprint=fingerprint)
    set_totals(order, priced)
    order.tenant_id = scope.tenant_id
    if not insert_new(order, unique=("distributor", "uuid")):
        # The same uuid was booked at the same moment by another request (waited for, then left alone): the order
        # that committed first is the order.
        existing = lock_orders(scope).filter(distributor_id=outlet.distributor_id, uuid=booking.uuid).first()
        if existing is None:
            raise DomainError(OrderError.INVALID, "The order could not be stored; send it again.")
        outcome = _resend_outcome(existing, booking, fingerprint)
        if outcome is not None:
            return outcome
        return _apply_edit(scope, policy, existing, booking, outlet, priced, fingerprint, booked_at)
    store_lines(order, priced, booking.lines)
    detail: dict[str, Any] = {"source": booking.source, "total": str(order.total), "lines": len(priced.lines)}
    if differences:
        detail["price_differences"] = differences
    if hold_reason:
        detail["hold"] = {"kind": HoldKind.CREDIT.value, "reason": hold_reason}
    record(order, action="booked", actor=scope.actor, to_status=OrderStatus.BOOKED, detail=detail)
    return BookResult(order, APPLIED)


def _uuid_key(scope: Scope, distributor_id: int, uuid: UUID) -> tuple[Any, ...]:
    return ("order_uuid", scope.tenant_id, scope.distributor_ids, distributor_id, uuid)


def _outlet_key(scope: Scope, outlet_id: int) -> tuple[Any, ...]:
    return ("order_outlet", scope.tenant_id, scope.distributor_ids, outlet_id)


def order_book_preload(*, scope: Scope, bookings: Sequence[Booking]) -> None:
    """Inside a dms.core.memo scope (a push): read the outlets, SKUs and candidate prices of a batch of bookings
    in a few queries, so that order_book for each of them reads none of them again. Only reads."""
    ids = {b.outlet_id for b in bookings if isinstance(b.outlet_id, int) and not isinstance(b.outlet_id, bool)}
    outlets = list(catalog_selectors.outlet_list(scope=scope).filter(pk__in=ids))
    for outlet in outlets:
        remember(_outlet_key(scope, outlet.pk), outlet)
    # the duplicate fast path: which of these uuids are already held (re-checked under the locks)
    distributors = {o.distributor_id for o in outlets}
    held = {(o.distributor_id, o.uuid): o for o in scope.filter(SecondaryOrder.objects.filter(
        distributor_id__in=distributors, uuid__in={b.uuid for b in bookings}))}
    for b in bookings:
        for distributor_id in distributors:
            remember(_uuid_key(scope, distributor_id, b.uuid), held.get((distributor_id, b.uuid)))
    policy = order_policy(scope)
    now = timezone.now()
    by_date: dict[date, set[int]] = {}
    for b in bookings:
        when = min(b.booked_at, now) if timezone.is_aware(b.booked_at) else now
        by_date.setdefault(policy.local_date(when), set()).update(line.sku_id for line in b.lines)
    for on_date, sku_ids in by_date.items():
        pricing_preload(scope=scope, outlets=outlets, sku_ids=sku_ids, on_date=on_date)


def _outlet(scope: Scope, outlet_id: Any) -> Outlet:
    """The outlet the order is for (active or not); unknown, another distributor's or tenant's: a 400 on outlet_id."""
    outlet = None
    if isinstance(outlet_id, int) and not isinstance(outlet_id, bool):
        outlet = memoized(_outlet_key(scope, outlet_id),
                          lambda: catalog_selectors.outlet_list(scope=scope).filter(pk=outlet_id).first())
    if outlet is None:
        raise DomainError(OrderError.INVALID, f"Unknown outlet {outlet_id!r}.",
                          fields={"outlet_id": [f"Unknown outlet {outlet_id!r}."]})
    return outlet


def _duplicate(order: SecondaryOrder) -> BookResult:
    return BookResult(order, DUPLICATE, "The order was already received; the server's copy is returned.")


def _resend_outcome(order: SecondaryOrder, booking: Booking, fingerprint: str) -> BookResult | None:
    """Duplicate or conflict for a re-sent uuid; None when the re-send is an edit to apply."""
    if order.fingerprint == fingerprint:
        return _duplicate(order)
    if order.outlet_id != booking.outlet_id:
        return BookResult(order, CONFLICT, "The order was booked for another outlet and cannot move; the server's "
                                           "copy wins.")
    if order.status != OrderStatus.BOOKED:
        return BookResult(order, CONFLICT, f"The order was already {order.get_status_display().lower()}; the "
                                           "server's copy wins.")
    return None


def _booking_errors(scope: Scope, booking: Booking, outlet: Outlet, booked_on: date) -> dict[str, list[str]]:
    """Every problem of the booking that the pricing engine does not see, by field."""
    errors = line_errors(booking.lines)
    if not outlet.active:
        add_error(errors, "outlet_id", f"Outlet {outlet.code} is inactive.")
    if not timezone.is_aware(booking.booked_at):
        add_error(errors, "booked_at", "A booking time needs its time zone (or UTC offset).")
    if booking.device_total is not None:
        try:
            device_amount(booking.device_total)
        except ValueError:
            add_error(errors, "device_total", "A total is an amount of 0 or more.")
    if len(booking.note) > NOTE_MAX:
        add_error(errors, "note", f"A note has at most {NOTE_MAX} characters.")
    if booking.source not in OrderSource.values:
        add_error(errors, "source", f"Unknown source {booking.source!r}.")
    if booking.delivery_date is not None and booking.delivery_date < booked_on:
        add_error(errors, "delivery_date", f"The delivery date is before the booking date ({booked_on.isoformat()}).")
    booker_id, device_id = booking.booker_id, booking.device_id
    if booker_id is not None and not memoized(
            ("order_booker", scope.tenant_id, booker_id, outlet.distributor_id),
            lambda: tenancy_selectors.membership_list(scope=scope).filter(
                user_id=booker_id, distributor_id=outlet.distributor_id, role=Role.ORDER_BOOKER).exists()):
        add_error(errors, "booker_id", f"User {booking.booker_id} is not an order-booker of the outlet's distributor.")
    if device_id is not None and not memoized(
            ("order_device", scope.tenant_id, device_id, outlet.distributor_id),
            lambda: tenancy_selectors.device_list(scope=scope).filter(
                pk=device_id, distributor_id=outlet.distributor_id).exists()):
        add_error(errors, "device_id", f"Unknown device {booking.device_id} for the outlet's distributor.")
    if booking.visit_id is not None:
        try:
            visit = pjp_selectors.visit_get(scope=scope, pk=booking.visit_id)
        except NotFound:
            visit = None
        if visit is None or visit.outlet_id != outlet.pk:
            add_error(errors, "visit_id", f"Visit {booking.visit_id} is not a visit to outlet {outlet.code}.")
    return errors


def _apply_edit(scope: Scope, policy: OrderPolicy, order: SecondaryOrder, booking: Booking, outlet: Outlet,
                priced: PricedOrder, fingerprint: str, booked_at: datetime) -> BookResult:
    """The app changed a booked order: replace its content with the booking's. The caller holds the outlet's
    credit lock and the order's lock."""
    hold_reason = credit_check(scope=scope, policy=policy, outlet=outlet, total=priced.total,
                               currency=priced.currency, exclude_order_id=order.pk)
    differences = price_differences(priced, booking.lines, booking.device_total)
    detail: dict[str, Any] = {"by": "app", "version": order.version + 1, "total": [str(order.total), str(priced.total)]}
    if differences:
        detail["price_differences"] = differences
    if hold_reason and not order.hold:
        detail["hold"] = {"kind": HoldKind.CREDIT.value, "reason": hold_reason}
    if hold_reason:
        order.hold, order.hold_reason = HoldKind.CREDIT, hold_reason

    scope.filter(SecondaryOrderLine.objects.filter(order_id=order.pk)).delete()
    set_totals(order, priced)
    order.booked_at, order.note, order.delivery_date = booked_at, booking.note, booking.delivery_date
    order.device_total = None if booking.device_total is None else device_amount(booking.device_total)
    order.price_flag, order.fingerprint = bool(differences), fingerprint
    order.visit_id = booking.visit_id if booking.visit_id is not None else order.visit_id
    order.version += 1  # under the order's lock
    order.save()
    store_lines(order, priced, booking.lines)
    record(order, action="edited", actor=scope.actor, detail=detail)
    return BookResult(order, APPLIED, f"The order was updated (version {order.version}).")
