"""Sequencing one route: the best visiting order of its stops, proposed for a person to accept.

The route is read as it is (its version is recorded), travel times come from pjp.travel, and
routing.solve orders the stops inside the route's working hours and the outlets' opening hours on the
weekday the route is planned (the first one, when several; none when the route is in no plan). Outlets
the solver cannot fit, outlets closed that day and outlets without coordinates are kept at the end of the
route in their current order and listed as "dropped" with the reason; inactive outlets leave the route
("removed"), since a route may only hold active outlets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import Progress, job_create, job_run
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope
from routing.build import make_route
from routing.model import Problem, Solution, Stop, Vehicle
from routing.sequence import PATIENCE, SECONDS
from routing.solve import solve

from ..enums import ProposalKind
from ..errors import PjpError
from ..models import OptimisationProposal, PjpSlot, Route, RouteStop
from ..planning import WEEKDAY_NAMES
from ..services.common import tenant_policy
from ..travel import travel_for, travel_model, travel_prefetch
from .common import (
    OutletInfo,
    Point,
    check_time_limit,
    day_windows,
    metrics,
    metrics_entry,
    outlet_infos,
    propose_in_phases,
    seconds,
    solver_progress,
    step,
)

logger = logging.getLogger(__name__)

ROUTE_SEQUENCE_KIND = "route_sequence"
MIN_SECONDS, MAX_SECONDS = 0.5, 120.0
START, END = 0, 1  # matrix nodes of the day's start and end; the route's stops follow


@dataclass(frozen=True)
class RouteStopInfo:
    outlet: OutletInfo
    position: int  # 1-based, in the route's current order
    service_s: int


@dataclass(frozen=True)
class RouteSnapshot:
    route: Route
    stops: tuple[RouteStopInfo, ...]
    start: Point | None
    end: Point | None
    weekday: int | None

    @property
    def active(self) -> list[RouteStopInfo]:
        return [s for s in self.stops if s.outlet.active]

    @property
    def located(self) -> list[RouteStopInfo]:
        return [s for s in self.active if s.outlet.point is not None]

    def nodes(self) -> list[Point | None]:
        """Start, end, then the located stops. None is a free node: no start (the day begins at the first
        outlet, as in pjp.eta) or no end (it ends at the last one)."""
        return [self.start, self.end, *(s.outlet.point for s in self.located)]

    def travel_points(self) -> list[Point]:
        return [p for p in self.nodes() if p is not None]


def _point(lat: Any, lng: Any) -> Point | None:
    return None if lat is None or lng is None else (float(lat), float(lng))


def route_snapshot(scope: Scope, *, route_id: int) -> RouteSnapshot:
    """The route, its stops in order with their outlets, its start and end, and its planned weekday."""
    route = scope.filter(Route.objects.filter(pk=route_id)).first()
    if route is None:
        raise NotFound("Route not found.")
    distributor = Distributor.objects.filter(pk=route.distributor_id).first()
    depot = _point(distributor.lat, distributor.lng) if distributor is not None else None
    rows = list(scope.filter(RouteStop.objects.filter(route_id=route.pk)).order_by("sequence")
                .values_list("outlet_id", "service_minutes"))
    outlets = outlet_infos(scope, distributor_id=route.distributor_id, outlet_ids=[o for o, _m in rows])
    stops = tuple(RouteStopInfo(outlets[outlet_id], position, 60 * (minutes or route.default_service_minutes))
                  for position, (outlet_id, minutes) in enumerate(rows, start=1) if outlet_id in outlets)
    today = tenant_policy(scope).today()
    weekdays = scope.filter(PjpSlot.objects.filter(route_id=route.pk)).filter(
        Q(pjp__effective_to__isnull=True) | Q(pjp__effective_to__gte=today)).values_list("weekday", flat=True)
    return RouteSnapshot(route=route, stops=stops, start=_point(route.start_lat, route.start_lng) or depot,
                         end=_point(route.end_lat, route.end_lng) or depot, weekday=min(weekdays, default=None))


def route_optimise_start(*, scope: Scope, route_id: int, time_limit: float = 5.0, seed: int = 0) -> BackgroundJob:
    """Queue the sequencing of a route; the task runs on the `optimisation` queue once the caller's
    transaction commits and leaves an OptimisationProposal (the job's result names it). Not idempotent:
    every call is a new job. A route outside the scope is not found."""
    route = scope.filter(Route.objects.filter(pk=route_id)).first()
    if route is None:
        raise NotFound("Route not found.")
    time_limit = check_time_limit(time_limit, low=MIN_SECONDS, high=MAX_SECONDS)
    if scope.filter(RouteStop.objects.filter(route_id=route.pk)).count() < 2:
        raise DomainError(PjpError.INVALID, f"Route {route.code} has fewer than two stops: there is no order to "
                          "improve.", fields={"route": ["Fewer than two stops."]})
    from ..tasks import route_sequence_task  # the tasks import this module: avoid the cycle

    return job_create(scope=scope, kind=ROUTE_SEQUENCE_KIND, task=route_sequence_task,
                      params={"route_id": route.pk, "route_code": route.code, "time_limit": time_limit,
                              "seed": int(seed)})


def route_sequence_run(*, tenant_id: int, job_id: int) -> str:
    """The task's body: fetch the travel times outside any transaction, then run the job (job_run opens the
    tenant transaction the solve and the proposal run in). Safe to run again for the same job."""
    prefetch = None
    with tenant_scope(Scope.system(tenant_id, f"job:{job_id}:prefetch")) as scope:
        job = BackgroundJob.objects.filter(pk=job_id, status__in=[BackgroundJob.Status.QUEUED,
                                                                  BackgroundJob.Status.RUNNING]).first()
        model = travel_model(scope=scope)
        if job is not None and model.provider_url:
            route = scope.filter(Route.objects.filter(pk=job.params.get("route_id"))).first()
            if route is not None:
                prefetch = (route.distributor_id, route_snapshot(scope, route_id=route.pk).travel_points())
    if prefetch is not None:
        travel_prefetch(model=model, tenant_id=tenant_id, distributor_id=prefetch[0], points=prefetch[1])
    return job_run(tenant_id=tenant_id, job_id=job_id, work=route_sequence_job, transactional=False)


def route_sequence_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """job_run's work, outside a transaction: read, search with no transaction open, write (propose_in_phases).
    A run that committed its proposal but died before the job was marked finished left the proposal behind: a
    second run returns it instead of making another."""
    p = job.params
    return propose_in_phases(
        scope, job,
        read=lambda: _sequence_read(scope, p["route_id"], progress),
        search=lambda state: _sequence_search(state, time_limit=p["time_limit"], seed=p["seed"], progress=progress),
        write=lambda state, solution: _sequence_write(scope, state, solution, seed=p["seed"], job=job,
                                                      progress=progress))


def _matrices(scope: Scope, snap: RouteSnapshot) -> tuple[list[list[int]], list[list[int]]]:
    """Travel over all nodes; legs from or to a free node cost nothing."""
    nodes = snap.nodes()
    real = [i for i, p in enumerate(nodes) if p is not None]
    distance, duration = travel_for(scope=scope, distributor_id=snap.route.distributor_id,
                                    points=snap.travel_points())
    index = {node: k for k, node in enumerate(real)}
    n = len(nodes)

    def full(matrix: list[list[int]]) -> list[list[int]]:
        return [[matrix[index[i]][index[j]] if i in index and j in index else 0 for j in range(n)] for i in range(n)]

    return full(distance), full(duration)


@dataclass(frozen=True)
class _SequenceState:
    """What the search needs, read in the first transaction."""

    snap: RouteSnapshot
    problem: Problem
    vehicle: Vehicle
    all_stops: dict[int, Stop]
    reasons: dict[int, str]


def _sequence_read(scope: Scope, route_id: int, progress: Progress | None) -> _SequenceState:
    step(progress, 1, "reading the route")
    snap = route_snapshot(scope, route_id=route_id)
    route = snap.route
    step(progress, 3, f"travel times between {len(snap.located)} outlets of {route.code}")
    distance, duration = _matrices(scope, snap)

    reasons: dict[int, str] = {}
    solver_stops: list[Stop] = []
    all_stops: dict[int, Stop] = {}
    day = WEEKDAY_NAMES[snap.weekday] if snap.weekday is not None else ""
    for node, stop in enumerate(snap.located, start=2):
        windows = (day_windows(stop.outlet.opening_hours, snap.weekday, stop.service_s)
                   if snap.weekday is not None else None)
        all_stops[stop.outlet.pk] = Stop(id=str(stop.outlet.pk), node=node, service=stop.service_s,
                                         windows=windows or ())
        if windows == ():
            reasons[stop.outlet.pk] = (f"it is closed on {day}s, or open too briefly for a "
                                       f"{stop.service_s // 60}-minute visit")
        else:
            solver_stops.append(all_stops[stop.outlet.pk])
    for stop in snap.active:
        if stop.outlet.point is None:
            reasons[stop.outlet.pk] = "it has no coordinates, so the optimiser cannot place it"

    vehicle = Vehicle(id=route.code, start_node=START, end_node=END,
                      shift=(seconds(route.work_start), seconds(route.work_end)))
    problem = Problem(distance=distance, duration=duration, stops=tuple(solver_stops), vehicles=(vehicle,),
                      name=f"route {route.code}")
    return _SequenceState(snap=snap, problem=problem, vehicle=vehicle, all_stops=all_stops, reasons=reasons)


def _sequence_search(state: _SequenceState, *, time_limit: float, seed: int, progress: Progress | None) -> Solution:
    started = time.perf_counter()
    solution = solve(state.problem, time_limit=time_limit, seed=seed, progress=solver_progress(progress),
                     patience=PATIENCE, formats=SECONDS, workers=settings.ROUTING_WORKERS)
    logger.info("route %s: %s stops sequenced in %.2f s (%s), %s dropped", state.snap.route.code,
                len(state.problem.stops), time.perf_counter() - started, solution.solver, len(solution.dropped))
    return solution


def _sequence_write(scope: Scope, state: _SequenceState, solution: Solution, *, seed: int,
                    job: BackgroundJob | None, progress: Progress | None) -> OptimisationProposal:
    snap, route, all_stops = state.snap, state.snap.route, state.all_stops
    reasons = {**state.reasons, **{int(d.stop_id): d.reason for d in solution.dropped}}
    step(progress, 97, "writing the proposal")
    sequenced = [int(pk) for r in solution.routes for pk in r.stop_ids]
    order = sequenced + [s.outlet.pk for s in snap.active if s.outlet.pk in reasons]

    def measure(pks: Sequence[int]) -> dict[str, Any]:
        located = [all_stops[pk] for pk in pks if pk in all_stops]
        timed = make_route(state.problem, state.vehicle, located)
        unplaced = sum(s.service_s for s in snap.active if s.outlet.point is None)
        return metrics_entry(code=route.code, stops=len(pks), distance_m=timed.distance,
                             duration_s=timed.duration + unplaced)

    key = str(route.pk)
    return OptimisationProposal.objects.create(
        distributor_id=route.distributor_id, kind=ProposalKind.SEQUENCE, job=job, seed=seed,
        route_versions={key: route.version},
        before=metrics({key: measure([s.outlet.pk for s in snap.active])}),
        after=metrics({key: measure(order)}),
        diff=_diff(snap, order, reasons),
        plan={"routes": {key: order}, "weekday": snap.weekday},
    )


def route_sequence_propose(*, scope: Scope, route_id: int, time_limit: float = 5.0, seed: int = 0,
                           job: BackgroundJob | None = None, progress: Progress | None = None) -> OptimisationProposal:
    """Order the route's stops and record the result as a READY proposal (the route itself is not touched;
    see proposal_accept). Deterministic for a seed when the search ends on its patience before the time
    limit (routing.sequence.PATIENCE), which it does on a day-sized route. Takes no locks: a route changed
    meanwhile makes the proposal stale at acceptance. (The job runs the same three steps with the search outside
    any transaction: route_sequence_job.)"""
    state = _sequence_read(scope, route_id, progress)
    solution = _sequence_search(state, time_limit=time_limit, seed=seed, progress=progress)
    return _sequence_write(scope, state, solution, seed=seed, job=job, progress=progress)


def _diff(snap: RouteSnapshot, order: list[int], reasons: dict[int, str]) -> list[dict[str, Any]]:
    code = snap.route.code
    was = {s.outlet.pk: s for s in snap.stops}
    out: list[dict[str, Any]] = []
    for position, pk in enumerate(order, start=1):
        stop = was[pk]
        name = stop.outlet.name
        if pk in reasons:
            out.append({"kind": "dropped", "route": code, "outlet_id": pk, "outlet": stop.outlet.label,
                        "from": stop.position, "to": position, "reason": reasons[pk],
                        "text": f"{name} cannot be fitted into the day on {code}: {reasons[pk]}. It stays on the "
                                f"route, at the end, as stop {position}."})
        elif stop.position != position:
            out.append({"kind": "reordered", "route": code, "outlet_id": pk, "outlet": stop.outlet.label,
                        "from": stop.position, "to": position,
                        "text": f"{name} moves from stop {stop.position} to stop {position} on {code}"})
    for stop in snap.stops:
        if not stop.outlet.active:
            out.append({"kind": "removed", "route": code, "outlet_id": stop.outlet.pk, "outlet": stop.outlet.label,
                        "from": stop.position, "to": None,
                        "text": f"{stop.outlet.name} is inactive and leaves {code} (it was stop {stop.position})"})
    return out
