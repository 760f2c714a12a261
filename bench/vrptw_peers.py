"""The VRPTW benchmark's plain peers, and an instance reader and checker that share no code with `routing`.

Everything here follows the DIMACS-2021 VRPTW convention of the best-known solutions in
`../shared/data/vrptw/bks.csv` (column `bks_dimacs_distance`): every travel distance (= travel time) is
`trunc(10 * euclid)`, ready times, due dates and service times are scaled by 10, demands and capacity
are as in the file, the fleet has the file's number of vehicles and the objective is total distance.

* `read_instance` parses a Solomon / Gehring & Homberger text file into an `Instance` (node 0 = depot,
  node i = customer i, as numbered in the file).
* `check_routes` is the independent checker: it recomputes distance, load and the schedule of every route
  from the instance alone (leave the depot at its ready time, wait for early windows) and lists every
  violation: a customer missing or served twice, too many routes, capacity, a start of service after
  its due date, a return after the depot's due date.
* `solve_pyvrp`, `solve_vroom`, `solve_ortools` run each peer *plainly*: the same integer data, the
  library's default parameters, one thread; each returns the routes as customer numbers and the wall
  time, model building included (as it is for our solver).
* `to_solution` turns a peer's routes into a `routing.model.Solution` for the routing problem, so our
  own checker (`routing.check.check`) judges the peers exactly as it judges us.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCALE = 10  # DIMACS: distances, times and windows in tenths, truncated


@dataclass(frozen=True)
class Instance:
    name: str
    fleet: int  # vehicles available
    capacity: int
    demand: tuple[int, ...]  # per node; node 0 is the depot
    ready: tuple[int, ...]  # scaled by SCALE
    due: tuple[int, ...]
    service: tuple[int, ...]
    matrix: tuple[tuple[int, ...], ...]  # trunc(SCALE * euclid), doubles as travel time

    @property
    def customers(self) -> range:
        return range(1, len(self.demand))


def _scaled_distance(dx: float, dy: float) -> int:
    squared = dx * dx + dy * dy
    if float(squared).is_integer():  # integer coordinates: exact, no floating-point edge at k/10
        return math.isqrt(int(squared) * SCALE * SCALE)
    return int(SCALE * math.sqrt(squared))


def read_instance(path: Path) -> Instance:
    """Parse a Solomon-format file (also Gehring & Homberger; CRLF or LF)."""
    lines = [line.split() for line in Path(path).read_text().splitlines()]
    lines = [line for line in lines if line]
    name = lines[0][0].upper()
    at = next(i for i, line in enumerate(lines) if line[0].upper() == "NUMBER")
    fleet, capacity = int(lines[at + 1][0]), int(lines[at + 1][1])
    rows = [line for line in lines[at + 2:] if len(line) == 7 and all(_is_number(v) for v in line)]
    if [int(float(r[0])) for r in rows] != list(range(len(rows))):
        raise ValueError(f"{path}: customers are not numbered 0..n in order")
    x = [float(r[1]) for r in rows]
    y = [float(r[2]) for r in rows]
    matrix = tuple(tuple(_scaled_distance(x[i] - x[j], y[i] - y[j]) for j in range(len(rows)))
                   for i in range(len(rows)))

    def scaled(col: int) -> tuple[int, ...]:
        return tuple(int(float(r[col]) * SCALE) for r in rows)

    return Instance(name=name, fleet=fleet, capacity=capacity, demand=tuple(int(float(r[3])) for r in rows),
                    ready=scaled(4), due=scaled(5), service=scaled(6), matrix=matrix)


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- the independent checker -----------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    distance: int
    routes: int  # non-empty routes
    errors: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.errors


def check_routes(inst: Instance, routes: Sequence[Sequence[int]]) -> Check:
    """Recompute `routes` (customer numbers, depot excluded) from the instance and list every violation."""
    errors: list[str] = []
    routes = [list(r) for r in routes if r]
    if len(routes) > inst.fleet:
        errors.append(f"{len(routes)} routes for a fleet of {inst.fleet}")
    seen: dict[int, int] = {}
    total = 0
    for k, route in enumerate(routes):
        load = sum(inst.demand[c] for c in route if c in inst.customers)
        if load > inst.capacity:
            errors.append(f"route {k}: load {load} > capacity {inst.capacity}")
        now, prev = inst.ready[0], 0
        for c in route:
            if c not in inst.customers:
                errors.append(f"route {k}: unknown customer {c}")
                continue
            if c in seen:
                errors.append(f"customer {c} served twice (routes {seen[c]} and {k})")
            seen[c] = k
            total += inst.matrix[prev][c]
            start = max(now + inst.matrix[prev][c], inst.ready[c])
            if start > inst.due[c]:
                errors.append(f"route {k}: customer {c} served at {start} > due {inst.due[c]}")
            now, prev = start + inst.service[c], c
        total += inst.matrix[prev][0]
        back = now + inst.matrix[prev][0]
        if back > inst.due[0]:
            errors.append(f"route {k}: back at the depot at {back} > due {inst.due[0]}")
    missing = [c for c in inst.customers if c not in seen]
    if missing:
        errors.append(f"{len(missing)} customers not served, e.g. {missing[:5]}")
    return Check(distance=total, routes=len(routes), errors=tuple(errors))


def problem_mismatches(inst: Instance, problem: Any) -> list[str]:
    """Where a `routing.model.Problem` disagrees with the instance under the DIMACS convention (empty: same).

    Assumes node i of the problem is node i of the file (depot 0), which is what lets the independent
    checker judge our solutions by node.
    """
    issues = []
    n = len(inst.demand)
    matrix = [list(row) for row in problem.distance]
    if [len(row) for row in matrix] != [n] * n:
        return [f"distance matrix is not {n}x{n}"]
    if matrix != [list(row) for row in inst.matrix]:
        issues.append("distance matrix differs from trunc(10*euclid)")
    if problem.duration is not None and [list(row) for row in problem.duration] != matrix:
        issues.append("travel-time matrix differs from the distance matrix")
    nodes = sorted(s.node for s in problem.stops)
    if nodes != list(inst.customers):
        issues.append("stops are not nodes 1..n")
    for s in problem.stops:
        if 0 < s.node < n and (s.service != inst.service[s.node] or tuple(s.demand) != (inst.demand[s.node],)
                               or tuple(tuple(w) for w in s.windows) != ((inst.ready[s.node], inst.due[s.node]),)):
            issues.append(f"stop {s.id} (node {s.node}): service/demand/window differ from the file")
            break
    if len(problem.vehicles) != inst.fleet:
        issues.append(f"{len(problem.vehicles)} vehicles, the file has {inst.fleet}")
    for v in problem.vehicles:
        if (v.start_node, v.end_node) != (0, 0) or tuple(v.capacity) != (inst.capacity,) \
                or tuple(v.shift) != (inst.ready[0], inst.due[0]):
            issues.append(f"vehicle {v.id}: depot, capacity or shift differ from the file")
            break
    return issues


# --- the peers -------------------------------------------------------------------------------------

@dataclass
class PeerRun:
    solver: str
    routes: list[list[int]]  # customer numbers per route, depot excluded
    seconds: float
    reported: int | None = None  # the solver's own total distance, if it gives one
    error: str = ""  # the solver returned no solution
    info: dict[str, Any] = field(default_factory=dict)


def solve_pyvrp(inst: Instance, time_limit: float, seed: int = 0) -> PeerRun:
    """PyVRP's Model with default parameters, stopped by MaxRuntime(time_limit)."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    started = time.perf_counter()
    m = Model()
    locations = [m.add_location(x=0, y=0) for _ in inst.demand]  # coordinates unused: explicit edges
    depot = m.add_depot(locations[0], tw_early=inst.ready[0], tw_late=inst.due[0])
    m.add_vehicle_type(num_available=inst.fleet, capacity=inst.capacity, start_depot=depot, end_depot=depot,
                       tw_early=inst.ready[0], tw_late=inst.due[0])
    for c in inst.customers:
        m.add_client(locations[c], delivery=inst.demand[c], service_duration=inst.service[c],
                     tw_early=inst.ready[c], tw_late=inst.due[c])
    for i, frm in enumerate(locations):
        for j, to in enumerate(locations):
            m.add_edge(frm, to, distance=inst.matrix[i][j], duration=inst.matrix[i][j])
    result = m.solve(stop=MaxRuntime(time_limit), seed=seed, display=False)
    seconds = time.perf_counter() - started
    best = result.best
    # Client k of the model is customer k + 1 (clients were added in order).
    routes = [[act.idx + 1 for act in route if act.is_client()] for route in best.routes()]
    return PeerRun("pyvrp", routes, seconds, reported=best.distance(),
                   error="" if best.is_feasible() else "PyVRP's best solution is infeasible",
                   info={"iterations": result.num_iterations})


def solve_vroom(inst: Instance, exploration_level: int = 5) -> PeerRun:
    """pyvroom with its default exploration level (5) on one thread. VROOM has no time limit of its own."""
    import vroom

    started = time.perf_counter()
    problem = vroom.Input()
    problem.set_durations_matrix("car", inst.matrix)
    problem.set_costs_matrix("car", inst.matrix)  # cost = distance (= duration here)
    problem.add_vehicle([vroom.Vehicle(k, start=0, end=0, capacity=[inst.capacity],
                                       time_window=vroom.TimeWindow(inst.ready[0], inst.due[0]))
                         for k in range(inst.fleet)])
    problem.add_job([vroom.Job(c, location=c, default_service=inst.service[c], delivery=[inst.demand[c]],
                               time_windows=[vroom.TimeWindow(inst.ready[c], inst.due[c])])
                     for c in inst.customers])
    solution = problem.solve(exploration_level=exploration_level, nb_threads=1)
    seconds = time.perf_counter() - started
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    routes = [[int(c) for c in group["id"]] for _, group in jobs.groupby("vehicle_id", sort=True)]
    summary = solution.to_dict().get("summary", {})
    return PeerRun("vroom", routes, seconds, reported=summary.get("cost"),
                   error="" if not summary.get("unassigned") else f"{summary['unassigned']} jobs unassigned",
                   info={"exploration_level": exploration_level})


def solve_ortools(inst: Instance, time_limit: float) -> PeerRun:
    """OR-Tools routing as in its VRPTW example: PATH_CHEAPEST_ARC then GUIDED_LOCAL_SEARCH for time_limit."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    n = len(inst.demand)
    manager = pywrapcp.RoutingIndexManager(n, inst.fleet, 0)
    routing = pywrapcp.RoutingModel(manager)
    distance = routing.RegisterTransitMatrix([list(row) for row in inst.matrix])
    routing.SetArcCostEvaluatorOfAllVehicles(distance)
    travel = routing.RegisterTransitMatrix([[inst.matrix[i][j] + inst.service[i] for j in range(n)]
                                            for i in range(n)])
    horizon = inst.due[0]
    routing.AddDimension(travel, horizon, horizon, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    for c in inst.customers:
        time_dim.CumulVar(manager.NodeToIndex(c)).SetRange(inst.ready[c], inst.due[c])
    for v in range(inst.fleet):
        time_dim.CumulVar(routing.Start(v)).SetRange(inst.ready[0], inst.due[0])
        time_dim.CumulVar(routing.End(v)).SetRange(inst.ready[0], inst.due[0])
    demand = routing.RegisterUnaryTransitVector(list(inst.demand))
    routing.AddDimension(demand, 0, inst.capacity, True, "Capacity")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    assignment = routing.SolveWithParameters(params)
    seconds = time.perf_counter() - started
    if assignment is None:
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
        return PeerRun("ortools", [], seconds, error=f"no solution ({status})")
    routes = []
    for v in range(inst.fleet):
        index, route = assignment.Value(routing.NextVar(routing.Start(v))), []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = assignment.Value(routing.NextVar(index))
        routes.append(route)
    return PeerRun("ortools", [r for r in routes if r], seconds, reported=assignment.ObjectiveValue())


# --- peers' routes as our Solution -----------------------------------------------------------------

def to_solution(problem: Any, routes: Sequence[Sequence[int]], *, solver: str, runtime: float) -> Any:
    """A `routing.model.Solution` for `problem` visiting the problem's stops at `routes`' nodes, in order.

    Times are the earliest schedule from the problem's own data (leave at the start of the shift, wait
    for a window); the k-th non-empty route is given to the k-th vehicle. Nodes without a stop are
    skipped here and reported by the checkers as unserved.
    """
    from routing.model import Route, Solution, Visit

    by_node = {s.node: s for s in problem.stops}
    travel = problem.time
    out = []
    for k, nodes in enumerate(r for r in routes if r):
        if k >= len(problem.vehicles):
            break  # more routes than vehicles: the independent checker reports it
        vehicle = problem.vehicles[k]
        now = vehicle.shift[0]
        prev, distance, visits = vehicle.start_node, 0, []
        load = [0] * len(vehicle.capacity)
        for node in nodes:
            stop = by_node.get(node)
            if stop is None:
                continue
            arrival = now + travel[prev][stop.node]
            start = _earliest_start(arrival, stop.windows)
            visits.append(Visit(stop_id=stop.id, arrival=arrival, start=start, departure=start + stop.service))
            distance += problem.distance[prev][stop.node]
            load = [a + b for a, b in zip(load, stop.demand, strict=False)]
            now, prev = start + stop.service, stop.node
        distance += problem.distance[prev][vehicle.end_node]
        end = now + travel[prev][vehicle.end_node]
        out.append(Route(vehicle_id=vehicle.id, visits=tuple(visits), distance=distance,
                         duration=end - vehicle.shift[0], start=vehicle.shift[0], end=end, load=tuple(load)))
    return Solution(routes=tuple(out), solver=solver, runtime=runtime)


def _earliest_start(arrival: int, windows: Sequence[tuple[int, int]]) -> int:
    """Start in the first window not yet closed, waiting for it to open; no window left: start on arrival."""
    for lo, hi in sorted(windows):
        if hi >= arrival:
            return max(arrival, lo)
    return arrival
