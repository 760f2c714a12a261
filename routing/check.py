"""Independent feasibility checker: recomputes everything a `Solution` claims from the problem's matrices.

Rules checked (see also `routing.build`):
* accounting: every stop is served exactly once or reported dropped (never both, never twice); ids are known;
  each vehicle drives at most one route;
* capacity: the route's load per dimension is the sum of its stops' demands and within the vehicle's capacity;
  at most `max_stops` visits;
* time: arrival = previous departure (or the route start) + travel time; service starts no earlier than the
  arrival and inside one of the stop's windows (waiting allowed); departure = start + service time; the vehicle
  leaves at or after its shift start and is back, at `end` = last departure + travel time, by the shift end;
* reported figures: route distance (recomputed from the distance matrix), duration = end - start, and load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from routing.model import Problem, Route, Solution, Stop, Vehicle


def check(problem: Problem, solution: Solution) -> list[str]:
    """Human-readable violations of `solution` for `problem`; an empty list means feasible and consistent."""
    issues: list[str] = []
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    issues += _check_accounting(problem, solution, stops)
    used: Counter[str] = Counter(r.vehicle_id for r in solution.routes)
    issues += [f"vehicle {vid} drives {n} routes (at most one allowed)" for vid, n in sorted(used.items()) if n > 1]
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            issues.append(f"route of unknown vehicle {route.vehicle_id}")
            continue
        known = [stops[v.stop_id] for v in route.visits if v.stop_id in stops]
        if len(known) != len(route.visits):
            continue  # unknown ids are already reported by the accounting check
        issues += _check_load(route, vehicle, known)
        issues += _check_times(problem, route, vehicle, known)
        issues += _check_distance(problem, route, vehicle, known)
    return issues


def _check_accounting(problem: Problem, solution: Solution, stops: dict[str, Stop]) -> list[str]:
    issues: list[str] = []
    served: Counter[str] = Counter(v.stop_id for r in solution.routes for v in r.visits)
    dropped: Counter[str] = Counter(d.stop_id for d in solution.dropped)
    for sid in sorted(set(served) | set(dropped)):
        if sid not in stops:
            issues.append(f"unknown stop {sid} in the solution")
    for sid, n in sorted(served.items()):
        if n > 1:
            issues.append(f"stop {sid} is visited {n} times")
    for sid, n in sorted(dropped.items()):
        if n > 1:
            issues.append(f"stop {sid} is reported dropped {n} times")
        if sid in served:
            issues.append(f"stop {sid} is both visited and reported dropped")
    for d in solution.dropped:
        if not d.reason.strip():
            issues.append(f"stop {d.stop_id} is dropped without a reason")
    for stop in problem.stops:
        if stop.id not in served and stop.id not in dropped:
            kind = "required" if stop.required else "optional"
            issues.append(f"{kind} stop {stop.id} is neither visited nor reported dropped")
    return issues


def _check_load(route: Route, vehicle: Vehicle, stops: Sequence[Stop]) -> list[str]:
    issues: list[str] = []
    dims = max([len(vehicle.capacity), len(route.load), *(len(s.demand) for s in stops)])
    load = [0] * dims
    for stop in stops:
        for k, amount in enumerate(stop.demand):
            load[k] += amount
    if route.load and list(route.load) + [0] * (dims - len(route.load)) != load:
        issues.append(f"route {route.vehicle_id}: reported load {tuple(route.load)} but the stops add up to "
                      f"{tuple(load)}")
    for k, cap in enumerate(vehicle.capacity):
        if load[k] > cap:
            issues.append(f"route {route.vehicle_id}: load {load[k]} exceeds capacity {cap} in dimension {k}")
    if vehicle.max_stops is not None and len(stops) > vehicle.max_stops:
        issues.append(f"route {route.vehicle_id}: {len(stops)} stops exceed max_stops {vehicle.max_stops}")
    return issues


def _in_windows(start: int, windows: Sequence[tuple[int, int]]) -> bool:
    return not windows or any(a <= start <= b for a, b in windows)


def _check_times(problem: Problem, route: Route, vehicle: Vehicle, stops: Sequence[Stop]) -> list[str]:
    issues: list[str] = []
    rid, time = route.vehicle_id, problem.time
    if route.start < vehicle.shift[0]:
        issues.append(f"route {rid}: leaves the depot at {route.start}, before the shift start {vehicle.shift[0]}")
    clock, here = route.start, vehicle.start_node
    for visit, stop in zip(route.visits, stops, strict=True):
        arrival = clock + int(time[here][stop.node])
        if visit.arrival != arrival:
            issues.append(f"route {rid}: stop {stop.id} reported arrival {visit.arrival}, recomputed {arrival}")
        if visit.start < arrival:
            issues.append(f"route {rid}: stop {stop.id} starts service at {visit.start}, before arriving at "
                          f"{arrival}")
        if not _in_windows(visit.start, stop.windows):
            issues.append(f"route {rid}: stop {stop.id} starts service at {visit.start}, outside its windows "
                          f"{list(stop.windows)}")
        if visit.departure != visit.start + stop.service:
            issues.append(f"route {rid}: stop {stop.id} departs at {visit.departure}, expected start + service = "
                          f"{visit.start + stop.service}")
        clock, here = max(visit.departure, arrival + stop.service), stop.node
    end = clock + int(time[here][vehicle.end_node])
    if route.end != end:
        issues.append(f"route {rid}: reported return {route.end}, recomputed {end}")
    if max(end, route.end) > vehicle.shift[1]:
        issues.append(f"route {rid}: back at the depot at {max(end, route.end)}, after the shift end "
                      f"{vehicle.shift[1]}")
    if route.duration != route.end - route.start:
        issues.append(f"route {rid}: reported duration {route.duration}, but end - start = "
                      f"{route.end - route.start}")
    return issues


def _check_distance(problem: Problem, route: Route, vehicle: Vehicle, stops: Sequence[Stop]) -> list[str]:
    nodes = [vehicle.start_node, *(s.node for s in stops), vehicle.end_node]
    distance = sum(int(problem.distance[a][b]) for a, b in zip(nodes, nodes[1:], strict=False))
    if route.distance != distance:
        return [f"route {route.vehicle_id}: reported distance {route.distance}, recomputed {distance}"]
    return []
