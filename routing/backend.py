"""What every backend receives and returns, and the helpers they share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from routing.model import Problem, Stop, Vehicle

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Task:
    """A solver call: serve `stops` (indices into problem.stops) with `vehicles` (indices into problem.vehicles).

    `soft`: required stops may be left out at a large penalty (`big`) instead of being hard constraints; used
    when the fleet obviously cannot serve everything. Optional stops always cost their own penalty when left out.
    `patience`: stop after this many iterations without improvement (None: use the whole time limit).
    """

    problem: Problem
    stops: tuple[int, ...]
    vehicles: tuple[int, ...]
    time_limit: float
    seed: int = 0
    soft: bool = False
    patience: int | None = None
    progress: Progress | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> float:
        """Seconds left of the time limit."""
        return max(0.0, self.time_limit - (time.perf_counter() - self.started))

    def report(self, message: str) -> None:
        if self.progress is not None:
            done = min(1.0, (time.perf_counter() - self.started) / self.time_limit) if self.time_limit else 1.0
            self.progress(done, message)


@dataclass
class Outcome:
    """`plan[v]`: stop indices served by problem.vehicles[v], in visiting order (empty for unused vehicles)."""

    plan: list[list[int]]
    stats: dict[str, object] = field(default_factory=dict)


def matrices(problem: Problem) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distance and travel-time matrices as int64 arrays (the same array twice when duration is None)."""
    distance = np.asarray(problem.distance, dtype=np.int64)
    duration = distance if problem.duration is None else np.asarray(problem.duration, dtype=np.int64)
    return distance, duration


def big_penalty(problem: Problem, distance: npt.NDArray[np.int64], duration: npt.NDArray[np.int64]) -> int:
    """A penalty for leaving out a required stop that dominates any saving from leaving it out."""
    horizon = min(2**31, max((v.shift[1] - v.shift[0] for v in problem.vehicles), default=0))
    fixed = max((v.fixed_cost for v in problem.vehicles), default=0)
    bound = 4 * int(distance.max(initial=0) + duration.max(initial=0)) + 2 * fixed + 2 * horizon + 1
    return max(1, min(bound * 100, 2**50 // max(1, len(problem.stops))))


def penalty_of(stop: Stop, task: Task, big: int) -> int:
    """Cost of leaving the stop out: its own penalty if optional (default `big`), `big` if required."""
    if stop.required:
        return big
    return big if stop.penalty is None else stop.penalty


def vehicle_key(vehicle: Vehicle) -> tuple[object, ...]:
    """Vehicles with equal keys are interchangeable (grouped into one vehicle type)."""
    return (vehicle.start_node, vehicle.end_node, vehicle.shift, vehicle.capacity, vehicle.max_stops,
            vehicle.fixed_cost)


def horizon_end(vehicles: Sequence[Vehicle]) -> int:
    """Latest shift end over the vehicles."""
    return max(v.shift[1] for v in vehicles)
