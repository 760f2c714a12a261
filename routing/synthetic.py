"""Synthetic order-booker days (seeded, reproducible): the 60-outlet sequencing benchmark, the routing tests and
anything else that needs a realistic day without a database. Each returns keyword arguments for
`routing.sequence.sequence_route` / `day_problem` (without the time limit)."""

from __future__ import annotations

import random


def beat(seed: int, n: int = 60) -> dict[str, object]:
    """An order booker's day: n outlets within ~3 x 3 km of Lahore, most open all day, some mornings or
    afternoons only, a few with a lunch break; 4-8 minutes per visit; the office ~3 km away; 09:00-18:00 at 15 km/h.
    Keyword arguments for `routing.sequence.sequence_route` (without the time limit)."""
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
