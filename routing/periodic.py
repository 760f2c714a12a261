"""Building routes: a distributor's outlets -> balanced day routes for N bookers over a visiting cycle.

Rules:
* a cycle has `cycle_weeks` weeks (1, 2 or 4) of `days_per_week` working days (weekday 0 = first working day);
* an outlet is visited every `every_weeks` weeks (1 weekly, 2 fortnightly, 4 four-weekly), always by the same
  booker on the same weekday: weekly in every week, fortnightly in weeks o, o+2 (o = 0 or 1), four-weekly in one
  week; it needs cycle_weeks to be a multiple of every_weeks;
* a day (booker, week, weekday) has at most `max_visits_per_day` visits and must fit in the working hours
  `shift` (seconds since midnight), leaving from and returning to the depot;
* an outlet with `weekday_windows` can only be visited on the weekdays listed, inside those windows.

Method (deterministic for a seed unless the time limit cuts a step short: every step first stops on a work
budget - Lloyd rounds, CP-SAT deterministic time, patience of the day searches):
1. workload of a visit = service + mean travel time to its two nearest outlets (the share of a route it causes);
2. day areas: bookers x days_per_week compact areas (weighted k-means on coordinates, dealt to bookers in angular
   sectors around the depot, one weekday each), then capacitated Lloyd rounds: an LP (GLOP) assigns outlets to
   areas minimising workload-weighted distance to the area centres while keeping every area's mean weekly workload
   within +-3% of the mean and under its working hours and visit cap, and the centres move to their outlets;
3. weeks: per area, CP-SAT picks each fortnightly / four-weekly outlet's week offset (hint: a greedy start) so that
   every day stays within max_visits_per_day and the working hours and the busiest and quietest weeks are as close
   as possible; whatever fits nowhere is reported unassigned;
4. every distinct day is sequenced with `routing.solve` (one vehicle, its windows that weekday, stops on patience).
Why not one CP-SAT model for everything: measured on one search thread, the joint outlet x area x offset model
(300 outlets, 18 areas) stayed at a mean daily deviation of 46 min from a greedy start and only moved the LP start
from 8.2 to 7.9 min in 5 s; with 2,000 outlets it found no solution at all in 16 s. The LP takes about a second
per round for 2,000 outlets x 8 candidate areas.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from routing.backend import Progress
from routing.build import earliest_start
from routing.matrix import EARTH_RADIUS_M, travel_arrays
from routing.model import Problem, Route, Stop, Vehicle
from routing.precheck import Formats, clock, impossible
from routing.solve import solve

Window = tuple[int, int]
Reporter = Callable[[str], None]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
FORMATS = Formats(time=clock, duration=lambda s: f"{s // 60} min")

LLOYD_ROUNDS = 6  # capacitated k-means rounds (LP assignment + centre update)
BALANCE_TOLERANCE = 0.03  # an area's mean weekly workload stays within this share of the mean over all areas
VISIT_FILL = 0.9  # share of max_visits_per_day the LP may plan on average (weeks differ)
FILL = 0.9  # share of the working hours the workload estimate may fill (the rest absorbs estimate errors)
CANDIDATE_AREAS = 8  # each outlet may go to one of its nearest open day areas only (keeps the LP small)


@dataclass(frozen=True)
class Outlet:
    """An outlet to visit every `every_weeks` weeks; `node` indexes `points` (and the matrices, if given).

    `windows`: allowed start-of-service intervals on any working day (empty: any time); `weekday_windows`, if
    given, replaces them: weekday -> windows, and the outlet is closed on the weekdays not listed.
    """

    id: str
    node: int
    service_s: int = 600
    every_weeks: int = 1
    windows: tuple[Window, ...] = ()
    weekday_windows: Mapping[int, tuple[Window, ...]] | None = None

    def open_days(self, days_per_week: int) -> dict[int, tuple[Window, ...]]:
        """Weekday -> windows on the weekdays the outlet can be visited."""
        if self.weekday_windows is None:
            return {d: self.windows for d in range(days_per_week)}
        return {d: tuple(w) for d, w in sorted(self.weekday_windows.items()) if 0 <= d < days_per_week}


@dataclass(frozen=True)
class DayRoute:
    """One booker's visits on one day of the cycle, in visiting order (empty day: no outlets)."""

    booker: int
    week: int
    weekday: int
    outlet_ids: tuple[str, ...]
    distance_m: int = 0
    duration_s: int = 0
    route: Route | None = None


@dataclass(frozen=True)
class Unassigned:
    """An outlet (or, with booker/week/weekday set, one of its visits) the plan does not serve, and why."""

    outlet_id: str
    reason: str
    booker: int | None = None
    week: int | None = None
    weekday: int | None = None


@dataclass(frozen=True)
class RoutePlan:
    days: tuple[DayRoute, ...]  # every (booker, week, weekday) of the cycle, sorted
    unassigned: tuple[Unassigned, ...]
    stats: dict[str, object] = field(default_factory=dict)

    def day(self, booker: int, week: int, weekday: int) -> DayRoute:
        return next(d for d in self.days if (d.booker, d.week, d.weekday) == (booker, week, weekday))

    def visits(self, outlet_id: str) -> list[tuple[int, int, int]]:
        """(booker, week, weekday) of every visit to the outlet."""
        return [(d.booker, d.week, d.weekday) for d in self.days if outlet_id in d.outlet_ids]


@dataclass(frozen=True)
class Settings:
    bookers: int
    cycle_weeks: int
    days_per_week: int
    max_visits_per_day: int
    shift: Window
    time_limit: float
    seed: int
    solver: str

    @property
    def areas(self) -> int:
        return self.bookers * self.days_per_week


@dataclass
class Area:
    """A day area: the outlets one booker visits on one weekday (over the weeks of the cycle)."""

    booker: int
    weekday: int
    centre: FloatArray  # planar metres
    overhead_s: int  # estimated travel from the depot to the area and back


def build_routes(
    outlets: Sequence[Outlet],
    *,
    points: Sequence[tuple[float, float]],
    depot: int,
    bookers: int,
    cycle_weeks: int = 4,
    days_per_week: int = 6,
    max_visits_per_day: int = 40,
    shift: Window = (9 * 3600, 18 * 3600),
    road_factor: float = 1.3,
    speed_kmh: float = 20.0,
    time_limit: float = 60.0,
    seed: int = 0,
    solver: str = "auto",
    progress: Progress | None = None,
    distance: npt.ArrayLike | None = None,
    duration: npt.ArrayLike | None = None,
) -> RoutePlan:
    """Day routes for `bookers` bookers over the cycle (see the module docstring for the rules and method).

    `points`: (lat, lng) per node; `depot`: the node where every day starts and ends; travel from `distance`
    (metres) and `duration` (seconds) matrices if given, else from the coordinates (road factor, speed).
    `time_limit` (seconds) covers the whole build: areas until 15% of it, weeks until 30%, then the days (which
    usually converge long before).
    """
    started = time.perf_counter()
    settings = Settings(bookers, cycle_weeks, days_per_week, max_visits_per_day, shift, time_limit, seed, solver)
    _validate(outlets, settings)
    report = _reporter(progress, started, time_limit)
    dist, dur = _matrices(points, road_factor, speed_kmh, distance, duration)
    candidates, unassigned = _screen(outlets, settings, depot, dist, dur)
    report("assigning outlets to days")
    xy = _planar(points)
    areas = _areas(candidates, xy, depot, dur, settings)
    work = _workloads(candidates, dur)
    label = _balanced_clusters(candidates, xy, areas, work, settings, started + 0.15 * time_limit)
    assignment, left, cp_stats = _assign_weeks(candidates, label, areas, work, settings, started + 0.3 * time_limit)
    unassigned += left
    report(f"sequencing {len(areas) * cycle_weeks} days")
    days, missed, route_stats = _route_days(candidates, assignment, areas, depot, dist, dur, settings,
                                            started + time_limit, report)
    stats: dict[str, object] = {**cp_stats, **route_stats, "runtime": round(time.perf_counter() - started, 3)}
    report("done")
    return RoutePlan(days=days, unassigned=tuple(unassigned + missed), stats=stats)


def _reporter(progress: Progress | None, started: float, limit: float) -> Reporter:
    def report(message: str) -> None:
        if progress is not None:
            progress(min(1.0, (time.perf_counter() - started) / limit), message)

    return report


def _validate(outlets: Sequence[Outlet], settings: Settings) -> None:
    if settings.cycle_weeks not in (1, 2, 4):
        raise ValueError("cycle_weeks must be 1, 2 or 4")
    if settings.bookers < 1 or settings.days_per_week < 1 or settings.max_visits_per_day < 1:
        raise ValueError("bookers, days_per_week and max_visits_per_day must be positive")
    if len({o.id for o in outlets}) != len(outlets):
        raise ValueError("outlet ids must be unique")
    for outlet in outlets:
        if outlet.every_weeks not in (1, 2, 4):
            raise ValueError(f"outlet {outlet.id}: every_weeks must be 1, 2 or 4")


def _matrices(
    points: Sequence[tuple[float, float]],
    road_factor: float,
    speed_kmh: float,
    distance: npt.ArrayLike | None,
    duration: npt.ArrayLike | None,
) -> tuple[IntArray, IntArray]:
    if distance is not None and duration is not None:
        return np.asarray(distance, dtype=np.int64), np.asarray(duration, dtype=np.int64)
    return travel_arrays(points, road_factor=road_factor, speed_kmh=speed_kmh)


def _planar(points: Sequence[tuple[float, float]]) -> FloatArray:
    """Equirectangular projection to metres around the points' mean latitude (fine at city scale)."""
    ll = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    lat0 = float(ll[:, 0].mean()) if len(ll) else 0.0
    return np.column_stack([ll[:, 1] * np.cos(lat0) * EARTH_RADIUS_M, ll[:, 0] * EARTH_RADIUS_M])


# --- screening ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An outlet that can be planned: its open weekdays (with windows) and workload estimate per visit."""

    outlet: Outlet
    days: dict[int, tuple[Window, ...]]
    visits: int  # visits per cycle

    @property
    def period(self) -> int:
        return self.outlet.every_weeks


def _screen(
    outlets: Sequence[Outlet], settings: Settings, depot: int, dist: IntArray, dur: IntArray
) -> tuple[list[Candidate], list[Unassigned]]:
    """Outlets that can be planned, and the others with the reason."""
    keep: list[Candidate] = []
    out: list[Unassigned] = []
    for outlet in outlets:
        if settings.cycle_weeks % outlet.every_weeks:
            out.append(Unassigned(outlet.id, f"it is visited every {outlet.every_weeks} weeks, which does not fit a "
                                             f"cycle of {settings.cycle_weeks} week(s)"))
            continue
        open_days = outlet.open_days(settings.days_per_week)
        if not open_days:
            out.append(Unassigned(outlet.id, "it is closed on every working day"))
            continue
        days = {d: w for d, w in open_days.items() if _reachable(outlet, w, settings.shift, depot, dur)}
        if not days:
            out.append(Unassigned(outlet.id, _unreachable_reason(outlet, open_days, settings, depot, dist, dur)))
            continue
        keep.append(Candidate(outlet, days, settings.cycle_weeks // outlet.every_weeks))
    return keep, out


def _reachable(outlet: Outlet, windows: tuple[Window, ...], shift: Window, depot: int, dur: IntArray) -> bool:
    """Whether a day with only this outlet fits the working hours and one of its windows."""
    arrival = shift[0] + int(dur[depot, outlet.node])
    start, _, late = earliest_start(arrival, windows)
    return late == 0 and start + outlet.service_s + int(dur[outlet.node, depot]) <= shift[1]


def _unreachable_reason(
    outlet: Outlet, open_days: dict[int, tuple[Window, ...]], settings: Settings, depot: int, dist: IntArray,
    dur: IntArray,
) -> str:
    """The pre-check's reason for the first open day, on a two-node problem (depot, outlet)."""
    day, windows = next(iter(open_days.items()))
    nodes = [depot, outlet.node]
    problem = Problem(
        distance=dist[np.ix_(nodes, nodes)].tolist(),
        duration=dur[np.ix_(nodes, nodes)].tolist(),
        stops=(Stop(outlet.id, 1, outlet.service_s, windows),),
        vehicles=(Vehicle("booker", 0, 0, settings.shift),),
    )
    reason = impossible(problem, FORMATS)[0].reason
    return reason if len(open_days) == 1 else f"on no open weekday can it be visited in time (day {day}: {reason})"


# --- day areas ------------------------------------------------------------------------------------------------


def _kmeans(xy: FloatArray, weights: FloatArray, k: int, rng: np.random.Generator, rounds: int = 30) -> FloatArray:
    """Weighted k-means (k-means++ seeding) on planar points; returns k centres (duplicates when n < k)."""
    if len(xy) == 0:
        return np.zeros((k, 2))
    centres = [xy[rng.choice(len(xy), p=weights / weights.sum())]]
    for _ in range(1, k):
        d2 = np.min(((xy[:, None, :] - np.asarray(centres)[None, :, :]) ** 2).sum(axis=2), axis=1) * weights
        total = d2.sum()
        centres.append(xy[rng.choice(len(xy), p=d2 / total)] if total > 0 else xy[rng.integers(len(xy))])
    c = np.asarray(centres, dtype=float)
    for _ in range(rounds):
        label = np.argmin(((xy[:, None, :] - c[None, :, :]) ** 2).sum(axis=2), axis=1)
        for j in range(k):
            mask = label == j
            if mask.any():
                c[j] = np.average(xy[mask], axis=0, weights=weights[mask])
    return c


def _areas(candidates: Sequence[Candidate], xy: FloatArray, depot: int, dur: IntArray, s: Settings) -> list[Area]:
    """bookers x days_per_week day areas: k-means centres, dealt to bookers in angular sectors around the depot."""
    rng = np.random.default_rng(s.seed)
    nodes = [c.outlet.node for c in candidates]
    weights = np.asarray([c.visits for c in candidates], dtype=float)
    centres = _kmeans(xy[nodes], weights, s.areas, rng) if nodes else np.repeat(xy[[depot]], s.areas, axis=0)
    rel = centres - xy[depot]
    order = np.lexsort((np.hypot(rel[:, 0], rel[:, 1]), np.arctan2(rel[:, 1], rel[:, 0])))
    speed = _speed_m_per_s(xy, dur)
    areas = []
    for rank, j in enumerate(order):
        booker, weekday = divmod(rank, s.days_per_week)
        overhead = int(2 * np.hypot(*rel[j]) / speed) if speed > 0 else 0
        areas.append(Area(booker=booker, weekday=weekday, centre=centres[j], overhead_s=overhead))
    return areas


def _speed_m_per_s(xy: FloatArray, dur: IntArray) -> float:
    """Effective straight-line speed: planar distance / travel time, over a sample of pairs."""
    n = min(len(xy), 200)
    if n < 2:
        return 1.0
    straight = np.hypot(*(xy[:n, None, :] - xy[None, :n, :]).transpose(2, 0, 1))
    seconds = dur[:n, :n].astype(float)
    mask = seconds > 0
    return float(straight[mask].sum() / seconds[mask].sum()) if mask.any() else 1.0


def _capacity_s(area: Area, s: Settings) -> int:
    """Workload (seconds) a day of this area may be planned with: FILL of the working hours minus the trip to
    the area and back."""
    return max(0, int(FILL * (s.shift[1] - s.shift[0])) - area.overhead_s)


def _workloads(candidates: Sequence[Candidate], dur: IntArray) -> list[int]:
    """Seconds per visit: service + mean travel time to the two nearest other outlets (route share estimate)."""
    nodes = [c.outlet.node for c in candidates]
    if len(nodes) < 2:
        return [c.outlet.service_s for c in candidates]
    sub = dur[np.ix_(nodes, nodes)].astype(float)
    sub = np.minimum(sub, sub.T)
    np.fill_diagonal(sub, np.inf)
    k = min(2, len(nodes) - 1)
    nearest = np.partition(sub, k - 1, axis=1)[:, :k].mean(axis=1)
    return [c.outlet.service_s + int(t) for c, t in zip(candidates, nearest, strict=True)]


# --- balanced areas (LP) --------------------------------------------------------------------------------------


def _balanced_clusters(
    candidates: Sequence[Candidate], xy: FloatArray, areas: list[Area], work: Sequence[int], s: Settings,
    deadline: float,
) -> list[int]:
    """Capacitated Lloyd iterations: assign outlets to areas by an LP that keeps every area's mean weekly workload
    near the mean over all areas and under its caps, then move each centre to its outlets' weighted mean; up to
    LLOYD_ROUNDS rounds or until `deadline`. Returns the area of every candidate (-1: no room anywhere) and
    updates the area centres in place."""
    weekly = np.asarray([w * c.visits / s.cycle_weeks for w, c in zip(work, candidates, strict=True)])
    nodes = [c.outlet.node for c in candidates]
    label = [-1] * len(candidates)
    for _ in range(LLOYD_ROUNDS):
        label = _lp_assign(candidates, xy, areas, weekly, s)
        for a, area in enumerate(areas):
            members = [i for i, lab in enumerate(label) if lab == a]
            if members:
                area.centre = np.average(xy[[nodes[i] for i in members]], axis=0, weights=weekly[members])
        if time.perf_counter() > deadline:
            break
    return label


def _nearest_areas(candidates: Sequence[Candidate], xy: FloatArray, areas: Sequence[Area]) -> list[list[int]]:
    """Per candidate, the CANDIDATE_AREAS nearest area centres among the areas open on its weekdays."""
    here = xy[[c.outlet.node for c in candidates]]
    centres = np.asarray([a.centre for a in areas])
    far = np.hypot(here[:, None, 0] - centres[None, :, 0], here[:, None, 1] - centres[None, :, 1])
    for i, c in enumerate(candidates):
        far[i, [a for a, area in enumerate(areas) if area.weekday not in c.days]] = np.inf
    order = np.argsort(far, axis=1, kind="stable")[:, :CANDIDATE_AREAS]
    return [[int(a) for a in row if np.isfinite(far[i, a])] for i, row in enumerate(order)]


def _lp_assign(
    candidates: Sequence[Candidate], xy: FloatArray, areas: Sequence[Area], weekly: npt.NDArray[np.float64],
    s: Settings,
) -> list[int]:
    """Transportation LP (GLOP): minimise workload-weighted distance to the area centres plus the workload outside
    the band mean +- BALANCE_TOLERANCE, within each area's working hours and visit cap; a basic optimum splits only
    a few outlets, which go to their largest share (left out if mostly unserved)."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    x: dict[tuple[int, int], pywraplp.Variable] = {}
    by_area: dict[int, list[int]] = {}
    objective = solver.Objective()
    for i, options in enumerate(_nearest_areas(candidates, xy, areas)):
        slack = solver.NumVar(0, 1, "")
        objective.SetCoefficient(slack, float(weekly[i]) * 1000.0)  # as if 1,000 km away
        row = solver.Constraint(1, 1)
        row.SetCoefficient(slack, 1)
        here = xy[candidates[i].outlet.node]
        for a in options:
            x[i, a] = var = solver.NumVar(0, 1, "")
            row.SetCoefficient(var, 1)
            objective.SetCoefficient(var, float(weekly[i] * np.hypot(*(areas[a].centre - here)) / 1000.0))
            by_area.setdefault(a, []).append(i)
    visits_cap = VISIT_FILL * s.max_visits_per_day
    mean = float(weekly.sum()) / len(areas)
    for a, members in by_area.items():
        # Soft band around the mean (missing or extra workload priced as if 20 km away), hard working-hours cap.
        under, over = solver.NumVar(0, solver.infinity(), ""), solver.NumVar(0, solver.infinity(), "")
        objective.SetCoefficient(under, 20.0)
        objective.SetCoefficient(over, 20.0)
        floor_row = solver.Constraint(mean * (1 - BALANCE_TOLERANCE), solver.infinity())
        floor_row.SetCoefficient(under, 1)
        band_row = solver.Constraint(-solver.infinity(), mean * (1 + BALANCE_TOLERANCE))
        band_row.SetCoefficient(over, -1)
        work_row = solver.Constraint(0, _capacity_s(areas[a], s))
        visit_row = solver.Constraint(0, visits_cap)
        for i in members:
            for row in (floor_row, band_row, work_row):
                row.SetCoefficient(x[i, a], float(weekly[i]))
            visit_row.SetCoefficient(x[i, a], candidates[i].visits / s.cycle_weeks)
    objective.SetMinimization()
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return [-1] * len(candidates)
    best: dict[int, tuple[float, int]] = {}
    served = [0.0] * len(candidates)
    for (i, a), var in x.items():
        value = var.solution_value()
        served[i] += value
        if value > best.get(i, (0.0, -1))[0]:
            best[i] = (value, a)
    return [best[i][1] if served[i] >= 0.5 and i in best else -1 for i in range(len(candidates))]


def _offsets(
    candidates: Sequence[Candidate], label: Sequence[int], areas: Sequence[Area], work: Sequence[int], s: Settings
) -> dict[int, tuple[int, int]]:
    """Week offsets inside each area, largest workload first, each to the offset whose weeks are least loaded
    (and still under the visit cap): balances the weeks of every area."""
    load = {(a, w): 0 for a in range(len(areas)) for w in range(s.cycle_weeks)}
    count = dict.fromkeys(load, 0)
    chosen: dict[int, tuple[int, int]] = {}
    order = sorted((i for i in range(len(candidates)) if label[i] >= 0),
                   key=lambda i: (-candidates[i].visits, -work[i], i))
    for i in order:
        a, c = label[i], candidates[i]

        def pressure(o: int, a: int = a, c: Candidate = c) -> tuple[int, int, int]:
            weeks = range(o, s.cycle_weeks, c.period)
            full = sum(count[a, w] >= s.max_visits_per_day for w in weeks)
            return full, max(load[a, w] for w in weeks), o

        o = min(range(c.period), key=pressure)
        for w in range(o, s.cycle_weeks, c.period):
            load[a, w] += work[i]
            count[a, w] += 1
        chosen[i] = (a, o)
    return chosen


# --- weeks inside an area (CP-SAT) -----------------------------------------------------------------------------


def _assign_weeks(
    candidates: Sequence[Candidate], label: Sequence[int], areas: Sequence[Area], work: Sequence[int], s: Settings,
    deadline: float,
) -> tuple[dict[int, tuple[int, int]], list[Unassigned], dict[str, object]]:
    """Week offsets area by area with CP-SAT (hint: the greedy `_offsets`): every day of the area within the visit
    and workload caps, its busiest and quietest weeks as close as possible; outlets that fit no week are left out."""
    greedy = _offsets(candidates, label, areas, work, s)
    members: dict[int, list[int]] = {}
    for i, (a, _) in sorted(greedy.items()):
        members.setdefault(a, []).append(i)
    chosen: dict[int, tuple[int, int]] = {}
    statuses: dict[str, int] = {}
    for k, (a, group) in enumerate(sorted(members.items())):
        budget = max(0.05, (deadline - time.perf_counter()) / (len(members) - k))
        offsets, status = _area_weeks(candidates, group, areas[a], work, s, {i: greedy[i][1] for i in group}, budget)
        statuses[status] = statuses.get(status, 0) + 1
        chosen.update({i: (a, o) for i, o in offsets.items()})
    left = [Unassigned(c.outlet.id, _left_reason(s)) for i, c in enumerate(candidates) if i not in chosen]
    return chosen, left, {"week_assignment": statuses}


def _area_weeks(
    candidates: Sequence[Candidate], group: Sequence[int], area: Area, work: Sequence[int], s: Settings,
    hint: dict[int, int], budget: float,
) -> tuple[dict[int, int], str]:
    """CP-SAT for one area: offset of each outlet (or left out at a large cost); minimise busiest - quietest week
    (workloads in whole minutes)."""
    model = cp_model.CpModel()
    pick = {(i, o): model.new_bool_var(f"y{i}_{o}") for i in group for o in range(candidates[i].period)}
    left = {i: model.new_bool_var(f"left{i}") for i in group}
    for i in group:
        model.add_exactly_one([left[i], *(pick[i, o] for o in range(candidates[i].period))])
    minutes = {i: max(1, round(work[i] / 60)) for i in group}
    busiest = model.new_int_var(0, _capacity_s(area, s) // 60, "busiest")
    quietest = model.new_int_var(0, _capacity_s(area, s) // 60, "quietest")
    for week in range(s.cycle_weeks):
        today = [(pick[i, week % candidates[i].period], i) for i in group]
        model.add(cp_model.LinearExpr.sum([var for var, _ in today]) <= s.max_visits_per_day)
        load = cp_model.LinearExpr.weighted_sum([var for var, _ in today], [minutes[i] for _, i in today])
        model.add(load <= busiest)
        model.add(load >= quietest)
    penalty = (_capacity_s(area, s) // 60 + 1) * 10
    model.minimize(busiest - quietest + penalty * cp_model.LinearExpr.weighted_sum(
        [left[i] for i in group], [candidates[i].visits for i in group]))
    for (i, o), var in pick.items():
        model.add_hint(var, hint.get(i) == o)
    for i, var in left.items():
        model.add_hint(var, i not in hint)
    solver = cp_model.CpSolver()
    _cp_sat_parameters(solver, budget, s.seed)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {}, solver.status_name(status)
    return {i: o for (i, o), var in pick.items() if solver.value(var)}, solver.status_name(status)


def _left_reason(s: Settings) -> str:
    return (f"no day open to it has room left within {s.max_visits_per_day} visits and the working hours "
            f"({clock(s.shift[0])}-{clock(s.shift[1])}): add bookers or working hours")


def _cp_sat_parameters(solver: cp_model.CpSolver, budget: float, seed: int) -> None:
    """One core, reproducible: a single search thread with a fixed seed, stopped by a deterministic-time budget
    (wall time only as a backstop at 3x, in case the machine is much slower than the deterministic clock)."""
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = max(0.02, budget)
    solver.parameters.max_time_in_seconds = max(0.1, 3 * budget)


# --- day routes -----------------------------------------------------------------------------------------------


def _route_days(
    candidates: Sequence[Candidate], assignment: dict[int, tuple[int, int]], areas: Sequence[Area], depot: int,
    dist: IntArray, dur: IntArray, s: Settings, deadline: float, report: Reporter,
) -> tuple[tuple[DayRoute, ...], list[Unassigned], dict[str, object]]:
    """Sequence every (area, week) with `solve`; identical days (same outlets, same weekday) are solved once."""
    members: dict[tuple[int, int], list[int]] = {}
    for i, (a, o) in sorted(assignment.items()):
        for week in range(o, s.cycle_weeks, candidates[i].period):
            members.setdefault((a, week), []).append(i)
    days: list[DayRoute] = []
    missed: list[Unassigned] = []
    cache: dict[tuple[int, tuple[int, ...]], tuple[DayRoute, list[Unassigned]]] = {}
    todo = [(a, w) for a in range(len(areas)) for w in range(s.cycle_weeks) if members.get((a, w))]
    for a, area in enumerate(areas):
        for week in range(s.cycle_weeks):
            group = members.get((a, week), [])
            key = (area.weekday, tuple(group))
            if key not in cache:
                slots_left = max(1, len(todo))
                limit = max(0.05, (deadline - time.perf_counter()) / slots_left)
                cache[key] = _route_day(candidates, group, area, depot, dist, dur, s, limit)
            if (a, week) in todo:
                todo.remove((a, week))
            route, dropped = cache[key]
            days.append(DayRoute(area.booker, week, area.weekday, route.outlet_ids, route.distance_m,
                                 route.duration_s, route.route))
            missed += [Unassigned(u.outlet_id, u.reason, area.booker, week, area.weekday) for u in dropped]
    report(f"sequenced {len(cache)} distinct days")
    days.sort(key=lambda d: (d.booker, d.week, d.weekday))
    return tuple(days), missed, {"distinct_days": len(cache)}


def _route_day(
    candidates: Sequence[Candidate], group: Sequence[int], area: Area, depot: int, dist: IntArray, dur: IntArray,
    s: Settings, limit: float,
) -> tuple[DayRoute, list[Unassigned]]:
    if not group:
        return DayRoute(area.booker, 0, area.weekday, ()), []
    nodes = [depot] + [candidates[i].outlet.node for i in group]
    stops = tuple(
        Stop(id=candidates[i].outlet.id, node=k + 1, service=candidates[i].outlet.service_s,
             windows=tuple(sorted(candidates[i].days[area.weekday])))
        for k, i in enumerate(group)
    )
    problem = Problem(
        distance=dist[np.ix_(nodes, nodes)].tolist(),
        duration=dur[np.ix_(nodes, nodes)].tolist(),
        stops=stops,
        vehicles=(Vehicle("booker", 0, 0, s.shift, max_stops=s.max_visits_per_day),),
    )
    solution = solve(problem, time_limit=limit, seed=s.seed, solver=s.solver, patience=_patience(len(stops)),
                     formats=FORMATS)
    route = solution.routes[0] if solution.routes else None
    day = DayRoute(area.booker, 0, area.weekday, route.stop_ids if route else (),
                   route.distance if route else 0, route.duration if route else 0, route)
    return day, [Unassigned(d.stop_id, d.reason) for d in solution.dropped]


def _patience(stops: int) -> int:
    """Iterations without improvement before a day's search stops (small days converge in a few hundred)."""
    return 500 + 50 * stops
