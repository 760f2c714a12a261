"""Output serializers of the inventory APIs. Quantities are units (integers); the same in cases is a decimal string
(units / units per case, to 0.001), never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dms.core.money import QTY, div

from .enums import MovementKind
from .models import StockBalance, StockMovement

CASES_SCHEMA = {"type": "string", "format": "decimal", "description": "units / units per case, to 0.001"}


def cases(units: int, units_per_case: int) -> str:
    return str(div(units, units_per_case).quantize(QTY, rounding=ROUND_HALF_UP))


# A named component: the enum derived from a field called "kind" would collide with other apps' "kind" fields.
@extend_schema_field({"type": "string", "enum": MovementKind.values}, component_name="StockMovementKindEnum")
class MovementKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=MovementKind.choices, read_only=True, **kwargs)


class StockBalanceOutput(serializers.ModelSerializer):
    """One SKU in one warehouse of a distributor."""

    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    units_per_case = serializers.IntegerField(source="sku.units_per_case", read_only=True)
    on_hand_units = serializers.IntegerField(source="on_hand", read_only=True)
    reserved_units = serializers.IntegerField(source="reserved", read_only=True,
                                              help_text="promised to secondary orders (allocated)")
    available_units = serializers.IntegerField(source="available", read_only=True, help_text="on hand less reserved")
    on_hand_cases = serializers.SerializerMethodField()
    reserved_cases = serializers.SerializerMethodField()
    available_cases = serializers.SerializerMethodField()

    class Meta:
        model = StockBalance
        fields = ["id", "distributor", "distributor_code", "warehouse", "warehouse_code", "sku", "sku_code",
                  "units_per_case", "on_hand_units", "reserved_units", "available_units", "on_hand_cases",
                  "reserved_cases", "available_cases", "updated_at"]

    @extend_schema_field(CASES_SCHEMA)
    def get_on_hand_cases(self, obj: StockBalance) -> str:
        return cases(obj.on_hand, obj.sku.units_per_case)

    @extend_schema_field(CASES_SCHEMA)
    def get_reserved_cases(self, obj: StockBalance) -> str:
        return cases(obj.reserved, obj.sku.units_per_case)

    @extend_schema_field(CASES_SCHEMA)
    def get_available_cases(self, obj: StockBalance) -> str:
        return cases(obj.available, obj.sku.units_per_case)


class StockMovementOutput(serializers.ModelSerializer):
    """One entry of the stock ledger; the deltas say what it did to on hand and reserved."""

    kind = MovementKindField()
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = StockMovement
        fields = ["id", "distributor", "warehouse", "warehouse_code", "sku", "sku_code", "kind", "qty_units",
                  "on_hand_delta", "reserved_delta", "reason", "reference_type", "reference_id", "batch", "expiry",
                  "actor_kind", "actor_label", "created_at"]


class StockBalancePageOutput(serializers.Serializer):
    """A page of balances (cursor pagination: follow `next`)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StockBalanceOutput(many=True)


class StockMovementPageOutput(serializers.Serializer):
    """A page of movements (cursor pagination: follow `next`)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = StockMovementOutput(many=True)
