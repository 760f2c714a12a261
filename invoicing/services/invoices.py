"""Issuing an invoice for an allocated secondary order (DESIGN §3, §4, §9).

What is billed is what was allocated: each booked (paid) line for the units its active allocation reserved, split
into whole cases and loose units, priced by the catalogue's engine as of the order's booking date (tenant-local).
A fully allocated order therefore gets exactly the booked figures, unless the price lists, schemes or taxes of that
date were changed in between; the booked case price and quantity stay on each line and the booked total on the
invoice, so a difference is visible, never silent.

Free goods are the engine's again: it recomputes them from the allocated paid quantities (a shorter allocation may
reach a lower slab, or none). The free units actually allocated cap each grant, since only reserved stock can be
given away. Free units allocated beyond what is earned are handed back (a RELEASE movement) and their allocation
keeps only what is invoiced, so that the stock reserved for the order is exactly the stock on its invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial

from django.db import DatabaseError, transaction
from django.utils import timezone

from catalog.pricing import LineInput, PricedLine, price_lines
from catalog.pricing.core import line_gross
from dms.core.errors import DomainError, NotFound
from dms.core.memo import memo_scope
from dms.core.money import ZERO
from dms.tenancy.enums import ActorKind
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from inventory.models import Allocation, AllocationStatus
from inventory.services import stock_release
from orders.enums import OrderStatus
from orders.locks import lock_orders
from orders.models import OrderEvent, SecondaryOrder, SecondaryOrderLine

from ..enums import DocumentKind
from ..errors import InvoicingError
from ..models import Invoice, InvoiceLine
from .numbers import number_take, number_text, tenant_of
from .payments import outlets_with_money_on_account

INVOICE_SERIES = "INV"
INVOICEABLE = (OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED)
MAX_ORDERS = 200  # orders invoiced by one call of invoice_issue_many (the API's POST)
AMOUNTS = ("gross", "discount", "tax", "total")

FreeKey = tuple[int, int | None]  # (free SKU, the scheme granting it)


@dataclass
class _Line:
    """One invoice line before it is stored."""

    sku_id: int
    cases: int
    units: int
    qty_units: int
    case_price: Decimal
    gross: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    is_free: bool
    scheme_ids: list[int]
    order_line: SecondaryOrderLine | None


@dataclass
class _Plan:
    """What invoicing an order writes: the lines, and per free allocation the units it keeps (the rest goes back)."""

    lines: list[_Line]
    free_kept: dict[int, int] = field(default_factory=dict)  # allocation pk -> units invoiced


@dataclass(frozen=True)
class IssueResult:
    """One order of invoice_issue_many: invoiced now, already invoiced, or refused (code and message)."""

    order_id: int
    ok: bool
    invoice: Invoice | None = None
    created: bool = False
    code: str = ""
    message: str = ""


def _free_key(line: SecondaryOrderLine) -> FreeKey:
    return (line.sku_id, line.scheme_ids[0] if line.scheme_ids else None)


def _paid_input(line: SecondaryOrderLine, allocated: int) -> LineInput:
    """The allocated units of a booked line as cases + units: the booked split when all of it was allocated."""
    if allocated == line.qty_units:
        return LineInput(sku_id=line.sku_id, cases=line.cases, units=line.units)
    cases, units = divmod(allocated, line.sku.units_per_case)
    return LineInput(sku_id=line.sku_id, cases=cases, units=units)


def _from_priced(p: PricedLine, order_line: SecondaryOrderLine | None) -> _Line:
    return _Line(sku_id=p.sku_id, cases=p.cases, units=p.units, qty_units=p.qty_units, case_price=p.case_price,
                 gross=p.gross, discount=p.discount, tax_rate=p.tax_rate, tax=p.tax, total=p.total, is_free=p.is_free,
                 scheme_ids=list(p.scheme_ids), order_line=order_line)


def _capped_free(p: PricedLine, qty: int, order_line: SecondaryOrderLine) -> _Line:
    """A free-goods line cut down to the `qty` units allocated: valued like the engine values free goods (gross at
    the list price, fully discounted, so net, tax and total are 0)."""
    upc = order_line.sku.units_per_case
    gross = line_gross(p.case_price, qty, upc)
    cases, units = divmod(qty, upc)
    return _Line(sku_id=p.sku_id, cases=cases, units=units, qty_units=qty, case_price=p.case_price, gross=gross,
                 discount=gross, tax_rate=p.tax_rate, tax=ZERO, total=ZERO, is_free=True,
                 scheme_ids=list(p.scheme_ids), order_line=order_line)


def _plan_lines(priced_lines: Sequence[PricedLine], paid: Sequence[tuple[SecondaryOrderLine, int]],
               free_lines: Sequence[SecondaryOrderLine], allocations: Sequence[Allocation]) -> _Plan:
    """The invoice lines from the engine's answer for the allocated paid lines (`paid`, in input order), capping each
    free-goods grant at the free units allocated for the same SKU and scheme. Pure: no queries."""
    plan = _Plan(lines=[_from_priced(p, paid[p.index][0]) for p in priced_lines if not p.is_free])
    by_line: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        by_line[allocation.order_line_id].append(allocation)
    free_by_key: dict[FreeKey, list[SecondaryOrderLine]] = defaultdict(list)
    for line in free_lines:
        free_by_key[_free_key(line)].append(line)
    granted: dict[FreeKey, int] = {}
    for p in priced_lines:
        if not p.is_free:
            continue
        key = (p.sku_id, p.free_of_scheme_id)
        candidates = free_by_key.get(key, [])
        allocated = sum(a.allocated_units for line in candidates for a in by_line[line.pk])
        qty = min(p.qty_units, allocated - granted.get(key, 0))
        if qty <= 0:
            continue  # nothing of this grant was allocated: only reserved stock is given away
        granted[key] = granted.get(key, 0) + qty
        plan.lines.append(_from_priced(p, candidates[0]) if qty == p.qty_units else _capped_free(p, qty, candidates[0]))
    # Each free allocation keeps what is invoiced of its key, first allocations first; the rest is released.
    for key, lines in free_by_key.items():
        left = granted.get(key, 0)
        for line in lines:
            for allocation in by_line[line.pk]:
                kept = min(allocation.allocated_units, left)
                left -= kept
                plan.free_kept[allocation.pk] = kept
    return plan


def _totals(lines: Sequence[_Line]) -> dict[str, Decimal]:
    totals = {name: sum((getattr(line, name) for line in lines), ZERO) for name in AMOUNTS}
    # DESIGN §9: the total is the sum of the rounded lines to the cent, and each line adds up. Checked, not assumed,
    # with a raise that `python -O` keeps: an invoice that does not add up must never be stored.
    for line in lines:
        if line.total != line.gross - line.discount + line.tax or line.total.as_tuple().exponent != -2:
            raise AssertionError(f"invoice line of SKU {line.sku_id} does not add up: {line}")
    if totals["total"] != totals["gross"] - totals["discount"] + totals["tax"]:
        raise AssertionError(f"invoice totals do not add up: {totals}")
    return totals


def _release_unearned_free_goods(scope: Scope, order: SecondaryOrder, allocations: Sequence[Allocation],
                                 kept: dict[int, int]) -> None:
    by_warehouse: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for allocation in allocations:
        excess = allocation.allocated_units - kept.get(allocation.pk, allocation.allocated_units)
        if excess > 0:
            by_warehouse[allocation.warehouse_id][allocation.sku_id] += excess
    for warehouse_id, skus in sorted(by_warehouse.items()):
        stock_release(scope=scope, warehouse_id=warehouse_id, lines=sorted(skus.items()),
                      reference=("secondary_order", order.pk),
                      reason="free goods not earned by the allocated quantities (invoicing)")


@dataclass
class _Prepared:
    """One order ready to be written: its plan and totals, computed under the order's lock."""

    order: SecondaryOrder
    priced_on: date
    currency: str
    plan: _Plan
    totals: dict[str, Decimal]
    allocations: list[Allocation]


def _refusal(order: SecondaryOrder) -> DomainError:
    return DomainError(InvoicingError.NOT_ALLOCATED,
                       f"The order is {order.get_status_display().lower()}: only an allocated or partially "
                       "allocated order can be invoiced.", fields={"status": ["Not allocated."]}, status_code=409)


def _prepare(scope: Scope, tenant: Tenant, order: SecondaryOrder, lines: list[SecondaryOrderLine],
             allocations: list[Allocation]) -> _Prepared:
    """Price the order's allocated units and plan its lines (no writes but the release of unearned free goods)."""
    allocated: dict[int, int] = defaultdict(int)
    for allocation in allocations:
        allocated[allocation.order_line_id] += allocation.allocated_units
    paid = [(line, allocated[line.pk]) for line in lines if not line.is_free and allocated[line.pk] > 0]
    if not paid:
        raise DomainError(InvoicingError.NOTHING_ALLOCATED, "No stock is allocated to the order's lines: there is "
                          "nothing to invoice.", fields={"order_id": ["Nothing allocated."]}, status_code=409)
    priced_on = order.booked_at.astimezone(tenant.tz).date()
    priced = price_lines(scope=scope, outlet=order.outlet, on_date=priced_on,
                         lines=[_paid_input(line, qty) for line, qty in paid])
    free_ids = {line.pk for line in lines if line.is_free}
    free_allocations = [a for a in allocations if a.order_line_id in free_ids]
    plan = _plan_lines(priced.lines, paid, [line for line in lines if line.is_free], free_allocations)
    totals = _totals(plan.lines)
    _release_unearned_free_goods(scope, order, free_allocations, plan.free_kept)
    return _Prepared(order=order, priced_on=priced_on, currency=priced.currency or tenant.currency, plan=plan,
                     totals=totals, allocations=allocations)


def _write(scope: Scope, tenant: Tenant, ready: Sequence[_Prepared]) -> list[Invoice]:
    """Number, store and move on the prepared orders: one query per table whatever their number. The series lock is
    taken first here, after everything slow, and held until commit."""
    now = timezone.now()
    invoice_date = now.astimezone(tenant.tz).date()
    fiscal_year = tenant.fiscal_year(invoice_date)
    numbers: list[int] = []
    for distributor_id in sorted({p.order.distributor_id for p in ready}):
        count = sum(1 for p in ready if p.order.distributor_id == distributor_id)
        first = number_take(scope=scope, distributor_id=distributor_id, kind=DocumentKind.INVOICE,
                            code=INVOICE_SERIES, on_date=invoice_date, count=count)
        numbers += range(first, first + count)
    ready = sorted(ready, key=lambda p: (p.order.distributor_id, p.order.pk))
    issuer = scope.actor.id if scope.actor.kind == ActorKind.USER else None
    invoices = Invoice.objects.bulk_create([
        Invoice(tenant_id=scope.tenant_id, distributor_id=p.order.distributor_id, order=p.order,
                outlet_id=p.order.outlet_id, series_code=INVOICE_SERIES, fiscal_year=fiscal_year, number=number,
                number_text=number_text(INVOICE_SERIES, fiscal_year, number), invoice_date=invoice_date, issued_at=now,
                priced_on=p.priced_on, currency=p.currency, booked_total=p.order.total, issued_by_id=issuer,
                **p.totals)
        for p, number in zip(ready, numbers, strict=True)])
    InvoiceLine.objects.bulk_create([
        InvoiceLine(tenant_id=scope.tenant_id, distributor_id=invoice.distributor_id, invoice=invoice, line_no=i,
                    order_line=line.order_line, sku_id=line.sku_id, cases=line.cases, units=line.units,
                    qty_units=line.qty_units, case_price=line.case_price, gross=line.gross, discount=line.discount,
                    tax_rate=line.tax_rate, tax=line.tax, total=line.total, is_free=line.is_free,
                    scheme_ids=line.scheme_ids,
                    booked_case_price=line.order_line.case_price if line.order_line is not None else None,
                    booked_qty_units=line.order_line.qty_units if line.order_line is not None else None)
        for p, invoice in zip(ready, invoices, strict=True) for i, line in enumerate(p.plan.lines, start=1)])
    cut = {pk: units for p in ready for pk, units in p.plan.free_kept.items()
           if units != next(a.allocated_units for a in p.allocations if a.pk == pk)}
    Allocation.objects.filter(pk__in=[a.pk for p in ready for a in p.allocations if a.pk not in cut]).update(
        status=AllocationStatus.INVOICED, updated_at=now)
    for pk, units in cut.items():  # free goods not earned: invoiced at what was kept (the rest was released)
        Allocation.objects.filter(pk=pk).update(status=AllocationStatus.INVOICED, allocated_units=units, updated_at=now)
    # allocated | partially_allocated -> invoiced (SecondaryOrder.TRANSITIONS), checked under the lock by the caller
    SecondaryOrder.objects.filter(pk__in=[p.order.pk for p in ready]).update(
        status=OrderStatus.INVOICED, status_changed_at=now, updated_at=now)
    actor = scope.actor
    OrderEvent.objects.bulk_create([
        OrderEvent(tenant_id=scope.tenant_id, distributor_id=p.order.distributor_id, order=p.order,
                   from_status=p.order.status, to_status=OrderStatus.INVOICED, actor_kind=actor.kind,
                   actor_id=actor.id, actor_label=actor.label[:150], reason=f"invoice {invoice.number_text}",
                   detail={"invoice_id": invoice.pk, "number": invoice.number_text, "total": str(invoice.total),
                           "booked_total": str(p.order.total)})
        for p, invoice in zip(ready, invoices, strict=True)])
    for p in ready:
        p.order.status = OrderStatus.INVOICED
    _apply_money_on_account(scope, sorted({p.order.outlet_id for p in ready}))
    return invoices


def _apply_money_on_account(scope: Scope, outlet_ids: list[int]) -> None:
    """Outlets holding money on account have it applied to their new invoices once these commit (a task: the
    outlet's credit lock is not taken while the series lock is held). One query whatever the number of outlets."""
    from ..tasks import on_account_apply_task  # tasks import services: avoid the cycle

    holding = outlets_with_money_on_account(scope=scope, outlet_ids=outlet_ids)
    if holding:
        transaction.on_commit(partial(on_account_apply_task.delay, tenant_id=scope.tenant_id, outlet_ids=holding))


def _issue_locked(scope: Scope, order_ids: Sequence[int]) -> dict[int, Invoice | tuple[Invoice] | DomainError]:
    """Invoice the orders under their locks: per order its new invoice, its existing one (a 1-tuple: already
    invoiced, nothing written) or the refusal. The caller holds the transaction; a database error aborts it all."""
    out: dict[int, Invoice | tuple[Invoice] | DomainError] = {}
    orders = {o.pk: o for o in lock_orders(scope).filter(pk__in=order_ids).select_related("outlet")}
    existing = {i.order_id: i for i in scope.filter(Invoice.objects.filter(order_id__in=list(orders)))}
    candidates = []
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            out[order_id] = NotFound("Order not found.")
        elif order_id in existing:
            out[order_id] = (existing[order_id],)
        elif (order.status not in INVOICEABLE
              or OrderStatus.INVOICED not in SecondaryOrder.TRANSITIONS[OrderStatus(order.status)]):
            out[order_id] = _refusal(order)
        else:
            candidates.append(order)
    if not candidates:
        return out
    tenant = tenant_of(scope)
    ids = [o.pk for o in candidates]
    lines: dict[int, list[SecondaryOrderLine]] = defaultdict(list)
    for line in SecondaryOrderLine.objects.filter(order_id__in=ids).select_related("sku").order_by("order_id",
                                                                                                   "line_no"):
        lines[line.order_id].append(line)
    allocations: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in Allocation.objects.filter(order_id__in=ids, status=AllocationStatus.ACTIVE).order_by("pk"):
        allocations[allocation.order_id].append(allocation)
    ready = []
    for order in candidates:
        # Only free goods can make _prepare write (releasing unearned ones): then a refusal must undo just those.
        writes = any(line.is_free for line in lines[order.pk])
        try:
            with transaction.atomic() if writes else nullcontext():
                ready.append(_prepare(scope, tenant, order, lines[order.pk], allocations[order.pk]))
        except DomainError as exc:
            out[order.pk] = exc
    if ready:
        for invoice in _write(scope, tenant, ready):
            out[invoice.order_id] = invoice
    return out


def _issue(scope: Scope, order_id: int) -> tuple[Invoice, bool]:
    result = _issue_locked(scope, [order_id])[order_id]
    if isinstance(result, DomainError):
        raise result
    if isinstance(result, tuple):
        return result[0], False
    return result, True


@transaction.atomic
def invoice_issue(*, scope: Scope, order_id: int) -> Invoice:
    """Allocated or partially allocated -> invoiced: the order's invoice, numbered from the distributor's INV series
    of the fiscal year of today's (tenant-local) date, priced as the module docstring says. The order's active
    allocations become invoiced; the order moves to invoiced with an event naming the invoice.

    Idempotent: an order that has its invoice already returns it (nothing is written). Another state is a 409
    (not_allocated), an order with no allocated units too (nothing_allocated); a line the engine cannot price any
    more (an inactive SKU, no price) is the engine's 400. Takes the order's lock, then stock balances (releasing
    unearned free goods), then the number series last.
    """
    return _issue(scope, order_id)[0]


def invoice_issue_one(*, scope: Scope, order_id: int) -> IssueResult:
    """invoice_issue in a savepoint of its own, its outcome as an IssueResult: a refusal is a result (code and
    message), not an exception, and rolls back only this order's writes."""
    try:
        with transaction.atomic():
            invoice, created = _issue(scope, order_id)
    except DomainError as exc:
        return IssueResult(order_id=order_id, ok=False, code=exc.code, message=exc.message)
    return IssueResult(order_id=order_id, ok=True, invoice=invoice, created=created)


def invoice_issue_chunk(*, scope: Scope, order_ids: Sequence[int]) -> list[IssueResult]:
    """Invoice the orders together, in one savepoint: locks, reads and writes in bulk (a dozen queries for a hundred
    orders), numbers taken as one consecutive range per distributor. A refused order is a result and is left out;
    a database error undoes the chunk and its orders are invoiced one by one instead (invoice_issue_one). The
    batch job's path; results in the order given."""
    try:
        with memo_scope(), transaction.atomic():  # master data read once for the chunk
            done = _issue_locked(scope, list(order_ids))
    except DatabaseError:
        return [invoice_issue_one(scope=scope, order_id=order_id) for order_id in order_ids]
    results = []
    for order_id in order_ids:
        outcome = done[order_id]
        if isinstance(outcome, DomainError):
            results.append(IssueResult(order_id=order_id, ok=False, code=outcome.code, message=outcome.message))
        elif isinstance(outcome, tuple):
            results.append(IssueResult(order_id=order_id, ok=True, invoice=outcome[0], created=False))
        else:
            results.append(IssueResult(order_id=order_id, ok=True, invoice=outcome, created=True))
    return results


def invoice_issue_many(*, scope: Scope, order_ids: Sequence[int]) -> list[IssueResult]:
    """Invoice each order on its own (invoice_issue_one): a result per order, in the order given; one refused order
    never blocks the others."""
    if len(order_ids) > MAX_ORDERS:
        raise DomainError(InvoicingError.INVALID, f"At most {MAX_ORDERS} orders at once.",
                          fields={"order_ids": [f"At most {MAX_ORDERS} orders at once."]})
    return [invoice_issue_one(scope=scope, order_id=order_id) for order_id in order_ids]
