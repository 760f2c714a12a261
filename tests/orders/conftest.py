"""Shared cast for the orders tests: tenant A's catalogue (17 % tax, three SKUs on one price list), an outlet of
distributor A1 with no credit limit, and helpers to read orders back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor, TenantSettings
from dms.tenancy.scope import Scope
from orders.models import OrderEvent, SecondaryOrder, SecondaryOrderLine
from tests.factories.catalog import Catalogue, make_catalogue, make_outlet

D = Decimal


@pytest.fixture
def tid(cast_a: Any) -> int:
    return int(cast_a.tenant.pk)


@pytest.fixture
def cat(tid: int) -> Catalogue:
    return make_catalogue(tid)


@pytest.fixture
def outlet(dist_a1: Distributor, cat: Catalogue) -> Outlet:
    """No credit limit (0), so the credit check stays out of the way unless a test sets one."""
    return make_outlet(dist_a1, code="A1-SHOP", name="Corner shop", credit_limit=D("0"))


def set_credit_check(tenant_id: int, policy: str) -> None:
    with tenant_scope(Scope.system(tenant_id)):
        TenantSettings.objects.filter(tenant_id=tenant_id).update(credit_check=policy)


def set_status(order: SecondaryOrder, status: str) -> None:
    """Put an order straight into a state (the later states' services belong to other apps)."""
    with tenant_scope(Scope.system(order.tenant_id)):
        SecondaryOrder.objects.filter(pk=order.pk).update(status=status)


def reload(order: SecondaryOrder) -> SecondaryOrder:
    with tenant_scope(Scope.system(order.tenant_id)):
        return SecondaryOrder.objects.get(pk=order.pk)


def lines_of(order: SecondaryOrder) -> list[SecondaryOrderLine]:
    with tenant_scope(Scope.system(order.tenant_id)):
        return list(SecondaryOrderLine.objects.filter(order_id=order.pk).order_by("line_no"))


def events_of(order: SecondaryOrder) -> list[OrderEvent]:
    with tenant_scope(Scope.system(order.tenant_id)):
        return list(OrderEvent.objects.filter(order_id=order.pk).order_by("created_at", "id"))


def count_orders(tenant_id: int) -> tuple[int, int, int]:
    """(orders, lines, events) of the tenant."""
    with tenant_scope(Scope.system(tenant_id)):
        return (SecondaryOrder.objects.count(), SecondaryOrderLine.objects.count(), OrderEvent.objects.count())
