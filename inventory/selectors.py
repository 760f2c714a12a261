"""Reads of the inventory app, always through the scope. Another distributor's or tenant's warehouse is "not found"."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet, Sum

from catalog.selectors import sku_list
from dms.core.errors import NotFound
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list
from orders.enums import OrderStatus
from orders.models import SecondaryOrder, SecondaryOrderLine
from orders.selectors import tenant_zone

from .models import Allocation, AllocationStatus, StockBalance, StockMovement, StockNorm, Warehouse


def warehouse_get(*, scope: Scope, pk: int) -> Warehouse:
    warehouse = scope.filter(Warehouse.objects.all()).filter(pk=pk).first()
    if warehouse is None:
        raise NotFound("Warehouse not found.")
    return warehouse


def default_warehouse_get(*, scope: Scope, distributor_id: int) -> Warehouse | None:
    """The distributor's default warehouse, if it has one (inventory.services.default_warehouse makes it)."""
    return scope.filter(Warehouse.objects.filter(distributor_id=distributor_id, is_default=True)).first()


def warehouse_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[Warehouse]:
    qs = scope.filter(Warehouse.objects.all()).order_by("distributor_id", "code")
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def stock_filter_check(*, scope: Scope, distributor_id: int | None = None, warehouse_id: int | None = None,
                       sku_id: int | None = None) -> None:
    """NotFound when a distributor, warehouse or SKU named in a filter is missing or outside the scope (another
    tenant's, a sibling distributor's): both answer 404 alike."""
    if distributor_id is not None and not distributor_list(scope=scope).filter(pk=distributor_id).exists():
        raise NotFound("Distributor not found.")
    if warehouse_id is not None:
        warehouse_get(scope=scope, pk=warehouse_id)
    if sku_id is not None and not sku_list(scope=scope).filter(pk=sku_id).exists():
        raise NotFound("SKU not found.")


def balance_list(*, scope: Scope, warehouse_id: int | None = None, distributor_id: int | None = None,
                 sku_id: int | None = None) -> QuerySet[StockBalance]:
    """Balances with their SKU, warehouse and distributor, and `available_units` (on hand less reserved)."""
    qs = (scope.filter(StockBalance.objects.select_related("sku", "warehouse", "distributor"))
          .annotate(available_units=F("on_hand") - F("reserved")).order_by("warehouse_id", "sku_id"))
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    return qs if warehouse_id is None else qs.filter(warehouse_id=warehouse_id)


def balance_get(*, scope: Scope, warehouse_id: int, sku_id: int) -> StockBalance | None:
    return scope.filter(StockBalance.objects.filter(warehouse_id=warehouse_id, sku_id=sku_id)).first()


def movement_list(*, scope: Scope, warehouse_id: int | None = None, sku_id: int | None = None,
                  distributor_id: int | None = None, since: datetime | None = None) -> QuerySet[StockMovement]:
    """Movements oldest first, with SKU and warehouse; `since` keeps those created at or after it."""
    qs = scope.filter(StockMovement.objects.select_related("sku", "warehouse")).order_by("created_at", "id")
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs if sku_id is None else qs.filter(sku_id=sku_id)


@dataclass(frozen=True)
class StockPosition:
    """A distributor's stock of one SKU over all its warehouses, in units."""

    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def stock_position_by_sku(*, scope: Scope, distributor_id: int) -> dict[int, StockPosition]:
    """sku_id -> the distributor's on hand and reserved units summed over its warehouses (inactive ones too: their
    stock is still the distributor's). SKUs with no balance row are left out. One query."""
    rows = (scope.filter(StockBalance.objects.filter(distributor_id=distributor_id)).values("sku_id")
            .annotate(on_hand_sum=Sum("on_hand"), reserved_sum=Sum("reserved")).order_by("sku_id"))
    return {row["sku_id"]: StockPosition(int(row["on_hand_sum"]), int(row["reserved_sum"])) for row in rows}


def stock_norm_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[StockNorm]:
    qs = scope.filter(StockNorm.objects.select_related("sku")).order_by("distributor_id", "sku__code")
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def stock_norm_by_sku(*, scope: Scope, distributor_id: int) -> dict[int, StockNorm]:
    """sku_id -> the distributor's norm for it. One query."""
    return {norm.sku_id: norm for norm in scope.filter(StockNorm.objects.filter(distributor_id=distributor_id))}


@dataclass(frozen=True)
class Mismatch:
    """A balance that is not the sum of its movements (either side may be missing: then it counts as zero)."""

    distributor_id: int
    warehouse_id: int
    sku_id: int
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int


_MISMATCH_SQL = """
WITH ledger AS (
    SELECT distributor_id, warehouse_id, sku_id,
           SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved
    FROM inventory_stockmovement
    WHERE tenant_id = %(tenant)s {distributors}
    GROUP BY distributor_id, warehouse_id, sku_id
), balance AS (
    SELECT distributor_id, warehouse_id, sku_id, on_hand, reserved
    FROM inventory_stockbalance
    WHERE tenant_id = %(tenant)s {distributors}
)
SELECT COALESCE(b.distributor_id, l.distributor_id), COALESCE(b.warehouse_id, l.warehouse_id),
       COALESCE(b.sku_id, l.sku_id), COALESCE(b.on_hand, 0), COALESCE(b.reserved, 0),
       COALESCE(l.on_hand, 0), COALESCE(l.reserved, 0)
FROM balance b
FULL OUTER JOIN ledger l ON l.warehouse_id = b.warehouse_id AND l.sku_id = b.sku_id
WHERE COALESCE(b.on_hand, 0) <> COALESCE(l.on_hand, 0) OR COALESCE(b.reserved, 0) <> COALESCE(l.reserved, 0)
ORDER BY 2, 3
"""


def ledger_mismatches(*, scope: Scope) -> list[Mismatch]:
    """Every (warehouse, SKU) of the scope whose balance differs from the sum of its movements' deltas.

    One aggregate query. Raw SQL because the ORM has no FULL OUTER JOIN, and a balance with no movements or
    movements with no balance must be found too. Row-level security applies to it like to any query.
    """
    params: dict[str, Any] = {"tenant": scope.tenant_id}
    distributors = ""
    if scope.distributor_ids is not None:
        distributors = "AND distributor_id = ANY(%(distributors)s)"
        params["distributors"] = sorted(scope.distributor_ids)
    with connection.cursor() as cursor:
        cursor.execute(_MISMATCH_SQL.format(distributors=distributors), params)
        return [Mismatch(*row) for row in cursor.fetchall()]


# --- allocation ---------------------------------------------------------------------------------------------------

def allocation_list(*, scope: Scope, order_id: int | None = None, status: str | None = None,
                    warehouse_id: int | None = None) -> QuerySet[Allocation]:
    """Allocations with their SKU, warehouse and order line, by order then line."""
    qs = scope.filter(Allocation.objects.select_related("sku", "warehouse", "order_line")).order_by(
        "order_id", "order_line__line_no", "id")
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    if status is not None:
        qs = qs.filter(status=status)
    return qs if warehouse_id is None else qs.filter(warehouse_id=warehouse_id)


def allocation_active_list(*, scope: Scope, order_id: int) -> QuerySet[Allocation]:
    """An order's allocations holding stock (status active), by warehouse and SKU: the balance lock order."""
    return scope.filter(Allocation.objects.filter(order_id=order_id, status=AllocationStatus.ACTIVE)).order_by(
        "warehouse_id", "sku_id", "id")


def allocation_orders(*, scope: Scope, order_ids: Collection[int]) -> QuerySet[SecondaryOrder]:
    """The orders of a preview, with their outlets (no lock: the commit locks and reads again)."""
    return scope.filter(SecondaryOrder.objects.select_related("outlet")).filter(pk__in=order_ids).order_by("pk")


def allocation_order_lines(*, scope: Scope, order_ids: Collection[int]) -> QuerySet[SecondaryOrderLine]:
    """The lines of orders to allocate, with their SKUs, in line order. One query for any number of orders; the
    orders' own selectors read one order at a time."""
    return (scope.filter(SecondaryOrderLine.objects.select_related("sku")).filter(order_id__in=order_ids)
            .order_by("order_id", "line_no"))


def allocation_available(*, scope: Scope, warehouse_id: int, sku_ids: Collection[int]) -> dict[int, int]:
    """sku_id -> units on hand less reserved in the warehouse (unlocked: a preview's figures). SKUs with no balance
    row are left out (nothing available)."""
    rows = scope.filter(StockBalance.objects.filter(warehouse_id=warehouse_id, sku_id__in=sku_ids)).values_list(
        "sku_id", "on_hand", "reserved")
    return {sku_id: on_hand - reserved for sku_id, on_hand, reserved in rows}


DAY_FIELDS = ("booked", "delivery")


def allocation_day_queue(*, scope: Scope, distributor_id: int, day: date, day_field: str = "booked") -> list[int]:
    """The ids of a distributor's confirmed orders booked on `day` (tenant-local date) or to be delivered on it,
    in booking order."""
    qs = scope.filter(SecondaryOrder.objects.filter(distributor_id=distributor_id, status=OrderStatus.CONFIRMED))
    if day_field == "delivery":
        qs = qs.filter(delivery_date=day)
    else:
        tz = tenant_zone(scope=scope)
        start = datetime.combine(day, time.min, tzinfo=tz)
        qs = qs.filter(booked_at__gte=start, booked_at__lt=start + timedelta(days=1))
    return list(qs.order_by("booked_at", "pk").values_list("pk", flat=True))
