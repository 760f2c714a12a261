"""The cast: tenant A with distributors A1/A2, tenant B with B1, a user per role, API keys and devices.

Rows are created inside tenant_scope, as production code does; RLS is in force (tests run as dms_app).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import setup_databases, teardown_databases
from rest_framework.test import APIClient

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import ApiKey, Device, Distributor, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import (
    api_key_create,
    device_access_token,
    device_register,
    membership_grant,
    tenant_create,
    user_create,
)
from tests.db import switch_to_app_role, switch_to_owner_role

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def django_db_setup(request: Any, django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        old = setup_databases(verbosity=0, interactive=False, keepdb=False)
        switch_to_app_role()
    yield
    with django_db_blocker.unblock():
        switch_to_owner_role()
        teardown_databases(old, verbosity=0)


@dataclass
class TenantCast:
    tenant: Tenant
    distributors: list[Distributor]
    users: dict[str, Any]
    api_key: ApiKey
    api_key_raw: str
    device: Device
    device_token: str


def build_tenant(slug: str, n_distributors: int = 2) -> TenantCast:
    tenant = tenant_create(name=f"Tenant {slug.upper()}", slug=slug, currency="PKR", time_zone="Asia/Karachi",
                           fiscal_year_start_month=7)
    with tenant_scope(Scope.system(tenant.pk)) as scope:
        distributors = [
            Distributor.objects.create(code=f"{slug.upper()}{i}", name=f"Distributor {slug.upper()}{i}")
            for i in range(1, n_distributors + 1)
        ]
        users: dict[str, Any] = {}
        d1 = distributors[0]
        for role in (Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST):
            users[role] = user_create(username=f"{slug}-{role}", password=PASSWORD)
            membership_grant(scope=scope, user=users[role], role=role)
        for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.ORDER_BOOKER, Role.DELIVERY_MAN):
            for d in distributors:
                key = role if d is d1 else f"{role}@{d.code}"
                users[key] = user_create(username=f"{slug}-{d.code.lower()}-{role}", password=PASSWORD)
                membership_grant(scope=scope, user=users[key], role=role, distributor=d)
        issued = api_key_create(scope=scope, name="ERP")
        device = device_register(scope=scope, user=users[Role.ORDER_BOOKER], distributor_id=d1.pk,
                                 identifier=f"{slug}-phone-1", name="Booker phone")
        token = device_access_token(device=device)
    return TenantCast(tenant, distributors, users, issued.key, issued.raw, device, token)


@pytest.fixture
def cast_a(db: None) -> TenantCast:
    return build_tenant("a")


@pytest.fixture
def cast_b(db: None) -> TenantCast:
    return build_tenant("b")


@pytest.fixture
def tenant_a(cast_a: TenantCast) -> Tenant:
    return cast_a.tenant


@pytest.fixture
def tenant_b(cast_b: TenantCast) -> Tenant:
    return cast_b.tenant


@pytest.fixture
def dist_a1(cast_a: TenantCast) -> Distributor:
    return cast_a.distributors[0]


@pytest.fixture
def dist_a2(cast_a: TenantCast) -> Distributor:
    return cast_a.distributors[1]


@pytest.fixture
def api_as() -> Callable[..., APIClient]:
    """A client authenticated as a user (session), an ApiKey cast (raw key) or a device token."""

    def make(principal: Any, *, kind: str = "user") -> APIClient:
        client = APIClient()
        if kind == "user":
            client.force_login(principal)
        elif kind == "api_key":
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {principal}")
        elif kind == "device":
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {principal}")
        else:
            raise ValueError(kind)
        return client

    return make


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def outlet_factory() -> Callable[..., Any]:
    from tests.factories.catalog import make_outlet

    return make_outlet
