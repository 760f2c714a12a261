"""Visit state transitions (DESIGN §3): planned -> checked_in -> productive | unproductive; planned -> missed;
and what the booker's app reports about a call (visit_report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog.models import Outlet
from dms.core.errors import DomainError, NotFound
from dms.core.transitions import transition
from dms.tenancy.scope import Scope
from routing.matrix import haversine_m

from ..enums import UnproductiveReason, VisitStatus
from ..errors import PjpError
from ..locks import lock_visits
from ..models import DailyJourney, Visit, VisitEvent
from .common import tenant_policy


@transaction.atomic
def visit_mark_missed(*, scope: Scope, visit_id: int, reason: str = "") -> Visit:
    """Planned -> missed (the day closed without a check-in). Idempotent: a missed visit stays as it is.

    A visit of a day that has not come yet (tenant-local) cannot be missed. Takes the visit's lock.
    """
    visit = lock_visits(scope).select_related("journey").filter(pk=visit_id).first()
    if visit is None:
        raise NotFound("Visit not found.")
    if visit.status == VisitStatus.MISSED:
        return visit
    if visit.status == VisitStatus.PLANNED and visit.journey.date > tenant_policy(scope).today():
        raise DomainError(PjpError.FUTURE_VISIT,
                          f"The visit is planned for {visit.journey.date.isoformat()}; it cannot be missed before "
                          "its day.", fields={"status": ["The visit's day has not come."]})
    transition(visit, to=VisitStatus.MISSED, actor=scope.actor, reason=reason, event_model=VisitEvent,
               event_fk="visit", distributor_id=visit.distributor_id)
    return visit


@dataclass(frozen=True)
class VisitReport:
    """What the booker's app reports about one call (mobile push). `visit_id` names a planned visit of the
    booker's journey; without it the call is unplanned and is added to the day's journey. `outcome` empty
    means checked in only (the outcome follows in a later report with the same `uuid`)."""

    uuid: UUID
    outlet_id: int
    date: date
    checked_in_at: datetime
    visit_id: int | None = None
    checked_out_at: datetime | None = None
    lat: Decimal | None = None
    lng: Decimal | None = None
    accuracy_m: int | None = None
    outcome: str = ""  # "" | productive | unproductive
    reason: str = ""
    note: str = ""


@dataclass(frozen=True)
class VisitResult:
    visit: Visit
    outcome: str  # applied | duplicate | conflict
    message: str = ""


OUTCOMES = {VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE}
# A device clock may run a little ahead of the server's; later than this is refused.
CLOCK_SKEW = timedelta(minutes=10)


def _validate_report(report: VisitReport, now: datetime) -> None:
    errors: dict[str, list[str]] = {}
    if report.outcome and report.outcome not in OUTCOMES:
        errors["outcome"] = ["Must be productive or unproductive (or empty when only checking in)."]
    if report.outcome == VisitStatus.UNPRODUCTIVE and report.reason not in UnproductiveReason.values:
        errors["reason"] = [f"An unproductive visit needs a reason, one of {', '.join(UnproductiveReason.values)}."]
    if report.outcome == VisitStatus.PRODUCTIVE and report.reason:
        errors["reason"] = ["Only an unproductive visit has a reason."]
    if report.checked_in_at > now + CLOCK_SKEW:
        errors["checked_in_at"] = ["Is in the future: check the phone's clock."]
    if report.checked_out_at is not None and report.checked_out_at < report.checked_in_at:
        errors["checked_out_at"] = ["Is before checked_in_at."]
    if (report.lat is None) != (report.lng is None):
        errors["lat" if report.lat is None else "lng"] = ["lat and lng come together."]
    if errors:
        raise DomainError(PjpError.INVALID, "The visit report is invalid.", fields=errors)


def _same(visit: Visit, report: VisitReport) -> bool:
    """Whether the stored visit already holds everything the report says."""
    return (visit.checked_in_at == report.checked_in_at and visit.status == (report.outcome or visit.status)
            and (report.checked_out_at is None or visit.checked_out_at == report.checked_out_at)
            and visit.unproductive_reason == report.reason)


def _target(scope: Scope, report: VisitReport, booker_id: int) -> Visit:
    """The planned visit the report is about, or a new unplanned visit on the booker's journey of the day."""
    if report.visit_id is not None:
        visit = lock_visits(scope).select_related("journey").filter(pk=report.visit_id).first()
        if visit is None or visit.journey.booker_id != booker_id:
            raise DomainError(PjpError.NOT_YOUR_VISIT, "This visit is not on your journey.",
                              fields={"visit_id": ["Not a visit of your journey."]})
        if visit.outlet_id != report.outlet_id:
            raise DomainError(PjpError.INVALID, "The visit is planned at another outlet.",
                              fields={"outlet_id": [f"Visit {visit.pk} is planned at outlet {visit.outlet_id}."]})
        return visit
    journey = scope.filter(DailyJourney.objects.all()).filter(booker_id=booker_id, date=report.date).first()
    if journey is None:
        raise DomainError(PjpError.NO_JOURNEY, f"You have no journey on {report.date.isoformat()}.",
                          fields={"date": ["No journey of yours on this date."]})
    planned = lock_visits(scope).select_related("journey").filter(journey=journey, outlet_id=report.outlet_id).first()
    if planned is not None:
        return planned
    outlet = scope.filter(Outlet.objects.all()).filter(pk=report.outlet_id, distributor_id=journey.distributor_id,
                                                active=True).first()
    if outlet is None:
        raise DomainError(PjpError.INVALID_OUTLET, "Unknown outlet.", fields={"outlet_id": ["Unknown outlet."]})
    last = Visit.objects.filter(journey=journey).order_by("-sequence").values_list("sequence", flat=True).first()
    return Visit.objects.create(distributor_id=journey.distributor_id, journey=journey, outlet=outlet,
                                sequence=(last or 0) + 1, eta=report.checked_in_at, etd=report.checked_in_at,
                                planned=False)


def _distance_m(visit: Visit, report: VisitReport) -> int | None:
    outlet = visit.outlet
    if report.lat is None or report.lng is None or outlet.lat is None or outlet.lng is None:
        return None
    return round(haversine_m((float(report.lat), float(report.lng)), (float(outlet.lat), float(outlet.lng))))


@transaction.atomic
def visit_report(*, scope: Scope, booker_id: int, report: VisitReport) -> VisitResult:
    """Record a call reported by the booker's app: check-in (time, GPS, distance from the outlet) and, when
    given, the outcome (productive, or unproductive with a reason), through the visit's transitions.

    Idempotent by `report.uuid`: a report already recorded is a duplicate; a later report of the same visit may
    add the outcome or the check-out (applied); one that contradicts a recorded outcome, or reports a visit the
    day close already marked missed, is a conflict (the server's record stands). Invalid input raises
    DomainError with the fields named. Takes the visit's lock.
    """
    _validate_report(report, timezone.now())
    visit = lock_visits(scope).select_related("journey", "outlet").filter(uuid=report.uuid).first()
    if visit is None:
        visit = _target(scope, report, booker_id)
        if visit.uuid is not None and visit.uuid != report.uuid:
            return VisitResult(visit, "conflict", "This visit was already reported by another record of the app.")
    if visit.journey.booker_id != booker_id:
        raise DomainError(PjpError.NOT_YOUR_VISIT, "This visit is not on your journey.",
                          fields={"uuid": ["Not a visit of your journey."]})
    if visit.uuid == report.uuid and _same(visit, report):
        return VisitResult(visit, "duplicate")
    if visit.status == VisitStatus.MISSED:
        return VisitResult(visit, "conflict", "The day was closed before this visit was synced: it stays missed.")
    if visit.status in OUTCOMES and report.outcome and report.outcome != visit.status:
        return VisitResult(visit, "conflict", f"The visit is already recorded as {visit.status}.")
    fields = {"uuid": report.uuid, "checked_in_at": report.checked_in_at, "check_in_lat": report.lat,
              "check_in_lng": report.lng, "gps_accuracy_m": report.accuracy_m,
              "distance_m": _distance_m(visit, report), "note": report.note[:500]}
    if report.checked_out_at is not None:
        fields["checked_out_at"] = report.checked_out_at
    if report.outcome == VisitStatus.UNPRODUCTIVE:
        fields["unproductive_reason"] = report.reason
    for name, value in fields.items():
        setattr(visit, name, value)
    visit.save(update_fields=[*fields, "updated_at"])
    if visit.status == VisitStatus.PLANNED:
        transition(visit, to=VisitStatus.CHECKED_IN, actor=scope.actor, event_model=VisitEvent, event_fk="visit",
                   distributor_id=visit.distributor_id)
    if report.outcome and visit.status != report.outcome:
        transition(visit, to=report.outcome, actor=scope.actor, reason=report.reason, event_model=VisitEvent,
                   event_fk="visit", distributor_id=visit.distributor_id)
    return VisitResult(visit, "applied")


def visit_mark_productive(*, scope: Scope, visit: Visit) -> None:
    """A booked order makes its checked-in visit productive (called by the order push)."""
    if visit.status == VisitStatus.CHECKED_IN:
        transition(visit, to=VisitStatus.PRODUCTIVE, actor=scope.actor, reason="order booked",
                   event_model=VisitEvent, event_fk="visit", distributor_id=visit.distributor_id)
