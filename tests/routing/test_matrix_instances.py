"""Travel matrices from coordinates and the Solomon reader (DIMACS convention)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from routing.instances import dimacs_distance, read_solomon
from routing.matrix import haversine_m, travel_arrays, travel_matrices

SOLOMON = Path("/work/shared/data/vrptw/solomon")


def test_haversine_one_degree_of_latitude() -> None:
    assert haversine_m((0.0, 0.0), (1.0, 0.0)) == pytest.approx(111_195, abs=1)
    assert haversine_m((31.5, 74.3), (31.5, 74.3)) == 0.0


def test_travel_matrices_apply_road_factor_and_speed() -> None:
    points = [(31.5, 74.3), (31.51, 74.3), (31.5, 74.32)]
    distance, duration = travel_matrices(points, road_factor=1.5, speed_kmh=36.0)  # 36 km/h = 10 m/s
    straight = haversine_m(points[0], points[1])
    assert distance[0][1] == round(1.5 * straight)
    assert duration[0][1] == round(1.5 * straight / 10)
    assert all(distance[i][i] == 0 and duration[i][i] == 0 for i in range(3))
    assert distance == [list(row) for row in zip(*distance, strict=True)]  # symmetric
    assert all(isinstance(v, int) for row in distance + duration for v in row)


def test_travel_matrices_are_vectorised_for_thousands_of_points() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([31.4 + rng.random(2500) * 0.3, 74.2 + rng.random(2500) * 0.3])
    started = time.perf_counter()
    distance, duration = travel_arrays(points)
    assert time.perf_counter() - started < 5.0
    assert distance.shape == duration.shape == (2500, 2500) and distance.dtype == np.int64


def test_dimacs_distance_truncates_exactly() -> None:
    assert dimacs_distance((0, 0), (3, 4)) == 50
    assert dimacs_distance((0, 0), (1, 1)) == 14  # 14.142...
    assert dimacs_distance((40, 50), (45, 68)) == 186  # C101 depot -> customer 1: 18.68...


@pytest.mark.skipif(not SOLOMON.is_dir(), reason="benchmark data not available")
def test_read_solomon_c101() -> None:
    problem = read_solomon(SOLOMON / "C101.txt")
    assert problem.name == "C101"
    assert len(problem.stops) == 100 and len(problem.vehicles) == 25
    assert problem.vehicles[0].capacity == (200,) and problem.vehicles[0].shift == (0, 12360)
    first = problem.stops[0]
    assert (first.id, first.node, first.service, first.windows, first.demand) == ("1", 1, 900, ((9120, 9670),), (10,))
    assert problem.duration is None and problem.time is problem.distance
