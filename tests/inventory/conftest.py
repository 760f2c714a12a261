"""Shared cast for the inventory tests: two SKUs of tenant A and a warehouse of distributor A1; for allocation, a
priced catalogue, distributor A1's default warehouse and outlets without a credit limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Outlet, Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor, TenantSettings
from dms.tenancy.scope import Scope
from inventory.models import StockMovement, Warehouse
from orders.models import OrderEvent, SecondaryOrder
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.inventory import make_warehouse


@dataclass
class Skus:
    cola: Sku
    chips: Sku


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def skus(tid: int) -> Skus:
    brand = make_brand(tid)
    return Skus(make_sku(tid, brand=brand, code="COLA"), make_sku(tid, brand=brand, code="CHIPS"))


@pytest.fixture
def wh(dist_a1: Distributor) -> Warehouse:
    return make_warehouse(dist_a1, code="A1-MAIN", name="A1 main")


def movements_of(warehouse: Warehouse) -> list[tuple[str, int, int, int, int]]:
    """(kind, sku, qty_units, on_hand_delta, reserved_delta) of the warehouse's movements, oldest first."""
    with tenant_scope(Scope.system(warehouse.tenant_id)):
        return list(StockMovement.objects.filter(warehouse_id=warehouse.pk).order_by("id")
                    .values_list("kind", "sku_id", "qty_units", "on_hand_delta", "reserved_delta"))


@dataclass
class Shop:
    """Distributor A1 ready to allocate: SODA (12 a case, 120.00 a case), CRISPS (24, 240.00), WATER (6, 60.00), so
    that one unit is 10.00 before tax (17 %); its default warehouse; five outlets with no credit limit."""

    soda: Sku
    crisps: Sku
    water: Sku
    wh: Warehouse
    outlets: list[Outlet]


@pytest.fixture
def shop(tid: int, dist_a1: Distributor) -> Shop:
    make_tax_rate(tid, tax_class="STD", rate=Decimal("0.1700"), valid_from=date(2020, 1, 1))
    brand = make_brand(tid)
    soda = make_sku(tid, brand=brand, code="SODA", units_per_case=12)
    crisps = make_sku(tid, brand=brand, code="CRISPS", units_per_case=24)
    water = make_sku(tid, brand=brand, code="WATER", units_per_case=6)
    make_price_list(tid, {soda: Decimal("120.0000"), crisps: Decimal("240.0000"), water: Decimal("60.0000")})
    wh = make_warehouse(dist_a1, code="A1-DEF", name="A1 default", is_default=True)
    outlets = [make_outlet(dist_a1, code=f"SHOP{i}", name=f"Shop {i}", credit_limit=Decimal("0")) for i in range(1, 6)]
    return Shop(soda, crisps, water, wh, outlets)


def set_all_or_nothing(tenant_id: int, value: bool = True) -> None:
    with tenant_scope(Scope.system(tenant_id)):
        TenantSettings.objects.filter(tenant_id=tenant_id).update(allocation_all_or_nothing=value)


def reload(order: SecondaryOrder) -> SecondaryOrder:
    with tenant_scope(Scope.system(order.tenant_id)):
        return SecondaryOrder.objects.get(pk=order.pk)


def events_of(order: SecondaryOrder) -> list[OrderEvent]:
    with tenant_scope(Scope.system(order.tenant_id)):
        return list(OrderEvent.objects.filter(order_id=order.pk).order_by("created_at", "id"))
