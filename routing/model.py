"""The routing problem and its solution, as plain dataclasses. No Django, no solver types.

Nodes are indices into the matrices: depots and stops each name their node. Units are the caller's:
the product uses metres and seconds; the VRPTW benchmarks use the instances' integer units
(distance = travel time, scaled by 10 and truncated, DIMACS convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Matrix = Sequence[Sequence[int]]


@dataclass(frozen=True)
class Stop:
    """A place to visit once. `windows` are allowed start-of-service intervals (empty: any time).

    `demand` has one entry per capacity dimension of the vehicles (e.g. kg, litres, cases).
    `required`: if False the solver may drop the stop at `penalty`; if True it is dropped only when no
    feasible plan serves it (then it is reported dropped with a reason, never silently lost).
    """

    id: str
    node: int
    service: int = 0
    windows: tuple[tuple[int, int], ...] = ()
    demand: tuple[int, ...] = ()
    required: bool = True
    penalty: int | None = None


@dataclass(frozen=True)
class Vehicle:
    """A vehicle or a person's working day: starts and ends at depot nodes within `shift`."""

    id: str
    start_node: int
    end_node: int
    shift: tuple[int, int] = (0, 2**31 - 1)
    capacity: tuple[int, ...] = ()
    max_stops: int | None = None
    fixed_cost: int = 0


@dataclass(frozen=True)
class Problem:
    """Serve every stop with the vehicles, minimising total `distance` (or `duration` when
    objective == "duration"); `duration` is what windows and shifts are checked against.

    With `duration` None the distance matrix doubles as the travel-time matrix (the VRPTW benchmarks).
    """

    distance: Matrix
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    duration: Matrix | None = None
    objective: str = "distance"  # or "duration"
    name: str = ""

    @property
    def time(self) -> Matrix:
        return self.duration if self.duration is not None else self.distance


@dataclass(frozen=True)
class Visit:
    stop_id: str
    arrival: int
    start: int  # start of service (arrival plus any wait for the window)
    departure: int


@dataclass(frozen=True)
class Route:
    vehicle_id: str
    visits: tuple[Visit, ...]
    distance: int
    duration: int  # from leaving the depot to returning
    start: int  # time the vehicle leaves its depot
    end: int  # time it is back
    load: tuple[int, ...] = ()

    @property
    def stop_ids(self) -> tuple[str, ...]:
        return tuple(v.stop_id for v in self.visits)


@dataclass(frozen=True)
class Dropped:
    stop_id: str
    reason: str  # a sentence a user can act on, e.g. "window 07:00-07:30 cannot be reached from the depot"


@dataclass(frozen=True)
class Solution:
    routes: tuple[Route, ...]
    dropped: tuple[Dropped, ...] = ()
    solver: str = ""
    runtime: float = 0.0  # seconds
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def distance(self) -> int:
        return sum(r.distance for r in self.routes)

    @property
    def duration(self) -> int:
        return sum(r.duration for r in self.routes)
