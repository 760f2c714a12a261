"""Output serializers of the inventory APIs. Quantities are units (integers); the same in cases is a decimal string
(units / units per case, to 0.001), never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dms.core.money import QTY, div

from .enums import MovementKind
from .models import Allocation, AllocationStatus, StockBalance, StockMovement

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


# --- allocation ---------------------------------------------------------------------------------------------------

PERCENT_SCHEMA = {"type": "string", "description": "percent to one decimal, e.g. \"60\" or \"33.3\""}


@extend_schema_field({"type": "string", "enum": AllocationStatus.values}, component_name="AllocationStatusEnum")
class AllocationStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=AllocationStatus.choices, read_only=True, **kwargs)


class AllocationOutput(serializers.ModelSerializer):
    """Stock reserved for one order line, and why the line got what it got."""

    status = AllocationStatusField(help_text="active: stock reserved; released: given back; invoiced; dispatched")
    line_no = serializers.IntegerField(source="order_line.line_no", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = Allocation
        fields = ["id", "distributor", "order", "order_line", "line_no", "warehouse", "warehouse_code", "sku",
                  "sku_code", "requested_units", "allocated_units", "policy", "explanation", "status", "run_id",
                  "created_at", "updated_at"]


class AllocationPageOutput(serializers.Serializer):
    """A page of allocations (cursor pagination: follow `next`)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AllocationOutput(many=True)


class LinePlanOutput(serializers.Serializer):
    line_id = serializers.IntegerField()
    line_no = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    sku_code = serializers.CharField()
    is_free = serializers.BooleanField()
    requested_units = serializers.IntegerField()
    proposed_units = serializers.IntegerField(help_text="what the line gets (in a result: got)")
    requested_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    proposed_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    explanation = serializers.CharField()


OUTCOME_HELP = ("allocated, partially_allocated, nothing_available (stays confirmed), already_allocated, or refused "
                "(see code: all_or_nothing, not_confirmed, not_found, other_distributor, inactive_warehouse, "
                "stock_refused)")


class OrderPlanOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    outcome = serializers.CharField(help_text=OUTCOME_HELP)
    status = serializers.CharField(help_text="the order's status now")
    code = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    outlet_id = serializers.IntegerField(allow_null=True)
    outlet_code = serializers.CharField(allow_blank=True)
    outlet_name = serializers.CharField(allow_blank=True)
    booked_at = serializers.DateTimeField(allow_null=True)
    warehouse_id = serializers.IntegerField(allow_null=True)
    requested_units = serializers.IntegerField()
    proposed_units = serializers.IntegerField()
    lines = LinePlanOutput(many=True)


class FillRateOutput(serializers.Serializer):
    outlet_id = serializers.IntegerField(allow_null=True)
    outlet_code = serializers.CharField(allow_blank=True)
    outlet_name = serializers.CharField(allow_blank=True)
    orders = serializers.IntegerField()
    requested_units = serializers.IntegerField()
    proposed_units = serializers.IntegerField()
    requested_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    proposed_value = serializers.DecimalField(max_digits=18, decimal_places=2)
    unit_fill_pct = serializers.SerializerMethodField()
    value_fill_pct = serializers.SerializerMethodField()

    @extend_schema_field(PERCENT_SCHEMA)
    def get_unit_fill_pct(self, obj: Any) -> str:
        return str(obj.unit_fill_pct)

    @extend_schema_field({**PERCENT_SCHEMA, "nullable": True})
    def get_value_fill_pct(self, obj: Any) -> str | None:
        return obj.value_fill_pct  # type: ignore[no-any-return]


class AllocationPlanOutput(serializers.Serializer):
    """The preview: per order and line the proposed units and why, per outlet the fill rate, and the totals."""

    policy = serializers.CharField()
    all_or_nothing = serializers.BooleanField(help_text="the tenant allocates whole orders only")
    orders = OrderPlanOutput(many=True)
    outlets = FillRateOutput(many=True)
    total = FillRateOutput()
    expected = serializers.SerializerMethodField(help_text="line id -> proposed units: send back as `expected`")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
    def get_expected(self, obj: Any) -> dict[str, int]:
        return {str(k): v for k, v in obj.proposed().items()}


class PreviewChangeOutput(serializers.Serializer):
    line_id = serializers.IntegerField()
    expected_units = serializers.IntegerField()
    allocated_units = serializers.IntegerField()


class AllocationResultOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    outcome = serializers.CharField(help_text=OUTCOME_HELP)
    status = serializers.CharField(help_text="the order's status now")
    code = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    lines = LinePlanOutput(many=True)
    changed_since_preview = PreviewChangeOutput(many=True)


class AllocationResultsOutput(serializers.Serializer):
    done = serializers.IntegerField(help_text="orders allocated fully or partly by this call")
    already_allocated = serializers.IntegerField(help_text="orders allocated before: left as they are")
    refused = serializers.IntegerField(help_text="orders not allocated (nothing available, refused)")
    results = AllocationResultOutput(many=True)
