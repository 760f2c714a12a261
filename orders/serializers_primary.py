"""Output serializers of the primary-order APIs (inputs live with their views, in apis_primary.py). Money leaves as
strings (COERCE_DECIMAL_TO_STRING), never floats."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .enums import PrimaryOrderStatus
from .models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine


# Named components of their own: drf-spectacular would otherwise derive the enum names from the field names
# ("status", shared with the secondary orders) and warn about the collision, which fails the deploy check.
@extend_schema_field({"type": "string", "enum": PrimaryOrderStatus.values}, component_name="PrimaryOrderStatusEnum")
class PrimaryOrderStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=PrimaryOrderStatus.choices, read_only=True, **kwargs)


@extend_schema_field({"type": "string", "enum": ["", *PrimaryOrderStatus.values]},
                     component_name="PrimaryOrderEventStatusEnum")
class PrimaryOrderEventStatusField(PrimaryOrderStatusField):
    """A status or "" (an event that is not a status change)."""


PRIMARY_FIELDS = ["id", "number", "distributor", "distributor_code", "status", "note", "requested_delivery_date",
                  "submitted_at", "decided_at", "created_by", "currency", "total_ordered", "total_approved",
                  "version", "line_count", "created_at", "updated_at"]


class PrimaryOrderOutput(serializers.ModelSerializer):
    """A primary order without its lines (lists)."""

    status = PrimaryOrderStatusField()
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    line_count = serializers.SerializerMethodField()

    class Meta:
        model = PrimaryOrder
        fields = PRIMARY_FIELDS

    def get_line_count(self, obj: PrimaryOrder) -> int:
        annotated = getattr(obj, "line_count", None)  # the list annotates it; the detail prefetches the lines
        return int(annotated) if annotated is not None else len(obj.lines.all())


class PrimaryOrderLineOutput(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    sku_name = serializers.CharField(source="sku.name", read_only=True)

    class Meta:
        model = PrimaryOrderLine
        fields = ["line_no", "sku", "sku_code", "sku_name", "ordered_cases", "approved_cases", "case_price",
                  "ordered_value", "approved_value", "decision_note"]


class PrimaryOrderEventOutput(serializers.ModelSerializer):
    from_status = PrimaryOrderEventStatusField()
    to_status = PrimaryOrderEventStatusField()

    class Meta:
        model = PrimaryOrderEvent
        fields = ["id", "created_at", "action", "from_status", "to_status", "actor_kind", "actor_id", "actor_label",
                  "reason", "detail"]


class PrimaryOrderDetailOutput(PrimaryOrderOutput):
    """A primary order with its lines and its events, oldest first."""

    lines = PrimaryOrderLineOutput(many=True, read_only=True)
    events = PrimaryOrderEventOutput(many=True, read_only=True)

    class Meta:
        model = PrimaryOrder
        fields = [*PRIMARY_FIELDS, "lines", "events"]
