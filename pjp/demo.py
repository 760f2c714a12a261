"""Demo routes, plans and journeys for one distributor (called by `catalog.demo.seed_demo`).

The distributor's outlets are cut into one sector per (booker, working day) around the warehouse, by angle, so
that every booker gets compact day-routes; each route visits its outlets in nearest-neighbour order, a plausible
hand-made order that the admin's "optimise" then visibly improves. Each booker gets a weekly plan (every day of
the week) from today, and the journeys of the build-ahead window are built, exactly as the beat job would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import time, timedelta
from typing import Any

from catalog.models import Outlet
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .enums import Weekday
from .services.common import tenant_policy
from .services.journeys import journeys_build_ahead
from .services.plans import pjp_publish
from .services.routes import route_create, route_set_stops

# Seven-day trade (general trade outlets open every day), so the demo has a journey whatever today is.
WORKING_DAYS = tuple(Weekday)
COMPASS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")


def _bearing(origin: tuple[float, float], point: tuple[float, float]) -> float:
    """Angle of `point` seen from `origin`, counter-clockwise from east, in [0, 2 pi)."""
    dy = point[0] - origin[0]
    dx = (point[1] - origin[1]) * math.cos(math.radians(origin[0]))
    return math.atan2(dy, dx) % (2 * math.pi)


def _nearest_neighbour(origin: tuple[float, float], points: dict[int, tuple[float, float]]) -> list[int]:
    order, here, left = [], origin, dict(points)
    while left:
        pk = min(left, key=lambda k: (left[k][0] - here[0]) ** 2 + (left[k][1] - here[1]) ** 2)
        order.append(pk)
        here = left.pop(pk)
    return order


def seed_routes_and_plans(*, scope: Scope, distributor: Distributor, booker_ids: Sequence[int],
                          visits_per_day: int = 35) -> dict[str, int]:
    """Routes and weekly PJPs (from today, tenant-local) for the distributor's bookers; returns counts.
    `build_journeys` then materialises the journeys."""
    today = tenant_policy(scope).today()
    if distributor.lat is None or distributor.lng is None:
        return {"routes": 0, "plans": 0}  # no warehouse location: nothing to cut into sectors
    warehouse = (float(distributor.lat), float(distributor.lng))
    located = Outlet.objects.filter(distributor_id=distributor.pk, active=True, lat__isnull=False,
                                    lng__isnull=False).order_by("pk").values_list("pk", "lat", "lng")
    outlets = {pk: (float(lat), float(lng)) for pk, lat, lng in located if lat is not None and lng is not None}
    slots = len(booker_ids) * len(WORKING_DAYS)
    by_angle = sorted(outlets, key=lambda pk: _bearing(warehouse, outlets[pk]))[: slots * visits_per_day]
    plans: dict[int, list[dict[str, Any]]] = {b: [] for b in booker_ids}
    routes = 0
    for k in range(slots):
        members = by_angle[len(by_angle) * k // slots:len(by_angle) * (k + 1) // slots]  # sizes differ by <= 1
        if not members:
            continue
        booker_index, day = divmod(k, len(WORKING_DAYS))
        weekday = WORKING_DAYS[day]
        middle = _bearing(warehouse, outlets[members[len(members) // 2]])
        side = COMPASS[round(middle / (math.pi / 4)) % len(COMPASS)]
        route = route_create(scope=scope, distributor_id=distributor.pk,
                             code=f"B{booker_index + 1}-{weekday.label[:3].upper()}",
                             name=f"{side} sector, {weekday.label}", work_start=time(9, 0), work_end=time(18, 0),
                             default_service_minutes=8)
        route_set_stops(scope=scope, route_id=route.pk,
                        outlet_ids=_nearest_neighbour(warehouse, {pk: outlets[pk] for pk in members}))
        plans[booker_ids[booker_index]].append({"week": 1, "weekday": int(weekday), "route_id": route.pk})
        routes += 1
    monday = today - timedelta(days=today.weekday())
    for booker_id, booker_slots in plans.items():
        if booker_slots:
            pjp_publish(scope=scope, distributor_id=distributor.pk, booker_id=booker_id, cycle_weeks=1,
                        cycle_anchor=monday, effective_from=today, slots=booker_slots, note="Demo plan")
    return {"routes": routes, "plans": sum(1 for s in plans.values() if s)}


def build_journeys(*, scope: Scope) -> int:
    """Journeys of every distributor for the build-ahead window (what the beat job does); returns how many."""
    return journeys_build_ahead(scope=scope).journeys
