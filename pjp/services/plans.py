"""Permanent journey plans: publishing a new version of a booker's plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from django.db import transaction
from django.db.models import ProtectedError

from dms.core.errors import DomainError
from dms.tenancy.enums import Role
from dms.tenancy.models import Membership
from dms.tenancy.scope import Scope

from ..enums import VisitStatus, Weekday
from ..errors import PjpError
from ..locks import lock_distributor_plans, lock_pjps
from ..models import CYCLE_CHOICES, DailyJourney, Pjp, PjpSlot, Route, Visit
from ..planning import WEEKDAY_NAMES
from .common import plan_view, plans_from, raise_field_errors, refuse_overlaps, stops_of, tenant_policy, user_labels
from .journeys import rebuild_future

CYCLES = {weeks for weeks, _label in CYCLE_CHOICES}

SlotInput = tuple[int, int, int] | Mapping[str, int]


def _slot(value: SlotInput) -> tuple[int, int, int]:
    if isinstance(value, Mapping):
        return int(value["week"]), int(value["weekday"]), int(value["route_id"])
    week, weekday, route_id = value
    return int(week), int(weekday), int(route_id)


def _validate(*, scope: Scope, distributor_id: int, distributor_code: str, booker_id: int, booker_label: str,
              cycle_weeks: int, cycle_anchor: date, effective_from: date, today: date,
              slots: list[tuple[int, int, int]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Field errors, and separately the slots that put the booker on two routes the same day."""
    errors: dict[str, list[str]] = {}
    doubles: dict[str, list[str]] = {}
    if cycle_weeks not in CYCLES:
        errors["cycle_weeks"] = [f"A cycle is {', '.join(str(c) for c in sorted(CYCLES))} weeks."]
    if cycle_anchor.weekday() != Weekday.MONDAY:
        errors["cycle_anchor"] = [f"{cycle_anchor.isoformat()} is a {WEEKDAY_NAMES[cycle_anchor.weekday()]}; "
                                  "week 1 of a cycle starts on a Monday."]
    if effective_from < today:
        errors["effective_from"] = [f"A plan cannot start in the past ({effective_from.isoformat()} is before "
                                    f"today, {today.isoformat()}): the days gone by keep the plan they had."]
    member = Membership.objects.filter(user_id=booker_id, tenant_id=scope.tenant_id, distributor_id=distributor_id,
                                       role=Role.ORDER_BOOKER, active=True).exists()
    if not member:
        errors["booker_id"] = [f"User {booker_id} is not an active order-booker of distributor {distributor_code}."]

    routes = {r.pk: r for r in scope.filter(Route.objects.filter(distributor_id=distributor_id,
                                                                 pk__in={r for _w, _d, r in slots}))}
    taken: dict[tuple[int, int], int] = {}
    for i, (week, weekday, route_id) in enumerate(slots):
        if not 1 <= week <= (cycle_weeks if cycle_weeks in CYCLES else 4):
            errors[f"slots[{i}].week"] = [f"Week {week} is outside the {cycle_weeks}-week cycle."]
        if weekday not in Weekday.values:
            errors[f"slots[{i}].weekday"] = ["A weekday is 0 (Monday) to 6 (Sunday)."]
        route = routes.get(route_id)
        if route is None:
            errors[f"slots[{i}].route_id"] = [f"Route {route_id} is not a route of distributor {distributor_code}."]
        elif not route.active:
            errors[f"slots[{i}].route_id"] = [f"Route {route.code} is inactive."]
        if (week, weekday) in taken and weekday in Weekday.values:
            other = routes.get(slots[taken[(week, weekday)]][2])
            doubles[f"slots[{i}]"] = [
                f"Booker {booker_label} is already on route {other.code if other else '?'} on "
                f"{WEEKDAY_NAMES[weekday]} of week {week} (slots[{taken[(week, weekday)]}]); one route a day."]
        else:
            taken[(week, weekday)] = i
    return errors, doubles


@transaction.atomic
def pjp_publish(*, scope: Scope, distributor_id: int, booker_id: int, cycle_weeks: int, cycle_anchor: date,
                effective_from: date, slots: Sequence[SlotInput], note: str = "") -> Pjp:
    """Publish a new version of a booker's plan, in force from `effective_from` (today or later, tenant-local).

    Versioning: the version in force before `effective_from` is closed the day before (effective_to) and the
    new one `replaces` it, so the plan in force on any past date can be read back. A version that starts on
    or after `effective_from` and has not started yet (it starts after today) is replaced: deleted, with the
    journeys built from it. One that has started is refused (VERSION_CONFLICT).

    Overlap rule: over the whole calendar weeks covering four weeks from `effective_from` (and from each
    later start or end of another booker's version), with every other booker's plan in force, no outlet is
    visited more than once in a calendar week (nor twice a day) by a call of the new plan.

    Not idempotent (every call is a new version). Journeys of the booker from `effective_from` on (built
    ones, and the build-ahead days) are rebuilt. Takes the planning lock, then the booker's versions.
    """
    distributor = lock_distributor_plans(scope, distributor_id)
    policy = tenant_policy(scope)
    today = policy.today()
    booker_label = user_labels([booker_id]).get(booker_id, str(booker_id))
    try:
        clean_slots = [_slot(s) for s in slots]
    except (KeyError, TypeError, ValueError) as exc:
        raise DomainError(PjpError.INVALID_SLOT, "Each slot is (week, weekday, route_id).",
                          fields={"slots": ["Each slot is (week, weekday, route_id)."]}) from exc
    errors, doubles = _validate(scope=scope, distributor_id=distributor.pk, distributor_code=distributor.code,
                                booker_id=booker_id, booker_label=booker_label, cycle_weeks=cycle_weeks,
                                cycle_anchor=cycle_anchor, effective_from=effective_from, today=today,
                                slots=clean_slots)
    if errors:
        raise_field_errors({**errors, **doubles}, "Invalid plan.")
    raise_field_errors(doubles, "The booker is on two routes the same day.", code=PjpError.BOOKER_DOUBLE_BOOKED)

    versions = list(lock_pjps(scope, for_delete=True).filter(distributor_id=distributor.pk, booker_id=booker_id))
    later = sorted((v for v in versions if v.effective_from >= effective_from),
                   key=lambda v: v.effective_from, reverse=True)
    started = [v for v in later if v.effective_from <= today]
    if started:
        raise DomainError(
            PjpError.VERSION_CONFLICT,
            f"Booker {booker_label}'s plan from {started[0].effective_from.isoformat()} has already started; "
            f"publish a plan from {(today + timedelta(days=1)).isoformat()} or later.",
            fields={"effective_from": [f"A plan in force since {started[0].effective_from.isoformat()} "
                                       "cannot be replaced from an earlier date."]}, status_code=409)
    previous = max((v for v in versions if v.effective_from < effective_from), key=lambda v: v.effective_from,
                   default=None)

    new = Pjp(tenant_id=scope.tenant_id, distributor_id=distributor.pk, booker_id=booker_id, cycle_weeks=cycle_weeks,
              cycle_anchor=cycle_anchor, effective_from=effective_from, replaces=previous, note=note)
    others = plans_from(scope, distributor_id=distributor.pk, since=effective_from, exclude_booker_id=booker_id)
    subject = plan_view(new, label=booker_label, slots=clean_slots)
    index = {(w, d): i for i, (w, d, _r) in enumerate(clean_slots)}
    plans = [subject, *others]
    refuse_overlaps(scope, distributor_id=distributor.pk, plans=plans,
                    stops=stops_of(scope, distributor_id=distributor.pk,
                                   route_ids={r for p in plans for r in p.slots.values()}),
                    start=effective_from, involves=lambda c: c.plan is subject,
                    field_of=lambda c: f"slots[{index[c.slot]}]")

    dropped_days = _drop_unstarted(scope, later, booker_label=booker_label) if later else set()
    if previous is not None and (previous.effective_to is None or previous.effective_to >= effective_from):
        previous.effective_to = effective_from - timedelta(days=1)
        previous.save(update_fields=["effective_to", "updated_at"])
    new.save()
    PjpSlot.objects.bulk_create([
        PjpSlot(tenant_id=scope.tenant_id, distributor_id=distributor.pk, pjp=new, week=w, weekday=d, route_id=r)
        for w, d, r in clean_slots
    ])
    rebuild_future(scope, policy, distributor, from_day=effective_from, booker_ids={booker_id}, window=True,
                   days=dropped_days)
    return new


def _drop_unstarted(scope: Scope, versions: list[Pjp], *, booker_label: str) -> set[date]:
    """Delete versions that have not started, newest first, with the journeys built ahead from them.
    Returns those journeys' days, which the caller rebuilds from the new version."""
    ids = [v.pk for v in versions]
    journeys = scope.filter(DailyJourney.objects.filter(pjp_id__in=ids))
    if scope.filter(Visit.objects.filter(journey__in=journeys).exclude(status=VisitStatus.PLANNED)).exists():
        raise DomainError(PjpError.VERSION_CONFLICT,
                          f"Booker {booker_label} has visits under way on a plan that has not started.",
                          status_code=409)
    days = set(journeys.values_list("date", flat=True))
    journeys.delete()
    try:
        for version in versions:
            version.delete()
    except ProtectedError as exc:
        raise DomainError(PjpError.VERSION_CONFLICT, f"Booker {booker_label}'s later plan is still referenced.",
                          status_code=409) from exc
    return days
