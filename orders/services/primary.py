"""Primary orders (DESIGN §3): the distributor drafts, edits and submits an order to the manufacturer, or cancels
it; the manufacturer decides every line of a submitted order at once. Dispatch and receipt belong to `dispatch`,
which moves the order on through the transitions at the end of this module (dispatched, received, closed).

Locks (taken in this order, see orders/locks.py): the distributor row (only to number a new order), then the
primary order row; lines change only under their order's lock.

Submitting, cancelling, deciding and closing emit a webhook (webhooks.events.emit) in the transaction of the
change, with orders.webhook_payloads.primary_order_payload as its data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.core.money import ZERO, money, mul
from dms.core.transitions import transition
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_get
from webhooks.enums import EventType
from webhooks.events import emit

from .. import selectors, selectors_primary
from ..enums import PrimaryOrderStatus as Status
from ..errors import OrderError
from ..locks import lock_primary_orders
from ..models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from ..webhook_payloads import primary_order_payload
from .common import MAX_LINES, add_error, raise_field_errors

NOTE_MAX = 500
REASON_MAX = 300
NUMBER_PREFIX = "PO-"
# Who may decide a submitted order: the manufacturer's systems (API keys) and its admins.
DECIDERS = frozenset({Role.MANUFACTURER_SYSTEM, Role.MANUFACTURER_ADMIN})
# Who may close a received order (after a shortage or damage is settled): either side, never an analyst.
CLOSERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_SYSTEM,
                     Role.MANUFACTURER_ADMIN})


@dataclass(frozen=True)
class PrimaryLine:
    """One SKU ordered, in whole cases."""

    sku_id: int
    cases: int


@dataclass(frozen=True)
class LineDecision:
    """The manufacturer's answer for one line, named by `sku_id` or by `line_no`."""

    approved_cases: int
    sku_id: int | None = None
    line_no: int | None = None
    note: str = ""


# --- locks (kept beside the services until orders/locks.py takes them: the brief gave this module only) -------

def _locked(scope: Scope, order_id: int) -> PrimaryOrder:
    order = lock_primary_orders(scope).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Primary order not found.")
    return order


def _next_number(scope: Scope, distributor_id: int) -> str:
    """max + 1 under the distributor's row lock (FOR NO KEY UPDATE: inserts referencing it stay unblocked), so two
    drafts created side by side never take the same number."""
    Distributor.objects.select_for_update(no_key=True, of=("self",)).filter(pk=distributor_id).get()
    last = scope.filter(PrimaryOrder.objects.filter(distributor_id=distributor_id)).aggregate(n=Max("number"))["n"]
    n = int(last[len(NUMBER_PREFIX):]) + 1 if last else 1
    return f"{NUMBER_PREFIX}{n:06d}"  # zero-padded, so the text max is the numeric max up to 999,999


# --- helpers --------------------------------------------------------------------------------------------------

def _today(scope: Scope) -> date:
    return timezone.now().astimezone(selectors.tenant_zone(scope=scope)).date()


def _record(order: PrimaryOrder, *, scope: Scope, action: str, reason: str = "",
            detail: dict[str, Any] | None = None) -> None:
    actor = scope.actor
    PrimaryOrderEvent.objects.create(order=order, distributor_id=order.distributor_id, action=action,
                                     actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label[:150],
                                     reason=reason[:REASON_MAX], detail=detail or {})


def _transition(scope: Scope, order: PrimaryOrder, to: str, reason: str = "",
                detail: dict[str, Any] | None = None) -> PrimaryOrder:
    return transition(order, to=to, actor=scope.actor, reason=reason[:REASON_MAX], event_model=PrimaryOrderEvent,
                      event_fk="order", distributor_id=order.distributor_id, detail=detail or {})


def _emit(scope: Scope, order: PrimaryOrder, event_type: EventType, reason: str = "") -> None:
    emit(scope=scope, event_type=event_type, data=primary_order_payload(scope=scope, order=order, reason=reason),
         distributor_id=order.distributor_id)


def _require_status(order: PrimaryOrder, status: str, target: str) -> None:
    if order.status != status:
        raise InvalidTransition("PrimaryOrder", order.status, target)


def _check_version(order: PrimaryOrder, version: int) -> None:
    if order.version != version:
        raise DomainError(OrderError.STALE_VERSION,
                          f"The order changed since version {version}: it is at version {order.version}. Reload it "
                          "and try again.", fields={"version": [f"The order is at version {order.version}."]},
                          status_code=409)


def _check_fields(errors: dict[str, list[str]], note: str | None) -> None:
    if note is not None and len(note) > NOTE_MAX:
        add_error(errors, "note", f"A note has at most {NOTE_MAX} characters.")


def _valued_lines(scope: Scope, distributor_id: int, lines: Sequence[PrimaryLine],
                  errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Check `lines` and value them at today's primary case prices; problems join `errors` as `lines[<i>].<f>`."""
    if not lines:
        add_error(errors, "lines", "Order at least one line.")
        return []
    if len(lines) > MAX_LINES:
        add_error(errors, "lines", f"An order has at most {MAX_LINES} lines; this one has {len(lines)}.")
        return []
    skus = selectors_primary.active_skus(scope=scope, sku_ids=[line.sku_id for line in lines])
    prices = selectors_primary.primary_case_prices(scope=scope, distributor_id=distributor_id, sku_ids=list(skus),
                                                   on_date=_today(scope))
    rows: list[dict[str, Any]] = []
    first_at: dict[int, int] = {}
    for i, line in enumerate(lines):
        if line.cases <= 0:
            add_error(errors, f"lines[{i}].cases", "Order at least one case.")
        if line.sku_id in first_at:
            add_error(errors, f"lines[{i}].sku_id", f"SKU {line.sku_id} is already on lines[{first_at[line.sku_id]}]; "
                                                    "order each SKU on one line.")
            continue
        first_at[line.sku_id] = i
        if line.sku_id not in skus:
            add_error(errors, f"lines[{i}].sku_id", f"Unknown or inactive SKU {line.sku_id}.")
        elif line.sku_id not in prices:
            add_error(errors, f"lines[{i}].sku_id", f"SKU {skus[line.sku_id].code} has no price on a price list "
                                                    "valid today for this distributor.")
        else:
            price = prices[line.sku_id]
            rows.append({"line_no": i + 1, "sku_id": line.sku_id, "ordered_cases": line.cases, "case_price": price,
                         "ordered_value": money(mul(price, max(line.cases, 0)))})
    return rows


def _store_lines(order: PrimaryOrder, rows: list[dict[str, Any]]) -> None:
    PrimaryOrderLine.objects.bulk_create([PrimaryOrderLine(order=order, tenant_id=order.tenant_id,
                                                           distributor_id=order.distributor_id, **row)
                                          for row in rows])
    order.total_ordered = sum((row["ordered_value"] for row in rows), ZERO)


def _creator(scope: Scope) -> int | None:
    return scope.actor.id if scope.actor.kind == ActorKind.USER else None


# --- the distributor's side -----------------------------------------------------------------------------------

@transaction.atomic
def primary_order_create(*, scope: Scope, distributor_id: int | None, lines: Sequence[PrimaryLine],
                         note: str = "", requested_delivery_date: date | None = None) -> PrimaryOrder:
    """A new draft for `distributor_id` (a distributor user's own when None), valued at today's primary case
    prices. Not idempotent: each call is a new order with the next number. Takes the distributor's lock."""
    errors: dict[str, list[str]] = {}
    distributor_id = distributor_id if distributor_id is not None else scope.single_distributor_id
    if distributor_id is None:
        raise_field_errors({"distributor_id": ["Say which distributor orders."]}, "")
    assert distributor_id is not None
    if selectors_primary.distributor_in_scope(scope=scope, distributor_id=distributor_id) is None:
        raise_field_errors({"distributor_id": [f"Unknown distributor {distributor_id}."]}, "")
    _check_fields(errors, note)
    if requested_delivery_date is not None and requested_delivery_date < _today(scope):
        add_error(errors, "requested_delivery_date", "The requested delivery date is in the past.")
    rows = _valued_lines(scope, distributor_id, lines, errors)
    raise_field_errors(errors, "The order has problems: see the fields.")
    order = PrimaryOrder.objects.create(
        distributor_id=distributor_id, number=_next_number(scope, distributor_id), note=note,
        requested_delivery_date=requested_delivery_date, created_by_id=_creator(scope),
        currency=tenant_get(scope=scope).currency)
    _store_lines(order, rows)
    order.save(update_fields=["total_ordered", "updated_at"])
    _record(order, scope=scope, action="created", detail={"to": Status.DRAFT.value, "lines": len(rows),
                                                          "total_ordered": str(order.total_ordered)})
    return order


@transaction.atomic
def primary_order_update_lines(*, scope: Scope, order_id: int, version: int,
                               lines: Sequence[PrimaryLine] | None = None, note: str | None = None,
                               requested_delivery_date: date | None = None,
                               reason: str = "") -> PrimaryOrder:
    """Replace a draft's lines (re-valued at today's prices), note or requested delivery date. `version` is the
    version the caller edited (a newer one is STALE_VERSION, 409); only a draft can change (409). Idempotent: no
    change, no new version. Takes the order's lock."""
    order = _locked(scope, order_id)
    _check_version(order, version)
    if order.status not in PrimaryOrder.EDITABLE:
        raise DomainError(OrderError.NOT_BOOKED, f"The order is {order.get_status_display().lower()}: only a draft "
                          "can be edited.", fields={"status": ["Not a draft."]}, status_code=409)
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    _check_fields(errors, note)
    if note is not None and note != order.note:
        changed.append("note")
    if requested_delivery_date is not None and requested_delivery_date != order.requested_delivery_date:
        if requested_delivery_date < _today(scope):
            add_error(errors, "requested_delivery_date", "The requested delivery date is in the past.")
        changed.append("requested_delivery_date")
    rows = None
    current = list(selectors_primary.primary_order_line_list(scope=scope, order_id=order.pk))
    if lines is not None and [(x.sku_id, x.cases) for x in lines] != [(x.sku_id, x.ordered_cases) for x in current]:
        rows = _valued_lines(scope, order.distributor_id, lines, errors)
        changed.append("lines")
    raise_field_errors(errors, "The order has problems: see the fields.")
    if not changed:
        return order
    detail: dict[str, Any] = {"version": order.version + 1, "fields": changed}
    if rows is not None:
        before = order.total_ordered
        scope.filter(PrimaryOrderLine.objects.filter(order_id=order.pk)).delete()
        _store_lines(order, rows)
        detail["total_ordered"] = [str(before), str(order.total_ordered)]
    if note is not None:
        order.note = note
    if requested_delivery_date is not None:
        order.requested_delivery_date = requested_delivery_date
    order.version += 1  # under the order's lock
    order.save()
    _record(order, scope=scope, action="edited", reason=reason, detail=detail)
    return order


@transaction.atomic
def primary_order_submit(*, scope: Scope, order_id: int, reason: str = "") -> PrimaryOrder:
    """Draft -> submitted, stamping submitted_at. Idempotent: submitting a submitted order changes nothing. Takes
    the order's lock."""
    order = _locked(scope, order_id)
    if order.status == Status.SUBMITTED:
        return order
    _require_status(order, Status.DRAFT, Status.SUBMITTED)
    order.submitted_at = timezone.now()
    order.save(update_fields=["submitted_at"])
    _transition(scope, order, Status.SUBMITTED, reason)
    _emit(scope, order, EventType.PRIMARY_ORDER_SUBMITTED, reason)
    return order


@transaction.atomic
def primary_order_cancel(*, scope: Scope, order_id: int, reason: str) -> PrimaryOrder:
    """Draft or submitted -> cancelled; the reason is required. Idempotent: a cancelled order stays as it is.
    Takes the order's lock."""
    order = _locked(scope, order_id)
    reason = (reason or "").strip()
    if not reason:
        raise_field_errors({"reason": ["Say why the order is cancelled."]}, "")
    if len(reason) > REASON_MAX:
        raise_field_errors({"reason": [f"A reason has at most {REASON_MAX} characters."]}, "")
    if order.status == Status.CANCELLED:
        return order
    _transition(scope, order, Status.CANCELLED, reason)
    _emit(scope, order, EventType.PRIMARY_ORDER_CANCELLED, reason)
    return order


# --- the manufacturer's side ------------------------------------------------------------------------------------

def _match(decisions: Sequence[LineDecision], lines: list[PrimaryOrderLine],
           errors: dict[str, list[str]]) -> dict[int, LineDecision]:
    """Each decision's line (by line pk); every line must be decided exactly once."""
    by_sku = {line.sku_id: line for line in lines}
    by_no = {line.line_no: line for line in lines}
    matched: dict[int, LineDecision] = {}
    first_at: dict[int, int] = {}
    for i, d in enumerate(decisions):
        if (d.sku_id is None) == (d.line_no is None):
            add_error(errors, f"decisions[{i}]", "Name the line by sku_id or by line_no (one of them).")
            continue
        line = by_sku.get(d.sku_id) if d.sku_id is not None else by_no.get(d.line_no)  # type: ignore[arg-type]
        if line is None:
            field = "sku_id" if d.sku_id is not None else "line_no"
            add_error(errors, f"decisions[{i}].{field}", f"The order has no line for {field} "
                      f"{d.sku_id if d.sku_id is not None else d.line_no}.")
            continue
        if line.pk in first_at:
            add_error(errors, f"decisions[{i}]", f"Line {line.line_no} is already decided by "
                      f"decisions[{first_at[line.pk]}].")
            continue
        first_at[line.pk] = i
        if d.approved_cases < 0:
            add_error(errors, f"decisions[{i}].approved_cases", "Approve 0 cases or more.")
        elif d.approved_cases > line.ordered_cases:
            add_error(errors, f"decisions[{i}].approved_cases", f"Line {line.line_no} ordered {line.ordered_cases} "
                      f"cases: approve at most that many, not {d.approved_cases}.")
        if len(d.note) > REASON_MAX:
            add_error(errors, f"decisions[{i}].note", f"A note has at most {REASON_MAX} characters.")
        matched[line.pk] = d
    undecided = [line.line_no for line in lines if line.pk not in first_at]
    if undecided and not errors:
        add_error(errors, "decisions", "Decide every line in one call; undecided line_no: "
                  f"{', '.join(map(str, undecided))}.")
    return matched


@transaction.atomic
def primary_order_decide(*, scope: Scope, order_id: int, decisions: Sequence[LineDecision],
                         reason: str = "") -> PrimaryOrder:
    """Submitted -> approved (every line in full) | rejected (every line 0) | partially_approved, with the
    approved cases, value and note of every line and the order's total_approved; a PrimaryOrderEvent carries the
    decisions. All lines are decided in one call or nothing changes. Not idempotent: a decided order is a 409.
    Only the manufacturer (API key, manufacturer admin) decides. Takes the order's lock."""
    order = _locked(scope, order_id)
    if scope.role not in DECIDERS or scope.is_distributor_user:
        raise DomainError("permission_denied", "Only the manufacturer decides primary orders.", status_code=403)
    _require_status(order, Status.SUBMITTED, Status.APPROVED)
    lines = list(selectors_primary.primary_order_line_list(scope=scope, order_id=order.pk))
    errors: dict[str, list[str]] = {}
    if len(reason) > REASON_MAX:
        add_error(errors, "reason", f"A reason has at most {REASON_MAX} characters.")
    matched = _match(decisions, lines, errors)
    raise_field_errors(errors, "The decisions have problems: see the fields.")

    now = timezone.now()
    for line in lines:
        d = matched[line.pk]
        line.updated_at = now
        line.approved_cases = d.approved_cases
        line.approved_value = money(mul(line.case_price, d.approved_cases))
        line.decision_note = d.note
    PrimaryOrderLine.objects.bulk_update(lines, ["approved_cases", "approved_value", "decision_note", "updated_at"])
    if all(line.approved_cases == line.ordered_cases for line in lines):
        to = Status.APPROVED
    elif all(line.approved_cases == 0 for line in lines):
        to = Status.REJECTED
    else:
        to = Status.PARTIALLY_APPROVED
    order.total_approved = sum((line.approved_value or ZERO for line in lines), ZERO)
    order.decided_at = now
    order.save(update_fields=["total_approved", "decided_at"])
    detail = {"total_approved": str(order.total_approved),
              "lines": [{"line_no": line.line_no, "sku_id": line.sku_id, "ordered_cases": line.ordered_cases,
                         "approved_cases": line.approved_cases} for line in lines]}
    _transition(scope, order, to, reason, detail)
    _emit(scope, order, EventType.PRIMARY_ORDER_DECIDED, reason)
    return order


# --- dispatch and receipt (called by dispatch.services) -----------------------------------------------------------

@transaction.atomic
def primary_order_mark_dispatched(*, scope: Scope, order_id: int, reason: str = "",
                                  detail: dict[str, Any] | None = None) -> PrimaryOrder:
    """Approved or partially approved -> dispatched, when the manufacturer's dispatch advice is issued
    (dispatch.services.advice_issue, which holds the distributor's and the order's locks already). Idempotent: a
    dispatched order stays as it is. Takes the order's lock. The DA's own webhook reports it, so none here."""
    order = _locked(scope, order_id)
    if order.status == Status.DISPATCHED:
        return order
    return _transition(scope, order, Status.DISPATCHED, reason, detail)


@transaction.atomic
def primary_order_mark_received(*, scope: Scope, order_id: int, reason: str = "",
                                detail: dict[str, Any] | None = None) -> PrimaryOrder:
    """Dispatched -> received, when the distributor records the goods receipt (dispatch.services.receipt_record).
    Idempotent: a received order stays as it is. Takes the order's lock. The GRN's webhook reports it."""
    order = _locked(scope, order_id)
    if order.status == Status.RECEIVED:
        return order
    return _transition(scope, order, Status.RECEIVED, reason, detail)


@transaction.atomic
def primary_order_close(*, scope: Scope, order_id: int, reason: str,
                        detail: dict[str, Any] | None = None) -> PrimaryOrder:
    """Received -> closed, with a reason (required): automatically when the goods arrived exactly as dispatched,
    else by the distributor or the manufacturer once the shortage or damage is settled. Emits
    primary_order.closed. Idempotent: a closed order stays as it is. Takes the order's lock."""
    order = _locked(scope, order_id)
    if scope.actor.kind != ActorKind.SYSTEM and scope.role not in CLOSERS:
        raise DomainError("permission_denied", "Your role may not close primary orders.", status_code=403)
    reason = (reason or "").strip()
    if not reason:
        raise_field_errors({"reason": ["Say why the order is closed (how the receipt was settled)."]}, "")
    if len(reason) > REASON_MAX:
        raise_field_errors({"reason": [f"A reason has at most {REASON_MAX} characters."]}, "")
    if order.status == Status.CLOSED:
        return order
    _transition(scope, order, Status.CLOSED, reason, detail)
    _emit(scope, order, EventType.PRIMARY_ORDER_CLOSED, reason)
    return order
