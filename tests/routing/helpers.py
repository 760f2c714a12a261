"""Small hand-made routing problems shared by the routing tests."""

from __future__ import annotations

from routing.model import Problem, Stop, Vehicle
from routing.synthetic import beat, tight_day

__all__ = ["beat", "forced_order", "line", "square_tsp", "tight_day", "two_trucks"]


def line(n: int, step: int = 10) -> list[list[int]]:
    """Distances between n points on a line, `step` apart (node 0 at one end)."""
    return [[abs(i - j) * step for j in range(n)] for i in range(n)]


def square_tsp() -> Problem:
    """Depot in the middle of a square's bottom side, six stops on the square: the optimum walks the perimeter."""
    coords = [(2, 0), (0, 0), (0, 2), (0, 4), (4, 4), (4, 2), (4, 0)]
    dist = [[abs(a[0] - b[0]) * 10 + abs(a[1] - b[1]) * 10 for b in coords] for a in coords]
    stops = tuple(Stop(id=f"s{i}", node=i) for i in range(1, 7))
    return Problem(distance=dist, stops=stops, vehicles=(Vehicle("v", 0, 0),), name="square")


def two_trucks() -> Problem:
    """Four stops of demand 5 with trucks of capacity 10: two trucks needed, stops 1-2 left, 3-4 right."""
    coords = [0, -10, -20, 10, 20]
    dist = [[abs(a - b) for b in coords] for a in coords]
    stops = tuple(Stop(id=f"s{i}", node=i, demand=(5,)) for i in range(1, 5))
    vehicles = (Vehicle("a", 0, 0, capacity=(10,)), Vehicle("b", 0, 0, capacity=(10,)))
    return Problem(distance=dist, stops=stops, vehicles=vehicles, name="two trucks")


def forced_order() -> Problem:
    """Stops on a line whose windows force the order s3, s1, s2 (not the geometric 1, 2, 3)."""
    dist = line(4)
    stops = (
        Stop("s1", 1, service=5, windows=((100, 120),)),
        Stop("s2", 2, service=5, windows=((150, 200),)),
        Stop("s3", 3, service=5, windows=((0, 40),)),
    )
    return Problem(distance=dist, stops=stops, vehicles=(Vehicle("v", 0, 0, shift=(0, 1000)),), name="forced")
