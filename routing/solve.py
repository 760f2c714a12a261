"""One entry point for every routing problem: `solve(problem, time_limit=...)`.

Pipeline: validate the input -> report the stops no plan can serve (pre-check, with reasons) -> run a backend on
the rest -> repair (make every route feasible, re-insert left-out required stops) -> build the timed Solution in
`routing.build`, identically for every backend. The result is always a complete, feasible plan: every stop is
either on a route or in `dropped` with a sentence saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from routing import ortools_backend, portfolio, repair
from routing.backend import Outcome, Progress, Task, matrices
from routing.build import build_solution, load_of
from routing.model import Dropped, Problem, Solution, Stop
from routing.precheck import Formats, carries, impossible, usable, validate

try:  # imported eagerly so that the ~0.2 s first import of PyVRP does not eat into a time limit
    from routing import pyvrp_backend
except ImportError:  # pragma: no cover - PyVRP is a pinned dependency
    pyvrp_backend = None  # type: ignore[assignment]

SOLVERS = ("auto", "pyvrp", "ortools")
_BACKENDS: dict[str, Callable[[Task], Outcome] | None] = {
    "pyvrp": pyvrp_backend.run if pyvrp_backend is not None else None,
    "ortools": ortools_backend.run,
}


def available(solver: str) -> bool:
    """Whether a backend's library is installed."""
    return _BACKENDS.get(solver) is not None


def choose(problem: Problem, solver: str = "auto") -> str:
    """The backend `solve` uses for `solver`.

    "auto" picks PyVRP whenever it is installed: on the Solomon VRPTW benchmark it is several times closer to the
    best known solutions than OR-Tools routing (issue measurements: mean gap 1.3% / 0.4% at 1 s / 5 s against
    5.6% / 4.2%; this package with its PyVRP settings: 0.95% / 0.31%), and it models everything a `Problem` can
    express: several depots, per-vehicle shifts and capacities in any number of dimensions, several windows per
    stop (a mutually exclusive client group), max_stops (an extra load dimension), optional stops (prizes) and the
    duration objective. So no feature of today's `Problem` needs the fallback: OR-Tools routing runs when PyVRP is
    not installed or on request (solver="ortools"), and it is the model to extend with side constraints PyVRP
    cannot express (driver breaks, pickup-before-delivery with time-dependent rules, ...).
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {SOLVERS}")
    if solver == "auto":
        return "pyvrp" if available("pyvrp") else "ortools"
    if not available(solver):
        raise ValueError(f"solver {solver!r} is not installed")
    return solver


def _backend(name: str) -> Callable[[Task], Outcome]:
    run = _BACKENDS[name]
    if run is None:  # pragma: no cover - choose() only names installed backends
        raise ValueError(f"solver {name!r} is not installed")
    return run


def _overloaded(problem: Problem, stops: list[int], vehicles: list[int]) -> bool:
    """Whether the required stops obviously exceed the fleet: total demand above total capacity in a dimension,
    more stops than the vehicles may make, or more service + nearest-neighbour travel time than shift time."""
    required = [problem.stops[i] for i in stops if problem.stops[i].required]
    fleet = [problem.vehicles[v] for v in vehicles]
    dims = len(fleet[0].capacity)
    if any(sum(s.demand[k] for s in required if s.demand) > sum(v.capacity[k] for v in fleet) for k in range(dims)):
        return True
    if all(v.max_stops is not None for v in fleet) and len(required) > sum(v.max_stops or 0 for v in fleet):
        return True
    if len(required) < 2:
        return False
    _, duration = matrices(problem)
    nodes = np.asarray([s.node for s in required])
    travel = duration[np.ix_(nodes, nodes)].astype(float)
    np.fill_diagonal(travel, np.inf)
    work = sum(s.service for s in required) + float(travel.min(axis=1).sum())
    return work > sum(v.shift[1] - v.shift[0] for v in fleet)


def _unfitted_reason(problem: Problem, plan: list[list[int]], stop: Stop) -> str:
    """Why a stop that could be served on its own did not fit the plan."""
    for v, order in enumerate(plan):
        vehicle = problem.vehicles[v]
        if not usable(problem, vehicle) or not carries(vehicle, stop):
            continue
        load = load_of([problem.stops[i] for i in order], len(vehicle.capacity))
        spare = all(a + d <= c for a, d, c in zip(load, stop.demand, vehicle.capacity, strict=False))
        if spare and (vehicle.max_stops is None or len(order) < vehicle.max_stops):
            return ("no vehicle can fit it into its route within the time windows and shift: the fleet's working "
                    "hours are fully used by the other stops")
    return "no vehicle has spare capacity left for it after the other stops: the fleet is too small for the load"


def _leftovers(problem: Problem, plan: list[list[int]], servable: list[int], deadline: float) -> dict[int, Dropped]:
    """Re-insert left-out required stops where possible; the rest of the left-out stops, with reasons."""
    served = {i for order in plan for i in order}
    left = [i for i in servable if i not in served]
    stuck = set(repair.insert(problem, plan, [i for i in left if problem.stops[i].required], deadline))
    out: dict[int, Dropped] = {}
    for i in left:
        stop = problem.stops[i]
        if stop.required and i in stuck:
            out[i] = Dropped(stop.id, _unfitted_reason(problem, plan, stop))
        elif not stop.required:
            penalty = "the default penalty" if stop.penalty is None else f"its penalty of {stop.penalty}"
            out[i] = Dropped(stop.id, f"optional stop left out: serving it would cost more than {penalty}")
    return out


def solve(
    problem: Problem,
    *,
    time_limit: float,
    seed: int = 0,
    solver: str = "auto",
    progress: Progress | None = None,
    patience: int | None = None,
    formats: Formats | None = None,
    workers: int = 1,
) -> Solution:
    """Plan routes for `problem` within `time_limit` seconds of wall time (one core); see `choose` for `solver`.

    `seed` fixes the search's random choices; `patience` ends the search after that many iterations without
    improvement (PyVRP only). A run is reproducible for a seed when it ends by patience, or when the search has
    converged before the time limit; a run cut by the clock can differ on a slower or busier machine.
    `progress(fraction_of_time_limit, message)` is called as the search advances. `formats` controls how times
    and amounts appear in the reasons of dropped stops (`routing.precheck.clock` prints seconds as HH:MM).
    `workers` > 1 runs that many searches at once with seeds seed, seed + 1, ... on as many cores and keeps the
    best (`routing.portfolio`; PyVRP only, OR-Tools always runs one search).
    Raises ValueError on malformed input (see `routing.precheck.validate`).
    """
    started = time.perf_counter()
    formats = formats or Formats()
    validate(problem)
    name = choose(problem, solver)
    dropped = impossible(problem, formats)
    servable = [i for i in range(len(problem.stops)) if i not in dropped]
    vehicles = [v for v, vehicle in enumerate(problem.vehicles) if usable(problem, vehicle)]
    plan: list[list[int]] = [[] for _ in problem.vehicles]
    stats: dict[str, object] = {"backend": name, "impossible": len(dropped)}
    reserve = 0.02 + 0.01 * time_limit
    if servable and vehicles:
        soft = _overloaded(problem, servable, vehicles)
        task = Task(problem, tuple(servable), tuple(vehicles), max(0.0, time_limit - reserve), seed=seed,
                    soft=soft, patience=patience, progress=progress, started=started)
        task.report(f"{name}: solving {len(servable)} stops with {len(vehicles)} vehicles")
        outcome = portfolio.run(_backend(name), task, workers if name == "pyvrp" else 1)
        plan, stats = outcome.plan, {**stats, **outcome.stats, "soft": soft}
    stats["repaired"] = len(repair.make_feasible(problem, plan))
    dropped.update(_leftovers(problem, plan, servable, started + time_limit))
    runtime = time.perf_counter() - started
    solution = build_solution(problem, plan, [dropped[i] for i in sorted(dropped)], solver=name, runtime=runtime,
                              stats=stats)
    if progress is not None:
        progress(1.0, f"done: {len(solution.routes)} routes, {len(solution.dropped)} stops dropped")
    return solution
