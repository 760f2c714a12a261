"""Output serializers of the vehicle and load-form APIs (inputs live with their views, in apis_loading.py). Money,
weights and volumes leave as strings (COERCE_DECIMAL_TO_STRING), never floats."""

from __future__ import annotations

from rest_framework import serializers

from dms.core.api import choice_field

from .enums import DeliveryOutcome, LoadFormStatus
from .models import DeliveryLine, LoadForm, LoadFormEvent, LoadFormInvoice, Vehicle

LoadFormStatusField = choice_field(LoadFormStatus.choices, "LoadFormStatusEnum", read_only=True)
DeliveryOutcomeField = choice_field(DeliveryOutcome.choices, "DeliveryOutcomeEnum", read_only=True)


class VehicleOutput(serializers.ModelSerializer):
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)

    class Meta:
        model = Vehicle
        fields = ["id", "distributor", "distributor_code", "code", "registration", "capacity_weight_kg",
                  "capacity_volume_l", "capacity_cases", "shift_start", "shift_end", "active"]


LOAD_FORM_FIELDS = ["id", "number", "date", "status", "distributor", "distributor_code", "vehicle", "vehicle_code",
                    "delivery_man", "delivery_man_name", "note", "invoice_count", "total_weight_kg", "total_volume_l",
                    "total_cases", "total_value", "expected_cash", "collected_cash", "collected_cheques",
                    "counted_cash", "counted_cheques", "planned_distance_m", "planned_duration_s", "plan_note",
                    "loaded_at", "departed_at", "settled_at", "version", "created_at"]


class LoadFormOutput(serializers.ModelSerializer):
    """A load form without its invoices (lists)."""

    status = LoadFormStatusField()
    distributor_code = serializers.CharField(source="distributor.code", read_only=True)
    vehicle_code = serializers.CharField(source="vehicle.code", read_only=True)
    delivery_man_name = serializers.SerializerMethodField()

    class Meta:
        model = LoadForm
        fields = LOAD_FORM_FIELDS

    def get_delivery_man_name(self, obj: LoadForm) -> str:
        man = obj.delivery_man
        return (man.get_full_name() or man.get_username()) if man is not None else ""


class DeliveryLineOutput(serializers.ModelSerializer):
    line_no = serializers.IntegerField(source="invoice_line.line_no", read_only=True)
    sku_code = serializers.CharField(source="sku.code", read_only=True)

    class Meta:
        model = DeliveryLine
        fields = ["invoice_line", "line_no", "sku", "sku_code", "invoiced_units", "delivered_units", "returned_units"]


class LoadFormStopOutput(serializers.ModelSerializer):
    """One invoice on the load form, in delivery sequence; once delivered, its outcome, lines and credit note."""

    invoice_number = serializers.CharField(source="invoice.number_text", read_only=True)
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)
    outlet_name = serializers.CharField(source="outlet.name", read_only=True)
    outcome = DeliveryOutcomeField()
    credit_note_number = serializers.CharField(source="credit_note.number_text", read_only=True, allow_null=True,
                                               default=None)
    lines = DeliveryLineOutput(many=True, read_only=True)

    class Meta:
        model = LoadFormInvoice
        fields = ["invoice", "invoice_number", "outlet", "outlet_code", "outlet_name", "order", "sequence", "eta",
                  "plan_note", "weight_kg", "volume_l", "cases", "amount", "due", "outcome", "return_reason",
                  "restock", "credit_note", "credit_note_number", "credited", "on_account", "live", "recorded_at",
                  "recorded_by", "lines"]


class LoadFormEventOutput(serializers.ModelSerializer):
    from_status = serializers.CharField(read_only=True, help_text="empty for an action that is not a transition")
    to_status = serializers.CharField(read_only=True)

    class Meta:
        model = LoadFormEvent
        fields = ["from_status", "to_status", "action", "actor_kind", "actor_label", "reason", "detail", "created_at"]


class LoadFormDetailOutput(LoadFormOutput):
    stops = LoadFormStopOutput(many=True, read_only=True)
    events = LoadFormEventOutput(many=True, read_only=True)

    class Meta:
        model = LoadForm
        fields = [*LOAD_FORM_FIELDS, "stops", "events"]


class PickLineOutput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    sku_code = serializers.CharField()
    sku_name = serializers.CharField()
    units_per_case = serializers.IntegerField()
    qty_units = serializers.IntegerField()
    cases = serializers.IntegerField()
    units = serializers.IntegerField()


class LoadingStopOutput(serializers.Serializer):
    load_position = serializers.IntegerField(help_text="1 = loaded first (delivered last)")
    sequence = serializers.IntegerField(help_text="its place in the delivery sequence")
    invoice_id = serializers.IntegerField()
    invoice_number = serializers.CharField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    lines = PickLineOutput(many=True)


class PickListOutput(serializers.Serializer):
    load_form_id = serializers.IntegerField()
    number = serializers.CharField()
    total_units = serializers.IntegerField()
    totals = PickLineOutput(many=True, help_text="per SKU, in cases and loose units: what to pick")
    loading = LoadingStopOutput(many=True, help_text="the invoices in reverse delivery order: the order to load")


class CollectionOutput(serializers.Serializer):
    payment_id = serializers.IntegerField(source="pk")
    outlet = serializers.IntegerField(source="outlet_id")
    method = serializers.CharField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    reference = serializers.CharField()
    unallocated = serializers.DecimalField(max_digits=18, decimal_places=2)
    received_on = serializers.DateField()
