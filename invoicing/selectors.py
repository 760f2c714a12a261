"""Reads of invoices, credit notes, payments and outlet balances, always through the scope: another distributor's
or tenant's document is "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Prefetch, QuerySet, Sum

from catalog import selectors as catalog_selectors
from catalog.models import Outlet
from dms.core.errors import NotFound
from dms.core.money import ZERO
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_get
from orders.models import SecondaryOrder

from .models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment, PaymentAllocation
from .pdf import Document, DocumentLine, Party

INVOICEABLE = ("allocated", "partially_allocated")  # = services.INVOICEABLE (selectors do not import services)
BUCKETS = ("0-30", "31-60", "61-90", "90+")  # days since the invoice date
RECENT = 20  # credit notes and payments listed on an outlet's balance

_DUE = ExpressionWrapper(F("total") - F("credited_amount") - F("paid_amount"),
                         output_field=DecimalField(max_digits=18, decimal_places=2))


# --- documents -------------------------------------------------------------------------------------------------

def invoice_list(*, scope: Scope, distributor_id: int | None = None, outlet_id: int | None = None,
                 order_id: int | None = None, status: str | None = None, payment_status: str | None = None,
                 date_from: date | None = None, date_to: date | None = None) -> QuerySet[Invoice]:
    """Invoices newest first, with their outlet; each filter narrows (dates are invoice dates, inclusive)."""
    qs = scope.filter(Invoice.objects.select_related("outlet")).order_by("-invoice_date", "-number", "-id")
    filters = {"distributor_id": distributor_id, "outlet_id": outlet_id, "order_id": order_id, "status": status,
               "payment_status": payment_status, "invoice_date__gte": date_from, "invoice_date__lte": date_to}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})


def invoice_get(*, scope: Scope, pk: int) -> Invoice:
    """An invoice with its lines (and SKUs), credit notes and payment allocations (with their payments)."""
    lines = InvoiceLine.objects.select_related("sku").order_by("line_no")
    notes = CreditNote.objects.order_by("issued_at", "id")
    paid = PaymentAllocation.objects.select_related("payment").order_by("payment__received_on", "id")
    invoice = (scope.filter(Invoice.objects.select_related("outlet", "order", "distributor"))
               .prefetch_related(Prefetch("lines", queryset=lines), Prefetch("credit_notes", queryset=notes),
                                 Prefetch("payment_allocations", queryset=paid))
               .filter(pk=pk).first())
    if invoice is None:
        raise NotFound("Invoice not found.")
    return invoice


def credit_note_list(*, scope: Scope, distributor_id: int | None = None, outlet_id: int | None = None,
                     invoice_id: int | None = None, date_from: date | None = None,
                     date_to: date | None = None) -> QuerySet[CreditNote]:
    qs = scope.filter(CreditNote.objects.select_related("outlet", "invoice")).order_by("-note_date", "-number", "-id")
    filters = {"distributor_id": distributor_id, "outlet_id": outlet_id, "invoice_id": invoice_id,
               "note_date__gte": date_from, "note_date__lte": date_to}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})


def credit_note_get(*, scope: Scope, pk: int) -> CreditNote:
    lines = CreditNoteLine.objects.select_related("sku", "invoice_line").order_by("line_no")
    note = (scope.filter(CreditNote.objects.select_related("outlet", "invoice", "distributor"))
            .prefetch_related(Prefetch("lines", queryset=lines)).filter(pk=pk).first())
    if note is None:
        raise NotFound("Credit note not found.")
    return note


def payment_list(*, scope: Scope, distributor_id: int | None = None, outlet_id: int | None = None,
                 date_from: date | None = None, date_to: date | None = None) -> QuerySet[Payment]:
    qs = scope.filter(Payment.objects.select_related("outlet")).order_by("-received_on", "-id")
    filters = {"distributor_id": distributor_id, "outlet_id": outlet_id, "received_on__gte": date_from,
               "received_on__lte": date_to}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})


def payment_get(*, scope: Scope, pk: int) -> Payment:
    allocations = PaymentAllocation.objects.select_related("invoice").order_by("invoice__invoice_date", "id")
    payment = (scope.filter(Payment.objects.select_related("outlet"))
               .prefetch_related(Prefetch("allocations", queryset=allocations)).filter(pk=pk).first())
    if payment is None:
        raise NotFound("Payment not found.")
    return payment


def invoiceable_order_ids(*, scope: Scope, distributor_id: int, booked_on: date | None = None) -> QuerySet:
    """Ids of the distributor's allocated and partially allocated orders (booked on the tenant-local `booked_on`
    when given), oldest booking first: the work of a batch invoicing job."""
    qs = scope.filter(SecondaryOrder.objects.filter(distributor_id=distributor_id, status__in=INVOICEABLE))
    if booked_on is not None:
        tz = tenant_get(scope=scope).tz
        start = datetime.combine(booked_on, time.min, tzinfo=tz)
        qs = qs.filter(booked_at__gte=start, booked_at__lt=start + timedelta(days=1))
    return qs.order_by("booked_at", "pk").values_list("pk", flat=True)


# --- the printable documents -----------------------------------------------------------------------------------

def _party(obj: Distributor | Outlet) -> Party:
    return Party(name=obj.name, code=obj.code, address=getattr(obj, "address", ""), tax_id=obj.tax_id)


def invoice_document(*, scope: Scope, pk: int) -> Document:
    """What the PDF of an invoice prints, read now (inside the caller's transaction) as plain data."""
    invoice = invoice_get(scope=scope, pk=pk)
    lines = tuple(DocumentLine(
        line_no=ln.line_no, sku_code=ln.sku.code, sku_name=ln.sku.name, cases=ln.cases, units=ln.units,
        qty_units=ln.qty_units, case_price=ln.case_price, gross=ln.gross, discount=ln.discount, tax_rate=ln.tax_rate,
        tax=ln.tax, total=ln.total, is_free=ln.is_free, booked_case_price=ln.booked_case_price,
        booked_qty_units=ln.booked_qty_units) for ln in invoice.lines.all())
    return Document(kind="invoice", number_text=invoice.number_text, date=invoice.invoice_date,
                    seller=_party(invoice.distributor), buyer=_party(invoice.outlet), currency=invoice.currency,
                    lines=lines, gross=invoice.gross, discount=invoice.discount, tax=invoice.tax, total=invoice.total,
                    booked_total=invoice.booked_total,
                    references=(("Order", str(invoice.order.uuid)), ("Prices as of", invoice.priced_on.isoformat())))


def credit_note_document(*, scope: Scope, pk: int) -> Document:
    note = credit_note_get(scope=scope, pk=pk)
    lines = []
    for ln in note.lines.all():
        inv = ln.invoice_line
        cases, units = divmod(ln.qty_units, ln.sku.units_per_case)
        lines.append(DocumentLine(
            line_no=ln.line_no, sku_code=ln.sku.code, sku_name=ln.sku.name, cases=cases, units=units,
            qty_units=ln.qty_units, case_price=inv.case_price, gross=ln.gross, discount=ln.discount,
            tax_rate=inv.tax_rate, tax=ln.tax, total=ln.total, is_free=inv.is_free))
    notes = (f"Reason: {note.get_reason_display()}" + (f" - {note.reason_text}" if note.reason_text else ""),)
    return Document(kind="credit_note", number_text=note.number_text, date=note.note_date,
                    seller=_party(note.distributor), buyer=_party(note.outlet), currency=note.currency,
                    lines=tuple(lines), gross=note.gross, discount=note.discount, tax=note.tax, total=note.total,
                    references=(("Invoice", note.invoice.number_text),), notes=notes)


# --- outlet balance --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number_text: str
    invoice_date: date
    total: Decimal
    credited: Decimal
    paid: Decimal
    balance: Decimal
    age_days: int
    bucket: str


@dataclass(frozen=True)
class OutletBalance:
    """An outlet's account: what it was invoiced, credited and paid, what is still open per invoice and by age.

    receivable = open_total - on_account = invoiced - credited - payments: what the outlet owes (negative when
    it is in credit). on_account is money the outlet has with the distributor: payments no open invoice took, and
    invoices credited after they were paid."""

    outlet_id: int
    outlet_code: str
    outlet_name: str
    currency: str
    on_date: date
    invoiced: Decimal
    credited: Decimal
    payments: Decimal
    open_total: Decimal
    on_account: Decimal
    receivable: Decimal
    ageing: dict[str, Decimal]
    open_invoices: tuple[OpenInvoice, ...]
    credit_notes: tuple[CreditNote, ...]
    recent_payments: tuple[Payment, ...]


def bucket_of(age_days: int) -> str:
    """0-30, 31-60, 61-90 or 90+ days since the invoice date (a future-dated invoice is 0-30)."""
    if age_days <= 30:
        return BUCKETS[0]
    if age_days <= 60:
        return BUCKETS[1]
    return BUCKETS[2] if age_days <= 90 else BUCKETS[3]


def _outlet(scope: Scope, outlet_id: int) -> Outlet:
    outlet = catalog_selectors.outlet_list(scope=scope).filter(pk=outlet_id).first()
    if outlet is None:
        raise NotFound("Outlet not found.")
    return outlet


def outlet_balance(*, scope: Scope, outlet_id: int, on_date: date) -> OutletBalance:
    """The outlet's balance with invoices aged to `on_date` (by invoice date). Amounts are the current ones: a
    payment or credit note recorded today counts whatever `on_date` says."""
    outlet = _outlet(scope, outlet_id)
    invoices = list(scope.filter(Invoice.objects.filter(outlet_id=outlet.pk))
                    .order_by("invoice_date", "fiscal_year", "number", "pk"))
    payments = scope.filter(Payment.objects.filter(outlet_id=outlet.pk)).aggregate(
        amount=Sum("amount"), unallocated=Sum("unallocated"))
    ageing = dict.fromkeys(BUCKETS, ZERO)
    open_rows = []
    over_credited = ZERO
    for inv in invoices:
        balance = inv.total - inv.credited_amount - inv.paid_amount
        if balance < 0:
            over_credited -= balance
        if balance <= 0:
            continue
        age = (on_date - inv.invoice_date).days
        bucket = bucket_of(age)
        ageing[bucket] += balance
        open_rows.append(OpenInvoice(id=inv.pk, number_text=inv.number_text, invoice_date=inv.invoice_date,
                                     total=inv.total, credited=inv.credited_amount, paid=inv.paid_amount,
                                     balance=balance, age_days=age, bucket=bucket))
    open_total = sum((row.balance for row in open_rows), ZERO)
    on_account = (payments["unallocated"] or ZERO) + over_credited
    notes = scope.filter(CreditNote.objects.filter(outlet_id=outlet.pk)).select_related("invoice")
    return OutletBalance(
        outlet_id=outlet.pk, outlet_code=outlet.code, outlet_name=outlet.name,
        currency=tenant_get(scope=scope).currency, on_date=on_date,
        invoiced=sum((inv.total for inv in invoices), ZERO),
        credited=sum((inv.credited_amount for inv in invoices), ZERO), payments=payments["amount"] or ZERO,
        open_total=open_total, on_account=on_account, receivable=open_total - on_account, ageing=ageing,
        open_invoices=tuple(open_rows), credit_notes=tuple(notes.order_by("-issued_at", "-id")[:RECENT]),
        recent_payments=tuple(scope.filter(Payment.objects.filter(outlet_id=outlet.pk))
                              .order_by("-received_on", "-id")[:RECENT]))


def outlet_receivable(*, scope: Scope, outlet_id: int) -> Decimal:
    """What the outlet owes on its invoices, less what it has on account (negative when it is in credit): the
    invoiced part of its credit exposure, for the booking credit check. Two aggregate queries, no rows read."""
    due = scope.filter(Invoice.objects.filter(outlet_id=outlet_id)).aggregate(due=Sum(_DUE))["due"] or ZERO
    unallocated = scope.filter(Payment.objects.filter(outlet_id=outlet_id)).aggregate(
        left=Sum("unallocated"))["left"] or ZERO
    return Decimal(due) - Decimal(unallocated)



def invoice_line_credited(*, scope: Scope, invoice_id: int) -> dict[int, int]:
    """Units credited so far per line of an invoice (lines with no credit are left out)."""
    rows = (scope.filter(CreditNoteLine.objects.filter(credit_note__invoice_id=invoice_id))
            .values("invoice_line_id").annotate(qty=Sum("qty_units")))
    return {row["invoice_line_id"]: int(row["qty"]) for row in rows}


def outlet_by_code(*, scope: Scope, code: str) -> Outlet | None:
    """An outlet of the scope by its code (the first by distributor when two distributors use the same code)."""
    return catalog_selectors.outlet_list(scope=scope).filter(code=code.strip()).order_by("distributor_id").first()
