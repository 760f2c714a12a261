"""Output serializers of the dispatch APIs, shared by the manufacturer's and the distributor's side (inputs live
with their views, in apis.py). Money leaves as strings (COERCE_DECIMAL_TO_STRING), never floats."""

from __future__ import annotations

from rest_framework import serializers

from dms.core.api import choice_field
from orders.serializers_primary import PrimaryOrderStatusField

from .enums import AdviceStatus
from .models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine

AdviceStatusField = choice_field(AdviceStatus.choices, "DispatchAdviceStatusEnum", read_only=True)


class ReceiptFiguresMixin(serializers.Serializer):
    """Cases received, short and damaged (annotated by dispatch.selectors); null until the goods are received."""

    received_cases = serializers.IntegerField(read_only=True, allow_null=True)
    short_cases = serializers.IntegerField(read_only=True, allow_null=True)
    damaged_cases = serializers.IntegerField(read_only=True, allow_null=True)


ADVICE_FIELDS = ["id", "number", "reference", "status", "distributor", "distributor_code", "order", "order_number",
                 "order_status", "dispatched_on", "expected_on", "vehicle", "transporter", "note", "currency",
                 "total_ordered_cases", "total_approved_cases", "total_dispatched_cases", "dispatched_value",
                 "receipt", "receipt_number", "actor_kind", "actor_label", "created_at"]


class DispatchAdviceOutput(serializers.ModelSerializer):
    """A dispatch advice without its lines (lists)."""

    status = AdviceStatusField()
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    order_status = PrimaryOrderStatusField(source="order.status")
    receipt = serializers.IntegerField(source="receipt_id", read_only=True, allow_null=True,
                                       help_text="the goods receipt (GRN) id, once received")
    receipt_number = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = DispatchAdvice
        fields = ADVICE_FIELDS


class DispatchBatchOutput(ReceiptFiguresMixin, serializers.ModelSerializer):
    class Meta:
        model = DispatchBatch
        fields = ["id", "batch", "expiry", "manufactured_on", "cases", "received_cases", "short_cases",
                  "damaged_cases"]


class DispatchAdviceLineOutput(ReceiptFiguresMixin, serializers.ModelSerializer):
    """One order line: cases ordered (placed), approved and dispatched, its batches and, once received, what
    arrived."""

    sku_code = serializers.CharField(source="sku.code", read_only=True)
    sku_name = serializers.CharField(source="sku.name", read_only=True)
    batches = DispatchBatchOutput(many=True, read_only=True)

    class Meta:
        model = DispatchAdviceLine
        fields = ["line_no", "order_line", "sku", "sku_code", "sku_name", "ordered_cases", "approved_cases",
                  "dispatched_cases", "case_price", "dispatched_value", "received_cases", "short_cases",
                  "damaged_cases", "batches"]


class DispatchAdviceDetailOutput(DispatchAdviceOutput):
    """The DA document: every order line with its batches and, once received, the receipt's figures."""

    lines = DispatchAdviceLineOutput(many=True, read_only=True)

    class Meta:
        model = DispatchAdvice
        fields = [*ADVICE_FIELDS, "lines"]


RECEIPT_FIELDS = ["id", "number", "advice", "advice_number", "advice_reference", "order", "order_number",
                  "distributor", "distributor_code", "warehouse", "warehouse_code", "received_on", "note",
                  "received_by", "total_dispatched_cases", "total_received_cases", "total_short_cases",
                  "total_damaged_cases", "received_value", "actor_kind", "actor_label", "created_at"]


class GoodsReceiptOutput(serializers.ModelSerializer):
    """A goods receipt (GRN) without its lines (lists)."""

    advice_number = serializers.CharField(source="advice.number", read_only=True)
    advice_reference = serializers.CharField(source="advice.reference", read_only=True)
    order = serializers.IntegerField(source="advice.order_id", read_only=True)
    order_number = serializers.CharField(source="advice.order.number", read_only=True)
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)

    class Meta:
        model = GoodsReceipt
        fields = RECEIPT_FIELDS


class GoodsReceiptLineOutput(serializers.ModelSerializer):
    line_no = serializers.IntegerField(source="advice_line.line_no", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = GoodsReceiptLine
        fields = ["id", "line_no", "sku", "sku_code", "dispatch_batch", "batch", "expiry", "dispatched_cases",
                  "received_cases", "short_cases", "damaged_cases", "received_units", "note"]


class GoodsReceiptDetailOutput(GoodsReceiptOutput):
    lines = GoodsReceiptLineOutput(many=True, read_only=True)

    class Meta:
        model = GoodsReceipt
        fields = [*RECEIPT_FIELDS, "lines"]
