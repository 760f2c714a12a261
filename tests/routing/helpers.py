"""Small hand-made routing problems shared by the routing tests."""

from __future__ import annotations

from routing.model import Problem, Stop, Vehicle


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


def beat(seed: int, n: int = 60) -> dict[str, object]:
    """An order booker's day: n outlets within ~3 x 3 km of Lahore, most open all day, some mornings or
    afternoons only, a few with a lunch break; 4-8 minutes per visit; the office ~3 km away; 09:00-18:00 at 15 km/h.
    Keyword arguments for `routing.sequence.sequence_route` (without the time limit)."""
    import random

    rng = random.Random(seed)
    lat0, lng0 = 31.52 + rng.uniform(-0.05, 0.05), 74.35 + rng.uniform(-0.05, 0.05)
    points = [(lat0 + rng.uniform(-0.0135, 0.0135), lng0 + rng.uniform(-0.016, 0.016)) for _ in range(n)]
    windows: list[list[tuple[int, int]]] = []
    service = []
    for _ in range(n):
        r = rng.random()
        if r < 0.15:
            windows.append([(9 * 3600, 13 * 3600)])
        elif r < 0.25:
            windows.append([(14 * 3600, 18 * 3600)])
        elif r < 0.30:
            windows.append([(9 * 3600 + 1800, 12 * 3600 + 1800), (15 * 3600, 18 * 3600)])
        else:
            windows.append([(10 * 3600, 21 * 3600)])
        service.append(rng.choice([240, 300, 360, 420, 480]))
    return {"points": points, "depot": (lat0 - 0.02, lng0 - 0.02), "service_s": service, "windows": windows,
            "shift": (9 * 3600, 18 * 3600), "speed_kmh": 15.0}


def tight_day(seed: int, n: int = 60) -> dict[str, object]:
    """A harder day: n outlets over ~11 x 11 km, 30% mornings only (09-13), 30% afternoons only (14-19), 10% with
    two short windows, 4 minutes each, 08:30-20:00 at 25 km/h: travel takes about half the day."""
    import random

    rng = random.Random(seed)
    points = [(31.52 + rng.uniform(-0.05, 0.05), 74.35 + rng.uniform(-0.06, 0.06)) for _ in range(n)]
    windows: list[list[tuple[int, int]]] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            windows.append([(9 * 3600, 13 * 3600)])
        elif r < 0.6:
            windows.append([(14 * 3600, 19 * 3600)])
        elif r < 0.7:
            windows.append([(10 * 3600, 12 * 3600), (16 * 3600, 18 * 3600)])
        else:
            windows.append([])
    return {"points": points, "depot": (31.52, 74.35), "service_s": 240, "windows": windows,
            "shift": (8 * 3600 + 1800, 20 * 3600)}
