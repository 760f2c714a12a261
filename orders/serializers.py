"""Output serializers of the orders API (input serializers live with their views, in apis.py). Money leaves as
strings (COERCE_DECIMAL_TO_STRING), never floats."""

from __future__ import annotations

from rest_framework import serializers

from .models import OrderEvent, SecondaryOrder, SecondaryOrderLine

ORDER_FIELDS = ["id", "uuid", "distributor", "outlet", "outlet_code", "outlet_name", "booker", "booker_username",
                "device", "visit", "source", "status", "booked_at", "delivery_date", "note", "currency", "gross",
                "discount", "tax", "total", "device_total", "price_flag", "hold", "hold_reason", "version",
                "line_count", "created_at", "updated_at"]


class OrderOutput(serializers.ModelSerializer):
    """An order without its lines (lists); `line_count` counts free-goods lines too."""

    outlet_code = serializers.CharField(source="outlet.code", read_only=True)
    outlet_name = serializers.CharField(source="outlet.name", read_only=True)
    booker_username = serializers.CharField(source="booker.username", read_only=True, allow_null=True)
    line_count = serializers.SerializerMethodField()

    class Meta:
        model = SecondaryOrder
        fields = ORDER_FIELDS

    def get_line_count(self, obj: SecondaryOrder) -> int:
        annotated = getattr(obj, "line_count", None)  # order_list annotates it; order_get prefetches the lines
        return int(annotated) if annotated is not None else len(obj.lines.all())


class OrderLineOutput(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    sku_name = serializers.CharField(source="sku.name", read_only=True)

    class Meta:
        model = SecondaryOrderLine
        fields = ["line_no", "sku", "sku_code", "sku_name", "cases", "units", "qty_units", "case_price", "gross",
                  "discount", "tax_rate", "tax", "total", "is_free", "scheme_ids", "device_case_price", "device_total"]


class OrderEventOutput(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["id", "created_at", "action", "from_status", "to_status", "actor_kind", "actor_id", "actor_label",
                  "reason", "detail"]


class OrderDetailOutput(OrderOutput):
    """An order with its priced lines (free goods included) and its events, oldest first."""

    lines = OrderLineOutput(many=True, read_only=True)
    events = OrderEventOutput(many=True, read_only=True)

    class Meta:
        model = SecondaryOrder
        fields = [*ORDER_FIELDS, "lines", "events"]


class BulkResultOutput(serializers.Serializer):
    id = serializers.IntegerField(source="order_id")
    ok = serializers.BooleanField()
    status = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkOutput(serializers.Serializer):
    done = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = BulkResultOutput(many=True)
