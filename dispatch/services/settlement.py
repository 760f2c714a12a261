"""Delivery settlement (DESIGN §3): per invoice what was delivered, partly delivered or returned; the cash and
cheques collected; and settling the round once every invoice is accounted for and the money matches.

- `delivery_record`: one invoice's outcome on a load form out for delivery. What did not reach the outlet comes
  back: a credit note for exactly those units (invoicing.services.credit_note_issue: per line pro rata, rounded per
  line, so a full return credits the invoice to the cent) which puts the goods back into stock when they are
  saleable, and returns and writes them off when damaged. The invoice moves issued -> delivered |
  partially_delivered | returned. Final: the same outcome again is a no-op, another one a 409.
- `cash_record`: money collected from an outlet of the round (cash, or a cheque with its number), recorded as an
  invoicing Payment naming the load form (invoicing.services.payment_record allocates it to the outlet's open
  invoices, oldest first). Idempotent by the client's key.
- `load_form_settle`: out_for_delivery -> settled once every invoice has an outcome, at least what was expected
  was collected (the invoices' dues at loading less the credit notes of the returns; invoices the distributor
  leaves on the outlet's account excepted) and the cash and cheques handed in are what was recorded, per method.
  Otherwise a 409 whose `extra.differences` lists each difference. Settling moves every order loaded ->
  delivered | partially_delivered | returned.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.core.money import ZERO, money
from dms.core.transitions import transition
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import Allocation, AllocationStatus
from inventory.services import default_warehouse, stock_adjust, stock_return
from invoicing.enums import CreditReason, InvoiceStatus
from invoicing.locks import lock_invoices
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import credit_note_issue, invoice_record_delivery, payment_record
from orders.enums import OrderStatus
from orders.locks import lock_orders
from orders.models import OrderEvent

from .. import selectors_loading as sel
from ..enums import CollectionMethod, DeliveryOutcome, LoadFormStatus, Restock
from ..errors import DispatchError
from ..locks import lock_load_form
from ..models import DeliveryLine, LoadForm, LoadFormInvoice
from .common import LOADERS, RECORDERS, add_error, is_count, raise_field_errors, require_role
from .loading import REASON_MAX, _event, figure, move, wrong_state

O = DeliveryOutcome  # noqa: E741
OUTCOMES = (O.DELIVERED, O.PARTIALLY_DELIVERED, O.RETURNED)
# the order's status and the invoice's status each outcome leads to
ORDER_STATUS: dict[str, str] = {O.DELIVERED: OrderStatus.DELIVERED, O.RETURNED: OrderStatus.RETURNED,
                                 O.PARTIALLY_DELIVERED: OrderStatus.PARTIALLY_DELIVERED}
INVOICE_STATUS: dict[str, str] = {O.DELIVERED: InvoiceStatus.DELIVERED, O.RETURNED: InvoiceStatus.RETURNED,
                                  O.PARTIALLY_DELIVERED: InvoiceStatus.PARTIALLY_DELIVERED}
RESTOCK_ARG: dict[str, str] = {Restock.SALEABLE: "saleable", Restock.DAMAGED: "damaged", Restock.NONE: ""}
REFERENCE_MAX = 60

DeliveredLine = tuple[int, int]  # (invoice_line_id, delivered_units)


def _round(scope: Scope, load_form_id: int, roles: frozenset[str], what: str) -> LoadForm:
    """The load form, locked, for an action of `roles`; a delivery man's own only (another's is not found)."""
    require_role(scope, roles, f"Your role may not {what}.")
    if not is_count(load_form_id, 1):
        raise NotFound("Load form not found.")
    sel.load_form_visible(scope=scope, pk=load_form_id)
    load_form = lock_load_form(scope, load_form_id)
    if scope.role == Role.DELIVERY_MAN and load_form.delivery_man_id != scope.actor.id:
        raise NotFound("Load form not found.")
    return load_form


def _bump(load_form: LoadForm, **fields: Any) -> None:
    load_form.version += 1
    LoadForm.objects.filter(pk=load_form.pk).update(version=load_form.version, updated_at=timezone.now(), **fields)
    for name, value in fields.items():
        setattr(load_form, name, value)


# --- deliveries -------------------------------------------------------------------------------------------------

def _delivered_units(outcome: str, invoice_lines: list[InvoiceLine], lines: Sequence[DeliveredLine],
                     errors: dict[str, list[str]]) -> dict[int, int]:
    """invoice line id -> units delivered. Delivered: every unit; returned: none; partly delivered: as `lines`
    say, lines not named delivered in full."""
    if outcome == O.DELIVERED:
        return {ln.pk: ln.qty_units for ln in invoice_lines}
    if outcome == O.RETURNED:
        return {ln.pk: 0 for ln in invoice_lines}
    by_id = {ln.pk: ln for ln in invoice_lines}
    delivered = {ln.pk: ln.qty_units for ln in invoice_lines}
    seen: dict[int, int] = {}
    if not lines:
        add_error(errors, "lines", "Give the units delivered of the lines not delivered in full.")
    for i, line in enumerate(lines):
        try:
            line_id, units = line
        except (TypeError, ValueError):
            add_error(errors, f"lines[{i}]", "A line is (invoice_line_id, delivered_units).")
            continue
        invoice_line = by_id.get(line_id) if is_count(line_id, 1) else None
        if invoice_line is None:
            add_error(errors, f"lines[{i}].invoice_line_id", f"Line {line_id} is not a line of the invoice.")
        elif line_id in seen:
            add_error(errors, f"lines[{i}].invoice_line_id", f"Line {line_id} is on lines[{seen[line_id]}] already.")
        elif not is_count(units) or units > invoice_line.qty_units:
            add_error(errors, f"lines[{i}].delivered_units", f"0 to {invoice_line.qty_units} units (line "
                                                             f"{invoice_line.line_no}).")
        else:
            seen[line_id] = i
            delivered[line_id] = units
    if not errors:
        if all(delivered[pk] == by_id[pk].qty_units for pk in delivered):
            add_error(errors, "lines", "Every unit was delivered: record the invoice as delivered.")
        elif not any(delivered.values()):
            add_error(errors, "lines", "Nothing was delivered: record the invoice as returned, with the reason.")
    return delivered


def _same_record(stop: LoadFormInvoice, outcome: str, delivered: dict[int, int]) -> bool:
    if stop.outcome != outcome:
        return False
    before = dict(DeliveryLine.objects.filter(stop_id=stop.pk).values_list("invoice_line_id", "delivered_units"))
    return before == delivered


def _restock_free_goods(scope: Scope, load_form: LoadForm, invoice: Invoice, restock: str,
                        back: list[tuple[InvoiceLine, int]]) -> None:
    """Goods worth nothing (free goods) come back without a credit note (there is nothing to credit), so their
    stock is put back here, into the warehouse the order's allocation took them from."""
    if restock == Restock.NONE:
        return
    warehouses: dict[int, dict[int, int]] = {}
    for line, units in back:
        allocation = (Allocation.objects.filter(order_line_id=line.order_line_id).exclude(
            status=AllocationStatus.RELEASED).order_by("-pk").first() if line.order_line_id else None)
        warehouse_id = (allocation.warehouse_id if allocation is not None else
                        default_warehouse(scope=scope, distributor_id=invoice.distributor_id).pk)
        skus = warehouses.setdefault(warehouse_id, {})
        skus[line.sku_id] = skus.get(line.sku_id, 0) + units
    reference = ("load_form", load_form.pk)
    for warehouse_id, skus in sorted(warehouses.items()):
        stock_return(scope=scope, warehouse_id=warehouse_id, lines=sorted(skus.items()), reference=reference,
                     reason=f"{load_form.number}: free goods of {invoice.number_text} came back")
        if restock == Restock.DAMAGED:
            for sku_id, units in sorted(skus.items()):
                stock_adjust(scope=scope, warehouse_id=warehouse_id, sku_id=sku_id, qty_units=-units,
                             reference=reference, reason=f"{load_form.number}: returned damaged, written off")


@transaction.atomic
def delivery_record(*, scope: Scope, load_form_id: int, invoice_id: int, outcome: str,
                    lines: Sequence[DeliveredLine] = (), return_reason: str = "",
                    restock: str = Restock.SALEABLE) -> LoadFormInvoice:
    """Record what happened to one invoice of a load form out for delivery: delivered (every unit), partially
    delivered (`lines`: (invoice_line_id, delivered_units) for the lines not delivered in full) or returned (nothing
    delivered; `return_reason` required). What came back is credited (a credit note of exactly the units not
    delivered, reason "return", or "damage" when `restock` is "damaged") and restocked as `restock` says
    ("saleable": back into stock; "damaged": returned and written off; "none": no stock moves). The invoice moves
    to the outcome; the load form's expected cash drops by the credit.

    Idempotent: the same outcome and quantities again return the stop unchanged; another outcome is a 409
    (already_recorded). A delivery man may record on his own load form only (another is not found). Locks: the
    load form, the invoice, then (through credit_note_issue) stock balances and the credit-note series."""
    load_form = _round(scope, load_form_id, RECORDERS, "record deliveries")
    errors: dict[str, list[str]] = {}
    stop = (scope.filter(LoadFormInvoice.objects.filter(load_form_id=load_form.pk, invoice_id=invoice_id, live=True))
            .select_related("invoice").first() if is_count(invoice_id, 1) else None)
    if stop is None:
        raise DomainError(DispatchError.INVALID, f"Invoice {invoice_id} is not on {load_form.number}.",
                          fields={"invoice_id": [f"Not on {load_form.number}."]})
    if load_form.status != LoadFormStatus.OUT_FOR_DELIVERY:
        raise wrong_state(load_form, "given deliveries before it is out for delivery"
                          if load_form.status in (LoadFormStatus.PLANNED, LoadFormStatus.LOADED) else
                          "given deliveries any more")
    if outcome not in OUTCOMES:
        add_error(errors, "outcome", f"One of {', '.join(OUTCOMES)}.")
    if restock not in Restock.values:
        add_error(errors, "restock", f"One of {', '.join(Restock.values)}.")
    return_reason = (return_reason or "").strip()
    if len(return_reason) > REASON_MAX:
        add_error(errors, "return_reason", f"At most {REASON_MAX} characters.")
    if outcome == O.RETURNED and not return_reason:
        add_error(errors, "return_reason", "Say why the invoice came back.")
    raise_field_errors(errors, "The delivery has problems: see the fields.")
    invoice_lines = list(InvoiceLine.objects.filter(invoice_id=stop.invoice_id).order_by("line_no"))
    delivered = _delivered_units(outcome, invoice_lines, lines, errors)
    raise_field_errors(errors, "The delivery has problems: see the fields.")
    if stop.outcome != O.PENDING:
        if _same_record(stop, outcome, delivered):
            return stop
        raise DomainError(DispatchError.ALREADY_RECORDED, f"{stop.invoice.number_text} was recorded as "
                          f"{stop.get_outcome_display().lower()} already; a delivery is recorded once.",
                          fields={"outcome": [f"Recorded as {stop.outcome}."]}, status_code=409)
    invoice = lock_invoices(scope).filter(pk=stop.invoice_id).get()
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvalidTransition("Invoice", invoice.status, INVOICE_STATUS[outcome])
    return _write_delivery(scope, load_form, stop, invoice, invoice_lines, outcome, delivered, return_reason, restock)


def _write_delivery(scope: Scope, load_form: LoadForm, stop: LoadFormInvoice, invoice: Invoice,
                    invoice_lines: list[InvoiceLine], outcome: str, delivered: dict[int, int], return_reason: str,
                    restock: str) -> LoadFormInvoice:
    now = timezone.now()
    DeliveryLine.objects.bulk_create([
        DeliveryLine(tenant_id=scope.tenant_id, distributor_id=load_form.distributor_id, stop=stop, invoice_line=ln,
                     sku_id=ln.sku_id, invoiced_units=ln.qty_units, delivered_units=delivered[ln.pk],
                     returned_units=ln.qty_units - delivered[ln.pk]) for ln in invoice_lines])
    back = [(ln, ln.qty_units - delivered[ln.pk]) for ln in invoice_lines if delivered[ln.pk] < ln.qty_units]
    note = None
    if back and any(ln.total > 0 for ln, _units in back):
        reason_text = f"{load_form.number}: {return_reason or 'not delivered'}"[:300]
        note = credit_note_issue(scope=scope, invoice_id=invoice.pk,
                                 reason=CreditReason.DAMAGE if restock == Restock.DAMAGED else CreditReason.RETURN,
                                 lines=[(ln.pk, units) for ln, units in back], restock=RESTOCK_ARG[restock],
                                 reason_text=reason_text)
    elif back:
        _restock_free_goods(scope, load_form, invoice, restock, back)
    invoice_record_delivery(scope=scope, invoice_id=invoice.pk, status=INVOICE_STATUS[outcome],
                            reason=f"{load_form.number}: {return_reason or outcome}",
                            detail={"load_form_id": load_form.pk, "credit_note_id": note.pk if note else None})
    stop.outcome, stop.return_reason = outcome, return_reason
    stop.restock = restock if back else ""
    stop.credit_note = note
    stop.credited = note.total if note is not None else ZERO
    stop.recorded_at, stop.recorded_by = now, scope.actor.label[:150]
    stop.save(update_fields=["outcome", "return_reason", "restock", "credit_note", "credited", "recorded_at",
                             "recorded_by", "updated_at"])
    expected = sel.cash_figures(scope=scope, load_form=load_form).expected
    _bump(load_form, expected_cash=expected)
    _event(load_form, scope, action="delivery", reason=f"{invoice.number_text} {outcome.replace('_', ' ')}"
           + (f": {return_reason}" if return_reason else ""),
           detail={"invoice_id": invoice.pk, "outcome": outcome, "restock": stop.restock,
                   "credit_note": note.number_text if note is not None else None, "credited": str(stop.credited),
                   "returned": [{"invoice_line_id": ln.pk, "sku_id": ln.sku_id, "units": units} for ln, units in back]})
    return stop


# --- collections ------------------------------------------------------------------------------------------------

def _amount(value: Any, name: str, errors: dict[str, list[str]], *, positive: bool = True) -> Decimal:
    try:
        amount = Decimal(value) if not isinstance(value, float | bool) else Decimal("NaN")
    except (InvalidOperation, TypeError, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or money(amount) != amount:
        add_error(errors, name, f"{'More than 0' if positive else '0 or more'}, in cents at most (a decimal string).")
        return ZERO
    return money(amount)


@transaction.atomic
def cash_record(*, scope: Scope, load_form_id: int, outlet_id: int, amount: Decimal | str, method: str,
                idempotency_key: str, reference: str = "") -> Any:
    """Money collected from an outlet of a load form out for delivery: cash, or a cheque (`reference`: its number,
    required). Recorded through invoicing.services.payment_record with the load form's id and date, so it is
    allocated to the outlet's open invoices oldest first; the load form's collected cash and cheques are the sums
    of its payments. Idempotent by `idempotency_key` (payment_record's: the same key and content return the first
    payment, other content is a 409). A delivery man may record on his own load form only. Locks: the load form,
    then (payment_record) the outlet's credit lock and its open invoices."""
    load_form = _round(scope, load_form_id, RECORDERS, "record collections")
    if load_form.status != LoadFormStatus.OUT_FOR_DELIVERY:
        raise wrong_state(load_form, "given collections while it is not out for delivery")
    errors: dict[str, list[str]] = {}
    outlets = sel.outlets_on(scope=scope, load_form_id=load_form.pk)
    if not is_count(outlet_id, 1) or outlet_id not in outlets:
        add_error(errors, "outlet_id", f"No outlet {outlet_id} on {load_form.number}.")
    if method not in CollectionMethod.values:
        add_error(errors, "method", f"One of {', '.join(CollectionMethod.values)}.")
    reference = (reference or "").strip()
    if method == CollectionMethod.CHEQUE and not reference:
        add_error(errors, "reference", "Give the cheque's number.")
    if len(reference) > REFERENCE_MAX:
        add_error(errors, "reference", f"At most {REFERENCE_MAX} characters.")
    value = _amount(amount, "amount", errors)
    raise_field_errors(errors, "The collection has problems: see the fields.")
    before = sel.cash_figures(scope=scope, load_form=load_form).collected
    payment = payment_record(scope=scope, outlet_id=outlet_id, amount=value, method=method,
                             received_on=load_form.date, idempotency_key=idempotency_key, reference=reference,
                             load_form_id=load_form.pk)
    collected = sel.cash_figures(scope=scope, load_form=load_form).collected
    if collected != before:
        _bump(load_form, collected_cash=collected[CollectionMethod.CASH],
              collected_cheques=collected[CollectionMethod.CHEQUE])
        _event(load_form, scope, action="collection",
               reason=f"{method} {figure(value)} from {outlets[outlet_id].code}"
                      + (f" (cheque {reference})" if reference else ""),
               detail={"payment_id": payment.pk, "outlet_id": outlet_id, "method": method, "amount": str(value)})
    return payment


# --- settlement -------------------------------------------------------------------------------------------------

def _money_text(value: Decimal) -> str:
    return f"{value:,.2f}"


def settlement_differences(*, scope: Scope, load_form: LoadForm, counted_cash: Decimal, counted_cheques: Decimal,
                           on_account: Collection[int] = ()) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Why the load form cannot settle (empty when it can), and its figures: invoices with no outcome, less
    collected than expected (with the outlets short), and cash or cheques handed in that differ from what was
    recorded. A read: it writes nothing."""
    stops = [s for s in sel.stops_of(scope=scope, load_form_id=load_form.pk) if s.live]
    cash = sel.cash_figures(scope=scope, load_form=load_form, on_account=on_account)
    out: list[dict[str, Any]] = []
    for stop in sel.pending_stops(stops):
        out.append({"kind": "not_accounted", "invoice_id": stop.invoice_id, "invoice": stop.invoice.number_text,
                    "outlet": f"{stop.outlet.code} {stop.outlet.name}",
                    "message": f"{stop.invoice.number_text} ({stop.outlet.name}) has no delivery outcome."})
    # Per outlet: one shop paying an old debt does not cover another shop's shortfall (that one stays owed).
    short_outlets = [o for o in cash.outlets if o.collected < o.expected]
    if short_outlets:
        short = sum((o.expected - o.collected for o in short_outlets), ZERO)
        message = (f"Collected {_money_text(cash.collected_total)} of {_money_text(cash.expected)} expected: "
                   f"{_money_text(short)} short.")
        if short != cash.expected - cash.collected_total:
            message = (f"{', '.join(o.outlet_label for o in short_outlets)} paid {_money_text(short)} less than "
                       "owed; what other outlets paid over does not cover it. Collect it, or leave the invoices on "
                       "account.")
        out.append({"kind": "collection_short", "expected": str(cash.expected),
                    "collected": str(cash.collected_total), "difference": str(-short),
                    "outlets": [{"outlet_id": o.outlet_id, "outlet": o.outlet_label, "expected": str(o.expected),
                                 "collected": str(o.collected)} for o in short_outlets],
                    "message": message})
    for method, counted in ((CollectionMethod.CASH, counted_cash), (CollectionMethod.CHEQUE, counted_cheques)):
        recorded = cash.collected[method]
        if counted != recorded:
            diff = counted - recorded
            out.append({"kind": "count", "method": str(method), "collected": str(recorded), "counted": str(counted),
                        "difference": str(diff),
                        "message": f"{method.label} counted {_money_text(counted)} but {_money_text(recorded)} was "
                                   f"recorded as collected: {_money_text(abs(diff))} "
                                   f"{'short' if diff < 0 else 'over'}."})
    figures = {"expected": str(cash.expected), "collected": {m: str(v) for m, v in cash.collected.items()},
               "counted": {CollectionMethod.CASH: str(counted_cash), CollectionMethod.CHEQUE: str(counted_cheques)},
               "pending_invoices": len(sel.pending_stops(stops))}
    return out, figures


@transaction.atomic
def load_form_settle(*, scope: Scope, load_form_id: int, counted_cash: Decimal | str,
                     counted_cheques: Decimal | str = ZERO, on_account_invoice_ids: Sequence[int] = (),
                     reason: str = "") -> LoadForm:
    """Out_for_delivery -> settled, with the cash and cheques handed in. Refused with a 409 (not_settled, nothing
    written) whose `extra.differences` lists every difference (settlement_differences) unless every invoice has
    an outcome, at least the expected amount was collected (less the dues of `on_account_invoice_ids`: invoices
    the distributor leaves on the outlet's account) and the counts equal the amounts recorded, per method. Settling
    moves each order loaded -> delivered | partially_delivered | returned (an OrderEvent naming the load form).

    Idempotent: settling a settled load form with the same counts returns it; other counts are a 409. Locks: the
    load form, then its orders."""
    load_form = _round(scope, load_form_id, LOADERS, "settle load forms")
    errors: dict[str, list[str]] = {}
    cash = _amount(counted_cash, "counted_cash", errors, positive=False)
    cheques = _amount(counted_cheques, "counted_cheques", errors, positive=False)
    stops = [s for s in sel.stops_of(scope=scope, load_form_id=load_form.pk) if s.live]
    on_stop = {s.invoice_id for s in stops}
    for i, pk in enumerate(on_account_invoice_ids):
        if pk not in on_stop:
            add_error(errors, f"on_account_invoice_ids[{i}]", f"Invoice {pk} is not on {load_form.number}.")
    raise_field_errors(errors, "The settlement has problems: see the fields.")
    if load_form.status == LoadFormStatus.SETTLED:
        if (load_form.counted_cash, load_form.counted_cheques) == (cash, cheques):
            return load_form
        raise wrong_state(load_form, "settled again with other counts")
    if load_form.status != LoadFormStatus.OUT_FOR_DELIVERY:
        raise InvalidTransition("LoadForm", load_form.status, LoadFormStatus.SETTLED)
    differences, figures = settlement_differences(scope=scope, load_form=load_form, counted_cash=cash,
                                                  counted_cheques=cheques, on_account=set(on_account_invoice_ids))
    if differences:
        raise DomainError(DispatchError.NOT_SETTLED, f"{load_form.number} cannot settle: "
                          f"{len(differences)} difference{'s' if len(differences) > 1 else ''}.",
                          fields={"differences": [d["message"] for d in differences]}, status_code=409,
                          extra={"differences": differences, "figures": figures})
    orders = {o.pk: o for o in lock_orders(scope).filter(pk__in=[s.order_id for s in stops])}
    for stop in stops:
        transition(orders[stop.order_id], to=ORDER_STATUS[stop.outcome], actor=scope.actor,
                   reason=f"{load_form.number} settled: {stop.get_outcome_display().lower()}"[:REASON_MAX],
                   event_model=OrderEvent, event_fk="order", distributor_id=load_form.distributor_id,
                   detail={"load_form_id": load_form.pk, "invoice_id": stop.invoice_id,
                           "credit_note_id": stop.credit_note_id})
    if on_account_invoice_ids:
        LoadFormInvoice.objects.filter(load_form_id=load_form.pk, invoice_id__in=list(on_account_invoice_ids)).update(
            on_account=True, updated_at=timezone.now())
    load_form.counted_cash, load_form.counted_cheques = cash, cheques
    load_form.settled_at = timezone.now()
    load_form.expected_cash = sel.cash_figures(scope=scope, load_form=load_form).expected
    return move(scope, load_form, LoadFormStatus.SETTLED, reason or "settled", figures,
                extra_fields=("counted_cash", "counted_cheques", "settled_at", "expected_cash"))
