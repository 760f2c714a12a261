"""PyVRP 0.14 backend (iterated local search): the strongest solver we measured for VRPTW / CVRPTW.

Mapping of the model: every distinct depot node is a PyVRP depot; interchangeable vehicles form one vehicle type
(shift -> [tw_early, tw_late], capacity per dimension, fixed cost); a stop with one window is a client, a stop with
several windows is a mutually exclusive client group with one client per window; `max_stops` becomes an extra load
dimension in which every client weighs 1; optional stops are optional clients whose prize is their penalty.
PyVRP is fed the matrices directly through `ProblemData` (what `Model.data()` builds, without the per-edge
Python objects: measured 0.05 s for a 101 x 101 matrix, 5% of a 1 s limit).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import NeighbourhoodParams
from pyvrp.stop import MultipleCriteria, NoImprovement, StoppingCriterion

from routing.backend import Outcome, Task, big_penalty, matrices, penalty_of, vehicle_key
from routing.model import Stop, Vehicle

NO_LIMIT = int(np.iinfo(np.int64).max)
# Above this many stops the search runs with PyVRP's default parameters (see _params).
LARGE = 600


class _Reporter(pyvrp.IteratedLocalSearchCallbacks):
    """Forwards new best solutions to the task's progress callback, at most every `every` seconds."""

    def __init__(self, task: Task, every: float = 0.2) -> None:
        self.task, self.every, self.last = task, every, 0.0

    def on_best(self, best: pyvrp.Solution) -> None:
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            state = "feasible" if best.is_feasible() else "infeasible"
            self.task.report(f"pyvrp: best {state} plan, distance {best.distance()}, {best.num_routes()} routes")


def _vehicle_types(
    task: Task, vehicles: Sequence[Vehicle], depot_of: dict[int, int], count_stops: bool
) -> tuple[list[pyvrp.VehicleType], list[list[int]]]:
    """PyVRP vehicle types (interchangeable vehicles grouped) and, per type, the problem's vehicle indices."""
    members: dict[tuple[object, ...], list[int]] = {}
    for v, vehicle in zip(task.vehicles, vehicles, strict=True):
        members.setdefault(vehicle_key(vehicle), []).append(v)
    by_duration = task.problem.objective == "duration"
    types = []
    for indices in members.values():
        vehicle = task.problem.vehicles[indices[0]]
        capacity = list(vehicle.capacity)
        if count_stops:
            capacity.append(len(task.stops) if vehicle.max_stops is None else vehicle.max_stops)
        types.append(pyvrp.VehicleType(
            num_available=len(indices),
            capacity=capacity,
            start_depot=depot_of[vehicle.start_node],
            end_depot=depot_of[vehicle.end_node],
            fixed_cost=vehicle.fixed_cost,
            tw_early=vehicle.shift[0],
            tw_late=vehicle.shift[1],
            unit_distance_cost=0 if by_duration else 1,
            unit_duration_cost=1 if by_duration else 0,
        ))
    return types, list(members.values())


def _clients(
    task: Task, stops: Sequence[Stop], loc: dict[int, int], dims: int, count_stops: bool, big: int
) -> tuple[list[pyvrp.Client], list[pyvrp.ClientGroup], list[int]]:
    """Clients, groups (multi-window stops) and, per client, the index of the stop it stands for."""
    clients: list[pyvrp.Client] = []
    groups: list[pyvrp.ClientGroup] = []
    owner: list[int] = []
    for index, stop in zip(task.stops, stops, strict=True):
        required = stop.required and not task.soft
        prize = 0 if required else penalty_of(stop, task, big)
        delivery = list(stop.demand) or [0] * dims
        if count_stops:
            delivery.append(1)
        windows = stop.windows or ((0, NO_LIMIT),)
        group = len(groups) if len(windows) > 1 else None
        members = []
        for early, late in windows:
            members.append(len(clients))
            owner.append(index)
            clients.append(pyvrp.Client(
                location=loc[stop.node], delivery=delivery, service_duration=stop.service, tw_early=early,
                tw_late=late, prize=prize, required=required and group is None, group=group, name=stop.id,
            ))
        if group is not None:
            groups.append(pyvrp.ClientGroup(clients=members, required=required))
    return clients, groups, owner


class _Deadline:
    """Stops at the task's deadline, counted from the start of `solve` (PyVRP's MaxRuntime would only start
    counting after the initial solution has been built)."""

    def __init__(self, task: Task) -> None:
        self.deadline = task.started + task.time_limit

    def __call__(self, best_cost: float) -> bool:
        return time.perf_counter() >= self.deadline


def _stopping(task: Task) -> StoppingCriterion:
    criteria: list[StoppingCriterion] = [_Deadline(task)]
    if task.patience is not None:
        criteria.append(NoImprovement(task.patience))
    return MultipleCriteria(criteria)


def _params(task: Task) -> pyvrp.SolveParams:
    """PyVRP's defaults except: granular neighbourhood of 20 instead of 50 and no exhaustive search on every new
    best, which buys more iterations per second. Measured against the defaults, same seed, same machine, runs
    interleaved: Solomon (56) mean gap 1.01% vs 1.27% at 1 s, 0.36% vs 0.49% at 5 s (28 instances); Homberger 200
    (the six *_2_1) 0.13% vs 0.15% at 30 s; 60-stop days with windows (one route, where every move is inside one
    long route and PyVRP evaluates it in time linear in its length) 1.3% vs 4.0% from the best known at 0.9 s.
    Above LARGE stops PyVRP's defaults are used: on Homberger 1000 at 30 s the tuned settings lost (C2_10_1 2.17%
    vs 0.82%, RC2_10_1 2.50% vs 0.88%; long routes need the wider neighbourhood and the search on new bests),
    while on Homberger 400 they still won (mean 0.58% vs 0.88%)."""
    if len(task.stops) > LARGE:
        return pyvrp.SolveParams(ils=pyvrp.IteratedLocalSearchParams(callbacks=_Reporter(task)))
    return pyvrp.SolveParams(
        ils=pyvrp.IteratedLocalSearchParams(callbacks=_Reporter(task), exhaustive_on_best=False),
        neighbourhood=NeighbourhoodParams(num_neighbours=20),
    )


def run(task: Task) -> Outcome:
    """Solve the task with PyVRP; the best solution found is returned even when infeasible (repair follows)."""
    problem = task.problem
    distance, duration = matrices(problem)
    vehicles = [problem.vehicles[v] for v in task.vehicles]
    stops = [problem.stops[i] for i in task.stops]
    depot_nodes = sorted({v.start_node for v in vehicles} | {v.end_node for v in vehicles})
    nodes = depot_nodes + sorted({s.node for s in stops} - set(depot_nodes))
    loc = {node: k for k, node in enumerate(nodes)}
    dims = len(vehicles[0].capacity)
    count_stops = any(v.max_stops is not None for v in vehicles)
    big = big_penalty(problem, distance, duration)

    clients, groups, owner = _clients(task, stops, loc, dims, count_stops, big)
    depot_of = {node: k for k, node in enumerate(depot_nodes)}
    depots = [pyvrp.Depot(location=loc[node], name=f"node {node}") for node in depot_nodes]
    types, members = _vehicle_types(task, vehicles, depot_of, count_stops)
    index = np.asarray(nodes)
    matrices_: list[Any] = [np.ascontiguousarray(m[np.ix_(index, index)]) for m in (distance, duration)]
    data = pyvrp.ProblemData(
        locations=[pyvrp.Location(x=0.0, y=0.0, name=str(node)) for node in nodes],
        clients=clients,
        depots=depots,
        vehicle_types=types,
        distance_matrices=matrices_[:1],
        duration_matrices=matrices_[1:],
        groups=groups,
    )
    params = _params(task)
    with warnings.catch_warnings():  # an infeasible best is repaired and reported by solve(): no need to warn
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(data, _stopping(task), seed=task.seed, collect_stats=False, display=False,
                             params=params)
    return _outcome(task, result, owner, members)


def _outcome(task: Task, result: pyvrp.Result, owner: list[int], members: list[list[int]]) -> Outcome:
    plan: list[list[int]] = [[] for _ in task.problem.vehicles]
    used = [0] * len(members)
    for route in result.best.routes():
        vt = route.vehicle_type()
        vehicle = members[vt][used[vt]]
        used[vt] += 1
        plan[vehicle] = [owner[activity.idx] for activity in route if activity.is_client()]
    stats: dict[str, object] = {
        "iterations": result.num_iterations,
        "search_seconds": round(result.runtime, 3),
        "solver_feasible": result.is_feasible(),
        "cost": result.cost() if result.is_feasible() else None,
    }
    return Outcome(plan=plan, stats=stats)
