"""The stock ledger: warehouses of a distributor, the append-only movements, and the balances they add up to.

A stock change is one StockMovement row plus an F() update of its StockBalance row, in the same transaction and
under the balance row's lock (inventory.locks). Quantities are units, never cases. The balance's check constraints
(`on_hand >= reserved >= 0`) are the last line of defence against overselling; `ledger_mismatches` proves that
every balance equals the sum of its movements.

Stock norms say how much stock a distributor should hold of a SKU (days of cover over its recent sales, plus a
safety stock, with a minimum order); the suggested primary order (orders.services.suggest) reads them. A SKU with
no norm is planned with the defaults below.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel

from .enums import MovementKind


class Warehouse(DistributorModel):
    code = models.CharField(max_length=30)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="where stock goes when no warehouse is named")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "code"], name="warehouse_code_uniq"),
            models.UniqueConstraint(fields=["distributor"], condition=Q(is_default=True),
                                    name="warehouse_one_default"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StockMovement(DistributorModel):
    """One change of stock, never updated or deleted (a trigger refuses both: migration 0004). `qty_units` is
    signed (+ raises, - lowers); the deltas say what it did to the balance: receipt +on_hand, allocation +reserved,
    release -reserved, dispatch -on_hand and -reserved, return +on_hand, adjustment +/-on_hand."""

    warehouse = DistributorForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=MovementKind.choices)
    qty_units = models.IntegerField()
    on_hand_delta = models.IntegerField()
    reserved_delta = models.IntegerField()
    reason = models.CharField(max_length=300, blank=True)
    reference_type = models.CharField(max_length=30, blank=True, help_text='e.g. "grn", "secondary_order"')
    reference_id = models.BigIntegerField(null=True, blank=True)
    batch = models.CharField(max_length=60, blank=True)
    expiry = models.DateField(null=True, blank=True)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(qty_units=0), name="stockmovement_qty_nonzero"),
            models.CheckConstraint(condition=~Q(kind=MovementKind.ADJUSTMENT) | ~Q(reason=""),
                                   name="stockmovement_adjustment_reason"),
        ]
        indexes = [
            models.Index(fields=["distributor", "warehouse", "sku", "created_at"], name="stockmovement_history"),
            models.Index(fields=["distributor", "reference_type", "reference_id"], name="stockmovement_reference"),
            # the nightly stock check: a tenant's movements after its ledger checkpoint (reconciliation)
            models.Index(fields=["tenant", "id"], name="stockmovement_since"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.qty_units:+d} of SKU {self.sku_id}"


class StockBalance(DistributorModel):
    """On hand and reserved units of one SKU in one warehouse: the sum of its movements' deltas."""

    warehouse = DistributorForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=0, help_text="bumped by every movement")

    class Meta:
        ordering = ["warehouse", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "warehouse", "sku"], name="stockbalance_uniq"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stockbalance_on_hand_nonneg"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stockbalance_reserved_nonneg"),
            models.CheckConstraint(condition=Q(reserved__lte=models.F("on_hand")),
                                   name="stockbalance_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"SKU {self.sku_id} in warehouse {self.warehouse_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


# Defaults of the suggested primary order for a SKU with no StockNorm, and the sales history it averages over.
DEFAULT_COVER_DAYS = 14
SALES_WINDOW_DAYS = 28


class StockNorm(DistributorModel):
    """How much of a SKU the distributor aims to hold: `target_cover_days` of its average daily sales, plus
    `safety_cases`; a suggested order of the SKU, when there is one, is at least `min_order_cases`."""

    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    target_cover_days = models.PositiveIntegerField(default=DEFAULT_COVER_DAYS, validators=[MinValueValidator(1)],
                                                    help_text="days of average sales to hold")
    safety_cases = models.PositiveIntegerField(default=0, help_text="cases held on top of the cover")
    min_order_cases = models.PositiveIntegerField(default=0, help_text="the smallest order of this SKU worth "
                                                                       "placing (0: no minimum)")

    class Meta:
        ordering = ["distributor", "sku"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "sku"], name="stocknorm_sku_uniq"),
            models.CheckConstraint(condition=Q(target_cover_days__gte=1), name="stocknorm_cover_positive"),
        ]

    def __str__(self) -> str:
        return f"norm of SKU {self.sku_id}: {self.target_cover_days} days + {self.safety_cases} cases"


class AllocationStatus(models.TextChoices):
    ACTIVE = "active", "Active (stock reserved)"
    RELEASED = "released", "Released (stock returned)"
    INVOICED = "invoiced", "Invoiced"
    DISPATCHED = "dispatched", "Dispatched (left the warehouse)"


class Allocation(DistributorModel):
    """Stock reserved for one secondary order line (DESIGN §3, §4): `allocated_units` of `requested_units`, in one
    warehouse, written with the ALLOCATION movement that reserved it (reference ("secondary_order", order id)).
    Releasing it (cancel, edit) writes a RELEASE movement and marks it released; invoicing reads the active
    allocations of an order; loading the van dispatches them. `explanation` says why a line got what it got
    (first come, or its fair share under a shortage)."""

    order = DistributorForeignKey("orders.SecondaryOrder", on_delete=models.PROTECT, related_name="allocations")
    order_line = DistributorForeignKey("orders.SecondaryOrderLine", on_delete=models.PROTECT, related_name="+")
    warehouse = DistributorForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="+")
    requested_units = models.PositiveIntegerField()
    allocated_units = models.PositiveIntegerField()
    policy = models.CharField(max_length=12, help_text='"fifo" or "fair_share"')
    explanation = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=AllocationStatus.choices, default=AllocationStatus.ACTIVE)
    run_id = models.BigIntegerField(null=True, blank=True, help_text="the background job of a day's allocation")

    class Meta:
        ordering = ["order", "order_line"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "order_line"], condition=~Q(status="released"),
                                    name="allocation_one_live_per_line"),
            models.CheckConstraint(condition=Q(allocated_units__lte=models.F("requested_units")),
                                   name="allocation_within_request"),
        ]
        indexes = [models.Index(fields=["distributor", "status", "warehouse"], name="allocation_queue")]
