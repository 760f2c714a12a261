"""Credit notes: the only correction of an issued invoice (DESIGN §3). Returns, damages, short deliveries,
cancellations and price corrections all credit units of the invoice's lines.

Valuation, per credited line: the cumulative credit of an invoice line after crediting Q of its N units is
money(X * Q / N) for X in net, discount and tax (gross = net + discount, total = net + tax), and each credit note
takes the difference from what earlier notes took. So every credit is rounded per line and never negative, the
credits of a line never exceed it, and the note that credits a line's last unit takes exactly its remainder: a
full credit equals the invoice to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.core.money import ZERO, div, money, mul
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from inventory.locks import lock_balances
from inventory.models import Allocation, AllocationStatus
from inventory.selectors import warehouse_get
from inventory.services import default_warehouse, stock_adjust, stock_return

from ..enums import CreditReason, DocumentKind
from ..errors import InvoicingError
from ..locks import lock_invoices
from ..models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from .numbers import number_take, number_text
from .payments import settle_status

CREDIT_NOTE_SERIES = "CN"
RESTOCK_SALEABLE, RESTOCK_DAMAGED, RESTOCK_NONE = "saleable", "damaged", ""
RESTOCK = (RESTOCK_SALEABLE, RESTOCK_DAMAGED, RESTOCK_NONE)
MAX_LINES = 500
REASON_TEXT_MAX = CreditNote._meta.get_field("reason_text").max_length or 300

CreditLine = tuple[int, int]  # (invoice_line_id, qty_units)


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _raise(errors: dict[str, list[str]], code: str = InvoicingError.INVALID) -> None:
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(code, first if len(errors) == 1 else "The credit note has problems: see the fields.",
                          fields=errors)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_input(reason: str, restock: str, reason_text: str, lines: Sequence[CreditLine]) -> None:
    errors: dict[str, list[str]] = {}
    if reason not in CreditReason.values:
        _add(errors, "reason", f"One of {', '.join(CreditReason.values)}.")
    if restock not in RESTOCK:
        _add(errors, "restock", '"saleable", "damaged" or "" (no goods back).')
    if len(reason_text) > REASON_TEXT_MAX:
        _add(errors, "reason_text", f"At most {REASON_TEXT_MAX} characters.")
    if not lines:
        _add(errors, "lines", "Credit at least one line.")
    elif len(lines) > MAX_LINES:
        _add(errors, "lines", f"At most {MAX_LINES} lines.")
    seen: dict[int, int] = {}
    for i, line in enumerate(lines):
        try:
            line_id, qty = line
        except (TypeError, ValueError):
            _add(errors, f"lines[{i}]", "A line is (invoice_line_id, qty_units).")
            continue
        if not _is_count(line_id):
            _add(errors, f"lines[{i}].invoice_line_id", "An invoice line id is an integer.")
        elif line_id in seen:
            _add(errors, f"lines[{i}].invoice_line_id", f"Line {line_id} is already on lines[{seen[line_id]}].")
        else:
            seen[line_id] = i
        if not _is_count(qty) or qty <= 0:
            _add(errors, f"lines[{i}].qty_units", "A quantity is a whole number of units, 1 or more.")
    _raise(errors)


def _credited(invoice: Invoice) -> dict[int, dict[str, Any]]:
    """Per invoice line: units and amounts credited by earlier notes."""
    rows = (CreditNoteLine.objects.filter(credit_note__invoice_id=invoice.pk).values("invoice_line_id")
            .annotate(qty=Sum("qty_units"), gross=Sum("gross"), discount=Sum("discount"), tax=Sum("tax"),
                      total=Sum("total")))
    return {row["invoice_line_id"]: row for row in rows}


def _cumulative(amount: Decimal, qty: int, of: int) -> Decimal:
    return money(div(mul(amount, qty), of))


def credit_value(line: InvoiceLine, *, before_qty: int, before: dict[str, Decimal], qty: int) -> dict[str, Decimal]:
    """The amounts of crediting `qty` more units of `line`, after `before_qty` units worth `before` were credited."""
    after = before_qty + qty
    net = line.gross - line.discount
    net_c = _cumulative(net, after, line.qty_units) - (before["gross"] - before["discount"])
    discount_c = _cumulative(line.discount, after, line.qty_units) - before["discount"]
    tax_c = _cumulative(line.tax, after, line.qty_units) - before["tax"]
    return {"gross": net_c + discount_c, "discount": discount_c, "tax": tax_c, "total": net_c + tax_c}


def _warehouse_of(scope: Scope, invoice: Invoice, order_line_id: int | None) -> int:
    """Where the goods of an invoice line came from: its allocation's warehouse, else the distributor's default."""
    if order_line_id is not None:
        allocation = (Allocation.objects.filter(order_line_id=order_line_id)
                      .exclude(status=AllocationStatus.RELEASED).order_by("-pk").first())
        if allocation is not None:
            return int(allocation.warehouse_id)
    return int(default_warehouse(scope=scope, distributor_id=invoice.distributor_id).pk)


Restock = dict[int, dict[int, int]]  # warehouse id -> sku id -> units


def _restock_plan(scope: Scope, invoice: Invoice, credited: Sequence[tuple[InvoiceLine, int]]) -> Restock:
    """The goods coming back per warehouse, with those warehouses' balances locked now: before the number series,
    as the lock order says (invoicing.locks)."""
    plan: Restock = defaultdict(lambda: defaultdict(int))
    for line, qty in credited:
        plan[_warehouse_of(scope, invoice, line.order_line_id)][line.sku_id] += qty
    for warehouse_id, skus in sorted(plan.items()):
        lock_balances(scope, warehouse_get(scope=scope, pk=warehouse_id), skus)
    return plan


def _restock(scope: Scope, note: CreditNote, restock: str, plan: Restock) -> None:
    """Goods back into the order's warehouse: saleable ones as a return; damaged ones as a return and then an
    adjustment out, so the ledger shows both that they came back and that they were written off."""
    reference = ("credit_note", note.pk)
    for warehouse_id, skus in sorted(plan.items()):
        stock_return(scope=scope, warehouse_id=warehouse_id, lines=sorted(skus.items()), reference=reference,
                     reason=f"{note.number_text}: {note.get_reason_display().lower()}")
        if restock == RESTOCK_DAMAGED:
            for sku_id, qty in sorted(skus.items()):
                stock_adjust(scope=scope, warehouse_id=warehouse_id, sku_id=sku_id, qty_units=-qty,
                             reference=reference, reason=f"{note.number_text}: returned damaged, written off")


@transaction.atomic
def credit_note_issue(*, scope: Scope, invoice_id: int, reason: str, lines: Sequence[CreditLine],
                      restock: str = RESTOCK_NONE, reason_text: str = "") -> CreditNote:
    """A credit note against an issued invoice, numbered from the distributor's CN series of today's fiscal year.

    Each line credits `qty_units` of an invoice line, refused beyond what is left of it (invoiced less already
    credited); the note is refused beyond what is left of the invoice's total, and a note worth nothing (only free
    goods) too. Valued as the module docstring says. The invoice's credited_amount (and, when nothing is left to
    collect, its payment status) move with it. `restock`: "saleable" returns the goods into the warehouse they were
    allocated from, "damaged" returns them and writes them off, "" moves no stock.

    Not idempotent: every call that passes the checks writes a note. Two notes at once for the same invoice take
    turns on the invoice's lock, so together they never exceed it. Locks: the invoice, then stock balances, then
    the number series.
    """
    _check_input(reason, restock, reason_text, lines)
    invoice = lock_invoices(scope).filter(pk=invoice_id).first() if _is_count(invoice_id) else None
    if invoice is None:
        raise NotFound("Invoice not found.")
    invoice_lines = {line.pk: line for line in InvoiceLine.objects.filter(invoice_id=invoice.pk)}
    credited = _credited(invoice)
    errors: dict[str, list[str]] = {}
    values: list[tuple[InvoiceLine, int, dict[str, Decimal]]] = []
    for i, (line_id, qty) in enumerate(lines):
        line = invoice_lines.get(line_id)
        if line is None:
            _add(errors, f"lines[{i}].invoice_line_id", f"Line {line_id} is not a line of {invoice.number_text}.")
            continue
        before = credited.get(line.pk) or {"qty": 0, "gross": ZERO, "discount": ZERO, "tax": ZERO, "total": ZERO}
        left = line.qty_units - before["qty"]
        if qty > left:
            _add(errors, f"lines[{i}].qty_units", f"Only {left} of the {line.qty_units} units of line "
                                                  f"{line.line_no} are left to credit; {qty} asked.")
            continue
        values.append((line, qty, credit_value(line, before_qty=before["qty"], before=before, qty=qty)))
    _raise(errors, InvoicingError.CREDIT_EXCEEDS_INVOICE)
    totals = {name: sum((v[name] for _line, _qty, v in values), ZERO) for name in ("gross", "discount", "tax", "total")}
    left = invoice.total - invoice.credited_amount
    if totals["total"] > left:
        raise DomainError(InvoicingError.CREDIT_EXCEEDS_INVOICE,
                          f"The note is worth {totals['total']}; only {left} of {invoice.number_text} is left to "
                          "credit.", fields={"lines": [f"Only {left} is left to credit."]})
    if totals["total"] <= 0:
        raise DomainError(InvoicingError.INVALID, "The note would be worth nothing (free goods only): credit "
                          "at least one line with a value.", fields={"lines": ["Worth nothing."]})

    plan = _restock_plan(scope, invoice, [(line, qty) for line, qty, _v in values]) if restock else None
    tenant = Tenant.objects.get(pk=scope.tenant_id)
    now = timezone.now()
    note_date = now.astimezone(tenant.tz).date()
    fiscal_year = tenant.fiscal_year(note_date)
    # A note is immutable from its first write (the trigger refuses any update), so it is inserted once, numbered;
    # the restock movements reference it afterwards.
    number = number_take(scope=scope, distributor_id=invoice.distributor_id, kind=DocumentKind.CREDIT_NOTE,
                         code=CREDIT_NOTE_SERIES, on_date=note_date)
    actor = scope.actor
    note = CreditNote.objects.create(
        distributor_id=invoice.distributor_id, invoice=invoice, outlet_id=invoice.outlet_id,
        series_code=CREDIT_NOTE_SERIES, fiscal_year=fiscal_year, number=number,
        number_text=number_text(CREDIT_NOTE_SERIES, fiscal_year, number), note_date=note_date, issued_at=now,
        reason=reason, reason_text=reason_text.strip(), currency=invoice.currency, restock=restock,
        actor_kind=actor.kind, actor_id=actor.id, actor_label=actor.label[:150], **totals)
    CreditNoteLine.objects.bulk_create([
        CreditNoteLine(tenant_id=scope.tenant_id, distributor_id=invoice.distributor_id, credit_note=note, line_no=i,
                       invoice_line=line, sku_id=line.sku_id, qty_units=qty, **value)
        for i, (line, qty, value) in enumerate(values, start=1)])
    credited_amount = invoice.credited_amount + totals["total"]
    Invoice.objects.filter(pk=invoice.pk).update(
        credited_amount=F("credited_amount") + totals["total"], version=F("version") + 1, updated_at=now,
        payment_status=settle_status(total=invoice.total, credited=credited_amount, paid=invoice.paid_amount))
    if plan is not None:
        _restock(scope, note, restock, plan)
    return note
