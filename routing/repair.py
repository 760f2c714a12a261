"""Safety net after a backend: make every route feasible and try to fit left-out required stops back in.

1. A route that breaks a window, its shift, its capacity or max_stops loses, one at a time, the stop whose
   removal reduces the violation most, until it is feasible.
2. Left-out required stops (removed in 1, or left unserved by the solver) are inserted, cheapest first, at the
   position that adds the least cost while keeping the route feasible, until the deadline.
Whatever still does not fit is returned for the caller to report as dropped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from routing.build import route_distance, violation
from routing.model import Problem, Stop, Vehicle


def _cost(problem: Problem, vehicle: Vehicle, stops: Sequence[Stop]) -> int:
    if problem.objective == "duration":
        return route_distance(problem.time, vehicle, stops)
    return route_distance(problem.distance, vehicle, stops)


def make_feasible(problem: Problem, plan: list[list[int]]) -> list[int]:
    """Remove stops from infeasible routes in place (see module docstring); returns the removed stop indices."""
    removed: list[int] = []
    for v, order in enumerate(plan):
        vehicle = problem.vehicles[v]
        current = violation(problem, vehicle, [problem.stops[i] for i in order])
        while current > 0 and order:
            scores = [
                violation(problem, vehicle, [problem.stops[i] for i in order[:k] + order[k + 1:]])
                for k in range(len(order))
            ]
            k = min(range(len(order)), key=lambda j: (scores[j], j))
            removed.append(order.pop(k))
            current = scores[k]
    return removed


def insert(problem: Problem, plan: list[list[int]], pending: Sequence[int], deadline: float) -> list[int]:
    """Cheapest feasible insertion of `pending` stops into `plan` (in place) until `deadline` (perf_counter
    seconds); returns the stops that could not be inserted."""
    left = list(pending)
    while left and time.perf_counter() < deadline:
        best: tuple[int, int, int, int] | None = None  # (added cost, stop, vehicle, position)
        for i in left:
            option = _best_position(problem, plan, i)
            if option is not None and (best is None or (option[0], i) < (best[0], best[1])):
                best = (option[0], i, option[1], option[2])
        if best is None:
            break
        _, i, v, k = best
        plan[v].insert(k, i)
        left.remove(i)
    return left


def _best_position(problem: Problem, plan: list[list[int]], i: int) -> tuple[int, int, int] | None:
    """(added cost, vehicle, position) of the cheapest feasible place for stop i, or None."""
    best: tuple[int, int, int] | None = None
    for v, order in enumerate(plan):
        vehicle = problem.vehicles[v]
        stops = [problem.stops[j] for j in order]
        base = _cost(problem, vehicle, stops)
        for k in range(len(order) + 1):
            candidate = stops[:k] + [problem.stops[i]] + stops[k:]
            if violation(problem, vehicle, candidate) == 0:
                added = _cost(problem, vehicle, candidate) - base
                if best is None or added < best[0]:
                    best = (added, v, k)
    return best
