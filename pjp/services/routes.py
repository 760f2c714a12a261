"""Routes (beats) and their stop order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from dms.core.errors import DomainError, NotFound
from dms.tenancy.scope import Scope

from ..errors import PjpError
from ..locks import lock_distributor_plans, lock_routes
from ..models import PjpSlot, Route, RouteStop
from .common import plans_from, raise_field_errors, refuse_overlaps, stops_of, tenant_policy, user_labels
from .journeys import rebuild_future

ROUTE_FIELDS = {"code", "name", "start_lat", "start_lng", "end_lat", "end_lng", "work_start", "work_end",
                "default_service_minutes", "active"}
MAX_SERVICE_MINUTES = 480
MAX_CYCLE_WEEK = 4


def _save(route: Route) -> None:
    """full_clean then save; a validation or uniqueness failure becomes a 400 naming the field."""
    try:
        route.full_clean(exclude=["tenant", "distributor"], validate_unique=False)
    except ValidationError as exc:
        raise DomainError(PjpError.INVALID, "Invalid route.", fields=exc.message_dict) from exc
    try:
        with transaction.atomic():
            route.save()
    except IntegrityError as exc:
        raise DomainError(PjpError.DUPLICATE_CODE, f"Route code '{route.code}' is already used.",
                          fields={"code": ["Already used."]}) from exc


def _visible_route_distributor(scope: Scope, route_id: int) -> int:
    distributor_id = scope.filter(Route.objects.filter(pk=route_id)).values_list("distributor_id", flat=True).first()
    if distributor_id is None:
        raise NotFound("Route not found.")
    return distributor_id


def _routes_in_use(scope: Scope, *, route_id: int, since: date) -> list[str]:
    rows = scope.filter(PjpSlot.objects.filter(route_id=route_id)).filter(
        Q(pjp__effective_to__isnull=True) | Q(pjp__effective_to__gte=since)).values_list("pjp__booker_id", flat=True)
    labels = user_labels(rows)
    return sorted(set(labels.values()))


@transaction.atomic
def route_create(*, scope: Scope, distributor_id: int | None = None, code: str, name: str,
                 **fields: Any) -> Route:
    """A new route of a distributor (a distributor user's own when not given). Not idempotent: a second call
    with the same code is refused (DUPLICATE_CODE)."""
    if distributor_id is None:
        distributor_id = scope.single_distributor_id
        if distributor_id is None:
            raise DomainError(PjpError.INVALID, "distributor_id is required.",
                              fields={"distributor_id": ["This field is required."]})
    lock_distributor_plans(scope, distributor_id)
    route = Route(distributor_id=distributor_id, code=code, name=name,
                  **{k: v for k, v in fields.items() if k in ROUTE_FIELDS})
    _save(route)
    return route


@transaction.atomic
def route_update(*, scope: Scope, route_id: int, **fields: Any) -> Route:
    """Change a route's name, start and end points, working hours, default service time or active flag.

    The stop order and version do not change (see route_set_stops). Journeys already built on this route
    from today are rebuilt. Deactivating a route that a plan in force today or later uses is refused.
    Takes the planning lock, then the route.
    """
    distributor = lock_distributor_plans(scope, _visible_route_distributor(scope, route_id))
    policy = tenant_policy(scope)
    route = lock_routes(scope).get(pk=route_id)
    today = policy.today()
    if fields.get("active") is False and route.active:
        bookers = _routes_in_use(scope, route_id=route.pk, since=today)
        if bookers:
            raise DomainError(PjpError.ROUTE_IN_USE,
                              f"Route {route.code} is in the plans of {', '.join(bookers)}; take it out of them first.",
                              fields={"active": [f"Used by the plans of {', '.join(bookers)}."]})
    for key, value in fields.items():
        if key in ROUTE_FIELDS:
            setattr(route, key, value)
    _save(route)
    rebuild_future(scope, policy, distributor, from_day=today, route_id=route.pk)
    return route


def _validate_stops(*, outlet_ids: Sequence[int], outlets: Mapping[int, tuple[str, bool]], distributor_label: str,
                    service_minutes: Mapping[int, int | None] | None,
                    weeks: Mapping[int, Sequence[int]] | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    first_at: dict[int, int] = {}
    for i, outlet_id in enumerate(outlet_ids):
        name = f"outlet_ids[{i}]"
        if outlet_id in first_at:
            errors[name] = [f"Outlet {outlets.get(outlet_id, (outlet_id,))[0]} is already at outlet_ids"
                            f"[{first_at[outlet_id]}]; a route visits an outlet once."]
            continue
        first_at[outlet_id] = i
        if outlet_id not in outlets:
            errors[name] = [f"Outlet {outlet_id} is not an outlet of distributor {distributor_label}."]
        elif not outlets[outlet_id][1]:
            errors[name] = [f"Outlet {outlets[outlet_id][0]} is inactive."]
    for outlet_id, minutes in (service_minutes or {}).items():
        name = f"service_minutes[{outlet_id}]"
        if outlet_id not in first_at:
            errors[name] = [f"Outlet {outlet_id} is not in outlet_ids."]
        elif minutes is not None and (not isinstance(minutes, int) or not 1 <= minutes <= MAX_SERVICE_MINUTES):
            errors[name] = [f"Service time is 1 to {MAX_SERVICE_MINUTES} minutes."]
    for outlet_id, stop_weeks in (weeks or {}).items():
        name = f"weeks[{outlet_id}]"
        if outlet_id not in first_at:
            errors[name] = [f"Outlet {outlet_id} is not in outlet_ids."]
        elif (not isinstance(stop_weeks, (list, tuple)) or len(set(stop_weeks)) != len(stop_weeks)
              or not all(isinstance(w, int) and 1 <= w <= MAX_CYCLE_WEEK for w in stop_weeks)):
            errors[name] = [f"Cycle weeks are distinct numbers from 1 to {MAX_CYCLE_WEEK}; empty means every week."]
    return errors


@transaction.atomic
def route_set_stops(*, scope: Scope, route_id: int, outlet_ids: list[int], expected_version: int | None = None,
                    service_minutes: dict[int, int] | None = None,
                    weeks: dict[int, list[int]] | None = None) -> Route:
    """Replace the route's stops with `outlet_ids` in that order, and bump its version.

    `service_minutes` and `weeks` set per-outlet values (None or [] resets to the route default / every
    week); outlets not named keep what they had on the route, new ones get the defaults. Outlets must be
    active outlets of the route's distributor, each once. A stale `expected_version` is a 409. The change
    must not make an outlet be visited twice in a calendar week by the plans in force from today.
    Idempotent: the same stops again change nothing (no version bump). Journeys already built on this
    route from today are rebuilt. Takes the planning lock, then the route.
    """
    from catalog.models import Outlet

    distributor = lock_distributor_plans(scope, _visible_route_distributor(scope, route_id))
    route = lock_routes(scope).get(pk=route_id)
    if expected_version is not None and route.version != expected_version:
        raise DomainError(PjpError.STALE_VERSION,
                          f"Route {route.code} changed since version {expected_version}: it is at version "
                          f"{route.version}. Reload it and try again.",
                          fields={"expected_version": [f"The route is at version {route.version}."]}, status_code=409)
    outlets = {pk: (code, active) for pk, code, active in scope.filter(Outlet.objects.filter(
        distributor_id=distributor.pk, pk__in=set(outlet_ids))).values_list("pk", "code", "active")}
    raise_field_errors(_validate_stops(outlet_ids=outlet_ids, outlets=outlets, distributor_label=distributor.code,
                                  service_minutes=service_minutes, weeks=weeks), "Invalid stops.")

    current = list(scope.filter(RouteStop.objects.filter(route_id=route.pk)).order_by("sequence")
                   .values_list("outlet_id", "service_minutes", "weeks"))
    had = {outlet_id: (minutes, list(stop_weeks or [])) for outlet_id, minutes, stop_weeks in current}
    rows = []
    for outlet_id in outlet_ids:
        minutes, stop_weeks = had.get(outlet_id, (None, []))
        if service_minutes is not None and outlet_id in service_minutes:
            minutes = service_minutes[outlet_id]
        if weeks is not None and outlet_id in weeks:
            stop_weeks = sorted(weeks[outlet_id] or [])
        rows.append((outlet_id, minutes, stop_weeks))
    if rows == [(o, m, list(w or [])) for o, m, w in current]:
        return route

    scope.filter(RouteStop.objects.filter(route_id=route.pk)).delete()
    RouteStop.objects.bulk_create([
        RouteStop(tenant_id=scope.tenant_id, distributor_id=distributor.pk, route_id=route.pk, outlet_id=outlet_id,
                  sequence=sequence, service_minutes=minutes, weeks=stop_weeks)
        for sequence, (outlet_id, minutes, stop_weeks) in enumerate(rows, start=1)
    ])
    route.version += 1  # under the route lock
    route.save(update_fields=["version", "updated_at"])

    policy = tenant_policy(scope)
    today = policy.today()
    plans = plans_from(scope, distributor_id=distributor.pk, since=today)
    if any(route.pk in p.slots.values() for p in plans):
        position = {outlet_id: i for i, outlet_id in enumerate(outlet_ids)}
        refuse_overlaps(scope, distributor_id=distributor.pk, plans=plans,
                        stops=stops_of(scope, distributor_id=distributor.pk,
                                       route_ids={r for p in plans for r in p.slots.values()}),
                        start=today, involves=lambda c: c.route_id == route.pk,
                        field_of=lambda c: f"outlet_ids[{position[c.outlet_id]}]")
    rebuild_future(scope, policy, distributor, from_day=today, route_id=route.pk)
    return route
