"""Shared cast for the inventory tests: two SKUs of tenant A and a warehouse of distributor A1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from catalog.models import Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.models import StockMovement, Warehouse
from tests.factories.catalog import make_brand, make_sku
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
