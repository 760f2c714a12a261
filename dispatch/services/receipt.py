"""Recording the goods receipt of a dispatch advice (the distributor's side): see dispatch.services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from dms.core.errors import DomainError
from dms.core.money import ZERO, money, mul
from dms.tenancy.enums import ActorKind
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from inventory.selectors import warehouse_list
from inventory.services import default_warehouse, stock_receive
from orders.services import primary_order_close, primary_order_mark_received
from webhooks.enums import EventType
from webhooks.events import emit

from .. import selectors
from ..enums import AdviceStatus
from ..errors import DispatchError
from ..locks import lock_advices, lock_distributor, lock_receipt_stock
from ..models import DispatchAdvice, DispatchBatch, GoodsReceipt, GoodsReceiptLine
from ..payloads import receipt_payload
from .common import (
    FIGURES,
    GRN_PREFIX,
    LINE_NOTE_MAX,
    RECEIVERS,
    TEXT_MAX,
    actor_fields,
    add_error,
    is_count,
    next_number,
    raise_field_errors,
    require_role,
    tenant_today,
)


@dataclass(frozen=True)
class ReceiptLineInput:
    """One dispatch batch as received, named by `batch_id` or by `line_no` (and `batch`, unless the line came in
    one batch)."""

    received_cases: int
    batch_id: int | None = None
    line_no: int | None = None
    batch: str | None = None
    short_cases: int = 0
    damaged_cases: int = 0
    note: str = ""


# --- recording the goods receipt -------------------------------------------------------------------------------

def _label(batch: DispatchBatch) -> str:
    return f"batch '{batch.batch}' of line {batch.line.line_no}" if batch.batch else f"line {batch.line.line_no}"


def _find_batch(i: int, r: ReceiptLineInput, batches: list[DispatchBatch],
                errors: dict[str, list[str]]) -> tuple[DispatchBatch | None, str]:
    """The dispatch batch a receipt line names, and the field that named it."""
    at = f"lines[{i}]"
    if (r.batch_id is None) == (r.line_no is None):
        add_error(errors, at, "Name the batch by batch_id, or by line_no (and batch).")
        return None, at
    if r.batch_id is not None:
        found = next((b for b in batches if b.pk == r.batch_id), None)
        if found is None:
            add_error(errors, f"{at}.batch_id", f"The dispatch advice has no batch {r.batch_id}.")
        return found, f"{at}.batch_id"
    on_line = [b for b in batches if b.line.line_no == r.line_no]
    if not on_line:
        add_error(errors, f"{at}.line_no", f"The dispatch advice dispatched nothing on line {r.line_no}.")
        return None, f"{at}.line_no"
    if r.batch is None:
        if len(on_line) > 1:
            add_error(errors, f"{at}.batch", f"Line {r.line_no} came in {len(on_line)} batches: name the batch.")
            return None, f"{at}.batch"
        return on_line[0], f"{at}.line_no"
    found = next((b for b in on_line if b.batch == r.batch.strip()), None)
    if found is None:
        add_error(errors, f"{at}.batch", f"Line {r.line_no} has no batch '{r.batch}'.")
    return found, f"{at}.batch"


def _match_receipt(batches: list[DispatchBatch], lines: Sequence[ReceiptLineInput],
                   errors: dict[str, list[str]]) -> dict[int, ReceiptLineInput]:
    """Each batch's receipt line (by batch pk): every batch exactly once, received + short + damaged =
    dispatched."""
    matched: dict[int, ReceiptLineInput] = {}
    first_at: dict[int, int] = {}
    for i, r in enumerate(lines):
        batch, field = _find_batch(i, r, batches, errors)
        if batch is None:
            continue
        if batch.pk in first_at:
            add_error(errors, field, f"This batch is already on lines[{first_at[batch.pk]}]; give each batch once.")
            continue
        first_at[batch.pk] = i
        matched[batch.pk] = r
        figures = {f: getattr(r, f) for f in FIGURES}
        for f, value in figures.items():
            if not is_count(value):
                add_error(errors, f"lines[{i}].{f}", "A whole number of cases, 0 or more.")
        if all(is_count(v) for v in figures.values()) and sum(figures.values()) != batch.cases:
            add_error(errors, f"lines[{i}].received_cases",
                      f"Received, short and damaged add up to {sum(figures.values())}, but {batch.cases} cases of "
                      f"{_label(batch)} were dispatched.")
        if len(r.note or "") > LINE_NOTE_MAX:
            add_error(errors, f"lines[{i}].note", f"A note has at most {LINE_NOTE_MAX} characters.")
    missing = [b for b in batches if b.pk not in first_at]
    if missing:
        names = ", ".join(f"{_label(b)} (batch_id {b.pk})" for b in missing[:10])
        add_error(errors, "lines", f"Account for every batch dispatched; missing: {names}"
                                   f"{' and more' if len(missing) > 10 else ''}.")
    return matched


def _receipt_warehouse(scope: Scope, distributor_id: int, warehouse_id: int | None,
                       errors: dict[str, list[str]]) -> Warehouse | None:
    """The warehouse named (of the DA's distributor, active), or None for the default one."""
    if warehouse_id is None:
        return None
    warehouse = None
    if is_count(warehouse_id, 1):
        warehouse = warehouse_list(scope=scope, distributor_id=distributor_id).filter(pk=warehouse_id).first()
    if warehouse is None:
        add_error(errors, "warehouse_id", f"The distributor has no warehouse {warehouse_id}.")
    elif not warehouse.active:
        add_error(errors, "warehouse_id", f"Warehouse {warehouse.code} is inactive.")
    return warehouse


@transaction.atomic
def receipt_record(*, scope: Scope, advice_id: int, lines: Sequence[ReceiptLineInput],
                   warehouse_id: int | None = None, received_on: date | None = None, note: str = "") -> GoodsReceipt:
    """Issued DA -> its goods receipt, into `warehouse_id` (the distributor's default warehouse when None) on
    `received_on` (today, tenant-local, when None): every dispatch batch once, received + short + damaged =
    dispatched. The received cases raise stock (one stock_receive per batch and expiry, reference ("grn", id));
    the DA -> received, the order -> received, and -> closed when nothing was short or damaged. Emits
    goods_receipt.recorded (and primary_order.closed). Not repeatable: a received DA is a 409 (ALREADY_RECEIVED),
    so a retry never receives twice. Takes the distributor's lock, the DA's, the order's, then the balances'."""
    require_role(scope, RECEIVERS, "Only the distributor (or the manufacturer's admin) records goods receipts.")
    found = selectors.advice_visible(scope=scope, pk=advice_id)
    lock_distributor(scope, found.distributor_id)
    advice = lock_advices(scope).filter(pk=advice_id).get()
    if advice.status != AdviceStatus.ISSUED:
        done = selectors.receipt_for_advice(scope=scope, advice_id=advice.pk)
        raise DomainError(DispatchError.ALREADY_RECEIVED, f"{advice.number} was received already"
                          f"{f' ({done.number})' if done else ''}; a dispatch advice has one goods receipt.",
                          fields={"status": [f"The dispatch advice is {advice.status}."]}, status_code=409)
    errors: dict[str, list[str]] = {}
    today = tenant_today(scope)
    received_on = received_on or today
    if received_on > today:
        add_error(errors, "received_on", f"The goods cannot be received after today ({today}).")
    elif received_on < advice.dispatched_on:
        add_error(errors, "received_on", f"The goods were dispatched on {advice.dispatched_on}: receive them on "
                                         "or after that day.")
    note = (note or "").strip()
    if len(note) > TEXT_MAX["note"]:
        add_error(errors, "note", f"At most {TEXT_MAX['note']} characters.")
    warehouse = _receipt_warehouse(scope, advice.distributor_id, warehouse_id, errors)
    batches = selectors.advice_batches(scope=scope, advice_id=advice.pk)
    matched = _match_receipt(batches, lines, errors)
    raise_field_errors(errors, "The receipt has problems: see the fields.")
    if warehouse is None:
        warehouse = default_warehouse(scope=scope, distributor_id=advice.distributor_id)
    return _write_receipt(scope, advice, warehouse, batches, matched, received_on, note)


def _write_receipt(scope: Scope, advice: DispatchAdvice, warehouse: Warehouse, batches: list[DispatchBatch],
                   matched: dict[int, ReceiptLineInput], received_on: date, note: str) -> GoodsReceipt:
    common = {"tenant_id": scope.tenant_id, "distributor_id": advice.distributor_id}
    rows = [GoodsReceiptLine(**common, advice_line_id=b.line_id, dispatch_batch=b, sku_id=b.line.sku_id,
                             batch=b.batch, expiry=b.expiry, dispatched_cases=b.cases,
                             received_cases=matched[b.pk].received_cases, short_cases=matched[b.pk].short_cases,
                             damaged_cases=matched[b.pk].damaged_cases,
                             received_units=matched[b.pk].received_cases * b.line.sku.units_per_case,
                             note=(matched[b.pk].note or "").strip())
            for b in batches]
    received_by_line: dict[int, int] = {}
    prices: dict[int, Decimal] = {}
    for b, row in zip(batches, rows, strict=True):
        received_by_line[b.line_id] = received_by_line.get(b.line_id, 0) + row.received_cases
        prices[b.line_id] = b.line.case_price
    receipt = GoodsReceipt.objects.create(
        distributor_id=advice.distributor_id, advice=advice, warehouse=warehouse, received_on=received_on, note=note,
        number=next_number(scope, GoodsReceipt, advice.distributor_id, GRN_PREFIX),
        received_by_id=scope.actor.id if scope.actor.kind == ActorKind.USER else None,
        total_dispatched_cases=sum(r.dispatched_cases for r in rows),
        total_received_cases=sum(r.received_cases for r in rows), total_short_cases=sum(r.short_cases for r in rows),
        total_damaged_cases=sum(r.damaged_cases for r in rows),
        received_value=sum((money(mul(prices[pk], n)) for pk, n in received_by_line.items()), ZERO),
        **actor_fields(scope))
    for row in rows:
        row.receipt = receipt
    GoodsReceiptLine.objects.bulk_create(rows)
    advice.status = AdviceStatus.RECEIVED
    advice.save(update_fields=["status", "updated_at"])
    order = primary_order_mark_received(scope=scope, order_id=advice.order_id,
                                        reason=f"{receipt.number} recorded against {advice.number}.", detail={
                                            "receipt_id": receipt.pk, "receipt_number": receipt.number,
                                            "received_cases": receipt.total_received_cases,
                                            "short_cases": receipt.total_short_cases,
                                            "damaged_cases": receipt.total_damaged_cases})
    _put_away(scope, receipt, advice, warehouse, rows)
    emit(scope=scope, event_type=EventType.GOODS_RECEIVED, distributor_id=advice.distributor_id,
         data=receipt_payload(scope=scope, receipt=receipt, advice=advice, order=order, lines=rows,
                              line_numbers={b.line_id: b.line.line_no for b in batches},
                              sku_codes={b.line.sku_id: b.line.sku.code for b in batches},
                              warehouse_code=warehouse.code))
    if receipt.total_short_cases == 0 and receipt.total_damaged_cases == 0:
        primary_order_close(scope=scope, order_id=order.pk, reason=f"Received in full ({receipt.number}).",
                            detail={"receipt_id": receipt.pk, "automatic": True})
    return receipt


def _put_away(scope: Scope, receipt: GoodsReceipt, advice: DispatchAdvice, warehouse: Warehouse,
              rows: list[GoodsReceiptLine]) -> None:
    """The good cases into stock: one stock_receive per (batch, expiry), as units. A (batch, expiry) group never
    holds a SKU twice: a DA has one line per SKU, and a line's batch codes are unique."""
    groups: dict[tuple[str, date | None], dict[int, int]] = {}
    for row in rows:
        if row.received_units:
            group = groups.setdefault((row.batch, row.expiry), {})
            group[row.sku_id] = group.get(row.sku_id, 0) + row.received_units
    if not groups:
        return
    lock_receipt_stock(scope, warehouse, {sku_id for group in groups.values() for sku_id in group})
    for (batch, expiry), units in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or date.min)):
        stock_receive(scope=scope, warehouse_id=warehouse.pk, lines=sorted(units.items()),
                      reference=("grn", receipt.pk), batch=batch, expiry=expiry,
                      reason=f"{receipt.number} ({advice.number})")
