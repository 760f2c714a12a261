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


def confirmed_order(outlet: Any, lines: Any, *, minute: int = 0, **kw: Any) -> Any:
    """A secondary order booked `minute` minutes after the factories' booking time and confirmed, through the
    orders services in the tenant's system scope: ready to allocate. `lines` as for tests.factories.orders."""
    from datetime import timedelta

    from orders.services import order_confirm
    from tests.factories.orders import BOOKED_AT, make_order

    order = make_order(outlet, lines, booked_at=BOOKED_AT + timedelta(minutes=minute), **kw)
    with _in_tenant(outlet.tenant_id) as scope:
        return order_confirm(scope=scope, order_id=order.pk)


def allocations_of(order: Any) -> list[tuple[int, int, int, str, str]]:
    """(line_no, requested, allocated, status, explanation) of the order's allocations, by line."""
    from inventory.models import Allocation

    with _in_tenant(order.tenant_id):
        return list(Allocation.objects.filter(order_id=order.pk).order_by("order_line__line_no", "id").values_list(
            "order_line__line_no", "requested_units", "allocated_units", "status", "explanation"))
