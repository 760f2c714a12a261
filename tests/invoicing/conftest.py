"""Shared cast for the invoicing tests: tenant A's catalogue (17 % tax, three SKUs on one price list), an outlet of
distributor A1 with no credit limit and a warehouse, an order booked and fully allocated, and read-back helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Outlet, PriceList, Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from orders.models import SecondaryOrder
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order
from tests.factories.orders import make_order

D = Decimal
# Invoices are dated by the clock: these fix it inside the fiscal year 2025 of tenant A (starts in July).
ISSUE_AT = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


@dataclass
class Catalogue:
    cola: Sku  # 12 a case, 1234.5678 a case
    chips: Sku  # 24 a case, 480.0000 a case
    water: Sku  # 6 a case, 99.9900 a case
    price_list: PriceList


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def cat(tid: int) -> Catalogue:
    make_tax_rate(tid, tax_class="STD", rate=D("0.1700"))
    brand = make_brand(tid)
    cola = make_sku(tid, brand=brand, code="COLA", name="Cola 250ml", units_per_case=12)
    chips = make_sku(tid, brand=brand, code="CHIPS", name="Chips", units_per_case=24)
    water = make_sku(tid, brand=brand, code="WATER", name="Water", units_per_case=6)
    pl = make_price_list(tid, {cola: D("1234.5678"), chips: D("480.0000"), water: D("99.9900")})
    return Catalogue(cola, chips, water, pl)


@pytest.fixture
def outlet(dist_a1: Distributor, cat: Catalogue) -> Outlet:
    return make_outlet(dist_a1, code="A1-SHOP", name="Corner shop", credit_limit=D("0"))


@pytest.fixture
def wh(dist_a1: Distributor) -> Warehouse:
    return make_warehouse(dist_a1, code="A1-MAIN", name="A1 main")


@pytest.fixture
def allocated(outlet: Outlet, cat: Catalogue, wh: Warehouse) -> SecondaryOrder:
    """3 cases 6 units of cola and 2 cases of chips, fully allocated (stock really reserved)."""
    order = make_order(outlet, [(cat.cola, 3, 6), (cat.chips, 2)])
    allocate_order(order, wh, reserve=True)
    return order


def in_a(tid: int) -> Any:
    return tenant_scope(Scope.system(tid))
