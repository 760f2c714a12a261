"""Readers for public VRPTW benchmark instances (Solomon, Gehring & Homberger), DIMACS-2021 convention.

Convention (the one of `bks_dimacs_distance` in ../shared/data/vrptw/bks.csv): every Euclidean distance is
scaled by 10 and truncated to an integer, and the distance doubles as travel time; ready times, due dates,
service times and the depot horizon are scaled by 10 as well. Objective: total distance, any number of routes
up to the fleet size in the file. A BKS of 827.3 therefore corresponds to 8273 in these units.
"""

from __future__ import annotations

import math
from pathlib import Path

from routing.model import Problem, Stop, Vehicle

SCALE = 10


def dimacs_distance(a: tuple[float, float], b: tuple[float, float], scale: int = SCALE) -> int:
    """floor(scale * euclidean distance), exact for integer coordinates (integer square root)."""
    dx, dy = a[0] - b[0], a[1] - b[1]
    if float(dx).is_integer() and float(dy).is_integer():
        return math.isqrt(int(scale * scale * (dx * dx + dy * dy)))
    return math.floor(scale * math.hypot(dx, dy))


def _rows(text: str) -> tuple[tuple[int, int], list[list[float]]]:
    """(fleet size, capacity) and the numeric customer rows (depot first) of a Solomon-format file."""
    lines = [line.split() for line in text.splitlines()]
    fleet: tuple[int, int] | None = None
    rows: list[list[float]] = []
    for i, parts in enumerate(lines):
        if parts and parts[0].upper() == "NUMBER" and fleet is None:
            nxt = next(p for p in lines[i + 1 :] if p)
            fleet = (int(nxt[0]), int(nxt[1]))
        elif len(parts) == 7 and all(_is_number(p) for p in parts):
            rows.append([float(p) for p in parts])
    if fleet is None or not rows:
        raise ValueError("not a Solomon-format VRPTW file (no VEHICLE section or no customer rows)")
    return fleet, rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_solomon(path: str | Path, *, scale: int = SCALE) -> Problem:
    """Read a Solomon / Homberger VRPTW text file into a Problem (DIMACS convention, see the module docstring).

    Node 0 is the depot; stop ids are the customer numbers as strings; vehicles "v0".."v{K-1}" share the
    capacity from the file and the depot horizon [ready, due] as their shift. `duration` is None, so the
    distance matrix is also the travel-time matrix.
    """
    path = Path(path)
    (fleet, capacity), rows = _rows(path.read_text())
    coords = [(r[1], r[2]) for r in rows]
    distance = [[dimacs_distance(a, b, scale) for b in coords] for a in coords]
    depot = rows[0]
    stops = tuple(
        Stop(
            id=str(int(r[0])),
            node=i,
            service=int(round(r[6] * scale)),
            windows=((int(round(r[4] * scale)), int(round(r[5] * scale))),),
            demand=(int(r[3]),),
        )
        for i, r in enumerate(rows)
        if i > 0
    )
    shift = (int(round(depot[4] * scale)), int(round(depot[5] * scale)))
    vehicles = tuple(Vehicle(id=f"v{k}", start_node=0, end_node=0, shift=shift, capacity=(capacity,))
                     for k in range(fleet))
    lines = path.read_text().splitlines()
    name = lines[0].strip() if lines and lines[0].strip() else path.stem
    return Problem(distance=distance, stops=stops, vehicles=vehicles, name=name)
