"""Plan against actual for one booker's day: `journey_compare`.

Definitions (what the dashboard and /api/v1/analytics/journeys/<id>/ show):

- Planned stops: the journey's planned visits in planned sequence. Actual stops: the visits made (checked in:
  checked_in, productive or unproductive), in check-in order (ties by sequence); `visit_order` numbers them 1, 2, ..
- Skipped: planned, not made (still planned, or missed at the day close). Added: made, not planned (the app's
  unplanned calls).
- Swapped (out of sequence): the planned visits made that are not on the longest run of visits whose planned
  sequence numbers increase in check-in order (the longest increasing subsequence). Of several equally long runs
  the one with the smallest sequence numbers is kept, so the stop taken too early is the one marked, not the one the
  booker came back for: planned A B C D made as B A D marks B. Its size is what it takes to restore the plan's
  order, unlike the facts' in-sequence count (analytics.builders), which only compares each visit with the one
  before it.
- Distances and travel times come from pjp.travel.travel_for (the tenant's matrix provider, else great-circle x
  road factor at the travel speed), leg by leg along three paths, each from the route's start (the distributor's
  location when the route has none) to its end, as the journey builder plans them. Stops without coordinates add
  no travel, as in the builder. Outlet coordinates are used, not the check-in GPS, so the paths compare stops, not
  phone fixes.
    plan:    the planned stops in planned sequence;
    visited: the stops made, in planned order: the actual order with the planned visits put back into planned
             sequence, each added stop keeping its place among them;
    actual:  the stops made, in check-in order.
  extra = actual - plan, split into what the change of stops cost (visited - plan: skips save, additions cost) and
  what the order cost (actual - visited: the swaps), so the two parts always add up to the whole.
- `planned_distance_m` is this recomputation of the plan, so the three paths are measured alike. The builder's
  figure (DailyJourney.planned_distance_m) is shown beside it as `stored_planned_distance_m`: they agree unless a
  matrix provider is configured (the builder uses the great-circle model) or the outlets moved since the build.
- Time: `actual_market_s` runs from the first check-in to the last check-out (a visit with no check-out counts
  from its check-in). `planned_market_s` is its like-for-like plan, first ETA to last ETD, and `extra_market_s` the
  difference. `planned_day_s` (planned_start..planned_end) is the whole planned day, travel from the start and back
  to the end included, shown for reference: no GPS track tells when the booker left the start.
- Delay: check-in minus ETA in whole minutes (half up), planned visits only; an added visit has no ETA of its own.

Queries: four (journey with route and booker, visits with outlets, the distributor's location, the tenant's
travel settings), plus the matrix provider on a cache miss when one is configured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dms.core.errors import NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from pjp.models import DailyJourney, Visit
from pjp.travel import GREAT_CIRCLE, PROVIDER_MAX_POINTS, travel_matrices, travel_model

from .common import VISITED, display_name

Point = tuple[float, float]


@dataclass(frozen=True)
class JourneyHeader:
    journey_id: int
    date: date
    distributor_id: int
    booker_id: int
    booker_name: str
    route_id: int
    route_code: str
    route_name: str
    planned_start: datetime
    planned_end: datetime
    start: Point | None  # where the paths begin: the route's start, else the distributor's location
    end: Point | None


@dataclass(frozen=True)
class PlannedStop:
    sequence: int
    visit_id: int
    outlet_id: int
    outlet_code: str
    outlet_name: str
    lat: float | None
    lng: float | None
    eta: datetime
    etd: datetime
    status: str
    visit_order: int | None  # its place in the actual path; None when skipped


@dataclass(frozen=True)
class ActualStop:
    visit_order: int
    visit_id: int
    outlet_id: int
    outlet_code: str
    outlet_name: str
    lat: float | None
    lng: float | None
    planned_sequence: int | None  # None for an added stop
    checked_in_at: datetime | None  # None only when a visit was marked made without a time (never by the app)
    checked_out_at: datetime | None
    status: str
    delay_minutes: int | None  # check-in minus ETA; None for an added stop
    in_sequence: bool | None  # on the longest increasing run; None for an added stop


@dataclass(frozen=True)
class StopRef:
    """A stop in the skipped, added and swapped lists."""

    outlet_id: int
    outlet_code: str
    outlet_name: str
    planned_sequence: int | None
    visit_order: int | None


@dataclass(frozen=True)
class JourneyTotals:
    travel_provider: str  # "great-circle" or "osrm:<url>"
    planned_distance_m: int
    planned_travel_s: int
    stored_planned_distance_m: int
    visited_distance_m: int  # the stops made, in planned order
    visited_travel_s: int
    actual_distance_m: int
    actual_travel_s: int
    extra_distance_m: int  # actual - planned
    extra_distance_stops_m: int  # visited - planned: what the skips and additions cost
    extra_distance_order_m: int  # actual - visited: what the swaps cost
    extra_travel_s: int
    extra_travel_stops_s: int
    extra_travel_order_s: int
    first_check_in: datetime | None
    last_check_out: datetime | None
    planned_day_s: int
    planned_market_s: int | None
    actual_market_s: int | None
    extra_market_s: int | None


@dataclass(frozen=True)
class JourneyComparison:
    header: JourneyHeader
    planned: tuple[PlannedStop, ...]
    actual: tuple[ActualStop, ...]
    skipped: tuple[StopRef, ...]
    added: tuple[StopRef, ...]
    swapped: tuple[StopRef, ...]
    totals: JourneyTotals


def kept_in_sequence(sequences: Sequence[int]) -> list[bool]:
    """For planned sequence numbers in visit order: whether each is on the kept longest increasing run (of the
    longest ones, the one with the smallest numbers, picked greedily). O(n^2), for a day's few dozen visits."""
    n = len(sequences)
    longest = [1] * n  # the longest increasing run starting at i
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            if sequences[j] > sequences[i] and longest[j] + 1 > longest[i]:
                longest[i] = longest[j] + 1
    keep = [False] * n
    want, after, floor = max(longest, default=0), 0, -math.inf
    while want:
        i = min((k for k in range(after, n) if longest[k] == want and sequences[k] > floor),
                key=lambda k: (sequences[k], k))
        keep[i], after, floor, want = True, i + 1, sequences[i], want - 1
    return keep


def swapped_count(sequences: Sequence[int]) -> int:
    return len(sequences) - sum(kept_in_sequence(sequences))


def _point(lat: object, lng: object) -> Point | None:
    return None if lat is None or lng is None else (float(lat), float(lng))  # type: ignore[arg-type]


def _minutes(seconds: float) -> int:
    return int(math.floor(abs(seconds) / 60 + 0.5)) * (1 if seconds >= 0 else -1)


class _Paths:
    """Leg-by-leg distance and travel time of paths through the journey's points, from one matrix."""

    def __init__(self, scope: Scope, distributor_id: int, points: Sequence[Point | None]) -> None:
        self.index: dict[Point, int] = {}
        for p in points:
            if p is not None and p not in self.index:
                self.index[p] = len(self.index)
        model = travel_model(scope=scope)
        # as travel_matrices chooses (a provider that fails falls back to great-circle there, and says so in the log)
        use_provider = bool(model.provider_url) and 1 < len(self.index) <= PROVIDER_MAX_POINTS
        self.provider = model.provider if use_provider else GREAT_CIRCLE
        self.distance, self.duration = travel_matrices(model=model, tenant_id=scope.tenant_id,
                                                       distributor_id=distributor_id, points=list(self.index))

    def cost(self, path: Sequence[Point | None]) -> tuple[int, int]:
        at = [self.index[p] for p in path if p is not None]
        legs = list(zip(at, at[1:], strict=False))
        return (sum(int(self.distance[a][b]) for a, b in legs), sum(int(self.duration[a][b]) for a, b in legs))


def _stored(scope: Scope, journey_id: int) -> tuple[DailyJourney, list[Visit], Distributor | None]:
    journey = scope.filter(DailyJourney.objects.filter(tenant_id=scope.tenant_id)).select_related(
        "route", "booker").filter(pk=journey_id).first()
    if journey is None:
        raise NotFound("Journey not found.")
    visits = list(scope.filter(Visit.objects.filter(journey_id=journey.pk, distributor_id=journey.distributor_id))
                  .select_related("outlet").order_by("sequence", "pk"))
    distributor = Distributor.objects.filter(tenant_id=scope.tenant_id, pk=journey.distributor_id).only(
        "lat", "lng").first()
    return journey, visits, distributor


def journey_compare(*, scope: Scope, journey_id: int) -> JourneyComparison:
    """The plan and what happened on one journey (module docstring). NotFound outside the scope."""
    journey, visits, distributor = _stored(scope, journey_id)
    route, booker = journey.route, journey.booker
    home = _point(distributor.lat, distributor.lng) if distributor is not None else None
    start = _point(route.start_lat, route.start_lng) or home
    end = _point(route.end_lat, route.end_lng) or home

    planned = [v for v in visits if v.planned]
    # check-in order, a visit without a check-in time last (as SQL sorts NULLs, so the lists agree)
    made = sorted((v for v in visits if v.status in VISITED),
                  key=lambda v: (v.checked_in_at is None, v.checked_in_at or journey.planned_start, v.sequence, v.pk))
    order_of = {v.pk: i for i, v in enumerate(made, start=1)}
    made_planned = [v for v in made if v.planned]
    kept = dict(zip((v.pk for v in made_planned), kept_in_sequence([v.sequence for v in made_planned]),
                    strict=True))
    where = {v.pk: _point(v.outlet.lat, v.outlet.lng) for v in visits}

    # the stops made in planned order: planned visits re-sorted into their own slots, added stops left in place
    refill = iter(sorted(made_planned, key=lambda v: v.sequence))
    visited_order = [next(refill) if v.planned else v for v in made]
    paths = _Paths(scope, journey.distributor_id, [start, end, *where.values()])
    plan_m, plan_s = paths.cost([start, *(where[v.pk] for v in planned), end])
    visited_m, visited_s = paths.cost([start, *(where[v.pk] for v in visited_order), end])
    actual_m, actual_s = paths.cost([start, *(where[v.pk] for v in made), end])

    def ref(v: Visit) -> StopRef:
        return StopRef(v.outlet_id, v.outlet.code, v.outlet.name, v.sequence if v.planned else None,
                       order_of.get(v.pk))

    ins = [v.checked_in_at for v in made if v.checked_in_at is not None]
    outs = [v.checked_out_at or v.checked_in_at for v in made if v.checked_in_at is not None]
    first_in, last_out = (min(ins), max(o for o in outs if o is not None)) if ins else (None, None)
    actual_market = int((last_out - first_in).total_seconds()) if first_in and last_out else None
    planned_market = int((max(v.etd for v in planned) - min(v.eta for v in planned)).total_seconds()) \
        if planned else None
    header = JourneyHeader(
        journey_id=journey.pk, date=journey.date, distributor_id=journey.distributor_id, booker_id=journey.booker_id,
        booker_name=display_name(booker.first_name, booker.last_name, booker.get_username()), route_id=route.pk,
        route_code=route.code, route_name=route.name,
        planned_start=journey.planned_start, planned_end=journey.planned_end, start=start, end=end)
    totals = JourneyTotals(
        travel_provider=paths.provider, planned_distance_m=plan_m, planned_travel_s=plan_s,
        stored_planned_distance_m=journey.planned_distance_m, visited_distance_m=visited_m,
        visited_travel_s=visited_s, actual_distance_m=actual_m, actual_travel_s=actual_s,
        extra_distance_m=actual_m - plan_m, extra_distance_stops_m=visited_m - plan_m,
        extra_distance_order_m=actual_m - visited_m, extra_travel_s=actual_s - plan_s,
        extra_travel_stops_s=visited_s - plan_s, extra_travel_order_s=actual_s - visited_s,
        first_check_in=first_in, last_check_out=last_out,
        planned_day_s=int((journey.planned_end - journey.planned_start).total_seconds()),
        planned_market_s=planned_market, actual_market_s=actual_market,
        extra_market_s=actual_market - planned_market if actual_market is not None and planned_market is not None
        else None)
    return JourneyComparison(
        header=header,
        planned=tuple(PlannedStop(
            sequence=v.sequence, visit_id=v.pk, outlet_id=v.outlet_id, outlet_code=v.outlet.code,
            outlet_name=v.outlet.name, lat=_coord(v.outlet.lat), lng=_coord(v.outlet.lng), eta=v.eta, etd=v.etd,
            status=v.status, visit_order=order_of.get(v.pk)) for v in planned),
        actual=tuple(ActualStop(
            visit_order=order_of[v.pk], visit_id=v.pk, outlet_id=v.outlet_id, outlet_code=v.outlet.code,
            outlet_name=v.outlet.name, lat=_coord(v.outlet.lat), lng=_coord(v.outlet.lng),
            planned_sequence=v.sequence if v.planned else None, checked_in_at=v.checked_in_at,
            checked_out_at=v.checked_out_at, status=v.status,
            delay_minutes=_minutes((v.checked_in_at - v.eta).total_seconds())
            if v.planned and v.checked_in_at is not None else None,
            in_sequence=kept[v.pk] if v.planned else None) for v in made),
        skipped=tuple(ref(v) for v in planned if v.pk not in order_of),
        added=tuple(ref(v) for v in made if not v.planned),
        swapped=tuple(ref(v) for v in made_planned if not kept[v.pk]),
        totals=totals)


def _coord(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
