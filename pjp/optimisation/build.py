"""Building routes: a distributor's outlets -> day routes for chosen order-bookers over a visiting cycle.

The outlets planned are the distributor's active outlets, less those already on the routes of other
bookers' plans (from next Monday, when the new plans would start): the overlap rule would refuse them.
Every outlet is visited weekly, by one booker on one weekday (Monday to Saturday), inside its opening
hours and the routes' default working hours (09:00-18:00, 10-minute visits). routing.periodic assigns
and sequences the days; days that come out the same in every week of the cycle become one route.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.jobs import Progress, job_create, job_run
from dms.tenancy.models import BackgroundJob, Distributor, Membership
from dms.tenancy.scope import Scope
from routing.periodic import Outlet as PlanOutlet
from routing.periodic import RoutePlan, build_routes

from ..enums import ProposalKind
from ..errors import PjpError
from ..models import CYCLE_CHOICES, OptimisationProposal, Route, RouteStop
from ..planning import WEEKDAY_NAMES
from ..services.common import plans_from, raise_field_errors, tenant_policy, user_labels
from ..travel import travel_for, travel_model, travel_prefetch
from .common import (
    DAY_ABBREVIATIONS,
    OutletInfo,
    Point,
    day_windows,
    metrics,
    metrics_entry,
    next_monday,
    outlet_infos,
    path_metrics,
    propose_in_phases,
    solver_progress,
    step,
)

logger = logging.getLogger(__name__)

ROUTES_BUILD_KIND = "routes_build"
MIN_SECONDS, MAX_SECONDS = 2.0, 600.0
MAX_VISITS_PER_DAY = 200
DAYS_PER_WEEK = 6  # Monday to Saturday
SHIFT = (9 * 3600, 18 * 3600)  # a new Route's default working hours...
SERVICE_S = 600  # ...and its default service time
CODE_MAX = 30  # Route.code
DEPOT = 0


@dataclass(frozen=True)
class BuildSnapshot:
    distributor: Distributor
    depot: Point
    bookers: tuple[tuple[int, str], ...]  # (user id, username), in the order asked
    cycle_weeks: int
    starts: date  # the Monday the new plans would start
    planned: tuple[OutletInfo, ...]  # active, located, not another booker's
    unlocated: tuple[OutletInfo, ...]  # active, not another booker's, no coordinates
    leaving: tuple[tuple[OutletInfo, str], ...]  # on the bookers' current routes but not planned, and why
    current: tuple[tuple[Route, tuple[OutletInfo, ...]], ...]  # the bookers' current routes, stops in order

    def node_points(self) -> list[Point]:
        """The depot, the planned outlets, then the other located outlets of the current routes."""
        points = [self.depot, *(o.point for o in self.planned if o.point is not None)]
        seen = {o.pk for o in self.planned}
        for _route, outlets in self.current:
            for outlet in outlets:
                if outlet.pk not in seen and outlet.point is not None:
                    seen.add(outlet.pk)
                    points.append(outlet.point)
        return points

    def node_of(self) -> dict[int, int]:
        nodes = {o.pk: i for i, o in enumerate(self.planned, start=1)}
        for _route, outlets in self.current:
            for outlet in outlets:
                if outlet.pk not in nodes and outlet.point is not None:
                    nodes[outlet.pk] = len(nodes) + 1
        return nodes


def _distributor(scope: Scope, distributor_id: int) -> Distributor:
    distributor = Distributor.objects.filter(pk=distributor_id).first() if scope.can_access_distributor(
        distributor_id) else None
    if distributor is None:
        raise NotFound("Distributor not found.")
    return distributor


def _bookers(scope: Scope, distributor_id: int, booker_ids: list[int]) -> dict[int, str]:
    members = set(Membership.objects.filter(tenant_id=scope.tenant_id, distributor_id=distributor_id,
                                            role=Role.ORDER_BOOKER, active=True, user_id__in=set(booker_ids))
                  .values_list("user_id", flat=True))
    labels = user_labels(members)
    return {b: labels.get(b, str(b)) for b in booker_ids if b in members}


def routes_build_start(*, scope: Scope, distributor_id: int, booker_ids: list[int], cycle_weeks: int,
                       max_visits_per_day: int, time_limit: float = 60.0, seed: int = 0) -> BackgroundJob:
    """Queue a route build for the bookers of a distributor; the task runs on the `optimisation` queue once
    the caller's transaction commits and leaves an OptimisationProposal. Not idempotent: every call is a
    new job. A distributor outside the scope is not found."""
    distributor = _distributor(scope, distributor_id)
    errors: dict[str, list[str]] = {}
    if cycle_weeks not in {weeks for weeks, _label in CYCLE_CHOICES}:
        errors["cycle_weeks"] = ["A cycle is 1, 2 or 4 weeks."]
    if not 1 <= max_visits_per_day <= MAX_VISITS_PER_DAY:
        errors["max_visits_per_day"] = [f"1 to {MAX_VISITS_PER_DAY} visits a day."]
    if not booker_ids:
        errors["booker_ids"] = ["Choose at least one order-booker."]
    valid = _bookers(scope, distributor.pk, booker_ids)
    for i, booker_id in enumerate(booker_ids):
        if booker_id not in valid:
            errors[f"booker_ids[{i}]"] = [f"User {booker_id} is not an active order-booker of distributor "
                                          f"{distributor.code}."]
        elif booker_id in booker_ids[:i]:
            errors[f"booker_ids[{i}]"] = [f"Order-booker {valid[booker_id]} is already chosen."]
    if distributor.lat is None or distributor.lng is None:
        errors["distributor_id"] = [f"Distributor {distributor.code} has no location: the days start and end at "
                                    "its warehouse, so set its coordinates first."]
    if not MIN_SECONDS <= time_limit <= MAX_SECONDS:
        errors["time_limit"] = [f"Between {MIN_SECONDS:g} and {MAX_SECONDS:g} seconds."]
    raise_field_errors(errors, "Invalid route build.")
    from ..tasks import routes_build_task  # the tasks import this module: avoid the cycle

    return job_create(scope=scope, kind=ROUTES_BUILD_KIND, task=routes_build_task,
                      params={"distributor_id": distributor.pk, "booker_ids": list(booker_ids),
                              "cycle_weeks": cycle_weeks, "max_visits_per_day": max_visits_per_day,
                              "time_limit": float(time_limit),
                              "seed": int(seed)})


def build_snapshot(scope: Scope, *, distributor_id: int, booker_ids: list[int], cycle_weeks: int) -> BuildSnapshot:
    distributor = _distributor(scope, distributor_id)
    if distributor.lat is None or distributor.lng is None:
        raise DomainError(PjpError.INVALID, f"Distributor {distributor.code} has no location.",
                          fields={"distributor_id": ["Set the distributor's coordinates first."]})
    names = _bookers(scope, distributor.pk, booker_ids)
    chosen = set(booker_ids)
    starts = next_monday(tenant_policy(scope).today())
    plans = plans_from(scope, distributor_id=distributor.pk, since=starts)
    others = {r: p.booker_label for p in plans if p.booker_id not in chosen for r in p.slots.values()}
    mine = {r for p in plans if p.booker_id in chosen for r in p.slots.values()}
    stops = list(scope.filter(RouteStop.objects.filter(distributor_id=distributor.pk,
                                                       route_id__in=set(others) | mine))
                 .order_by("route_id", "sequence").values_list("route_id", "outlet_id"))
    covered = {outlet_id: others[route_id] for route_id, outlet_id in stops if route_id in others}
    outlets = outlet_infos(scope, distributor_id=distributor.pk)
    candidates = [o for o in outlets.values() if o.active and o.pk not in covered]
    routes = {r.pk: r for r in scope.filter(Route.objects.filter(pk__in=mine)).order_by("code", "pk")}
    current = tuple((route, tuple(outlets[o] for r, o in stops if r == route.pk and o in outlets))
                    for route in routes.values())
    planned_ids = {o.pk for o in candidates}
    leaving: dict[int, tuple[OutletInfo, str]] = {}
    for _route, members in current:
        for outlet in members:
            if outlet.pk in planned_ids or outlet.pk in leaving:
                continue
            why = ("it is inactive" if not outlet.active
                   else f"booker {covered[outlet.pk]}'s plan already visits it" if outlet.pk in covered else "")
            leaving[outlet.pk] = (outlet, why)
    return BuildSnapshot(
        distributor=distributor, depot=(float(distributor.lat), float(distributor.lng)),
        bookers=tuple((b, names.get(b, str(b))) for b in booker_ids), cycle_weeks=cycle_weeks, starts=starts,
        planned=tuple(o for o in candidates if o.point is not None),
        unlocated=tuple(o for o in candidates if o.point is None),
        leaving=tuple(leaving.values()), current=current,
    )


def routes_build_run(*, tenant_id: int, job_id: int) -> str:
    """The task's body: fetch the travel times outside any transaction, then run the job (see
    route_sequence_run). Safe to run again for the same job."""
    prefetch = None
    with tenant_scope(Scope.system(tenant_id, f"job:{job_id}:prefetch")) as scope:
        job = BackgroundJob.objects.filter(pk=job_id, status__in=[BackgroundJob.Status.QUEUED,
                                                                  BackgroundJob.Status.RUNNING]).first()
        model = travel_model(scope=scope)
        if job is not None and model.provider_url:
            try:
                snap = build_snapshot(scope, distributor_id=job.params["distributor_id"],
                                      booker_ids=job.params["booker_ids"], cycle_weeks=job.params["cycle_weeks"])
                prefetch = (snap.distributor.pk, snap.node_points())
            except DomainError:
                prefetch = None  # the job itself reports it
    if prefetch is not None:
        travel_prefetch(model=model, tenant_id=tenant_id, distributor_id=prefetch[0], points=prefetch[1])
    return job_run(tenant_id=tenant_id, job_id=job_id, work=routes_build_job, transactional=False)


def routes_build_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """job_run's work, outside a transaction (see route_sequence_job)."""
    p = job.params
    return propose_in_phases(
        scope, job,
        read=lambda: _build_read(scope, distributor_id=p["distributor_id"], booker_ids=p["booker_ids"],
                                 cycle_weeks=p["cycle_weeks"], progress=progress),
        search=lambda state: _build_search(state, cycle_weeks=p["cycle_weeks"],
                                           max_visits_per_day=p["max_visits_per_day"], time_limit=p["time_limit"],
                                           seed=p["seed"], progress=progress),
        write=lambda state, plan: _build_write(scope, state, plan, cycle_weeks=p["cycle_weeks"], seed=p["seed"],
                                               job=job, progress=progress))


def _weekday_windows(outlet: OutletInfo) -> dict[int, tuple[tuple[int, int], ...]] | None:
    if not outlet.opening_hours:
        return None
    days = {d: day_windows(outlet.opening_hours, d, SERVICE_S) for d in range(DAYS_PER_WEEK)}
    return {d: w for d, w in days.items() if w}


def _code(username: str, weeks: list[int], weekday: int, cycle_weeks: int) -> str:
    week_part = "" if len(weeks) == cycle_weeks else "-W" + "".join(str(w) for w in weeks)
    tail = f"{week_part}-{DAY_ABBREVIATIONS[weekday]}"
    return f"AUTO-{username[:CODE_MAX - 5 - len(tail)]}{tail}"


def unique_code(code: str, taken: set[str]) -> str:
    """`code`, or `code` with the first free suffix -2, -3, ... (cut to fit Route.code)."""
    candidate, n = code, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = code[:CODE_MAX - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


@dataclass(frozen=True)
class _BuildState:
    snap: BuildSnapshot
    points: list[Point]
    distance: list[list[int]]
    duration: list[list[int]]
    outlets: list[PlanOutlet]


def _build_read(scope: Scope, *, distributor_id: int, booker_ids: list[int], cycle_weeks: int,
                progress: Progress | None) -> _BuildState:
    step(progress, 1, "reading outlets and plans")
    snap = build_snapshot(scope, distributor_id=distributor_id, booker_ids=booker_ids, cycle_weeks=cycle_weeks)
    step(progress, 3, f"travel times between {len(snap.planned)} outlets")
    points = snap.node_points()
    distance, duration = travel_for(scope=scope, distributor_id=snap.distributor.pk, points=points)
    node_of = snap.node_of()
    outlets = [PlanOutlet(id=str(o.pk), node=node_of[o.pk], service_s=SERVICE_S, every_weeks=1,
                          weekday_windows=_weekday_windows(o)) for o in snap.planned]
    return _BuildState(snap=snap, points=points, distance=distance, duration=duration, outlets=outlets)


def _build_search(state: _BuildState, *, cycle_weeks: int, max_visits_per_day: int, time_limit: float, seed: int,
                  progress: Progress | None) -> RoutePlan:
    started = time.perf_counter()
    plan = build_routes(state.outlets, points=state.points, depot=DEPOT, bookers=len(state.snap.bookers),
                        cycle_weeks=cycle_weeks, days_per_week=DAYS_PER_WEEK, max_visits_per_day=max_visits_per_day,
                        shift=SHIFT, time_limit=time_limit, seed=seed, progress=solver_progress(progress),
                        distance=state.distance, duration=state.duration)
    logger.info("distributor %s: %s outlets built into routes for %s bookers in %.2f s", state.snap.distributor.code,
                len(state.outlets), len(state.snap.bookers), time.perf_counter() - started)
    return plan


def _build_write(scope: Scope, state: _BuildState, plan: RoutePlan, *, cycle_weeks: int, seed: int,
                 job: BackgroundJob | None, progress: Progress | None) -> OptimisationProposal:
    snap, distance, duration = state.snap, state.distance, state.duration
    node_of = snap.node_of()
    step(progress, 97, "writing the proposal")
    new_routes = _new_routes(scope, snap, plan)
    after = {}
    for entry in new_routes:
        metres, secs = path_metrics(distance, duration, [DEPOT, *(node_of[o] for o in entry["outlet_ids"]), DEPOT],
                                    SERVICE_S)
        after[entry["key"]] = metrics_entry(code=entry["code"], stops=len(entry["outlet_ids"]), distance_m=metres,
                                            duration_s=secs)
    before = {}
    for route, members in snap.current:
        nodes = [node_of[o.pk] for o in members if o.pk in node_of]
        metres, secs = path_metrics(distance, duration, [DEPOT, *nodes, DEPOT], route.default_service_minutes * 60)
        before[str(route.pk)] = metrics_entry(code=route.code, stops=len(members), distance_m=metres,
                                              duration_s=secs)
    return OptimisationProposal.objects.create(
        distributor_id=snap.distributor.pk, kind=ProposalKind.BUILD_ROUTES, job=job, seed=seed,
        route_versions={str(route.pk): route.version for route, _members in snap.current},
        before=metrics(before), after=metrics(after), diff=_diff(snap, plan, new_routes),
        plan={"new_routes": new_routes, "booker_ids": [b for b, _name in snap.bookers], "cycle_weeks": cycle_weeks,
              "starts": snap.starts.isoformat()},
    )




def routes_build_propose(*, scope: Scope, distributor_id: int, booker_ids: list[int], cycle_weeks: int,
                         max_visits_per_day: int, time_limit: float = 60.0, seed: int = 0,
                         job: BackgroundJob | None = None, progress: Progress | None = None) -> OptimisationProposal:
    """Build day routes for the bookers and record them as a READY proposal (nothing else is written; see
    proposal_accept). Deterministic for a seed when the assignment ends on its deterministic time budget
    and the days converge (routing.periodic). Takes no locks. (The job runs the same three steps with the search
    outside any transaction: routes_build_job.)"""
    state = _build_read(scope, distributor_id=distributor_id, booker_ids=booker_ids, cycle_weeks=cycle_weeks,
                        progress=progress)
    plan = _build_search(state, cycle_weeks=cycle_weeks, max_visits_per_day=max_visits_per_day,
                         time_limit=time_limit, seed=seed, progress=progress)
    return _build_write(scope, state, plan, cycle_weeks=cycle_weeks, seed=seed, job=job, progress=progress)


def _new_routes(scope: Scope, snap: BuildSnapshot, plan: RoutePlan) -> list[dict[str, Any]]:
    """One route per booker, weekday and distinct day: a day that comes out the same in several weeks of
    the cycle is one route whose stops are visited in those weeks."""
    groups: dict[tuple[int, int, tuple[str, ...]], list[int]] = {}
    for day in plan.days:
        if day.outlet_ids:
            groups.setdefault((day.booker, day.weekday, day.outlet_ids), []).append(day.week + 1)
    taken = set(scope.filter(Route.objects.filter(distributor_id=snap.distributor.pk)).values_list("code",
                                                                                                  flat=True))
    out = []
    for (booker, weekday, outlet_ids), weeks in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], g[1])):
        booker_id, username = snap.bookers[booker]
        every = len(weeks) == snap.cycle_weeks
        out.append({
            "key": f"{booker_id}-{DAY_ABBREVIATIONS[weekday]}-W{''.join(str(w) for w in weeks)}",
            "booker_id": booker_id, "week": weeks[0], "weekday": weekday, "weeks": weeks,
            "outlet_ids": [int(o) for o in outlet_ids],
            "code": unique_code(_code(username, weeks, weekday, snap.cycle_weeks), taken),
            "name": f"{username} {WEEKDAY_NAMES[weekday]}" + ("" if every else
                                                             f" (weeks {', '.join(str(w) for w in weeks)})"),
        })
    return out


def _diff(snap: BuildSnapshot, plan: RoutePlan, new_routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    was: dict[int, tuple[Route, int]] = {}
    for route, members in snap.current:
        for position, outlet in enumerate(members, start=1):
            was.setdefault(outlet.pk, (route, position))
    now: dict[int, tuple[dict[str, Any], int]] = {}
    for entry in new_routes:
        for position, outlet_id in enumerate(entry["outlet_ids"], start=1):
            now.setdefault(outlet_id, (entry, position))
    names = dict(snap.bookers)
    out: list[dict[str, Any]] = []
    for outlet in snap.planned:
        if outlet.pk not in now:
            continue
        entry, position = now[outlet.pk]
        where = (f"{entry['code']} ({WEEKDAY_NAMES[entry['weekday']]}, booker {names[entry['booker_id']]}) as stop "
                 f"{position}")
        old = was.get(outlet.pk)
        row = {"route": entry["code"], "outlet_id": outlet.pk, "outlet": outlet.label, "to": position}
        if old is None:
            out.append({"kind": "added", **row, "from": None, "text": f"{outlet.name} joins {where}"})
        else:
            out.append({"kind": "moved", **row, "from": old[0].pk,
                        "text": f"{outlet.name} moves from {old[0].code} to {where}"})
    out.extend(_dropped(snap, plan, was))
    for outlet, why in snap.leaving:
        route, _position = was[outlet.pk]
        out.append({"kind": "removed", "route": route.code, "outlet_id": outlet.pk, "outlet": outlet.label,
                    "from": route.pk, "to": None, "reason": why,
                    "text": f"{outlet.name} leaves {route.code}: {why}"})
    return out


def _dropped(snap: BuildSnapshot, plan: RoutePlan, was: dict[int, tuple[Route, int]]) -> list[dict[str, Any]]:
    infos = {o.pk: o for o in (*snap.planned, *snap.unlocated)}
    left = [(infos[int(u.outlet_id)], u.reason, _day_of(snap, u.booker, u.week, u.weekday))
            for u in plan.unassigned]
    left += [(o, "it has no coordinates, so it cannot be placed on a route", "") for o in snap.unlocated]
    out = []
    for outlet, reason, day in left:
        old = was.get(outlet.pk)
        text = (f"{outlet.name} is not visited {day}: {reason}" if day
                else f"{outlet.name} is left out of the new routes: {reason}")
        out.append({"kind": "dropped", "route": old[0].code if old else "", "outlet_id": outlet.pk,
                    "outlet": outlet.label, "from": old[0].pk if old else None, "to": None, "reason": reason,
                    "text": text})
    return out


def _day_of(snap: BuildSnapshot, booker: int | None, week: int | None, weekday: int | None) -> str:
    """"in week 2 on Tuesday (booker ali)" for a visit left out of one day; "" for a whole outlet."""
    if booker is None or week is None or weekday is None:
        return ""
    return f"in week {week + 1} on {WEEKDAY_NAMES[weekday]} (booker {snap.bookers[booker][1]})"


__all__ = ["ROUTES_BUILD_KIND", "build_snapshot", "routes_build_job", "routes_build_propose",
           "routes_build_run", "routes_build_start", "unique_code"]
