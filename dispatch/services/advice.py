"""Issuing a dispatch advice (the manufacturer's side): see dispatch.services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction

from dms.core.errors import DomainError, InvalidTransition
from dms.core.money import ZERO, money, mul
from dms.tenancy.scope import Scope
from orders.enums import PrimaryOrderStatus
from orders.models import PrimaryOrder, PrimaryOrderLine
from orders.selectors_primary import primary_order_line_list
from orders.services import primary_order_mark_dispatched
from webhooks.enums import EventType
from webhooks.events import emit

from .. import selectors
from ..errors import DispatchError
from ..locks import lock_distributor, lock_order
from ..models import DispatchAdvice, DispatchAdviceLine, DispatchBatch
from ..payloads import advice_payload
from .common import (
    BATCH_MAX,
    DA_PREFIX,
    DISPATCHABLE,
    ISSUERS,
    MAX_BATCHES,
    MAX_LINES,
    TEXT_MAX,
    actor_fields,
    add_error,
    is_count,
    next_number,
    raise_field_errors,
    require_role,
)


@dataclass(frozen=True)
class BatchInput:
    """Cases of one manufacturing batch. `batch` may be empty for goods without batch detail."""

    batch: str = ""
    expiry: date | None = None
    manufactured_on: date | None = None
    cases: int = 0


@dataclass(frozen=True)
class AdviceLineInput:
    """One order line dispatched, named by `sku_id` or `line_no`, with its batches or only `dispatched_cases`
    (both may be given when they agree)."""

    sku_id: int | None = None
    line_no: int | None = None
    dispatched_cases: int | None = None
    batches: Sequence[BatchInput] = ()


@dataclass(frozen=True)
class IssueResult:
    advice: DispatchAdvice
    created: bool  # False: the reference was issued before with this content, and that DA is returned


BatchKey = tuple[str, date | None, date | None, int]  # (batch, expiry, manufactured_on, cases)


@dataclass(frozen=True)
class _Plan:
    """What one order line dispatches: its cases and batches (sorted by code), the content a replay must match."""

    dispatched: int
    batches: tuple[BatchKey, ...]


# --- issuing a dispatch advice ---------------------------------------------------------------------------------

def _check_header(errors: dict[str, list[str]], texts: dict[str, str], dispatched_on: Any,
                  expected_on: Any) -> None:
    if not texts["reference"]:
        add_error(errors, "reference", "Give the dispatch document's reference (your document number).")
    for field, limit in TEXT_MAX.items():
        if len(texts[field]) > limit:
            add_error(errors, field, f"At most {limit} characters.")
    if not isinstance(dispatched_on, date):
        add_error(errors, "dispatched_on", "Give the date the goods were dispatched.")
    elif expected_on is not None and (not isinstance(expected_on, date) or expected_on < dispatched_on):
        add_error(errors, "expected_on", f"The expected arrival is on or after the dispatch ({dispatched_on}).")


def _check_batch(at: str, b: BatchInput, code: str, dispatched_on: date | None,
                 errors: dict[str, list[str]]) -> None:
    if not is_count(b.cases, 1):
        add_error(errors, f"{at}.cases", "A batch has 1 case or more.")
    if len(code) > BATCH_MAX:
        add_error(errors, f"{at}.batch", f"A batch code has at most {BATCH_MAX} characters.")
    if dispatched_on is not None and b.expiry is not None and b.expiry < dispatched_on:
        add_error(errors, f"{at}.expiry", f"The batch expired on {b.expiry}, before its dispatch ({dispatched_on}).")
    elif b.expiry is not None and b.manufactured_on is not None and b.expiry <= b.manufactured_on:
        add_error(errors, f"{at}.expiry", f"A batch expires after it is made ({b.manufactured_on}).")
    if dispatched_on is not None and b.manufactured_on is not None and b.manufactured_on > dispatched_on:
        add_error(errors, f"{at}.manufactured_on", f"A batch is made before its dispatch ({dispatched_on}).")


def _batches_of(prefix: str, line: AdviceLineInput, dispatched_on: date | None,
                errors: dict[str, list[str]]) -> tuple[int, tuple[BatchKey, ...], str]:
    """The line's dispatched cases, its batches and the field that names its count."""
    if not line.batches:
        field = f"{prefix}.dispatched_cases"
        if line.dispatched_cases is None:
            add_error(errors, field, "Give dispatched_cases or the batches.")
            return 0, (), field
        if not is_count(line.dispatched_cases):
            add_error(errors, field, "Dispatch a whole number of cases, 0 or more.")
            return 0, (), field
        n = line.dispatched_cases
        return n, ((("", None, None, n),) if n else ()), field
    field = f"{prefix}.batches"
    if len(line.batches) > MAX_BATCHES:
        add_error(errors, field, f"A line has at most {MAX_BATCHES} batches; this one has {len(line.batches)}.")
        return 0, (), field
    keys: list[BatchKey] = []
    seen: dict[str, int] = {}
    for j, b in enumerate(line.batches):
        at = f"{prefix}.batches[{j}]"
        code = (b.batch or "").strip()
        _check_batch(at, b, code, dispatched_on, errors)
        if code in seen:
            add_error(errors, f"{at}.batch", f"{prefix}.batches[{seen[code]}] is batch '{code}' already; give each "
                                             "batch once (and at most one without a code).")
        seen.setdefault(code, j)
        keys.append((code, b.expiry, b.manufactured_on, b.cases if is_count(b.cases, 1) else 0))
    total = sum(k[3] for k in keys)
    if line.dispatched_cases is not None and line.dispatched_cases != total:
        add_error(errors, f"{prefix}.dispatched_cases",
                  f"The batches add up to {total} cases, not {line.dispatched_cases}.")
    return total, tuple(sorted(keys, key=lambda k: k[0])), field


def _plan(order_lines: list[PrimaryOrderLine], lines: Sequence[AdviceLineInput], dispatched_on: date | None,
          errors: dict[str, list[str]]) -> dict[int, _Plan]:
    """Each order line's plan (by line pk; lines not mentioned dispatch nothing); problems join `errors`."""
    plans = {ol.pk: _Plan(0, ()) for ol in order_lines}
    if not lines:
        add_error(errors, "lines", "Give the lines dispatched.")
        return plans
    if len(lines) > MAX_LINES:
        add_error(errors, "lines", f"A dispatch advice has at most {MAX_LINES} lines; this one has {len(lines)}.")
        return plans
    by_sku = {ol.sku_id: ol for ol in order_lines}
    by_no = {ol.line_no: ol for ol in order_lines}
    first_at: dict[int, int] = {}
    for i, line in enumerate(lines):
        prefix = f"lines[{i}]"
        if (line.sku_id is None) == (line.line_no is None):
            add_error(errors, prefix, "Name the order line by sku_id or by line_no (one of them).")
            continue
        name, value = ("sku_id", line.sku_id) if line.sku_id is not None else ("line_no", line.line_no)
        target = (by_sku if name == "sku_id" else by_no).get(value)  # type: ignore[arg-type]
        if target is None:
            add_error(errors, f"{prefix}.{name}", f"The order has no line with {name} {value}.")
            continue
        if target.pk in first_at:
            add_error(errors, f"{prefix}.{name}",
                      f"Order line {target.line_no} is on lines[{first_at[target.pk]}] already; give each line once.")
            continue
        first_at[target.pk] = i
        dispatched, batches, field = _batches_of(prefix, line, dispatched_on, errors)
        approved = target.approved_cases or 0
        if dispatched > approved:
            add_error(errors, field, f"Order line {target.line_no} was approved for {approved} cases: dispatch at "
                                     f"most that many, not {dispatched}.")
        plans[target.pk] = _Plan(dispatched, batches)
    if not errors and not any(p.dispatched for p in plans.values()):
        add_error(errors, "lines", "Dispatch at least one case.")
    return plans


def _content(dispatched_on: date | None, expected_on: date | None, texts: dict[str, str],
             plans: dict[int, _Plan]) -> tuple[Any, ...]:
    return (dispatched_on, expected_on, texts["vehicle"], texts["transporter"], texts["note"],
            tuple(sorted(plans.items())))


def _stored_content(scope: Scope, advice: DispatchAdvice) -> tuple[Any, ...]:
    lines = {line.pk: line for line in scope.filter(DispatchAdviceLine.objects.filter(advice_id=advice.pk))}
    batches: dict[int, list[BatchKey]] = {}
    for b in scope.filter(DispatchBatch.objects.filter(line__advice_id=advice.pk)):
        batches.setdefault(b.line_id, []).append((b.batch, b.expiry, b.manufactured_on, b.cases))
    plans = {line.order_line_id: _Plan(line.dispatched_cases, tuple(sorted(batches.get(pk, []), key=lambda k: k[0])))
             for pk, line in lines.items()}
    texts = {"vehicle": advice.vehicle, "transporter": advice.transporter, "note": advice.note}
    return _content(advice.dispatched_on, advice.expected_on, texts, plans)


def _check_not_taken(scope: Scope, order: PrimaryOrder, reference: str) -> DispatchAdvice | None:
    """The DA already issued under `reference` for this order (a replay), None for a new one; a 409 when the
    reference names another order's DA or the order has a DA under another reference."""
    existing = selectors.advice_by_reference(scope=scope, distributor_id=order.distributor_id, reference=reference)
    if existing is not None and existing.order_id != order.pk:
        raise DomainError(DispatchError.REFERENCE_CONFLICT, f"Reference '{reference}' is {existing.number} already, "
                          "the dispatch advice of another order.",
                          fields={"reference": ["Already used for another order."]}, status_code=409)
    if existing is not None:
        return existing
    other = selectors.advice_for_order(scope=scope, order_id=order.pk)
    if other is not None:
        raise DomainError(DispatchError.ALREADY_DISPATCHED, f"Order {order.number} has its dispatch advice already: "
                          f"{other.number} (reference '{other.reference}'). An order has one dispatch advice.",
                          fields={"reference": [f"The order was dispatched under '{other.reference}'."]},
                          status_code=409)
    if order.status not in DISPATCHABLE:
        raise InvalidTransition("PrimaryOrder", order.status, PrimaryOrderStatus.DISPATCHED)
    return None


@transaction.atomic
def advice_issue(*, scope: Scope, order_id: int, reference: str, dispatched_on: date,
                 lines: Sequence[AdviceLineInput], expected_on: date | None = None, vehicle: str = "",
                 transporter: str = "", note: str = "") -> IssueResult:
    """Approved | partially_approved primary order -> its dispatch advice, and the order -> dispatched (an event
    with the DA's number); emits dispatch_advice.issued. Each approved line dispatches 0..approved cases (lines
    not given dispatch 0), at least one case in all. Idempotent by `reference`: the same reference and content
    again returns the DA issued then (created False) and writes nothing; other content, another order's
    reference or a second reference for the order is a 409. Only the manufacturer (API key, admin) issues.
    Takes the distributor's lock, then the order's."""
    require_role(scope, ISSUERS, "Only the manufacturer issues dispatch advices.")
    found = selectors.primary_order_for_dispatch(scope=scope, pk=order_id)
    lock_distributor(scope, found.distributor_id)
    order = lock_order(scope, order_id)
    texts = {"reference": (reference or "").strip(), "vehicle": (vehicle or "").strip(),
             "transporter": (transporter or "").strip(), "note": (note or "").strip()}
    errors: dict[str, list[str]] = {}
    _check_header(errors, texts, dispatched_on, expected_on)
    raise_field_errors(errors, "The dispatch advice has problems: see the fields.")
    existing = _check_not_taken(scope, order, texts["reference"])
    order_lines = list(primary_order_line_list(scope=scope, order_id=order.pk).select_related("sku"))
    plans = _plan(order_lines, lines, dispatched_on, errors)
    raise_field_errors(errors, "The dispatch advice has problems: see the fields.")
    if existing is not None:
        if _stored_content(scope, existing) == _content(dispatched_on, expected_on, texts, plans):
            return IssueResult(existing, created=False)
        raise DomainError(DispatchError.REFERENCE_CONFLICT, f"Reference '{texts['reference']}' was issued as "
                          f"{existing.number} with other content; an issued dispatch advice does not change.",
                          fields={"reference": ["Issued before with other content."]}, status_code=409)
    return IssueResult(_write_advice(scope, order, order_lines, plans, texts, dispatched_on, expected_on),
                       created=True)


def _write_advice(scope: Scope, order: PrimaryOrder, order_lines: list[PrimaryOrderLine], plans: dict[int, _Plan],
                  texts: dict[str, str], dispatched_on: date, expected_on: date | None) -> DispatchAdvice:
    common = {"tenant_id": scope.tenant_id, "distributor_id": order.distributor_id}
    rows = [DispatchAdviceLine(**common, order_line_id=ol.pk, line_no=ol.line_no, sku_id=ol.sku_id,
                               ordered_cases=ol.ordered_cases, approved_cases=ol.approved_cases or 0,
                               dispatched_cases=plans[ol.pk].dispatched, case_price=ol.case_price,
                               dispatched_value=money(mul(ol.case_price, plans[ol.pk].dispatched)))
            for ol in order_lines]
    advice = DispatchAdvice.objects.create(
        distributor_id=order.distributor_id, order=order, currency=order.currency,
        number=next_number(scope, DispatchAdvice, order.distributor_id, DA_PREFIX), reference=texts["reference"],
        dispatched_on=dispatched_on, expected_on=expected_on, vehicle=texts["vehicle"],
        transporter=texts["transporter"], note=texts["note"],
        total_ordered_cases=sum(r.ordered_cases for r in rows),
        total_approved_cases=sum(r.approved_cases for r in rows),
        total_dispatched_cases=sum(r.dispatched_cases for r in rows),
        dispatched_value=sum((r.dispatched_value for r in rows), ZERO), **actor_fields(scope))
    for row in rows:
        row.advice = advice
    DispatchAdviceLine.objects.bulk_create(rows)
    batches = DispatchBatch.objects.bulk_create([
        DispatchBatch(**common, line=row, batch=code, expiry=expiry, manufactured_on=made, cases=cases)
        for row in rows for code, expiry, made, cases in plans[row.order_line_id].batches])
    order = primary_order_mark_dispatched(scope=scope, order_id=order.pk, reason=f"{advice.number} issued.",
                                          detail={"advice_id": advice.pk, "advice_number": advice.number,
                                                  "reference": advice.reference,
                                                  "total_dispatched_cases": advice.total_dispatched_cases})
    sku_codes = {ol.sku_id: ol.sku.code for ol in order_lines}
    emit(scope=scope, event_type=EventType.DISPATCH_ADVICE_ISSUED, distributor_id=advice.distributor_id,
         data=advice_payload(scope=scope, advice=advice, order=order, lines=rows, batches=batches,
                             sku_codes=sku_codes))
    return advice


