"""Output serializers of the invoicing API (input serializers live with their views, in apis.py). Money leaves as
strings (COERCE_DECIMAL_TO_STRING), never floats."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payment, PaymentAllocation

INVOICE_FIELDS = ["id", "distributor", "order", "outlet", "outlet_code", "outlet_name", "number_text", "series_code",
                  "fiscal_year", "number", "invoice_date", "issued_at", "priced_on", "currency", "gross", "discount",
                  "tax", "total", "booked_total", "credited_amount", "paid_amount", "balance", "status",
                  "payment_status", "version"]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


class InvoiceOutput(serializers.ModelSerializer):
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)
    outlet_name = serializers.CharField(source="outlet.name", read_only=True)
    balance = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True,
                                       help_text="total - credited - paid: what the outlet still owes on it")

    class Meta:
        model = Invoice
        fields = INVOICE_FIELDS


class InvoiceLineOutput(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    sku_name = serializers.CharField(source="sku.name", read_only=True)

    class Meta:
        model = InvoiceLine
        fields = ["id", "line_no", "order_line", "sku", "sku_code", "sku_name", "cases", "units", "qty_units",
                  "case_price", "gross", "discount", "tax_rate", "tax", "total", "is_free", "scheme_ids",
                  "booked_case_price", "booked_qty_units"]


class CreditNoteRefOutput(serializers.ModelSerializer):
    class Meta:
        model = CreditNote
        fields = ["id", "number_text", "note_date", "reason", "total"]


class InvoicePaymentOutput(serializers.ModelSerializer):
    payment = serializers.IntegerField(source="payment_id", read_only=True)
    received_on = serializers.DateField(source="payment.received_on", read_only=True)
    method = serializers.CharField(source="payment.method", read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["payment", "received_on", "method", "amount"]


class InvoiceDetailOutput(InvoiceOutput):
    """An invoice with its lines (free goods marked), the credit notes against it and the payments allocated."""

    lines = InvoiceLineOutput(many=True, read_only=True)
    credit_notes = CreditNoteRefOutput(many=True, read_only=True)
    payments = InvoicePaymentOutput(many=True, read_only=True, source="payment_allocations")

    class Meta:
        model = Invoice
        fields = [*INVOICE_FIELDS, "lines", "credit_notes", "payments"]


class IssueResultOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    created = serializers.BooleanField(help_text="false when the order had its invoice already")
    invoice = InvoiceOutput(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class IssueOutput(serializers.Serializer):
    invoiced = serializers.IntegerField(help_text="orders invoiced by this call")
    already_invoiced = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = IssueResultOutput(many=True)


CREDIT_NOTE_FIELDS = ["id", "distributor", "invoice", "invoice_number", "outlet", "outlet_code", "number_text",
                      "series_code", "fiscal_year", "number", "note_date", "issued_at", "reason", "reason_text",
                      "restock", "currency", "gross", "discount", "tax", "total", "actor_label"]


class CreditNoteOutput(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number_text", read_only=True)
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)

    class Meta:
        model = CreditNote
        fields = CREDIT_NOTE_FIELDS


class CreditNoteLineOutput(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = CreditNoteLine
        fields = ["line_no", "invoice_line", "sku", "sku_code", "qty_units", "gross", "discount", "tax", "total"]


class CreditNoteDetailOutput(CreditNoteOutput):
    lines = CreditNoteLineOutput(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = [*CREDIT_NOTE_FIELDS, "lines"]


PAYMENT_FIELDS = ["id", "distributor", "outlet", "outlet_code", "method", "amount", "currency", "received_on",
                  "reference", "load_form_id", "idempotency_key", "unallocated", "actor_label", "created_at"]


class PaymentOutput(serializers.ModelSerializer):
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)

    class Meta:
        model = Payment
        fields = PAYMENT_FIELDS


class PaymentAllocationOutput(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number_text", read_only=True)

    class Meta:
        model = PaymentAllocation
        fields = ["invoice", "invoice_number", "amount"]


class PaymentDetailOutput(PaymentOutput):
    allocations = PaymentAllocationOutput(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [*PAYMENT_FIELDS, "allocations"]


class OpenInvoiceOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number_text = serializers.CharField()
    invoice_date = serializers.DateField()
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    credited = serializers.DecimalField(max_digits=18, decimal_places=2)
    paid = serializers.DecimalField(max_digits=18, decimal_places=2)
    balance = serializers.DecimalField(max_digits=18, decimal_places=2)
    age_days = serializers.IntegerField()
    bucket = serializers.CharField()


class AgeingOutput(serializers.Serializer):
    bucket = serializers.CharField(help_text="0-30, 31-60, 61-90 or 90+ days since the invoice date")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class OutletBalanceOutput(serializers.Serializer):
    outlet_id = serializers.IntegerField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    currency = serializers.CharField()
    on_date = serializers.DateField()
    invoiced = serializers.DecimalField(max_digits=18, decimal_places=2)
    credited = serializers.DecimalField(max_digits=18, decimal_places=2)
    payments = serializers.DecimalField(max_digits=18, decimal_places=2)
    open_total = serializers.DecimalField(max_digits=18, decimal_places=2)
    on_account = serializers.DecimalField(max_digits=18, decimal_places=2,
                                          help_text="unallocated payments and invoices credited after payment")
    receivable = serializers.DecimalField(max_digits=18, decimal_places=2,
                                          help_text="open_total - on_account (negative: the outlet is in credit)")
    ageing = serializers.SerializerMethodField()
    open_invoices = OpenInvoiceOutput(many=True)
    credit_notes = CreditNoteRefOutput(many=True)
    recent_payments = PaymentOutput(many=True)

    @extend_schema_field(AgeingOutput(many=True))
    def get_ageing(self, obj: object) -> list[dict[str, str]]:
        ageing: dict[str, Decimal] = getattr(obj, "ageing", {})
        return [{"bucket": bucket, "amount": _money(amount)} for bucket, amount in ageing.items()]
