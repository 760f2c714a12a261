"""The independent checker: a correct plan passes, and every kind of violation is reported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from routing.build import make_route
from routing.check import check
from routing.model import Dropped, Problem, Route, Solution, Stop, Vehicle, Visit
from tests.routing.helpers import forced_order, line, two_trucks


def _solution(problem: Problem, plan: dict[str, list[str]], dropped: tuple[Dropped, ...] = ()) -> Solution:
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    routes = tuple(make_route(problem, vehicles[vid], [stops[s] for s in ids]) for vid, ids in plan.items())
    return Solution(routes=routes, dropped=dropped)


def _edit_visit(route: Route, k: int, **changes: Any) -> Route:
    visits = list(route.visits)
    visits[k] = replace(visits[k], **changes)
    return replace(route, visits=tuple(visits))


def test_a_correct_plan_passes() -> None:
    problem = forced_order()
    solution = _solution(problem, {"v": ["s3", "s1", "s2"]})
    assert check(problem, solution) == []
    route = solution.routes[0]
    assert route.distance == 80
    assert route.start == 10  # leaves as late as the s3 window allows, so no waiting is avoidable
    assert [v.start for v in route.visits] == [40, 100, 150]
    assert (route.end, route.duration) == (175, 165)


def test_departure_is_delayed_to_avoid_waiting_at_the_first_stop() -> None:
    problem = Problem(distance=line(2), stops=(Stop("s", 1, windows=((100, 200),)),), vehicles=(Vehicle("v", 0, 0),))
    route = _solution(problem, {"v": ["s"]}).routes[0]
    assert (route.start, route.visits[0].arrival, route.duration) == (90, 100, 20)
    assert check(problem, Solution(routes=(route,))) == []


def test_capacity_violation() -> None:
    problem = two_trucks()
    solution = _solution(problem, {"a": ["s1", "s2", "s3"], "b": ["s4"]})
    assert any("exceeds capacity 10" in v for v in check(problem, solution))


def test_max_stops_violation() -> None:
    problem = two_trucks()
    problem = replace(problem, vehicles=tuple(replace(v, max_stops=1) for v in problem.vehicles))
    solution = _solution(problem, {"a": ["s1", "s2"], "b": ["s3", "s4"]})
    assert sum("max_stops" in v for v in check(problem, solution)) == 2


def test_window_violation() -> None:
    problem = forced_order()
    solution = _solution(problem, {"v": ["s3", "s1", "s2"]})
    late = _edit_visit(solution.routes[0], 1, start=130, departure=135)
    issues = check(problem, replace(solution, routes=(late,)))
    assert any("s1 starts service at 130, outside its windows" in v for v in issues)


def test_service_time_and_arrival_consistency() -> None:
    problem = forced_order()
    solution = _solution(problem, {"v": ["s3", "s1", "s2"]})
    short = _edit_visit(solution.routes[0], 0, departure=41)  # service is 5
    issues = check(problem, replace(solution, routes=(short,)))
    assert any("s3 departs at 41" in v for v in issues)
    early = _edit_visit(solution.routes[0], 0, arrival=10, start=10, departure=15)
    issues = check(problem, replace(solution, routes=(early,)))
    assert any("reported arrival 10, recomputed 40" in v for v in issues)
    assert any("before arriving" in v for v in issues)


def test_shift_violations() -> None:
    problem = forced_order()
    problem = replace(problem, vehicles=(Vehicle("v", 0, 0, shift=(20, 170)),))
    solution = _solution(replace(problem, vehicles=(Vehicle("v", 0, 0, shift=(0, 1000)),)), {"v": ["s3", "s1", "s2"]})
    issues = check(problem, solution)
    assert any("before the shift start 20" in v for v in issues)
    assert any("after the shift end 170" in v for v in issues)


def test_reported_figures_are_recomputed() -> None:
    problem = forced_order()
    route = _solution(problem, {"v": ["s3", "s1", "s2"]}).routes[0]
    bad = replace(route, distance=79, duration=1, end=176, load=(3,))
    issues = check(problem, Solution(routes=(bad,)))
    assert any("reported distance 79, recomputed 80" in v for v in issues)
    assert any("reported return 176, recomputed 175" in v for v in issues)
    assert any("reported duration 1" in v for v in issues)
    assert any("reported load" in v for v in issues)


def test_dropped_accounting() -> None:
    problem = two_trucks()
    missing = _solution(problem, {"a": ["s1", "s2"], "b": ["s3"]})
    assert check(problem, missing) == ["required stop s4 is neither visited nor reported dropped"]
    reported = replace(missing, dropped=(Dropped("s4", "too far"),))
    assert check(problem, reported) == []
    both = replace(missing, dropped=(Dropped("s4", "too far"), Dropped("s3", "no room")))
    assert "stop s3 is both visited and reported dropped" in check(problem, both)
    twice = replace(missing, dropped=(Dropped("s4", "too far"), Dropped("s4", "too far")))
    assert "stop s4 is reported dropped 2 times" in check(problem, twice)
    silent = replace(missing, dropped=(Dropped("s4", " "),))
    assert "stop s4 is dropped without a reason" in check(problem, silent)


def test_duplicates_and_unknowns() -> None:
    problem = two_trucks()
    solution = _solution(problem, {"a": ["s1", "s2"], "b": ["s3", "s4"]})
    a, b = solution.routes
    twice = replace(b, visits=b.visits + a.visits[:1])
    issues = check(problem, replace(solution, routes=(a, twice)))
    assert "stop s1 is visited 2 times" in issues
    ghost = replace(b, vehicle_id="zz")
    assert "route of unknown vehicle zz" in check(problem, replace(solution, routes=(a, ghost)))
    again = replace(b, vehicle_id="a")
    assert "vehicle a drives 2 routes (at most one allowed)" in check(problem, replace(solution, routes=(a, again)))
    stranger = replace(b, visits=(*b.visits, Visit("nobody", 0, 0, 0)))
    assert "unknown stop nobody in the solution" in check(problem, replace(solution, routes=(a, stranger)))
