"""What the optimisers share: outlet snapshots, opening hours as solver windows, route metrics, progress.

Plain helpers over rows already read; the one query here is `outlet_infos`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import Progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from routing.backend import Progress as SolverProgress

from ..errors import PjpError
from ..eta import DAY_KEYS
from ..models import OptimisationProposal
from ..selectors import proposal_for_job

Point = tuple[float, float]
Window = tuple[int, int]

DAY_ABBREVIATIONS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
PROGRESS_TOTAL = 100
SOLVE_FROM, SOLVE_TO = 5, 95  # the solver's share of the job's progress, in percent


@dataclass(frozen=True)
class OutletInfo:
    pk: int
    code: str
    name: str
    point: Point | None
    opening_hours: Mapping[str, Any]
    active: bool

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


def outlet_infos(scope: Scope, *, distributor_id: int, outlet_ids: Iterable[int] | None = None,
                 active_only: bool = False) -> dict[int, OutletInfo]:
    """The distributor's outlets (all of them, or `outlet_ids`), by id, in one query."""
    from catalog.models import Outlet

    qs = scope.filter(Outlet.objects.filter(distributor_id=distributor_id))
    if outlet_ids is not None:
        qs = qs.filter(pk__in=set(outlet_ids))
    if active_only:
        qs = qs.filter(active=True)
    rows = qs.order_by("pk").values_list("pk", "code", "name", "lat", "lng", "opening_hours", "active")
    return {pk: OutletInfo(pk, code, name, None if lat is None or lng is None else (float(lat), float(lng)),
                           hours or {}, active)
            for pk, code, name, lat, lng, hours, active in rows}


def seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _clock_seconds(text: str) -> int:
    hours, minutes = (int(x) for x in str(text).split(":"))
    return hours * 3600 + minutes * 60


def day_windows(opening_hours: Mapping[str, Any], weekday: int, service_s: int) -> tuple[Window, ...] | None:
    """Allowed start-of-service intervals (seconds since local midnight) on `weekday`: the visit must end
    by closing time, as in pjp.eta. None when the outlet records no hours at all (always open); an empty
    tuple when it is closed that day (or no span is long enough for the visit)."""
    if not opening_hours:
        return None
    spans: list[Window] = []
    for span in opening_hours.get(DAY_KEYS[weekday]) or []:
        try:
            opens, closes = _clock_seconds(span[0]), _clock_seconds(span[1])
        except (TypeError, ValueError, IndexError):
            continue  # catalog validates hours on input; a malformed span is skipped, as pjp.eta does
        if closes - service_s >= opens:
            spans.append((opens, closes - service_s))
    merged: list[Window] = []
    for opens, latest in sorted(spans):
        if merged and opens <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], latest))
        else:
            merged.append((opens, latest))
    return tuple(merged)


def metrics_entry(*, code: str, stops: int, distance_m: int, duration_s: int) -> dict[str, Any]:
    return {"code": code, "stops": stops, "distance_m": int(distance_m), "duration_s": int(duration_s)}


def metrics(routes: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The `before` / `after` document: per route, and the total over the routes."""
    return {"routes": dict(routes), "total": {
        "distance_m": sum(r["distance_m"] for r in routes.values()),
        "duration_s": sum(r["duration_s"] for r in routes.values()),
        "routes": len(routes),
        "stops": sum(r["stops"] for r in routes.values()),
    }}


def solver_progress(progress: Progress | None) -> SolverProgress | None:
    """The solver reports (fraction of its time limit, message); the job shows SOLVE_FROM..SOLVE_TO %."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        share = min(1.0, max(0.0, fraction))
        progress(SOLVE_FROM + int((SOLVE_TO - SOLVE_FROM) * share), PROGRESS_TOTAL, message)

    return report


def step(progress: Progress | None, percent: int, message: str) -> None:
    if progress is not None:
        progress(percent, PROGRESS_TOTAL, message)


def next_monday(today: date) -> date:
    """The Monday after `today` (a week ahead when today is a Monday): plans start on a coming Monday."""
    return today + timedelta(days=7 - today.weekday())


def check_time_limit(value: float, *, low: float, high: float) -> float:
    if not low <= value <= high:
        raise DomainError(PjpError.INVALID, f"The time limit is {low:g} to {high:g} seconds.",
                          fields={"time_limit": [f"Between {low:g} and {high:g} seconds."]})
    return float(value)


def path_metrics(distance: Sequence[Sequence[int]], duration: Sequence[Sequence[int]], nodes: Sequence[int],
                 service_s: int) -> tuple[int, int]:
    """(metres, seconds) of a day that drives through `nodes` in order (the depot first and last) and
    serves each stop for `service_s`; waiting for opening hours is not counted."""
    metres = sum(int(distance[a][b]) for a, b in zip(nodes, nodes[1:], strict=False))
    travel = sum(int(duration[a][b]) for a, b in zip(nodes, nodes[1:], strict=False))
    return metres, travel + service_s * max(0, len(nodes) - 2)


def propose_in_phases(scope: Scope, job: BackgroundJob, *, read: Callable[[], Any], search: Callable[[Any], Any],
                      write: Callable[[Any, Any], OptimisationProposal]) -> dict[str, Any]:
    """An optimisation job's work (job_run with transactional=False): `read` the snapshot in one tenant
    transaction, `search` with no transaction open (minutes of CPU must not hold a snapshot or a pooled
    connection), then `write` the proposal in a second transaction under the job's row lock. A proposal the job
    already has (an earlier run that died before marking the job finished, or a redelivery racing this run) is
    returned instead of writing another. The proposal records the route versions it was computed from, so
    changes made during the search make it stale at acceptance."""
    with tenant_scope(scope):
        existing = proposal_for_job(scope=scope, job_id=job.pk)
        state = read() if existing is None else None
    if existing is None:
        found = search(state)
        with tenant_scope(scope):
            BackgroundJob.objects.select_for_update().filter(pk=job.pk).first()
            existing = proposal_for_job(scope=scope, job_id=job.pk) or write(state, found)
    return {"proposal_id": existing.pk}
