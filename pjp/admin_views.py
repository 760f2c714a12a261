"""What the pjp admin pages show: the route map and metrics, the optimisation proposal, the PJP calendar,
and the forms of the build and publish pages.

Reads only, always through the request's scope (the selectors, or `scope.filter`); every write is a service
called from pjp/admin/. Memberships are a global table: booker lists filter by tenant and distributor
explicitly (dms.tenancy.selectors.membership_list).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django import forms
from django.db.models import QuerySet

from catalog.models import Outlet
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor, Membership
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list, membership_list
from routing.matrix import travel_matrices

from .enums import Weekday
from .mapsvg import MapStop, Point, route_map_svg
from .models import CYCLE_CHOICES, DailyJourney, Pjp, Route, RouteStop
from .planning import monday_of, visited_in
from .selectors import journey_list, pjp_list, route_get, route_list
from .services.common import TenantPolicy, tenant_policy

CALENDAR_DAYS = 7
MAX_PROPOSAL_MAPS = 24
WEEKDAYS = list(Weekday)


# --- formatting ---------------------------------------------------------------------------------------

def km(metres: int | float | None) -> str:
    return "—" if metres is None else f"{metres / 1000:.1f} km"


def duration(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def change_pct(before: int | float | None, after: int | float | None) -> str:
    if not before or after is None:
        return ""
    pct = 100 * (after - before) / before
    return f"{pct:+.1f} %"


def local_time(value: datetime | None, tz: tzinfo, fmt: str = "%H:%M") -> str:
    return "—" if value is None else value.astimezone(tz).strftime(fmt)


def _point(lat: Any, lng: Any) -> Point | None:
    return None if lat is None or lng is None else (float(lat), float(lng))


# --- the route page: map and metrics ----------------------------------------------------------------------

@dataclass(frozen=True)
class RouteMetrics:
    stops: int
    placed: int
    distance_m: int
    travel_s: int
    service_s: int
    day_s: int  # the route's working hours

    @property
    def total_s(self) -> int:
        return self.travel_s + self.service_s

    @property
    def over_day(self) -> bool:
        return self.total_s > self.day_s

    def rows(self) -> list[tuple[str, str]]:
        return [("Stops", str(self.stops)), ("Estimated distance", km(self.distance_m)),
                ("Travel time", duration(self.travel_s)), ("Time at outlets", duration(self.service_s)),
                ("Day length (travel + outlets)", duration(self.total_s)),
                ("Working hours", duration(self.day_s))]


def _ends(route: Route, distributor: Distributor | None) -> tuple[Point | None, Point | None]:
    """Start and end default to the distributor's warehouse, as journeys do (pjp.services.journeys)."""
    home = _point(distributor.lat, distributor.lng) if distributor is not None else None
    return _point(route.start_lat, route.start_lng) or home, _point(route.end_lat, route.end_lng) or home


def path_metrics(points: Sequence[Point], policy: TenantPolicy) -> tuple[int, int]:
    """Distance (m) and travel time (s) along `points` in order, with the tenant's travel model."""
    if len(points) < 2:
        return 0, 0
    distance, duration_s = travel_matrices(points, road_factor=policy.road_factor, speed_kmh=policy.speed_kmh)
    legs = range(len(points) - 1)
    return sum(distance[i][i + 1] for i in legs), sum(duration_s[i][i + 1] for i in legs)


def route_page(*, scope: Scope, route_id: int) -> dict[str, Any]:
    """Context of the route change page: the SVG map of the stops in order, and the route's metrics."""
    route = route_get(scope=scope, pk=route_id)
    distributor = Distributor.objects.filter(pk=route.distributor_id).first()
    start, end = _ends(route, distributor)
    stops: list[RouteStop] = list(route.stops.all())
    map_stops = [MapStop(sequence=s.sequence, point=_point(s.outlet.lat, s.outlet.lng), label=s.outlet.code,
                         title=f"{s.sequence}. {s.outlet.code} {s.outlet.name}") for s in stops]
    policy = tenant_policy(scope)
    points = [p for p in [start, *(m.point for m in map_stops), end] if p is not None]
    distance_m, travel_s = path_metrics(points, policy)
    day = datetime.combine(date.min, route.work_end) - datetime.combine(date.min, route.work_start)
    metrics = RouteMetrics(
        stops=len(stops), placed=sum(1 for m in map_stops if m.point is not None), distance_m=distance_m,
        travel_s=travel_s, service_s=60 * sum(s.service_minutes or route.default_service_minutes for s in stops),
        day_s=int(day.total_seconds()))
    caption = f"Route {route.code}: {len(stops)} stops in order"
    return {
        "route_map": route_map_svg(stops=map_stops, start=start, end=end, caption=caption),
        "route_metrics": metrics,
        "route_unplaced": [f"{s.sequence}. {s.outlet.code} {s.outlet.name}" for s, m in zip(stops, map_stops,
                                                                                           strict=True)
                           if m.point is None],
        "route_version": route.version,
    }


# --- the optimisation proposal ------------------------------------------------------------------------

@dataclass
class ProposalRow:
    code: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None

    def cell(self, side: str, key: str) -> str:
        values = self.before if side == "before" else self.after
        if not values:
            return "—"
        value = values.get(key)
        if key == "distance_m":
            return km(value)
        if key == "duration_s":
            return duration(value)
        return "—" if value is None else str(value)

    @property
    def cells(self) -> list[str]:
        return [self.cell(side, key) for side in ("before", "after")
                for key in ("stops", "distance_m", "duration_s")]

    @property
    def distance_change(self) -> str:
        return change_pct((self.before or {}).get("distance_m"), (self.after or {}).get("distance_m"))


@dataclass
class ProposalMap:
    code: str
    svg: Any


@dataclass
class ProposalView:
    rows: list[ProposalRow]
    total: ProposalRow
    diff: list[str]
    maps: list[ProposalMap] = field(default_factory=list)


def plan_routes(plan: Any) -> dict[str, tuple[str | None, list[int]]]:
    """The proposal's plan as route key -> (code of a new route, ordered outlet ids): a sequence plan's
    {"routes": {route id: [outlet ids]}} or a build plan's {"new_routes": [{"key", "code", "outlet_ids"}]}
    (pjp.optimisation). Anything else yields no maps; the tables and the diff still show."""
    out: dict[str, tuple[str | None, list[int]]] = {}
    if not isinstance(plan, Mapping):
        return out
    routes = plan.get("routes")
    if isinstance(routes, Mapping):
        for key, ids in routes.items():
            if isinstance(ids, list) and all(isinstance(i, int) for i in ids):
                out[str(key)] = (None, ids)
    for entry in plan.get("new_routes") or []:
        ids = entry.get("outlet_ids") if isinstance(entry, Mapping) else None
        if isinstance(ids, list) and all(isinstance(i, int) for i in ids):
            out[str(entry.get("key"))] = (str(entry.get("code") or entry.get("key")), ids)
    return out


def proposal_view(*, scope: Scope, proposal: Any, distributor_id: int | None = None) -> ProposalView:
    before = (proposal.before or {}).get("routes", {}) or {}
    after = (proposal.after or {}).get("routes", {}) or {}
    keys = [*before, *(k for k in after if k not in before)]
    rows = [ProposalRow(code=str((after.get(k) or before.get(k) or {}).get("code", k)), before=before.get(k),
                        after=after.get(k)) for k in keys]
    total = ProposalRow(code="Total", before=(proposal.before or {}).get("total"),
                        after=(proposal.after or {}).get("total"))
    diff = [str(d.get("text", "")) if isinstance(d, Mapping) else str(d) for d in proposal.diff or []]
    return ProposalView(rows=rows, total=total, diff=diff,
                        maps=_proposal_maps(scope, proposal, after, distributor_id or proposal.distributor_id))


def _proposal_maps(scope: Scope, proposal: Any, after: Mapping[str, Any], distributor_id: int) -> list[ProposalMap]:
    """Per proposed route, the order it would get on acceptance; an existing route's current order beside it.
    A build proposal's many routes are drawn smaller, and at most MAX_PROPOSAL_MAPS of them."""
    plan = plan_routes(proposal.plan)
    if not plan:
        return []
    routes = {str(r.pk): r for r in route_list(scope=scope).filter(pk__in=[int(k) for k in plan if k.isdigit()])}
    current: dict[str, list[int]] = defaultdict(list)
    for route_id, outlet_id in scope.filter(RouteStop.objects.filter(route_id__in=[r.pk for r in routes.values()])
                                            ).order_by("route_id", "sequence").values_list("route_id", "outlet_id"):
        current[str(route_id)].append(outlet_id)
    wanted = {i for _code, ids in plan.values() for i in ids} | {i for ids in current.values() for i in ids}
    outlets = {o.pk: o for o in scope.filter(Outlet.objects.filter(pk__in=wanted))}
    distributor = Distributor.objects.filter(pk=distributor_id).first()
    small = len(plan) > 1
    width = 380 if small else 440

    def draw(title: str, ids: list[int], start: Point | None, end: Point | None) -> ProposalMap:
        stops = [MapStop(sequence=n, point=_point(o.lat, o.lng), label=o.code, title=f"{n}. {o.code} {o.name}")
                 for n, o in enumerate((outlets[i] for i in ids if i in outlets), start=1)]
        return ProposalMap(code=title, svg=route_map_svg(stops=stops, start=start, end=end,
                                                         caption=f"{title}: {len(stops)} stops", width=width))

    maps = []
    for key, (new_code, ids) in list(plan.items())[:MAX_PROPOSAL_MAPS]:
        route = routes.get(key)
        if route is not None:
            start, end = _ends(route, distributor)
        else:
            start = end = _point(distributor.lat, distributor.lng) if distributor is not None else None
        code = str(new_code or (after.get(key) or {}).get("code") or (route.code if route is not None else key))
        if route is not None and not small:
            maps.append(draw(f"{code} now", current[key], start, end))
        maps.append(draw(f"{code} proposed" if route is not None else code, ids, start, end))
    return maps


# --- bookers ------------------------------------------------------------------------------------------

def booker_memberships(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[Membership]:
    """The active order-bookers the scope may plan for (Membership is global: filtered by the scope)."""
    qs = membership_list(scope=scope).filter(role=Role.ORDER_BOOKER, active=True, distributor__isnull=False)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    return qs.order_by("distributor__code", "user__username")


def booker_choices(memberships: Iterable[Membership], *, value: str = "user") -> list[tuple[str, Any]]:
    """Choices grouped by distributor. `value="pair"` makes values "<distributor id>:<user id>", so one pick
    names both the booker and the distributor whose plan it is."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for m in memberships:
        key = f"{m.distributor_id}:{m.user_id}" if value == "pair" else str(m.user_id)
        groups[str(m.distributor)].append((key, m.user.get_username()))
    return list(groups.items())


# --- forms --------------------------------------------------------------------------------------------

class RouteBuildForm(forms.Form):
    distributor = forms.TypedChoiceField(coerce=int)
    bookers = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="The order-bookers to build routes and plans for (hold Ctrl or Cmd to pick several).")
    cycle_weeks = forms.TypedChoiceField(choices=CYCLE_CHOICES, coerce=int, initial=1)
    max_visits_per_day = forms.IntegerField(min_value=1, max_value=200, initial=30)
    time_limit = forms.FloatField(min_value=2, max_value=600, initial=60, label="Time limit (seconds)",
                                  help_text="How long the optimiser may search.")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        distributors = list(distributor_list(scope=scope).filter(active=True))
        self.fields["distributor"].choices = [(d.pk, str(d)) for d in distributors]  # type: ignore[attr-defined]
        if scope.single_distributor_id is not None:
            self.fields["distributor"].initial = scope.single_distributor_id
            self.fields["distributor"].disabled = True
        self.memberships = list(booker_memberships(scope=scope))
        self.fields["bookers"].choices = booker_choices(self.memberships)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        distributor_id, bookers = data.get("distributor"), data.get("bookers") or []
        if distributor_id is not None:
            theirs = {m.user_id for m in self.memberships if m.distributor_id == distributor_id}
            others = [m.user.get_username() for m in self.memberships
                      if m.user_id in bookers and m.user_id not in theirs]
            if others:
                self.add_error("bookers", f"Not order-bookers of the chosen distributor: {', '.join(others)}.")
        return data


class PjpPublishForm(forms.Form):
    """A booker's new plan version: the cycle, its anchor, the start date and a route per slot."""

    booker = forms.ChoiceField(help_text="The order-booker whose plan this is.")
    cycle_weeks = forms.TypedChoiceField(choices=CYCLE_CHOICES, coerce=int, initial=1)
    cycle_anchor = forms.DateField(help_text="A Monday: week 1 of the cycle starts here (YYYY-MM-DD).")
    effective_from = forms.DateField(help_text="The new version is in force from this day (today or later).")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = list(booker_memberships(scope=scope))
        self.fields["booker"].choices = [("", "---------"),  # type: ignore[attr-defined]
                                         *booker_choices(self.memberships, value="pair")]
        routes = route_list(scope=scope).filter(active=True).select_related("distributor").order_by(
            "distributor__code", "code")
        groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for route in routes:
            groups[str(route.distributor)].append((str(route.pk), f"{route.code} {route.name}"))
        route_choices = [("", "—"), *groups.items()]
        for week in range(1, 5):
            for day in WEEKDAYS:
                self.fields[slot_field(week, day)] = forms.ChoiceField(
                    choices=route_choices, required=False, label=f"Week {week}, {day.label}")

    def pair(self) -> tuple[int, int]:
        distributor_id, user_id = self.cleaned_data["booker"].split(":")
        return int(distributor_id), int(user_id)

    def slots(self) -> list[tuple[int, int, int]]:
        """(week, weekday, route id) of every filled slot, in week then weekday order."""
        return [(week, int(day), int(self.cleaned_data[slot_field(week, day)]))
                for week in range(1, 5) for day in WEEKDAYS if self.cleaned_data.get(slot_field(week, day))]

    def grid(self) -> list[tuple[int, list[Any]]]:
        return [(week, [self[slot_field(week, day)] for day in WEEKDAYS]) for week in range(1, 5)]


def slot_field(week: int, day: int) -> str:
    return f"slot_{week}_{int(day)}"


def publish_initial(*, scope: Scope, booker_id: int | None, today: date) -> dict[str, Any]:
    """Start from the booker's latest plan version, from tomorrow (a started day keeps its plan)."""
    initial: dict[str, Any] = {"effective_from": today + timedelta(days=1), "cycle_anchor": monday_of(today)}
    if booker_id is None:
        return initial
    membership = booker_memberships(scope=scope).filter(user_id=booker_id).first()
    if membership is None:
        return initial
    initial["booker"] = f"{membership.distributor_id}:{membership.user_id}"
    latest = pjp_list(scope=scope, booker_id=booker_id).order_by("-effective_from").first()
    if latest is not None:
        initial.update(cycle_weeks=latest.cycle_weeks, cycle_anchor=latest.cycle_anchor)
        initial["effective_from"] = max(initial["effective_from"], latest.effective_from + timedelta(days=1))
        for slot in latest.slots.all():
            initial[slot_field(slot.week, slot.weekday)] = str(slot.route_id)
    return initial


# --- the calendar -------------------------------------------------------------------------------------

@dataclass
class CalendarCell:
    route: Route | None
    stops: int = 0


@dataclass
class CalendarDay:
    day: date
    week: int | None
    route: Route | None
    planned_stops: int
    journey: DailyJourney | None
    visits: int
    first_eta: str
    window_missed: int


@dataclass
class Calendar:
    plan: Pjp | None
    plan_status: str
    today: date
    current_week: int | None
    weeks: list[tuple[int, list[CalendarCell]]]
    days: list[CalendarDay]
    versions: list[tuple[Pjp, str]]


def plan_status(pjp: Pjp, today: date) -> str:
    if pjp.effective_from > today:
        return "future"
    if pjp.effective_to is not None and pjp.effective_to < today:
        return "past"
    return "current"


def _in_force(versions: Sequence[Pjp], day: date) -> Pjp | None:
    for v in versions:  # newest first
        if v.effective_from <= day and (v.effective_to is None or v.effective_to >= day):
            return v
    return None


def booker_calendar(*, scope: Scope, booker_id: int, tz: tzinfo) -> Calendar:
    """The plan in force today (or the next one) as a weeks x weekdays grid with each route's stops that
    cycle week, and the next CALENDAR_DAYS days with their journeys (built ahead) or planned route."""
    today = tenant_policy(scope).today()
    versions = list(pjp_list(scope=scope, booker_id=booker_id).order_by("-effective_from"))
    plan = _in_force(versions, today) or next(
        (v for v in sorted(versions, key=lambda v: v.effective_from) if v.effective_from > today), None)
    days = [today + timedelta(days=i) for i in range(CALENDAR_DAYS)]
    route_ids = {s.route_id for v in versions if v is plan or _in_window(v, days) for s in v.slots.all()}
    stop_weeks: dict[int, list[Sequence[int]]] = defaultdict(list)
    for route_id, weeks in scope.filter(RouteStop.objects.filter(route_id__in=route_ids, outlet__active=True)
                                        ).values_list("route_id", "weeks"):
        stop_weeks[route_id].append(weeks or ())

    def stops_in(route: Route | None, week: int) -> int:
        return 0 if route is None else sum(1 for weeks in stop_weeks[route.pk] if visited_in(weeks, week))

    grid: list[tuple[int, list[CalendarCell]]] = []
    if plan is not None:
        by_slot = {(s.week, s.weekday): s.route for s in plan.slots.all()}
        for week in range(1, plan.cycle_weeks + 1):
            cells = []
            for weekday in WEEKDAYS:
                route = by_slot.get((week, int(weekday)))
                cells.append(CalendarCell(route=route, stops=stops_in(route, week)))
            grid.append((week, cells))

    journeys = {j.date: j for j in journey_list(scope=scope, booker_id=booker_id).filter(
        date__gte=days[0], date__lte=days[-1])}
    coming = []
    for day in days:
        version = _in_force(versions, day)
        day_week = version.cycle_week(day) if version is not None else None
        route = None
        if version is not None:
            route = next((s.route for s in version.slots.all()
                          if s.week == day_week and s.weekday == day.weekday()), None)
        journey = journeys.get(day)
        visits = list(journey.visits.all()) if journey is not None else []
        coming.append(CalendarDay(
            day=day, week=day_week, route=journey.route if journey is not None else route,
            planned_stops=stops_in(route, day_week or 1), journey=journey, visits=len(visits),
            first_eta=local_time(visits[0].eta, tz) if visits else "—",
            window_missed=sum(1 for v in visits if v.window_missed)))
    current_week = plan.cycle_week(today) if plan is not None and plan_status(plan, today) == "current" else None
    return Calendar(plan=plan, plan_status=plan_status(plan, today) if plan else "", today=today,
                    current_week=current_week, weeks=grid, days=coming,
                    versions=[(v, plan_status(v, today)) for v in versions])


def _in_window(version: Pjp, days: Sequence[date]) -> bool:
    return version.effective_from <= days[-1] and (version.effective_to is None or version.effective_to >= days[0])
