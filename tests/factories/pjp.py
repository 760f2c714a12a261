"""Routes and plans, made through the pjp services in the owning tenant's scope, as production writes are."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from catalog.models import Outlet
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Actor, Scope
from pjp.models import Pjp, Route
from pjp.services import pjp_publish, route_create, route_set_stops
from tests.factories.catalog import _in_tenant

# A Monday far enough ahead that plans may start on it (plans never start in the past).
ANCHOR = date(2030, 1, 7)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

_seq = itertools.count(1)


def staff_scope(distributor: Distributor, user: Any = None, role: str = Role.DISTRIBUTOR_STAFF) -> Scope:
    """The scope of a distributor user, as the API base class makes it from a membership."""
    return Scope(tenant_id=distributor.tenant_id, distributor_ids=frozenset({distributor.pk}),
                 actor=Actor(kind="user", id=getattr(user, "pk", None), role=role,
                             label=getattr(user, "username", "staff")))


def make_route(distributor: Distributor, outlets: Sequence[Outlet] = (), **kw: Any) -> Route:
    n = next(_seq)
    with _in_tenant(distributor.tenant_id) as scope:
        route = route_create(scope=scope, distributor_id=distributor.pk,
                             **{"code": f"R{n}", "name": f"Route {n}", **kw})
        if outlets:
            route = route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[o.pk for o in outlets])
        return route


def set_stops(route: Route, outlet_ids: list[int], **kw: Any) -> Route:
    with _in_tenant(route.tenant_id) as scope:
        return route_set_stops(scope=scope, route_id=route.pk, outlet_ids=outlet_ids, **kw)


def make_plan(distributor: Distributor, booker: Any, slots: list[tuple[int, int, Route]], *, cycle_weeks: int = 1,
              anchor: date = ANCHOR, effective_from: date | None = None, **kw: Any) -> Pjp:
    """Publish a plan; slots are (cycle week, weekday, route)."""
    with _in_tenant(distributor.tenant_id) as scope:
        return pjp_publish(scope=scope, distributor_id=distributor.pk, booker_id=booker.pk, cycle_weeks=cycle_weeks,
                           cycle_anchor=anchor, effective_from=effective_from or anchor,
                           slots=[(w, d, r.pk) for w, d, r in slots], **kw)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
