"""Sequencing one person's or one vehicle's day: the visiting order of a set of outlets (TSP with time windows).

Times are seconds since midnight, durations seconds, distances metres; travel comes from coordinates
(great-circle distance x road factor / speed, see `routing.matrix`).
"""

from __future__ import annotations

from collections.abc import Sequence

from routing.backend import Progress
from routing.matrix import travel_matrices
from routing.model import Problem, Solution, Stop, Vehicle
from routing.precheck import Formats, clock
from routing.solve import solve

Window = tuple[int, int]
SECONDS = Formats(time=clock, duration=lambda s: f"{s // 60} min")

# Iterations without improvement after which a longer search stops (about 8 s on a 60-stop day); a run that ends
# this way is reproducible. Within the default 1 s it never triggers (about 700 iterations per second).
PATIENCE = 5_000


def sequence_route(
    *,
    points: Sequence[tuple[float, float]],
    depot: tuple[float, float],
    service_s: int | Sequence[int] = 0,
    windows: Sequence[Sequence[Window]] | None = None,
    shift: Window = (0, 86_400),
    road_factor: float = 1.3,
    speed_kmh: float = 25.0,
    time_limit: float = 1.0,
    seed: int = 0,
    ids: Sequence[str] | None = None,
    solver: str = "auto",
    progress: Progress | None = None,
    workers: int = 1,
) -> Solution:
    """Best visiting order for `points` (lat, lng), leaving `depot` and returning to it within `shift`.

    `service_s`: service seconds, one for all or one per point; `windows[i]`: allowed start-of-service intervals
    of point i (empty: any time); `ids[i]`: the stop id reported (default: the index as a string). Minimises
    distance. Points that cannot be visited in time come back in `dropped` with the reason (times as HH:MM).
    """
    problem = day_problem(points=points, depot=depot, service_s=service_s, windows=windows, shift=shift,
                          road_factor=road_factor, speed_kmh=speed_kmh, ids=ids)
    return solve(problem, time_limit=time_limit, seed=seed, solver=solver, progress=progress, patience=PATIENCE,
                 formats=SECONDS, workers=workers)


def day_problem(
    *,
    points: Sequence[tuple[float, float]],
    depot: tuple[float, float],
    service_s: int | Sequence[int] = 0,
    windows: Sequence[Sequence[Window]] | None = None,
    shift: Window = (0, 86_400),
    road_factor: float = 1.3,
    speed_kmh: float = 25.0,
    ids: Sequence[str] | None = None,
) -> Problem:
    """The one-vehicle Problem behind `sequence_route` (node 0 is the depot, node i + 1 is point i)."""
    n = len(points)
    services = [service_s] * n if isinstance(service_s, int) else list(service_s)
    spans = [()] * n if windows is None else [tuple(w) for w in windows]
    names = [str(i) for i in range(n)] if ids is None else list(ids)
    if not len(services) == len(spans) == len(names) == n:
        raise ValueError("service_s, windows and ids must have one entry per point")
    distance, duration = travel_matrices([depot, *points], road_factor=road_factor, speed_kmh=speed_kmh)
    stops = tuple(
        Stop(id=names[i], node=i + 1, service=services[i], windows=tuple(sorted(spans[i]))) for i in range(n)
    )
    vehicle = Vehicle(id="day", start_node=0, end_node=0, shift=shift)
    return Problem(distance=distance, duration=duration, stops=stops, vehicles=(vehicle,), name="day route")
