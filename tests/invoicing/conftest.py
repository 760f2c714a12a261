"""Shared cast for the invoicing tests: tenant A's catalogue (17 % tax, three SKUs on one price list), an outlet of
distributor A1 with no credit limit and a warehouse, an order booked and fully allocated, and read-back helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from orders.models import SecondaryOrder
from tests.factories.catalog import Catalogue, make_catalogue, make_outlet
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order
from tests.factories.orders import make_order

D = Decimal
# Invoices are dated by the clock: these fix it inside the fiscal year 2025 of tenant A (starts in July).
ISSUE_AT = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def cat(tid: int) -> Catalogue:
    return make_catalogue(tid)


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
