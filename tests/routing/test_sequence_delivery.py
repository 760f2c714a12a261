"""Day sequencing and delivery trips: the product wrappers over solve()."""

from __future__ import annotations

from typing import Any

from routing.check import check
from routing.delivery import Drop, Truck, plan_trips, trips_problem
from routing.sequence import day_problem, sequence_route
from tests.routing.helpers import beat

BEAT_2_BEST = 29_400  # metres: best distance found for beat(2) by long runs of both backends


def test_sixty_outlet_day_in_under_a_second() -> None:
    day: dict[str, Any] = beat(2)
    solution = sequence_route(**day, time_limit=1.0, seed=0)
    assert check(day_problem(**day), solution) == []
    assert solution.dropped == ()
    assert solution.runtime < 1.2
    # Measured on an idle core: equal to the best; the margin absorbs a busy machine (fewer iterations per second).
    assert solution.distance <= BEAT_2_BEST * 1.03


def test_sequence_reports_ids_and_unreachable_outlets() -> None:
    solution = sequence_route(
        points=[(31.50, 74.30), (31.51, 74.31), (31.90, 74.90)],
        depot=(31.50, 74.31),
        service_s=[300, 300, 300],
        windows=[[], [(10 * 3600, 12 * 3600)], [(9 * 3600, 9 * 3600 + 600)]],
        shift=(9 * 3600, 17 * 3600),
        ids=["a", "b", "far"],
        time_limit=0.3,
    )
    assert set(solution.routes[0].stop_ids) == {"a", "b"}
    assert solution.routes[0].visits[-1].start >= 10 * 3600 or solution.routes[0].stop_ids[0] == "b"
    (dropped,) = solution.dropped
    assert dropped.stop_id == "far"
    assert "09:00-09:10 closes before the earliest possible arrival" in dropped.reason


def _drops() -> list[Drop]:
    base = (31.50, 74.30)
    drops = []
    for i in range(12):
        lat, lng = base[0] + 0.01 * (i % 4), base[1] + 0.012 * (i // 4)
        drops.append(Drop(f"o{i}", (lat, lng), weight_kg=120.5, volume_l=200.0, cases=20,
                          windows=((9 * 3600, 17 * 3600),)))
    return drops


def _trucks() -> list[Truck]:
    return [Truck(f"t{k}", weight_kg=500.0, volume_l=1000.0, cases=80, shift=(8 * 3600, 18 * 3600)) for k in range(3)]


def test_trips_respect_every_capacity_dimension() -> None:
    drops, trucks = _drops(), _trucks()
    solution = plan_trips(drops, trucks, depot=(31.49, 74.29), time_limit=1.0)
    problem = trips_problem(drops, trucks, depot=(31.49, 74.29))
    assert check(problem, solution) == []
    assert solution.dropped == ()
    assert len(solution.routes) == 3  # 4 drops of 120.5 kg fill 482 of 500 kg: three trucks needed
    for route in solution.routes:
        assert route.load == (482_000, 800_000, 80)
        for visit in route.visits:
            assert visit.departure - visit.start == 300 + 6 * 20  # service grows with the drop size


def test_trips_drop_what_no_truck_carries_with_a_reason() -> None:
    drops = [*_drops()[:2], Drop("huge", (31.5, 74.3), weight_kg=600.0)]
    solution = plan_trips(drops, _trucks(), depot=(31.49, 74.29), time_limit=0.5)
    (dropped,) = solution.dropped
    assert dropped.stop_id == "huge"
    assert dropped.reason == "its demand of 600 kg exceeds the capacity of every vehicle (largest 500 kg)"


def test_decimal_weights_are_not_inflated_by_rounding() -> None:
    problem = trips_problem([Drop("a", (31.5, 74.3), weight_kg=0.1, volume_l=0.3)],
                            [Truck("t", weight_kg=0.1, volume_l=0.3, cases=1)], depot=(31.5, 74.3))
    assert problem.stops[0].demand[:2] == problem.vehicles[0].capacity[:2] == (100, 300)
