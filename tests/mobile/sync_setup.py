"""A booker's working day for the sync tests: priced SKUs, a route of outlets, a plan, today's journey."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from catalog.models import Outlet, Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp.models import DailyJourney, Visit
from pjp.services.common import tenant_policy
from pjp.services.journeys import journey_build
from tests.factories.catalog import make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.pjp import make_plan, make_route, monday_of


@dataclass
class Day:
    today: date
    journey: DailyJourney
    visits: list[Visit]
    outlets: list[Outlet]
    skus: list[Sku]
    booker: Any
    tz: Any


def working_day(cast: Any, *, outlets: int = 3) -> Day:
    """Distributor 1 of the cast: SKUs at 1,200.00 and 850.50 a case (17% tax), `outlets` outlets on a route
    planned for the booker on this weekday from today, and today's journey built."""
    tenant_id, distributor = cast.tenant.pk, cast.distributors[0]
    booker = cast.users[Role.ORDER_BOOKER]
    with tenant_scope(Scope.system(tenant_id)) as scope:
        make_tax_rate(tenant_id)
        skus = [make_sku(tenant_id), make_sku(tenant_id)]
        make_price_list(tenant_id, {skus[0]: Decimal("1200.00"), skus[1]: Decimal("850.50")}, code="BASE")
        shops = [make_outlet(distributor, code=f"SHOP{i}", name=f"Shop {i}",
                             lat=Decimal("31.520400") + Decimal(i) / 1000) for i in range(outlets)]
        route = make_route(distributor, shops)
        today = tenant_policy(scope).today()
        make_plan(distributor, booker, [(1, today.weekday(), route)], anchor=monday_of(today),
                  effective_from=today)
        (journey,) = journey_build(scope=scope, distributor_id=distributor.pk, day=today)
        visits = list(Visit.objects.filter(journey=journey).order_by("sequence"))
        tz = tenant_policy(scope).tz
    return Day(today, journey, visits, shops, skus, booker, tz)


def ago(day: Day, minutes: int) -> str:
    """An ISO timestamp `minutes` before now, as the app sends it (times of today's calls are in the past), but
    never before the tenant's local day began (a test run just after local midnight stays on `day.today`)."""
    now = datetime.now(UTC)
    start = datetime.combine(day.today, time(0, 0), tzinfo=day.tz).astimezone(UTC)
    floor = min(now, start + timedelta(minutes=120 - minutes))  # keeps the calls' order: older ones earlier
    return max(now - timedelta(minutes=minutes), floor).isoformat()


def visit_item(day: Day, index: int, seq: int, *, outcome: str = "productive", reason: str = "",
               item_uuid: str | None = None, **data: Any) -> dict[str, Any]:
    visit = day.visits[index]
    outlet = next(o for o in day.outlets if o.pk == visit.outlet_id)
    body = {"visit_id": visit.pk, "outlet_id": outlet.pk, "date": day.today.isoformat(),
            "checked_in_at": ago(day, 120 - 10 * index), "checked_out_at": ago(day, 113 - 10 * index),
            "lat": str(outlet.lat), "lng": str(outlet.lng), "accuracy_m": 8, "outcome": outcome, "reason": reason,
            **data}
    return {"kind": "visit", "uuid": item_uuid or str(uuid.uuid4()), "device_seq": seq, "payload": body}


def order_item(day: Day, outlet_index: int, seq: int, *, lines: list[dict[str, Any]] | None = None,
               item_uuid: str | None = None, visit_uuid: str | None = None, **data: Any) -> dict[str, Any]:
    body = {"outlet_id": day.outlets[outlet_index].pk, "booked_at": ago(day, 100),
            "lines": lines or [{"sku_id": day.skus[0].pk, "cases": 2, "units": 0},
                               {"sku_id": day.skus[1].pk, "cases": 1, "units": 6}], **data}
    if visit_uuid:
        body["visit_uuid"] = visit_uuid
    return {"kind": "order", "uuid": item_uuid or str(uuid.uuid4()), "device_seq": seq, "payload": body}


def push_ok(client: Any, items: list[dict[str, Any]]) -> Any:
    """Push the items as the device `client` (a fresh idempotency key) and assert the batch was taken."""
    from django.urls import reverse

    response = client.post(reverse("mobile-push"), {"items": items}, format="json",
                           HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 200, response.content
    return response
