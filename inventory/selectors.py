"""Reads of the inventory app, always through the scope. Another distributor's or tenant's warehouse is "not found"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from dms.core.errors import NotFound
from dms.tenancy.scope import Scope

from .models import StockBalance, StockMovement, Warehouse


def warehouse_get(*, scope: Scope, pk: int) -> Warehouse:
    warehouse = scope.filter(Warehouse.objects.all()).filter(pk=pk).first()
    if warehouse is None:
        raise NotFound("Warehouse not found.")
    return warehouse


def warehouse_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[Warehouse]:
    qs = scope.filter(Warehouse.objects.all()).order_by("distributor_id", "code")
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def balance_list(*, scope: Scope, warehouse_id: int | None = None) -> QuerySet[StockBalance]:
    """Balances with their SKU and warehouse, and `available_units` (on hand less reserved)."""
    qs = (scope.filter(StockBalance.objects.select_related("sku", "warehouse"))
          .annotate(available_units=F("on_hand") - F("reserved")).order_by("warehouse_id", "sku_id"))
    return qs if warehouse_id is None else qs.filter(warehouse_id=warehouse_id)


def balance_get(*, scope: Scope, warehouse_id: int, sku_id: int) -> StockBalance | None:
    return scope.filter(StockBalance.objects.filter(warehouse_id=warehouse_id, sku_id=sku_id)).first()


def movement_list(*, scope: Scope, warehouse_id: int | None = None, sku_id: int | None = None
                  ) -> QuerySet[StockMovement]:
    qs = scope.filter(StockMovement.objects.select_related("sku", "warehouse")).order_by("created_at", "id")
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    return qs if sku_id is None else qs.filter(sku_id=sku_id)


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
