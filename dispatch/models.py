"""Dispatch Advice (DA) and goods receipt (GRN) of primary orders (DESIGN §2, §3).

The manufacturer answers an approved primary order with one DispatchAdvice: per line the placed (ordered),
approved and dispatched cases, the dispatched cases split into batches with expiry dates. Issuing it moves the
order to `dispatched`. The distributor records one GoodsReceipt against the DA: per batch the cases received in
good condition, short and damaged (received + short + damaged = dispatched); the good cases raise stock through
inventory.services.stock_receive (reference ("grn", id)), and the order moves to `received`.

Numbers ("DA-000001", "GRN-000001") count per distributor. `DispatchAdvice.reference` is the manufacturer's own
document number (its ERP's): a DA sent again with the same reference is the same DA, never a second one.

The outbound side (secondary orders, DESIGN §2, §3): a LoadForm is what one Vehicle carries on one day: issued
invoices in delivery sequence (LoadFormInvoice, one "stop" per invoice) and the SKUs to pick. Loading it dispatches
the invoiced stock; on the way back the delivery man's outcome per invoice (DeliveryLine: delivered and returned
units per invoice line) and the cash and cheques collected are recorded, and the load form settles once every
invoice is accounted for and the money counted matches (dispatch.services.settlement).
"""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from dms.core.models import TransitionEvent, status_field
from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel
from orders.models import money_field

from .enums import AdviceStatus, DeliveryOutcome, LoadFormStatus


class DispatchAdvice(DistributorModel):
    order = DistributorForeignKey("orders.PrimaryOrder", on_delete=models.PROTECT, related_name="dispatch_advices")
    number = models.CharField(max_length=20, help_text="per distributor, e.g. DA-000123")
    reference = models.CharField(max_length=60, help_text="the manufacturer's document number (idempotency key)")
    status = models.CharField(max_length=10, choices=AdviceStatus.choices, default=AdviceStatus.ISSUED)
    dispatched_on = models.DateField()
    expected_on = models.DateField(null=True, blank=True)
    vehicle = models.CharField(max_length=60, blank=True)
    transporter = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=500, blank=True)
    currency = models.CharField(max_length=3)
    total_ordered_cases = models.PositiveIntegerField(default=0)
    total_approved_cases = models.PositiveIntegerField(default=0)
    total_dispatched_cases = models.PositiveIntegerField(default=0)
    dispatched_value = money_field(default=0)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "dispatch advice"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "number"], name="dispatchadvice_number_uniq"),
            models.UniqueConstraint(fields=["distributor", "order"], name="dispatchadvice_one_per_order"),
            models.UniqueConstraint(fields=["distributor", "reference"], name="dispatchadvice_reference_uniq"),
        ]
        indexes = [models.Index(fields=["distributor", "status", "dispatched_on"], name="dispatchadvice_queue")]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"


class DispatchAdviceLine(DistributorModel):
    advice = DistributorForeignKey(DispatchAdvice, on_delete=models.CASCADE, related_name="lines")
    order_line = DistributorForeignKey("orders.PrimaryOrderLine", on_delete=models.PROTECT, related_name="+")
    line_no = models.PositiveSmallIntegerField()
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    ordered_cases = models.PositiveIntegerField()
    approved_cases = models.PositiveIntegerField()
    dispatched_cases = models.PositiveIntegerField()
    case_price = models.DecimalField(max_digits=18, decimal_places=4)
    dispatched_value = money_field()

    class Meta:
        ordering = ["advice", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "advice", "order_line"], name="dispatchadviceline_once"),
            models.CheckConstraint(condition=Q(dispatched_cases__lte=models.F("approved_cases"))
                                   & Q(approved_cases__lte=models.F("ordered_cases")),
                                   name="dispatchadviceline_dispatched_le_approved"),
        ]


class DispatchBatch(DistributorModel):
    """Cases of one DA line from one manufacturing batch. A line dispatched without batch detail has one row with
    an empty `batch`. The batches of a line add up to its dispatched cases."""

    line = DistributorForeignKey(DispatchAdviceLine, on_delete=models.CASCADE, related_name="batches")
    batch = models.CharField(max_length=60, blank=True)
    expiry = models.DateField(null=True, blank=True)
    manufactured_on = models.DateField(null=True, blank=True)
    cases = models.PositiveIntegerField()

    class Meta:
        ordering = ["line", "expiry", "batch"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "line", "batch"], name="dispatchbatch_once"),
            models.CheckConstraint(condition=Q(cases__gt=0), name="dispatchbatch_cases_positive"),
        ]


class GoodsReceipt(DistributorModel):
    advice = DistributorForeignKey(DispatchAdvice, on_delete=models.PROTECT, related_name="receipts")
    number = models.CharField(max_length=20, help_text="per distributor, e.g. GRN-000123")
    warehouse = DistributorForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField()
    note = models.CharField(max_length=500, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    total_dispatched_cases = models.PositiveIntegerField(default=0)
    total_received_cases = models.PositiveIntegerField(default=0)
    total_short_cases = models.PositiveIntegerField(default=0)
    total_damaged_cases = models.PositiveIntegerField(default=0)
    received_value = money_field(default=0)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "goods receipt"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "number"], name="goodsreceipt_number_uniq"),
            models.UniqueConstraint(fields=["distributor", "advice"], name="goodsreceipt_one_per_advice"),
        ]
        indexes = [models.Index(fields=["distributor", "received_on"], name="goodsreceipt_day")]  # the day's facts

    def __str__(self) -> str:
        return self.number


class GoodsReceiptLine(DistributorModel):
    receipt = DistributorForeignKey(GoodsReceipt, on_delete=models.CASCADE, related_name="lines")
    advice_line = DistributorForeignKey(DispatchAdviceLine, on_delete=models.PROTECT, related_name="+")
    dispatch_batch = DistributorForeignKey(DispatchBatch, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    batch = models.CharField(max_length=60, blank=True)
    expiry = models.DateField(null=True, blank=True)
    dispatched_cases = models.PositiveIntegerField()
    received_cases = models.PositiveIntegerField(help_text="good cases, put into stock")
    short_cases = models.PositiveIntegerField(default=0)
    damaged_cases = models.PositiveIntegerField(default=0)
    received_units = models.PositiveIntegerField(help_text="received_cases x the SKU's units per case")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["receipt", "id"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "receipt", "dispatch_batch"], name="goodsreceiptline_once"),
            models.CheckConstraint(
                condition=Q(dispatched_cases=models.F("received_cases") + models.F("short_cases")
                            + models.F("damaged_cases")),
                name="goodsreceiptline_adds_up"),
        ]


# --- load forms: what a vehicle carries to the outlets on one day -------------------------------------------------

def _kg(**kwargs: Any) -> models.DecimalField:
    """A weight in kg or a volume in litres, to the gram / millilitre."""
    return models.DecimalField(max_digits=12, decimal_places=3, **kwargs)


class Vehicle(DistributorModel):
    """A delivery vehicle of a distributor with its capacity in the three dimensions a load is checked in, and the
    hours it may be on the road (the delivery-trip planner's shift)."""

    code = models.CharField(max_length=30)
    registration = models.CharField(max_length=30)
    capacity_weight_kg = _kg()
    capacity_volume_l = _kg()
    capacity_cases = models.PositiveIntegerField()
    shift_start = models.TimeField(default=time(8, 0), help_text="when it may leave the depot")
    shift_end = models.TimeField(default=time(20, 0), help_text="when it must be back")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="vehicle_code_uniq"),
            models.UniqueConstraint(fields=["distributor", "registration"], name="vehicle_registration_uniq"),
            models.CheckConstraint(condition=Q(capacity_weight_kg__gt=0) & Q(capacity_volume_l__gt=0)
                                   & Q(capacity_cases__gt=0), name="vehicle_capacity_positive"),
            models.CheckConstraint(condition=Q(shift_end__gt=models.F("shift_start")), name="vehicle_shift_order"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.registration})"


LF = LoadFormStatus


class LoadForm(DistributorModel):
    """One vehicle's load for one day (DESIGN §2 "load form"). Its figures are the sums of its invoices'."""

    TRANSITIONS = {
        LF.PLANNED: {LF.LOADED, LF.CANCELLED},
        LF.LOADED: {LF.OUT_FOR_DELIVERY},
        LF.OUT_FOR_DELIVERY: {LF.SETTLED},
    }

    number = models.CharField(max_length=20, help_text="per distributor, e.g. LF-000123")
    date = models.DateField(help_text="the delivery day")
    vehicle = DistributorForeignKey(Vehicle, on_delete=models.PROTECT, related_name="load_forms")
    delivery_man = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    status = models.CharField(max_length=20, choices=LoadFormStatus.choices, default=LoadFormStatus.PLANNED)
    note = models.CharField(max_length=300, blank=True)
    invoice_count = models.PositiveIntegerField(default=0)
    total_weight_kg = _kg(default=0)
    total_volume_l = _kg(default=0)
    total_cases = models.PositiveIntegerField(default=0)
    total_value = money_field(default=0, help_text="the invoices' totals")
    expected_cash = money_field(default=0, help_text="what the round should collect: the invoices' dues at loading "
                                                     "less the credit notes of their returns")
    collected_cash = money_field(default=0, help_text="cash recorded as collected on the round")
    collected_cheques = money_field(default=0, help_text="cheques recorded as collected on the round")
    counted_cash = money_field(null=True, blank=True, help_text="cash handed in at settlement")
    counted_cheques = money_field(null=True, blank=True, help_text="cheques handed in at settlement")
    planned_distance_m = models.PositiveIntegerField(default=0)
    planned_duration_s = models.PositiveIntegerField(default=0)
    plan_note = models.CharField(max_length=500, blank=True, help_text="what the planner could not honour")
    plan_job_id = models.BigIntegerField(null=True, blank=True, help_text="the planning job that wrote it")
    loaded_at = models.DateTimeField(null=True, blank=True)
    departed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="bumped by every change")
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = "load form"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "number"], name="loadform_number_uniq"),
            # DESIGN §2: a load form is what one vehicle carries on one day
            models.UniqueConstraint(fields=["distributor", "vehicle", "date"], condition=~Q(status=LF.CANCELLED),
                                    name="loadform_one_live_per_vehicle_day"),
            models.CheckConstraint(condition=Q(expected_cash__gte=0) & Q(collected_cash__gte=0)
                                   & Q(collected_cheques__gte=0), name="loadform_cash_nonneg"),
        ]
        indexes = [models.Index(fields=["distributor", "date", "status"], name="loadform_day")]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"


class LoadFormInvoice(DistributorModel):
    """One invoice on a load form ("stop"): its place in the delivery sequence, its load, and, once delivered, the
    outcome. `live` is false once its load form is cancelled: an invoice is on one live load form at most."""

    load_form = DistributorForeignKey(LoadForm, on_delete=models.PROTECT, related_name="stops")
    invoice = DistributorForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="+")
    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    order = DistributorForeignKey("orders.SecondaryOrder", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField(help_text="1 = delivered first (loaded last)")
    eta = models.TimeField(null=True, blank=True, help_text="planned start of service, tenant-local")
    plan_note = models.CharField(max_length=300, blank=True, help_text="why the planner could not place it")
    weight_kg = _kg()
    volume_l = _kg()
    cases = models.PositiveIntegerField()
    amount = money_field(help_text="the invoice's total")
    due = money_field(help_text="left to collect on the invoice when it was loaded")
    outcome = models.CharField(max_length=20, choices=DeliveryOutcome.choices, default=DeliveryOutcome.PENDING)
    return_reason = models.CharField(max_length=300, blank=True)
    restock = models.CharField(max_length=10, blank=True)
    credit_note = DistributorForeignKey("invoicing.CreditNote", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+")
    credited = money_field(default=0, help_text="the credit note of what came back")
    on_account = models.BooleanField(default=False, help_text="settled with its due left on the outlet's account")
    live = models.BooleanField(default=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["load_form", "sequence"]
        verbose_name = "load form invoice"
        constraints = [
            models.UniqueConstraint(fields=["distributor", "load_form", "invoice"], name="loadforminvoice_once"),
            models.UniqueConstraint(fields=["distributor", "load_form", "sequence"], name="loadforminvoice_sequence"),
            models.UniqueConstraint(fields=["distributor", "invoice"], condition=Q(live=True),
                                    name="loadforminvoice_one_live"),
            models.CheckConstraint(condition=~Q(outcome=DeliveryOutcome.RETURNED) | ~Q(return_reason=""),
                                   name="loadforminvoice_return_has_reason"),
            models.CheckConstraint(condition=Q(due__gte=0) & Q(credited__gte=0), name="loadforminvoice_money_nonneg"),
        ]


class DeliveryLine(DistributorModel):
    """What happened to one invoice line on delivery: units delivered and units that came back."""

    stop = DistributorForeignKey(LoadFormInvoice, on_delete=models.PROTECT, related_name="lines")
    invoice_line = DistributorForeignKey("invoicing.InvoiceLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    invoiced_units = models.PositiveIntegerField()
    delivered_units = models.PositiveIntegerField()
    returned_units = models.PositiveIntegerField()

    class Meta:
        ordering = ["stop", "invoice_line"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "stop", "invoice_line"], name="deliveryline_once"),
            models.CheckConstraint(
                condition=Q(invoiced_units=models.F("delivered_units") + models.F("returned_units")),
                name="deliveryline_adds_up"),
        ]


class LoadFormEvent(DistributorModel, TransitionEvent):
    """Audit of a load form: status changes (from/to) and other actions (a delivery, a collection), who, when, why."""

    load_form = DistributorForeignKey(LoadForm, on_delete=models.CASCADE, related_name="events")
    from_status = status_field(LoadFormStatus.choices)
    to_status = status_field(LoadFormStatus.choices)

    class Meta:
        ordering = ["load_form", "created_at", "id"]
