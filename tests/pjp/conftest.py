"""Shared cast for the pjp tests: distributor A1's order-bookers and a handful of its outlets."""

from __future__ import annotations

from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import membership_grant, user_create
from tests.conftest import PASSWORD


@pytest.fixture
def booker(cast_a: Any) -> Any:
    return cast_a.users[Role.ORDER_BOOKER]


@pytest.fixture
def booker2(cast_a: Any, dist_a1: Any) -> Any:
    """A second order-booker of distributor A1."""
    user = user_create(username="a-a1-booker-2", password=PASSWORD)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        membership_grant(scope=scope, user=user, role=Role.ORDER_BOOKER, distributor=dist_a1)
    return user


@pytest.fixture
def outlets_a1(dist_a1: Any, outlet_factory: Any) -> list[Any]:
    return [outlet_factory(dist_a1, code=f"A1-O{i}", name=f"Shop {i}") for i in range(1, 7)]
