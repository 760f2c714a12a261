"""Daily journeys: each booker's planned day, materialised from the plan in force, with arrival times."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor, Membership
from dms.tenancy.scope import Scope
from routing.matrix import travel_matrices

from ..enums import VisitStatus
from ..eta import EtaStop, Point, opening_windows, schedule
from ..locks import lock_distributor_plans
from ..models import DailyJourney, JourneyNotification, Pjp, PjpSlot, Route, RouteStop, Visit
from ..planning import visited_in
from .common import TenantPolicy, tenant_policy

logger = logging.getLogger(__name__)

BUILD_AHEAD_DAYS = 3
NOTIFICATION_MAX = 300
_JOURNEY_FIELDS = ["pjp", "route", "route_version", "planned_start", "planned_end", "planned_distance_m",
                   "updated_at"]


@dataclass
class DayBuild:
    """One distributor's day: journeys (re)built, journeys left alone because they are under way, and how
    many journeys were removed because their booker has no route that day any more."""

    built: list[DailyJourney] = field(default_factory=list)
    kept: list[DailyJourney] = field(default_factory=list)
    removed: int = 0

    @property
    def journeys(self) -> list[DailyJourney]:
        return sorted([*self.built, *self.kept], key=lambda j: j.booker_id)


def _point(lat: Any, lng: Any) -> Point | None:
    return None if lat is None or lng is None else (float(lat), float(lng))


def _notification_text(journey: DailyJourney, route: Route, stops: int, first_eta: datetime | None,
                       policy: TenantPolicy) -> str:
    day = journey.date
    head = f"Your journey for {day:%a} {day.isoformat()}: route {route.code} {route.name}"
    if not stops or first_eta is None:
        return f"{head[:NOTIFICATION_MAX - 30]}, no outlets to visit."
    tail = f", {stops} outlet{'s' if stops != 1 else ''}, first visit at {first_eta.astimezone(policy.tz):%H:%M}."
    return head[:NOTIFICATION_MAX - len(tail)] + tail


def build_day(scope: Scope, policy: TenantPolicy, distributor: Distributor, day: date,
              booker_ids: Collection[int] | None = None) -> DayBuild:
    """(Re)build one distributor's journeys for `day`, or only those of `booker_ids`.

    A constant number of queries whatever the number of bookers and stops. The caller holds the
    distributor's planning lock.
    """
    did, tid = distributor.pk, scope.tenant_id
    bookers = set(Membership.objects.filter(tenant_id=tid, distributor_id=did, role=Role.ORDER_BOOKER, active=True)
                  .values_list("user_id", flat=True))
    if booker_ids is not None:
        bookers &= set(booker_ids)

    plan_of: dict[int, Pjp] = {}
    for pjp in scope.filter(Pjp.objects.filter(distributor_id=did, booker_id__in=bookers, effective_from__lte=day)
                            ).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day)).order_by(
                                "booker_id", "-effective_from"):
        plan_of.setdefault(pjp.booker_id, pjp)
    route_of: dict[int, Route] = {}
    if plan_of:
        for slot in scope.filter(PjpSlot.objects.filter(distributor_id=did, weekday=day.weekday(),
                                                        pjp_id__in=[p.pk for p in plan_of.values()])
                                 ).select_related("route", "pjp"):
            if slot.week == slot.pjp.cycle_week(day) and slot.route.active:
                route_of[slot.pjp.booker_id] = slot.route

    stops: dict[int, list[RouteStop]] = defaultdict(list)
    if route_of:
        for stop in scope.filter(RouteStop.objects.filter(
                distributor_id=did, route_id__in={r.pk for r in route_of.values()}, outlet__active=True)
        ).select_related("outlet").order_by("route_id", "sequence"):
            stops[stop.route_id].append(stop)

    existing_qs = scope.filter(DailyJourney.objects.filter(distributor_id=did, date=day))
    if booker_ids is not None:
        existing_qs = existing_qs.filter(booker_id__in=booker_ids)
    existing = {j.booker_id: j for j in existing_qs}
    old_visits: dict[int, dict[int, int]] = defaultdict(dict)  # journey id -> outlet id -> visit id
    started: set[int] = set()
    if existing:
        for vid, jid, oid, status in scope.filter(Visit.objects.filter(
                distributor_id=did, journey_id__in=[j.pk for j in existing.values()])
        ).values_list("pk", "journey_id", "outlet_id", "status"):
            old_visits[jid][oid] = vid
            if status != VisitStatus.PLANNED:
                started.add(jid)

    result = DayBuild()
    journeys: list[DailyJourney] = []
    planned: dict[int, list[Visit]] = {}  # booker id -> visits, journey set after the upsert
    for booker_id, route in sorted(route_of.items()):
        current = existing.get(booker_id)
        if current is not None and current.pk in started:
            result.kept.append(current)
            continue
        week = plan_of[booker_id].cycle_week(day)
        route_stops = [s for s in stops.get(route.pk, []) if visited_in(s.weeks, week)]
        depart = datetime.combine(day, route.work_start, tzinfo=policy.tz)
        start = _point(route.start_lat, route.start_lng) or _point(distributor.lat, distributor.lng)
        end = _point(route.end_lat, route.end_lng) or _point(distributor.lat, distributor.lng)
        plan = schedule(
            depart=depart, start=start, end=end,
            stops=[EtaStop(key=s.outlet_id, point=_point(s.outlet.lat, s.outlet.lng),
                           service_s=60 * (s.service_minutes or route.default_service_minutes),
                           windows=opening_windows(s.outlet.opening_hours, day, policy.tz)) for s in route_stops],
            travel=lambda pts: travel_matrices(pts, road_factor=policy.road_factor, speed_kmh=policy.speed_kmh),
        )
        journeys.append(DailyJourney(
            tenant_id=tid, distributor_id=did, booker_id=booker_id, date=day, pjp=plan_of[booker_id], route=route,
            route_version=route.version, planned_start=plan.start, planned_end=plan.end,
            planned_distance_m=plan.distance_m))
        planned[booker_id] = [Visit(tenant_id=tid, distributor_id=did, outlet_id=v.key, sequence=v.sequence,
                                    eta=v.eta, etd=v.etd, window_missed=v.window_missed) for v in plan.visits]

    # Journeys whose booker has no route that day any more (plan changed, route or membership ended).
    obsolete = [j.pk for b, j in existing.items() if b not in route_of and j.pk not in started]
    result.kept.extend(j for b, j in existing.items() if b not in route_of and j.pk in started)
    if obsolete:
        result.removed = len(obsolete)
        scope.filter(DailyJourney.objects.filter(pk__in=obsolete)).delete()

    if journeys:
        DailyJourney.objects.bulk_create(journeys, update_conflicts=True,
                                         unique_fields=["distributor", "booker", "date"],
                                         update_fields=_JOURNEY_FIELDS)
        visits: list[Visit] = []
        stale: list[int] = []
        for journey in journeys:
            booker_visits = planned[journey.booker_id]
            for v in booker_visits:
                v.journey_id = journey.pk
            visits.extend(booker_visits)
            keep = {v.outlet_id for v in booker_visits}
            stale.extend(vid for oid, vid in old_visits.get(journey.pk, {}).items() if oid not in keep)
        if stale:
            scope.filter(Visit.objects.filter(pk__in=stale)).delete()
        if visits:
            Visit.objects.bulk_create(visits, update_conflicts=True, unique_fields=["distributor", "journey", "outlet"],
                                      update_fields=["sequence", "eta", "etd", "window_missed", "updated_at"])
        result.built = list(scope.filter(DailyJourney.objects.filter(pk__in=[j.pk for j in journeys]))
                            .select_related("route"))
        _notify(scope, policy, result.built, planned)
    for kept in result.kept:
        logger.info("journey %s of booker %s on %s is under way: left as it is", kept.pk, kept.booker_id, day)
    return result


def _notify(scope: Scope, policy: TenantPolicy, journeys: list[DailyJourney], visits: dict[int, list[Visit]]) -> None:
    """One notification per booker and day; an unchanged message keeps its delivery time, a changed one is
    delivered again."""
    if not journeys:
        return
    day, did = journeys[0].date, journeys[0].distributor_id
    previous = {booker_id: (message, delivered_at) for booker_id, message, delivered_at in scope.filter(
        JourneyNotification.objects.filter(distributor_id=did, date=day,
                                           booker_id__in=[j.booker_id for j in journeys])
    ).values_list("booker_id", "message", "delivered_at")}
    rows = []
    for journey in journeys:
        booker_visits = visits.get(journey.booker_id, [])
        message = _notification_text(journey, journey.route, len(booker_visits),
                                     booker_visits[0].eta if booker_visits else None, policy)
        rows.append(JourneyNotification(
            tenant_id=scope.tenant_id, distributor_id=did, booker_id=journey.booker_id, journey_id=journey.pk,
            date=day, message=message,
            delivered_at=_kept_delivery(previous.get(journey.booker_id), message)))
    JourneyNotification.objects.bulk_create(rows, update_conflicts=True,
                                            unique_fields=["distributor", "booker", "date"],
                                            update_fields=["journey", "message", "delivered_at", "updated_at"])


def _kept_delivery(previous: tuple[str, datetime | None] | None, message: str) -> datetime | None:
    return previous[1] if previous is not None and previous[0] == message else None


@transaction.atomic
def journey_build(*, scope: Scope, distributor_id: int, day: date) -> list[DailyJourney]:
    """Build the distributor's journeys for `day` from the plans in force, with arrival times.

    Idempotent: a rebuild upserts the same journey, visit and notification rows (by booker and date, by
    outlet). A journey with a visit past `planned` is under way and is left as it is (logged). Takes the
    distributor's planning lock.
    """
    policy = tenant_policy(scope)
    distributor = lock_distributor_plans(scope, distributor_id)
    return build_day(scope, policy, distributor, day).journeys


@dataclass
class BuildAheadResult:
    first_day: date
    last_day: date
    distributors: int = 0
    journeys: int = 0
    kept: list[int] = field(default_factory=list)
    removed: int = 0
    next_after: int | None = None  # more distributors remain after this id (batching)

    def as_dict(self) -> dict[str, Any]:
        return {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat(),
                "distributors": self.distributors, "journeys": self.journeys, "kept": self.kept,
                "removed": self.removed, "next_after": self.next_after}


@transaction.atomic
def journeys_build_ahead(*, scope: Scope, days: int = BUILD_AHEAD_DAYS, today: date | None = None,
                         after_distributor_id: int = 0, limit: int | None = None) -> BuildAheadResult:
    """Build every active distributor's journeys from `today` (tenant-local) to `today + days`, inclusive.

    Idempotent (see journey_build). Distributors are taken in id order after `after_distributor_id`, at most
    `limit` of them; `next_after` says where the next batch starts. Takes each distributor's planning lock.
    """
    policy = tenant_policy(scope)
    today = today or policy.today()
    result = BuildAheadResult(first_day=today, last_day=today + timedelta(days=days))
    qs = Distributor.objects.filter(tenant_id=scope.tenant_id, active=True, pk__gt=after_distributor_id)
    if scope.distributor_ids is not None:
        qs = qs.filter(pk__in=scope.distributor_ids)
    ids = list(qs.order_by("pk").values_list("pk", flat=True)[: limit + 1 if limit else None])
    if limit and len(ids) > limit:
        ids = ids[:limit]
        result.next_after = ids[-1]
    for distributor_id in ids:
        distributor = lock_distributor_plans(scope, distributor_id)
        result.distributors += 1
        for offset in range(days + 1):
            built = build_day(scope, policy, distributor, today + timedelta(days=offset))
            result.journeys += len(built.built)
            result.kept += [j.pk for j in built.kept]
            result.removed += built.removed
    return result


def rebuild_future(scope: Scope, policy: TenantPolicy, distributor: Distributor, *, from_day: date,
                   booker_ids: Collection[int] | None = None, route_id: int | None = None,
                   window: bool = False, days: Collection[date] = ()) -> None:
    """After a plan or route change: rebuild the journeys already built from `from_day` (not before today),
    and for `booker_ids` also `days` and, with `window`, the build-ahead days, so the change shows in the
    bookers' coming days at once."""
    today = policy.today()
    first = max(from_day, today)
    qs = scope.filter(DailyJourney.objects.filter(distributor_id=distributor.pk, date__gte=first))
    if booker_ids is not None:
        qs = qs.filter(booker_id__in=booker_ids)
    if route_id is not None:
        qs = qs.filter(route_id=route_id)
    by_day: dict[date, set[int]] = defaultdict(set)
    for day, booker_id in qs.values_list("date", "booker_id"):
        by_day[day].add(booker_id)
    if booker_ids is not None:
        extra = {today + timedelta(days=offset) for offset in range(BUILD_AHEAD_DAYS + 1)} if window else set()
        for day in extra | set(days):
            if day >= first:
                by_day[day].update(booker_ids)
    for day in sorted(by_day):
        build_day(scope, policy, distributor, day, booker_ids=by_day[day])


def journey_notification_deliver(*, scope: Scope, notification: JourneyNotification) -> JourneyNotification:
    """Mark the notification delivered (now) the first time the app is served it. Idempotent: a delivered one
    keeps its first delivery time. A compare-and-set, so two devices fetching at once write it once."""
    if notification.delivered_at is not None:
        return notification
    now = timezone.now()
    if scope.filter(JourneyNotification.objects.filter(pk=notification.pk, delivered_at__isnull=True)).update(
            delivered_at=now, updated_at=now):
        notification.delivered_at = now
    else:  # delivered meanwhile: report the first delivery time
        notification.delivered_at = scope.filter(JourneyNotification.objects.filter(pk=notification.pk)).values_list(
            "delivered_at", flat=True).first()
    return notification
