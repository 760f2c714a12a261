"""Builders for the journey-analysis tests: a hand-made booker day on a straight north-south line, where travel is
hand-computable, and a route's journeys over several days with chosen visit orders.

The travel model is set to road factor 1.00 and 3.6 km/h (1 m/s), so a leg's seconds equal its metres. All points
share one longitude, where the great-circle distance is exactly R x the latitude difference: one "unit" of
0.01 degree is 1,111.95 m, and a leg of k units rounds to 1,112 x k m for k up to 9 (k=5: 5,559.75 -> 5,560).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from pjp.enums import VisitStatus
from pjp.models import DailyJourney, Pjp, Route, Visit
from pjp.services.journeys import journey_build
from tests.factories.loading import make_shop, set_depot
from tests.factories.pjp import ANCHOR, MON, make_plan, make_route

KARACHI = ZoneInfo("Asia/Karachi")  # the cast's tenants' zone: UTC+5, no daylight saving
DAY = ANCHOR  # Monday 2030-01-07
LNG = "74.300000"
UNIT_M = 1112  # a leg of one unit (0.01 degree of latitude), metres and (at 1 m/s) seconds


def lat(units: int) -> str:
    return str(Decimal("31.500000") + Decimal(units) / 100)


def local(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=KARACHI)


def set_travel(tenant_id: int, *, road_factor: str = "1.00", speed_kmh: str = "3.6") -> None:
    with tenant_scope(Scope.system(tenant_id)):
        assert TenantSettings.objects.filter(tenant_id=tenant_id).update(
            road_factor=Decimal(road_factor), travel_speed_kmh=Decimal(speed_kmh), matrix_provider_url="") == 1


@dataclass
class BookerDay:
    journey: DailyJourney
    shops: dict[str, Outlet]
    visits: dict[str, Visit]
    booker: Any


def booker_day(cast: Any, *, name_of_a: str = "Shop A") -> BookerDay:
    """Depot at unit 0, shops A B C D E at units 1..5 on one line. Planned A B C D (built by journey_build from a
    plan, start and end at the depot, 09:00 local, 10 minutes a stop, always open). Visited B, A, D, then E
    (unplanned); C missed:
        B 09:30-09:45, A 09:50-10:00, D 10:30-10:40, E 10:55-11:05 (local)."""
    tid, d1 = cast.tenant.pk, cast.distributors[0]
    booker = cast.users[Role.ORDER_BOOKER]
    set_travel(tid)
    set_depot(d1, lat(0), LNG)
    shops = {code: make_shop(d1, code=code, name=name_of_a if code == "A" else f"Shop {code}", lat=lat(units),
                             lng=LNG) for units, code in enumerate("ABCDE", start=1)}
    route = make_route(d1, [shops[c] for c in "ABCD"])
    make_plan(d1, booker, [(1, MON, route)])
    with tenant_scope(Scope.system(tid)) as scope:
        (journey,) = journey_build(scope=scope, distributor_id=d1.pk, day=DAY)
        visits = {v.outlet.code: v for v in Visit.objects.filter(journey=journey).select_related("outlet")}
        made = {"B": ((9, 30), (9, 45)), "A": ((9, 50), (10, 0)), "D": ((10, 30), (10, 40))}
        for code, (came, left) in made.items():
            Visit.objects.filter(pk=visits[code].pk).update(
                status=VisitStatus.PRODUCTIVE, checked_in_at=local(DAY, *came), checked_out_at=local(DAY, *left))
        Visit.objects.filter(pk=visits["C"].pk).update(status=VisitStatus.MISSED)
        came = local(DAY, 10, 55)
        visits["E"] = Visit.objects.create(
            distributor=d1, journey=journey, outlet=shops["E"], sequence=5, eta=came, etd=came, planned=False,
            uuid=uuid.uuid4(), status=VisitStatus.UNPRODUCTIVE, unproductive_reason="stock_sufficient",
            checked_in_at=came, checked_out_at=local(DAY, 11, 5))
        journey = DailyJourney.objects.select_related("route").get(pk=journey.pk)
    return BookerDay(journey, shops, visits, booker)


def route_days(cast: Any, days: list[tuple[str, str]], *, route: Route | None = None, first: date = DAY,
               booker: Any = None, distributor: Any = None) -> tuple[Route, list[DailyJourney]]:
    """Journeys on consecutive days from `first`, one per (planned, visited) pair of outlet-code strings ("ABC",
    "BAC"): the planned visits in the order given, then the visits made checked in an hour apart in the order
    given (an outlet visited but not planned is an unplanned visit). Written through the ORM; the outlets are
    made once per code on the distributor (codes R<code>)."""
    distributor = distributor or cast.distributors[0]
    booker = booker or cast.users[Role.ORDER_BOOKER]
    codes = sorted({c for planned, visited in days for c in planned + visited})
    with tenant_scope(Scope.system(cast.tenant.pk)):
        shops = {c: Outlet.objects.filter(distributor=distributor, code=f"R{c}").first() for c in codes}
    for c in codes:
        if shops[c] is None:
            shops[c] = make_shop(distributor, code=f"R{c}", name=f"Route shop {c}")
    route = route or make_route(distributor, [shops[c] for c in codes])
    journeys = []
    with tenant_scope(Scope.system(cast.tenant.pk)):
        pjp = Pjp.objects.create(distributor=distributor, booker=booker, cycle_anchor=DAY, effective_from=DAY)
        for n, (planned, visited) in enumerate(days):
            day = first + timedelta(days=n)
            start = local(day, 9, 0)
            journey = DailyJourney.objects.create(distributor=distributor, booker=booker, date=day, pjp=pjp,
                                                  route=route, route_version=route.version, planned_start=start,
                                                  planned_end=start + timedelta(hours=8))
            rows: dict[str, Visit] = {}
            for seq, c in enumerate(planned, start=1):
                rows[c] = Visit.objects.create(distributor=distributor, journey=journey, outlet=shops[c],
                                               sequence=seq, eta=start, etd=start)
            for hour, c in enumerate(visited):
                came = start + timedelta(hours=hour)
                if c in rows:
                    Visit.objects.filter(pk=rows[c].pk).update(status=VisitStatus.PRODUCTIVE, checked_in_at=came)
                else:
                    Visit.objects.create(distributor=distributor, journey=journey, outlet=shops[c],
                                         sequence=len(planned) + hour + 1, eta=came, etd=came, planned=False,
                                         status=VisitStatus.PRODUCTIVE, checked_in_at=came)
            journeys.append(journey)
    return route, journeys
