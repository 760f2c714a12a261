"""solve(): known optima on small instances, dropped stops with reasons, determinism, both backends."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from routing.check import check
from routing.model import Problem, Solution, Stop, Vehicle
from routing.precheck import Formats, clock
from routing.solve import choose, solve
from tests.routing.helpers import forced_order, line, square_tsp, two_trucks

BACKENDS = ["pyvrp", "ortools"]


def _solve(problem: Problem, solver: str, limit: float = 1.0, **kwargs: object) -> Solution:
    solution = solve(problem, time_limit=limit, solver=solver, **kwargs)  # type: ignore[arg-type]
    assert check(problem, solution) == []
    return solution


@pytest.mark.parametrize("solver", BACKENDS)
def test_square_tsp_walks_the_perimeter(solver: str) -> None:
    solution = _solve(square_tsp(), solver, 0.5)
    assert solution.distance == 160
    assert solution.dropped == ()
    assert solution.solver == solver


@pytest.mark.parametrize("solver", BACKENDS)
def test_windows_force_the_order(solver: str) -> None:
    solution = _solve(forced_order(), solver, 0.5)
    assert solution.routes[0].stop_ids == ("s3", "s1", "s2")
    assert solution.distance == 80


@pytest.mark.parametrize("solver", BACKENDS)
def test_capacity_forces_two_vehicles(solver: str) -> None:
    solution = _solve(two_trucks(), solver, 0.5)
    assert len(solution.routes) == 2
    assert solution.distance == 80
    assert sorted(sorted(r.stop_ids) for r in solution.routes) == [["s1", "s2"], ["s3", "s4"]]
    assert all(r.load == (10,) for r in solution.routes)


@pytest.mark.parametrize("solver", BACKENDS)
def test_impossible_stops_come_back_dropped_with_reasons(solver: str) -> None:
    base = two_trucks()
    stops = base.stops + (
        Stop("late", 2, windows=((0, 5),)),  # 20 away: the window closes before anyone gets there
        Stop("heavy", 1, demand=(11,)),  # more than any truck carries
    )
    problem = replace(base, stops=stops, vehicles=tuple(replace(v, shift=(0, 1000)) for v in base.vehicles))
    solution = _solve(problem, solver, 0.5)
    reasons = {d.stop_id: d.reason for d in solution.dropped}
    assert set(reasons) == {"late", "heavy"}
    assert "closes before the earliest possible arrival from the depot (20)" in reasons["late"]
    assert "exceeds the capacity of every vehicle (largest 10" in reasons["heavy"]
    assert sorted(s for r in solution.routes for s in r.stop_ids) == ["s1", "s2", "s3", "s4"]


@pytest.mark.parametrize("solver", BACKENDS)
def test_fleet_too_small_drops_with_a_capacity_reason(solver: str) -> None:
    problem = replace(two_trucks(), vehicles=two_trucks().vehicles[:1])
    solution = _solve(problem, solver, 0.5)
    assert len(solution.dropped) == 2
    assert all("spare capacity" in d.reason for d in solution.dropped)


@pytest.mark.parametrize("solver", BACKENDS)
def test_shift_too_short_drops_with_a_time_reason(solver: str) -> None:
    stops = tuple(Stop(f"s{i}", i, service=30) for i in range(1, 4))
    problem = Problem(distance=line(4), stops=stops, vehicles=(Vehicle("v", 0, 0, shift=(0, 90)),))
    solution = _solve(problem, solver, 0.5)  # any one stop fits in the 90 time units, never two
    assert len(solution.routes[0].visits) == 1 and len(solution.dropped) == 2
    assert all("working hours" in d.reason for d in solution.dropped)


@pytest.mark.parametrize("solver", BACKENDS)
def test_second_window_is_used_when_the_first_cannot_be_reached(solver: str) -> None:
    stops = (Stop("s", 2, windows=((0, 10), (50, 60))),)
    problem = Problem(distance=line(3), stops=stops, vehicles=(Vehicle("v", 0, 0, shift=(0, 100)),))
    solution = _solve(problem, solver, 0.5)
    assert solution.routes[0].visits[0].start == 50


@pytest.mark.parametrize("solver", BACKENDS)
def test_max_stops_splits_the_work(solver: str) -> None:
    base = two_trucks()
    problem = replace(base, vehicles=tuple(replace(v, capacity=(100,), max_stops=2) for v in base.vehicles))
    solution = _solve(problem, solver, 0.5)
    assert sorted(len(r.visits) for r in solution.routes) == [2, 2]


@pytest.mark.parametrize("solver", BACKENDS)
def test_optional_stops_are_served_only_when_worth_their_penalty(solver: str) -> None:
    stops = (Stop("near", 1), Stop("cheap", 5, required=False, penalty=10), Stop("dear", 4, required=False,
                                                                                  penalty=1000))
    problem = Problem(distance=line(6), stops=stops, vehicles=(Vehicle("v", 0, 0),))
    solution = _solve(problem, solver, 0.5)
    assert set(solution.routes[0].stop_ids) == {"near", "dear"}
    assert [(d.stop_id, "optional" in d.reason) for d in solution.dropped] == [("cheap", True)]


@pytest.mark.parametrize("solver", BACKENDS)
def test_duration_objective_avoids_waiting(solver: str) -> None:
    # Two ways round: by distance the same, but one of them waits for a window.
    dist = [[0, 10, 10, 14], [10, 0, 14, 10], [10, 14, 0, 10], [14, 10, 10, 0]]
    stops = (Stop("a", 1, windows=((0, 1000),)), Stop("b", 2, windows=((30, 40),)), Stop("c", 3))
    problem = Problem(distance=dist, stops=stops, vehicles=(Vehicle("v", 0, 0),), objective="duration")
    solution = _solve(problem, solver, 0.5)
    assert solution.routes[0].duration == 40  # leave at 20, b at 30, c at 40, a at 50, back at 60


def test_reasons_print_clock_times_when_asked() -> None:
    problem = Problem(distance=[[0, 3600], [3600, 0]], stops=(Stop("s", 1, windows=((7 * 3600, 7 * 3600 + 1800),)),),
                      vehicles=(Vehicle("v", 0, 0, shift=(8 * 3600, 18 * 3600)),))
    solution = solve(problem, time_limit=0.2, formats=Formats(time=clock))
    assert solution.dropped[0].reason == ("its time window 07:00-07:30 closes before the earliest possible arrival "
                                          "from the depot (09:00)")


def _random_vrptw(seed: int, n: int = 30) -> Problem:
    rng = random.Random(seed)
    coords = [(50, 50)] + [(rng.randint(0, 100), rng.randint(0, 100)) for _ in range(n)]
    dist = [[int(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5) for b in coords] for a in coords]
    stops = []
    for i in range(1, n + 1):
        open_ = rng.randint(100, 600)
        stops.append(Stop(str(i), i, service=20, windows=((open_, open_ + 200),), demand=(rng.randint(1, 20),)))
    vehicles = tuple(Vehicle(f"v{k}", 0, 0, shift=(0, 1000), capacity=(100,)) for k in range(8))
    return Problem(distance=dist, stops=tuple(stops), vehicles=vehicles, name=f"random{seed}")


@pytest.mark.parametrize("solver", BACKENDS)
def test_random_vrptw_is_feasible_and_complete(solver: str) -> None:
    problem = _random_vrptw(1)
    solution = _solve(problem, solver, 1.0)
    assert solution.dropped == ()


def test_same_seed_same_routes() -> None:
    problem = _random_vrptw(2)
    first = solve(problem, time_limit=5.0, seed=3, patience=300)
    second = solve(problem, time_limit=5.0, seed=3, patience=300)
    assert [r.stop_ids for r in first.routes] == [r.stop_ids for r in second.routes]
    assert first.runtime < 5.0  # it ended on patience, not on the clock: that is what makes it reproducible


def test_progress_is_reported() -> None:
    calls: list[tuple[float, str]] = []
    solve(_random_vrptw(3), time_limit=0.5, progress=lambda f, m: calls.append((f, m)))
    assert calls and all(0.0 <= f <= 1.0 for f, _ in calls)
    assert calls[-1][0] == 1.0 and calls[-1][1].startswith("done")


def test_auto_prefers_pyvrp_and_rejects_unknown_solvers() -> None:
    assert choose(square_tsp()) == "pyvrp"
    with pytest.raises(ValueError, match="unknown solver"):
        choose(square_tsp(), "gurobi")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stops": (Stop("a", 9),)}, "outside the matrix"),
        ({"stops": (Stop("a", 1), Stop("a", 2))}, "stop ids must be unique"),
        ({"stops": (Stop("a", 1, windows=((5, 1),)),)}, "windows must be"),
        ({"stops": (Stop("a", 1, demand=(1, 2)),)}, "demand values"),
        ({"objective": "fun"}, "unknown objective"),
    ],
)
def test_malformed_input_is_rejected(change: dict[str, object], message: str) -> None:
    problem = replace(two_trucks(), **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        solve(problem, time_limit=0.1)


def test_no_stops_and_no_usable_vehicle() -> None:
    empty = replace(square_tsp(), stops=())
    assert solve(empty, time_limit=0.1).routes == ()
    stuck = replace(square_tsp(), vehicles=(Vehicle("v", 0, 3, shift=(0, 5)),))
    solution = solve(stuck, time_limit=0.1)
    assert len(solution.dropped) == 6 and "within its shift" in solution.dropped[0].reason
