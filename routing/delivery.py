"""Delivery trips for one date: a day's drops across vehicles with weight / volume / case capacity (CVRPTW).

Units: weights in kg and volumes in litres (decimals allowed: the solver works in grams and millilitres, demand
rounded up and capacity down, so a plan never overloads a vehicle by rounding), cases in whole cases; times in
seconds since midnight; service time per drop = `service_fixed_s` + `service_per_case_s` x cases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from routing.backend import Progress
from routing.matrix import travel_matrices
from routing.model import Problem, Solution, Stop, Vehicle
from routing.precheck import Formats, clock
from routing.solve import solve

Window = tuple[int, int]
GRAMS_PER_KG = 1000
ML_PER_LITRE = 1000


@dataclass(frozen=True)
class Truck:
    """A delivery vehicle for the day; `shift` is when it may leave and must be back (seconds since midnight)."""

    id: str
    weight_kg: float
    volume_l: float
    cases: int
    shift: Window = (0, 86_400)
    max_stops: int | None = None
    fixed_cost: int = 0  # in metres of distance: using the vehicle costs as much as driving this far


@dataclass(frozen=True)
class Drop:
    """What one outlet receives: the (merged) invoices of the day, its location and receiving windows."""

    id: str
    point: tuple[float, float]
    weight_kg: float = 0.0
    volume_l: float = 0.0
    cases: int = 0
    windows: tuple[Window, ...] = ()
    required: bool = True


FORMATS = Formats(time=clock, dimensions=("kg", "litres", "cases"), scales=(GRAMS_PER_KG, ML_PER_LITRE, 1),
                  duration=lambda s: f"{s // 60} min")


def _up(value: float, scale: int) -> int:
    """value x scale rounded up, ignoring binary floating-point noise (0.1 kg -> 100 g, not 101 g)."""
    return math.ceil(round(value * scale, 6))


def _down(value: float, scale: int) -> int:
    return math.floor(round(value * scale, 6))


def plan_trips(
    drops: Sequence[Drop],
    trucks: Sequence[Truck],
    *,
    depot: tuple[float, float],
    service_fixed_s: int = 300,
    service_per_case_s: int = 6,
    road_factor: float = 1.3,
    speed_kmh: float = 30.0,
    time_limit: float = 5.0,
    seed: int = 0,
    solver: str = "auto",
    progress: Progress | None = None,
    workers: int = 1,
) -> Solution:
    """Routes from and back to `depot` (lat, lng) minimising distance; each route's visit order is the unloading
    order of its load form (load it in reverse). Drops that cannot be served come back in `dropped` with the
    reason (amounts in kg, litres and cases, times as HH:MM)."""
    problem = trips_problem(drops, trucks, depot=depot, service_fixed_s=service_fixed_s,
                            service_per_case_s=service_per_case_s, road_factor=road_factor, speed_kmh=speed_kmh)
    return solve(problem, time_limit=time_limit, seed=seed, solver=solver, progress=progress, formats=FORMATS,
                 workers=workers)


def trips_problem(
    drops: Sequence[Drop],
    trucks: Sequence[Truck],
    *,
    depot: tuple[float, float],
    service_fixed_s: int = 300,
    service_per_case_s: int = 6,
    road_factor: float = 1.3,
    speed_kmh: float = 30.0,
) -> Problem:
    """The Problem behind `plan_trips`: node 0 is the depot, node i + 1 is drop i; capacity dimensions are
    (grams, millilitres, cases)."""
    distance, duration = travel_matrices([depot, *(d.point for d in drops)], road_factor=road_factor,
                                         speed_kmh=speed_kmh)
    stops = tuple(
        Stop(
            id=d.id,
            node=i + 1,
            service=service_fixed_s + service_per_case_s * d.cases,
            windows=tuple(sorted(d.windows)),
            demand=(_up(d.weight_kg, GRAMS_PER_KG), _up(d.volume_l, ML_PER_LITRE), d.cases),
            required=d.required,
        )
        for i, d in enumerate(drops)
    )
    vehicles = tuple(
        Vehicle(
            id=t.id,
            start_node=0,
            end_node=0,
            shift=t.shift,
            capacity=(_down(t.weight_kg, GRAMS_PER_KG), _down(t.volume_l, ML_PER_LITRE), t.cases),
            max_stops=t.max_stops,
            fixed_cost=t.fixed_cost,
        )
        for t in trucks
    )
    return Problem(distance=distance, duration=duration, stops=stops, vehicles=vehicles, name="delivery trips")
