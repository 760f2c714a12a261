"""Input validation and the stops no plan can serve, found before any solver runs, each with a reason.

A stop is impossible when, even on a route serving nothing else, no vehicle can carry its demand, or no vehicle
can reach it inside one of its windows (leaving the depot at the shift start) and still be back by the shift end,
or the vehicles that can carry it are not the ones that can reach it in time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from routing.build import earliest_start
from routing.model import Dropped, Problem, Stop, Vehicle


def clock(seconds: int) -> str:
    """Seconds since midnight as HH:MM (days beyond the first add +1d, +2d...): 27000 -> "07:30"."""
    days, rest = divmod(int(seconds), 86_400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}"
    return text if days == 0 else f"{text} (+{days}d)"


@dataclass(frozen=True)
class Formats:
    """How reasons print values: `time` formats a time of day (`clock` for seconds since midnight), `duration`
    a length of time, `dimensions` names the capacity dimensions with their unit (e.g. ("kg", "litres", "cases"))."""

    time: Callable[[int], str] = str
    dimensions: tuple[str, ...] = ()
    duration: Callable[[int], str] = str
    scales: tuple[int, ...] = ()  # the solver's units per printed unit, per dimension (e.g. 1000 g per kg)

    def amount(self, k: int, value: int) -> str:
        if k >= len(self.dimensions):
            return f"{value} (dimension {k + 1})"
        scale = self.scales[k] if k < len(self.scales) else 1
        return f"{value / scale:g} {self.dimensions[k]}"

    def windows(self, windows: Sequence[tuple[int, int]]) -> str:
        return ", ".join(f"{self.time(a)}-{self.time(b)}" for a, b in windows)


def validate(problem: Problem) -> None:
    """Raise ValueError for malformed input: bad matrix shape, unknown nodes, duplicate ids, bad windows or
    demand/capacity dimensions that do not match."""
    n = len(problem.distance)
    if any(len(row) != n for row in problem.distance):
        raise ValueError("the distance matrix must be square")
    if problem.duration is not None and (len(problem.duration) != n or any(len(r) != n for r in problem.duration)):
        raise ValueError("the duration matrix must have the shape of the distance matrix")
    if problem.objective not in ("distance", "duration"):
        raise ValueError(f"unknown objective {problem.objective!r}")
    _unique("stop", [s.id for s in problem.stops])
    _unique("vehicle", [v.id for v in problem.vehicles])
    dims = {len(v.capacity) for v in problem.vehicles}
    if len(dims) > 1:
        raise ValueError("all vehicles must have the same number of capacity dimensions")
    ndim = dims.pop() if dims else 0
    for v in problem.vehicles:
        if not (0 <= v.start_node < n and 0 <= v.end_node < n):
            raise ValueError(f"vehicle {v.id}: depot node outside the matrix")
        if v.shift[0] > v.shift[1]:
            raise ValueError(f"vehicle {v.id}: shift ends before it starts")
    for s in problem.stops:
        _validate_stop(s, n, ndim)


def _unique(kind: str, ids: Sequence[str]) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{kind} ids must be unique")


def _validate_stop(stop: Stop, n: int, ndim: int) -> None:
    if not 0 <= stop.node < n:
        raise ValueError(f"stop {stop.id}: node {stop.node} outside the matrix")
    if stop.demand and len(stop.demand) != ndim:
        raise ValueError(f"stop {stop.id}: {len(stop.demand)} demand values for {ndim} capacity dimensions")
    if any(a < 0 for a in stop.demand) or stop.service < 0:
        raise ValueError(f"stop {stop.id}: negative demand or service time")
    previous = None
    for a, b in stop.windows:
        if a > b or (previous is not None and a <= previous):
            raise ValueError(f"stop {stop.id}: windows must be non-empty, sorted and disjoint")
        previous = b


def fits_alone(problem: Problem, vehicle: Vehicle, stop: Stop) -> bool:
    """Whether `vehicle` can serve `stop` on an otherwise empty route, in time (capacity is separate)."""
    arrival = vehicle.shift[0] + int(problem.time[vehicle.start_node][stop.node])
    start, _, late = earliest_start(arrival, stop.windows)
    back = start + stop.service + int(problem.time[stop.node][vehicle.end_node])
    return late == 0 and back <= vehicle.shift[1]


def carries(vehicle: Vehicle, stop: Stop) -> bool:
    """Whether the stop's demand fits the vehicle's capacity in every dimension (and it may make a stop)."""
    fits = not vehicle.capacity or all(d <= c for d, c in zip(stop.demand, vehicle.capacity, strict=False))
    return fits and (vehicle.max_stops is None or vehicle.max_stops > 0)


def usable(problem: Problem, vehicle: Vehicle) -> bool:
    """A vehicle can drive at all: from its start to its end depot within its shift."""
    return vehicle.shift[0] + int(problem.time[vehicle.start_node][vehicle.end_node]) <= vehicle.shift[1]


def impossible(problem: Problem, formats: Formats) -> dict[int, Dropped]:
    """Stop index -> Dropped (with the reason) for every stop no vehicle can serve even on its own."""
    distinct = {(v.start_node, v.end_node, v.shift, v.capacity, v.max_stops): v for v in problem.vehicles}
    vehicles = [v for v in distinct.values() if usable(problem, v)]
    out: dict[int, Dropped] = {}
    for i, stop in enumerate(problem.stops):
        reason = _reason(problem, vehicles, stop, formats)
        if reason:
            out[i] = Dropped(stop.id, reason)
    return out


def _reason(problem: Problem, vehicles: Sequence[Vehicle], stop: Stop, formats: Formats) -> str:
    if not vehicles:
        return "no vehicle can leave and return to its depot within its shift, so nothing can be served"
    carriers = [v for v in vehicles if carries(v, stop)]
    if not carriers:
        return _capacity_reason(vehicles, stop, formats)
    in_time = [v for v in vehicles if fits_alone(problem, v, stop)]
    if not in_time:
        return _time_reason(problem, vehicles, stop, formats)
    if not any(v in in_time for v in carriers):
        return "no single vehicle can both carry its demand and reach it within its time windows and shift"
    return ""


def _capacity_reason(vehicles: Sequence[Vehicle], stop: Stop, formats: Formats) -> str:
    if all(v.max_stops == 0 for v in vehicles):
        return "no vehicle may make any stop (max_stops is 0)"
    for k, amount in enumerate(stop.demand):
        largest = max(v.capacity[k] for v in vehicles)
        if amount > largest:
            return (f"its demand of {formats.amount(k, amount)} exceeds the capacity of every vehicle "
                    f"(largest {formats.amount(k, largest)})")
    return "no vehicle has enough capacity for its demand in every dimension at once"


def _time_reason(problem: Problem, vehicles: Sequence[Vehicle], stop: Stop, formats: Formats) -> str:
    earliest = min(v.shift[0] + int(problem.time[v.start_node][stop.node]) for v in vehicles)
    if stop.windows and earliest > stop.windows[-1][1]:
        return (f"its time window {formats.windows(stop.windows)} closes before the earliest possible arrival "
                f"from the depot ({formats.time(earliest)})")
    latest_end = max(v.shift[1] for v in vehicles)
    if stop.windows:
        return (f"serving it within its time window {formats.windows(stop.windows)} leaves no time to get back to "
                f"the depot before the shift ends ({formats.time(latest_end)})")
    return (f"reaching it, serving it ({formats.duration(stop.service)}) and returning does not fit in any vehicle's "
            f"shift (ends {formats.time(latest_end)} at the latest)")
