"""Dispatch Advice (DA) and goods receipt (GRN) of primary orders (DESIGN §2, §3).

The manufacturer answers an approved primary order with one DispatchAdvice: per line the placed (ordered),
approved and dispatched cases, the dispatched cases split into batches with expiry dates. Issuing it moves the
order to `dispatched`. The distributor records one GoodsReceipt against the DA: per batch the cases received in
good condition, short and damaged (received + short + damaged = dispatched); the good cases raise stock through
inventory.services.stock_receive (reference ("grn", id)), and the order moves to `received`.

Numbers ("DA-000001", "GRN-000001") count per distributor. `DispatchAdvice.reference` is the manufacturer's own
document number (its ERP's): a DA sent again with the same reference is the same DA, never a second one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel
from orders.models import money_field

from .enums import AdviceStatus


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
