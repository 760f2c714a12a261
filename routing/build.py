"""Turning visit orders into timed routes: the one place where both backends' answers become a `Solution`.

Timing rules (the same ones `routing.check` verifies):
* a vehicle leaves its start depot at or after its shift start and must be back at its end depot by the shift end;
* arrival = previous departure + travel time; service starts at the arrival or, if early, when the first window
  that has not yet closed opens (waiting allowed); departure = start of service + service time;
* the departure from the depot is delayed as far as possible without delaying the return or missing a window, so
  a route's duration (return - departure) contains no avoidable waiting.
Units are the problem's (seconds in the product, scaled integers in the benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.model import Dropped, Problem, Route, Solution, Stop, Vehicle, Visit

INFINITY = 2**62


@dataclass(frozen=True)
class Pass:
    """One forward pass over a route. `warp`: total lateness (window closes and shift end); 0 when on time."""

    arrivals: tuple[int, ...]
    starts: tuple[int, ...]
    closes: tuple[int, ...]  # close of the window each service starts in (INFINITY when unconstrained)
    end: int
    warp: int


def earliest_start(arrival: int, windows: Sequence[tuple[int, int]]) -> tuple[int, int, int]:
    """(start of service, close of the window used, lateness) for a vehicle arriving at `arrival`.

    The first window not yet closed is used; arriving after the last close starts at that close with the
    difference counted as lateness (time warp), which only the repair step ever sees.
    """
    if not windows:
        return arrival, INFINITY, 0
    for open_, close in windows:
        if arrival <= close:
            return max(arrival, open_), close, 0
    close = windows[-1][1]
    return close, close, arrival - close


def forward(time: Sequence[Sequence[int]], vehicle: Vehicle, stops: Sequence[Stop], depart: int) -> Pass:
    """Simulate the route leaving the depot at `depart`; see the module docstring for the rules."""
    arrivals: list[int] = []
    starts: list[int] = []
    closes: list[int] = []
    warp = 0
    clock, here = depart, vehicle.start_node
    for stop in stops:
        arrival = clock + int(time[here][stop.node])
        start, close, late = earliest_start(arrival, stop.windows)
        arrivals.append(arrival)
        starts.append(start)
        closes.append(close)
        warp += late
        clock, here = start + stop.service, stop.node
    end = clock + int(time[here][vehicle.end_node])
    warp += max(0, end - vehicle.shift[1])
    return Pass(tuple(arrivals), tuple(starts), tuple(closes), end, warp)


def latest_departure(first: Pass, depart: int) -> int:
    """Latest departure that neither delays the return nor misses a window, given the pass leaving at `depart`.

    Delaying by d shifts visit i by max(0, d - W_i), W_i being the waiting accumulated up to visit i; the return
    stays put while d <= total waiting, and visit i stays in its window while d - W_i <= close_i - start_i.
    """
    delay, waited = INFINITY, 0
    for arrival, start, close in zip(first.arrivals, first.starts, first.closes, strict=True):
        waited += start - arrival
        delay = min(delay, waited + close - start)
    return depart + max(0, min(delay, waited))


def timed_route(time: Sequence[Sequence[int]], vehicle: Vehicle, stops: Sequence[Stop]) -> tuple[Pass, int]:
    """The final pass of a route and its departure time (latest departure without avoidable waiting)."""
    early = forward(time, vehicle, stops, vehicle.shift[0])
    if early.warp or not stops:
        return early, vehicle.shift[0]
    depart = latest_departure(early, vehicle.shift[0])
    return forward(time, vehicle, stops, depart), depart


def load_of(stops: Sequence[Stop], dims: int) -> tuple[int, ...]:
    """Total demand per capacity dimension (stops with an empty demand count as zero)."""
    total = [0] * dims
    for stop in stops:
        for k, amount in enumerate(stop.demand):
            total[k] += amount
    return tuple(total)


def excess(load: Sequence[int], capacity: Sequence[int]) -> int:
    """Sum of the amounts by which `load` exceeds `capacity` (empty capacity: unconstrained)."""
    return sum(max(0, amount - cap) for amount, cap in zip(load, capacity, strict=False)) if capacity else 0


def violation(problem: Problem, vehicle: Vehicle, stops: Sequence[Stop]) -> int:
    """0 if the route is feasible, else a positive measure: lateness + excess load + stops above max_stops."""
    dims = len(vehicle.capacity)
    over = max(0, len(stops) - vehicle.max_stops) if vehicle.max_stops is not None else 0
    first = forward(problem.time, vehicle, stops, vehicle.shift[0])
    return first.warp + excess(load_of(stops, dims), vehicle.capacity) + over


def route_distance(distance: Sequence[Sequence[int]], vehicle: Vehicle, stops: Sequence[Stop]) -> int:
    """Distance from the start depot through the stops to the end depot."""
    nodes = [vehicle.start_node, *(s.node for s in stops), vehicle.end_node]
    return sum(int(distance[a][b]) for a, b in zip(nodes, nodes[1:], strict=False))


def make_route(problem: Problem, vehicle: Vehicle, stops: Sequence[Stop]) -> Route:
    """A timed `Route` for `vehicle` visiting `stops` in order (assumed feasible: see `violation`)."""
    timing, depart = timed_route(problem.time, vehicle, stops)
    visits = tuple(
        Visit(stop_id=s.id, arrival=a, start=b, departure=b + s.service)
        for s, a, b in zip(stops, timing.arrivals, timing.starts, strict=True)
    )
    dims = max([len(vehicle.capacity), *(len(s.demand) for s in stops)])
    return Route(
        vehicle_id=vehicle.id,
        visits=visits,
        distance=route_distance(problem.distance, vehicle, stops),
        duration=timing.end - depart,
        start=depart,
        end=timing.end,
        load=load_of(stops, dims),
    )


def build_solution(
    problem: Problem,
    plan: Sequence[Sequence[int]],
    dropped: Sequence[Dropped],
    *,
    solver: str,
    runtime: float,
    stats: dict[str, object] | None = None,
) -> Solution:
    """Solution from `plan[v]` = the stop indices vehicle v visits, in order; unused vehicles are omitted."""
    routes = tuple(
        make_route(problem, problem.vehicles[v], [problem.stops[i] for i in order])
        for v, order in enumerate(plan)
        if order
    )
    return Solution(routes=routes, dropped=tuple(dropped), solver=solver, runtime=runtime, stats=dict(stats or {}))
