"""Invoices, credit notes and collections (DESIGN §3, §4, §9).

An Invoice bills what was allocated to one secondary order, priced by the catalogue's engine as of the order's
booking time (so it shows the figures the outlet was shown, unless prices changed in between; the booked price of
each line is kept beside it). Its number comes from a NumberSeries row locked in the issuing transaction: a
rolled-back invoice gives its number back, so numbers are gap-free and unique per distributor, series and fiscal
year. Once issued, an invoice's figures and lines never change, whatever path writes (database triggers, see the
migration); only its delivery and payment state move. Corrections are CreditNotes against it, which never exceed
it. Payments (cash, cheques) are allocated to the outlet's open invoices oldest first.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from dms.core.models import TransitionEvent, status_field
from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel
from orders.models import money_field

from .enums import CreditReason, DocumentKind, InvoiceStatus, PaymentMethod, PaymentStatus

I = InvoiceStatus  # noqa: E741


class NumberSeries(DistributorModel):
    """The next free number of one document series in one fiscal year, e.g. INV 2026 -> 124. Locked FOR UPDATE by
    the transaction that takes a number, so the number and the document commit or roll back together."""

    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    code = models.CharField(max_length=10, help_text='printed prefix, e.g. "INV", "CN"')
    fiscal_year = models.PositiveSmallIntegerField(help_text="the year the tenant's fiscal year starts in")
    next_number = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "number series"
        constraints = [models.UniqueConstraint(fields=["distributor", "kind", "code", "fiscal_year"],
                                               name="numberseries_uniq")]

    def __str__(self) -> str:
        return f"{self.code} {self.fiscal_year}: next {self.next_number}"


class Invoice(DistributorModel):
    TRANSITIONS = {
        I.ISSUED: {I.DELIVERED, I.PARTIALLY_DELIVERED, I.RETURNED},
    }
    # Columns that may change after issue (state, collections); the trigger refuses a change to any other.
    MUTABLE = ("status", "payment_status", "paid_amount", "credited_amount", "updated_at", "version")

    order = DistributorForeignKey("orders.SecondaryOrder", on_delete=models.PROTECT, related_name="invoices")
    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    series_code = models.CharField(max_length=10)
    fiscal_year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    number_text = models.CharField(max_length=40, help_text='e.g. "INV/2026/000123"')
    invoice_date = models.DateField()
    issued_at = models.DateTimeField()
    priced_on = models.DateField(help_text="the date the prices are of: the order's booking date")
    currency = models.CharField(max_length=3)
    gross = money_field()
    discount = money_field()
    tax = money_field()
    total = money_field()
    booked_total = money_field(help_text="the order's total as booked, for the record")
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    payment_status = models.CharField(max_length=15, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    paid_amount = money_field(default=0)
    credited_amount = money_field(default=0)
    version = models.PositiveIntegerField(default=1)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")

    class Meta:
        ordering = ["-issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "series_code", "fiscal_year", "number"],
                                    name="invoice_number_uniq"),
            models.UniqueConstraint(fields=["distributor", "order"], name="invoice_one_per_order"),
            models.CheckConstraint(condition=Q(total__gte=0) & Q(paid_amount__gte=0) & Q(credited_amount__gte=0),
                                   name="invoice_amounts_nonneg"),
            models.CheckConstraint(condition=Q(credited_amount__lte=models.F("total")),
                                   name="invoice_credit_le_total"),
            # No path, not even a superuser past the immutability trigger, writes figures that do not add up.
            models.CheckConstraint(condition=Q(total=models.F("gross") - models.F("discount") + models.F("tax")),
                                   name="invoice_total_adds_up"),
        ]
        indexes = [
            models.Index(fields=["distributor", "invoice_date"], name="invoice_day"),
            models.Index(fields=["distributor", "outlet", "payment_status", "invoice_date"], name="invoice_open"),
            # analytics (receivables ageing): a distributor's invoices not fully paid, without its paid history
            models.Index(fields=["distributor", "invoice_date"], condition=~Q(payment_status=PaymentStatus.PAID),
                         name="invoice_receivable"),
        ]

    def __str__(self) -> str:
        return self.number_text

    @property
    def balance(self) -> Decimal:
        """What the outlet still owes on it."""
        return self.total - self.credited_amount - self.paid_amount


class InvoiceLine(DistributorModel):
    """One SKU billed (free goods are their own is_free lines), as priced at invoicing, with the booked figures."""

    invoice = DistributorForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    order_line = DistributorForeignKey("orders.SecondaryOrderLine", on_delete=models.PROTECT, related_name="+",
                                       null=True, blank=True)
    line_no = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    cases = models.PositiveIntegerField()
    units = models.PositiveIntegerField(default=0)
    qty_units = models.PositiveIntegerField()
    case_price = models.DecimalField(max_digits=18, decimal_places=4)
    gross = money_field()
    discount = money_field()
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)
    tax = money_field()
    total = money_field()
    is_free = models.BooleanField(default=False)
    scheme_ids = models.JSONField(default=list, blank=True)
    booked_case_price = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    booked_qty_units = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["invoice", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "invoice", "line_no"], name="invoiceline_no_uniq"),
            models.CheckConstraint(condition=Q(total=models.F("gross") - models.F("discount") + models.F("tax")),
                                   name="invoiceline_total_adds_up"),
        ]
        indexes = [
            # The nightly invoice-totals gate: a tenant's lines in a range of invoice ids, read from the index alone.
            models.Index(fields=["tenant", "invoice"], include=["distributor", "gross", "discount", "tax", "total"],
                         name="invoiceline_money"),
        ]


class CreditNote(DistributorModel):
    """A reversal of part or all of an issued invoice; never more than what is left of it. Immutable once written."""

    invoice = DistributorForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    series_code = models.CharField(max_length=10)
    fiscal_year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    number_text = models.CharField(max_length=40)
    note_date = models.DateField()
    issued_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=CreditReason.choices)
    reason_text = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=3)
    gross = money_field()
    discount = money_field()
    tax = money_field()
    total = money_field()
    restock = models.CharField(max_length=10, blank=True, help_text='"saleable", "damaged" or "" (no goods back)')
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-issued_at", "id"]
        indexes = [models.Index(fields=["distributor", "note_date"], name="creditnote_day")]  # the nightly check
        constraints = [
            models.UniqueConstraint(fields=["distributor", "series_code", "fiscal_year", "number"],
                                    name="creditnote_number_uniq"),
            models.CheckConstraint(condition=Q(total__gt=0), name="creditnote_total_positive"),
        ]

    def __str__(self) -> str:
        return self.number_text


class CreditNoteLine(DistributorModel):
    credit_note = DistributorForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    invoice_line = DistributorForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="+")
    line_no = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    qty_units = models.PositiveIntegerField()
    gross = money_field()
    discount = money_field()
    tax = money_field()
    total = money_field()

    class Meta:
        ordering = ["credit_note", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "credit_note", "line_no"], name="creditnoteline_no_uniq"),
        ]


class Payment(DistributorModel):
    """Money collected from an outlet (on a delivery round or at the counter), allocated oldest invoice first."""

    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = money_field()
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    reference = models.CharField(max_length=60, blank=True, help_text="cheque number, transfer reference")
    load_form_id = models.BigIntegerField(null=True, blank=True, help_text="the load form it was collected on")
    idempotency_key = models.CharField(max_length=64, help_text="the client's key: a retry records nothing new")
    unallocated = money_field(default=0, help_text="left over when no open invoice remained (on account)")
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "idempotency_key"], name="payment_idempotency_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0) & Q(unallocated__gte=0), name="payment_amounts"),
        ]
        # outlets holding money on account (applied to their next invoices): a small partial index; a day's payments
        indexes = [models.Index(fields=["outlet"], condition=Q(unallocated__gt=0), name="payment_on_account"),
                   models.Index(fields=["distributor", "received_on"], name="payment_day")]  # the day's collections


class PaymentAllocation(DistributorModel):
    payment = DistributorForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = DistributorForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_allocations")
    amount = money_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distributor", "payment", "invoice"], name="paymentallocation_uniq"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paymentallocation_positive"),
        ]


class InvoiceEvent(DistributorModel, TransitionEvent):
    """Audit of an invoice's delivery state (issued -> delivered | partially_delivered | returned): who, when, why."""

    invoice = DistributorForeignKey(Invoice, on_delete=models.PROTECT, related_name="events")
    from_status = status_field(InvoiceStatus.choices)
    to_status = status_field(InvoiceStatus.choices)

    class Meta:
        ordering = ["invoice", "created_at", "id"]
