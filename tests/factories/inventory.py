"""Warehouses and stock, written through inventory.services in the owning tenant's scope, as production does."""

from __future__ import annotations

import itertools
from typing import Any

from catalog.models import Sku
from dms.tenancy.models import Distributor
from inventory.models import StockBalance, StockMovement, StockNorm, Warehouse
from inventory.services import stock_allocate, stock_receive
from tests.factories.catalog import _in_tenant

_seq = itertools.count(1)


def make_warehouse(distributor: Distributor, **kw: Any) -> Warehouse:
    n = next(_seq)
    with _in_tenant(distributor.tenant_id):
        return Warehouse.objects.create(**{"distributor": distributor, "code": f"WH{n}", "name": f"Warehouse {n}",
                                           **kw})


def receive(warehouse: Warehouse, sku: Sku, qty: int, **kw: Any) -> list[StockMovement]:
    """Receive `qty` units of `sku` into `warehouse` in the tenant's system scope (or the current one)."""
    with _in_tenant(warehouse.tenant_id) as scope:
        return stock_receive(scope=scope, warehouse_id=warehouse.pk, lines=[(sku.pk, qty)], **kw)


def balance_of(warehouse: Warehouse, sku: Sku) -> tuple[int, int]:
    """(on_hand, reserved) of the SKU in the warehouse; (0, 0) when it has no balance row."""
    with _in_tenant(warehouse.tenant_id):
        row = StockBalance.objects.filter(warehouse_id=warehouse.pk, sku_id=sku.pk).first()
        return (row.on_hand, row.reserved) if row is not None else (0, 0)


def allocate(warehouse: Warehouse, sku: Sku, qty: int) -> None:
    """Reserve `qty` units of `sku` in `warehouse` (all of them, or the call fails)."""
    with _in_tenant(warehouse.tenant_id) as scope:
        stock_allocate(scope=scope, warehouse_id=warehouse.pk, lines=[(sku.pk, qty)], all_or_nothing=True)


def make_stock_norm(distributor: Distributor, sku: Sku, **kw: Any) -> StockNorm:
    with _in_tenant(distributor.tenant_id):
        return StockNorm.objects.create(**{"distributor": distributor, "sku": sku, "target_cover_days": 14, **kw})
