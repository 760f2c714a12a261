"""What the pjp services share: the tenant's travel policy, snapshots of plans for the overlap rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_get

from ..errors import PjpError
from ..models import Pjp, Route, RouteStop
from ..planning import Call, PlanView, StopView, describe_overlap, find_overlaps

MAX_OVERLAPS_REPORTED = 10


@dataclass(frozen=True)
class TenantPolicy:
    """The tenant's clock and travel model (TenantSettings), read once per service call."""

    tz: ZoneInfo
    road_factor: float
    speed_kmh: float

    def today(self) -> date:
        return timezone.now().astimezone(self.tz).date()


def tenant_policy(scope: Scope) -> TenantPolicy:
    tenant = tenant_get(scope=scope)
    settings = TenantSettings.objects.filter(tenant_id=scope.tenant_id).first()
    if settings is None:  # every tenant gets one at creation; the model defaults stand in otherwise
        settings = TenantSettings()
    return TenantPolicy(tz=tenant.tz, road_factor=float(settings.road_factor),
                        speed_kmh=float(settings.travel_speed_kmh))


def user_labels(user_ids: Iterable[int]) -> dict[int, str]:
    ids = set(user_ids)
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def plan_view(pjp: Pjp, *, label: str, slots: Iterable[tuple[int, int, int]]) -> PlanView:
    return PlanView(key=pjp.pk if pjp.pk else "new", booker_id=pjp.booker_id, booker_label=label,
                    cycle_weeks=pjp.cycle_weeks, cycle_anchor=pjp.cycle_anchor, effective_from=pjp.effective_from,
                    effective_to=pjp.effective_to, slots={(w, d): r for w, d, r in slots})


def plans_from(scope: Scope, *, distributor_id: int, since: date,
               exclude_booker_id: int | None = None) -> list[PlanView]:
    """The distributor's plan versions in force on `since` or later (two queries plus the booker names)."""
    qs = scope.filter(Pjp.objects.filter(distributor_id=distributor_id)).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=since)).prefetch_related("slots")
    if exclude_booker_id is not None:
        qs = qs.exclude(booker_id=exclude_booker_id)
    pjps = list(qs)
    labels = user_labels(p.booker_id for p in pjps)
    return [plan_view(p, label=labels.get(p.booker_id, str(p.booker_id)),
                      slots=[(s.week, s.weekday, s.route_id) for s in p.slots.all()]) for p in pjps]


def stops_of(scope: Scope, *, distributor_id: int, route_ids: Collection[int]) -> dict[int, list[StopView]]:
    out: dict[int, list[StopView]] = defaultdict(list)
    if not route_ids:
        return out
    rows = scope.filter(RouteStop.objects.filter(distributor_id=distributor_id, route_id__in=route_ids)).filter(
        outlet__active=True).order_by("route_id", "sequence").values_list("route_id", "outlet_id", "weeks")
    for route_id, outlet_id, weeks in rows:
        out[route_id].append(StopView(outlet_id, tuple(weeks or ())))
    return out


def refuse_overlaps(scope: Scope, *, distributor_id: int, plans: list[PlanView], stops: dict[int, list[StopView]],
                    start: date, involves: Callable[[Call], bool], field_of: Callable[[Call], str]) -> None:
    """Raise OUTLET_OVERLAP naming the outlet, the week and both slots when the change makes an outlet
    be visited twice in a calendar week. `field_of` names the input field behind a call of the change."""
    from catalog.models import Outlet

    overlaps = find_overlaps(plans=plans, stops=stops, start=start, involves=involves,
                             limit=MAX_OVERLAPS_REPORTED)
    if not overlaps:
        return
    outlets = {pk: f"{code} {name}" for pk, code, name in scope.filter(
        Outlet.objects.filter(distributor_id=distributor_id, pk__in={o.outlet_id for o in overlaps})
    ).values_list("pk", "code", "name")}
    routes = dict(scope.filter(Route.objects.filter(distributor_id=distributor_id)).values_list("pk", "code"))
    fields: dict[str, list[str]] = defaultdict(list)
    messages: list[str] = []
    for o in overlaps:
        text = describe_overlap(o, outlet_label=outlets.get(o.outlet_id, str(o.outlet_id)), route_labels=routes)
        messages.append(text)
        call = o.second if involves(o.second) else o.first
        fields[field_of(call)].append(text)
    raise DomainError(PjpError.OUTLET_OVERLAP, messages[0], fields=dict(fields),
                      extra={"overlaps": messages})


def raise_field_errors(errors: dict[str, list[str]], message: str, code: str = PjpError.INVALID) -> None:
    """A 400 naming every bad field; with a single one, its own message is the error's message."""
    if errors:
        raise DomainError(code, message if len(errors) > 1 else next(iter(errors.values()))[0], fields=errors)
