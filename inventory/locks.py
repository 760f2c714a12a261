"""Row locks of the inventory app: stock balances, always by (warehouse_id, sku_id), so two writers touching the
same SKUs lock them in the same order and never wait on each other in a cycle.

A balance row is created on first use with INSERT ... ON CONFLICT DO NOTHING (in the same order), then locked with
SELECT ... FOR NO KEY UPDATE: the lock holds until the service's transaction ends, and the movement rows inserted
meanwhile are not blocked by it.
"""

from __future__ import annotations

from collections.abc import Iterable

from dms.tenancy.scope import Scope

from .models import StockBalance, Warehouse


def lock_balances(scope: Scope, warehouse: Warehouse, sku_ids: Iterable[int]) -> dict[int, StockBalance]:
    """The warehouse's balances of `sku_ids`, created at zero where missing, locked; keyed by sku id."""
    ordered = sorted(set(sku_ids))
    StockBalance.objects.bulk_create(
        [StockBalance(tenant_id=warehouse.tenant_id, distributor_id=warehouse.distributor_id,
                      warehouse_id=warehouse.pk, sku_id=sku_id) for sku_id in ordered],
        ignore_conflicts=True,
    )
    rows = list(scope.filter(StockBalance.objects.select_for_update(no_key=True, of=("self",)))
                .filter(warehouse_id=warehouse.pk, sku_id__in=ordered).order_by("warehouse_id", "sku_id"))
    return {row.sku_id: row for row in rows}
