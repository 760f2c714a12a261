"""Builders for the order-booker app's tests: bookers with devices, journeys near today, secondary orders.

Journeys are made as production makes them (a published plan, then journey_build), so their arrival times come
from the ETA engine. Orders are written as rows (the orders services are another issue's): only what a reader
of an outlet's history needs.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Outlet, Sku
from dms.tenancy.enums import Role
from dms.tenancy.models import Device, Distributor
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_register, membership_grant, user_create
from orders.enums import OrderStatus
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import DailyJourney
from pjp.services import journey_build
from pjp.services.common import tenant_policy
from tests.conftest import PASSWORD
from tests.factories.catalog import _in_tenant
from tests.factories.pjp import make_plan, make_route, monday_of


def tenant_today(tenant_id: int) -> date:
    """Today in the tenant's time zone (the journey API's default day)."""
    with _in_tenant(tenant_id):
        return tenant_policy(Scope.system(tenant_id)).today()


def make_booker(distributor: Distributor, username: str) -> Any:
    """A new order-booker of the distributor (password: tests.conftest.PASSWORD)."""
    user = user_create(username=username, password=PASSWORD)
    with _in_tenant(distributor.tenant_id) as scope:
        membership_grant(scope=scope, user=user, role=Role.ORDER_BOOKER, distributor=distributor)
    return user


def make_device(distributor: Distributor, user: Any, identifier: str) -> Device:
    with _in_tenant(distributor.tenant_id) as scope:
        return device_register(scope=scope, user=user, distributor_id=distributor.pk, identifier=identifier,
                               name=f"{identifier} phone", platform="android")


def plan_journeys(distributor: Distributor, booker: Any, days: dict[date, Sequence[Outlet]],
                  *, today: date) -> dict[date, DailyJourney]:
    """A weekly plan from `today` giving the booker one route per day of `days` (each within the coming week,
    on distinct weekdays), visiting those outlets in that order; then each day's journey, built."""
    slots = [(1, day.weekday(), make_route(distributor, outlets)) for day, outlets in days.items()]
    make_plan(distributor, booker, slots, anchor=monday_of(today), effective_from=today)
    journeys = {}
    with _in_tenant(distributor.tenant_id) as scope:
        for day in days:
            [journey] = [j for j in journey_build(scope=scope, distributor_id=distributor.pk, day=day)
                         if j.booker_id == booker.pk]
            journeys[day] = journey
    return journeys


def make_order(outlet: Outlet, sku: Sku, *, booked_at: datetime, lines: int = 1, total: str = "100.00",
               status: str = OrderStatus.BOOKED, booker: Any = None) -> SecondaryOrder:
    """A secondary order of the outlet with `lines` lines of `sku` (amounts are not priced: history only)."""
    amount = Decimal(total)
    with _in_tenant(outlet.tenant_id):
        order = SecondaryOrder.objects.create(
            distributor_id=outlet.distributor_id, uuid=uuid.uuid4(), outlet=outlet, booker=booker, status=status,
            booked_at=booked_at, currency="PKR", gross=amount, discount=Decimal("0"), tax=Decimal("0"),
            total=amount, fingerprint=hashlib.sha256(str(booked_at).encode()).hexdigest())
        SecondaryOrderLine.objects.bulk_create([
            SecondaryOrderLine(tenant_id=outlet.tenant_id, distributor_id=outlet.distributor_id, order=order,
                               line_no=n, sku=sku, cases=1, qty_units=sku.units_per_case, case_price=amount / lines,
                               gross=amount / lines, discount=Decimal("0"), tax_rate=Decimal("0"), tax=Decimal("0"),
                               total=amount / lines)
            for n in range(1, lines + 1)])
    return order


def order_history(outlets: Sequence[Outlet], sku: Sku, *, per_outlet: int, newest: datetime) -> None:
    """`per_outlet` orders on each outlet, a day apart, the newest at `newest`."""
    for outlet in outlets:
        for age in range(per_outlet):
            make_order(outlet, sku, booked_at=newest - timedelta(days=age), lines=2)
