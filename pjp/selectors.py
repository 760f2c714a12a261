"""Reads of routes, plans, journeys and visits, always through the scope. Another distributor's or
tenant's row is "not found"."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Prefetch, Q, QuerySet

from dms.core.errors import NotFound
from dms.tenancy.scope import Scope

from .models import (
    DailyJourney,
    JourneyNotification,
    OptimisationProposal,
    Pjp,
    PjpSlot,
    Route,
    RouteStop,
    Visit,
    VisitEvent,
)


def route_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[Route]:
    qs = scope.filter(Route.objects.all())
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def route_get(*, scope: Scope, pk: int) -> Route:
    stops = RouteStop.objects.select_related("outlet").order_by("sequence")
    route = route_list(scope=scope).prefetch_related(Prefetch("stops", queryset=stops)).filter(pk=pk).first()
    if route is None:
        raise NotFound("Route not found.")
    return route


def pjp_list(*, scope: Scope, distributor_id: int | None = None, booker_id: int | None = None) -> QuerySet[Pjp]:
    """Every version, newest first per booker; with the slots and their routes."""
    qs = scope.filter(Pjp.objects.all()).prefetch_related(
        Prefetch("slots", queryset=PjpSlot.objects.select_related("route").order_by("week", "weekday")))
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if booker_id is not None:
        qs = qs.filter(booker_id=booker_id)
    return qs


def pjp_get(*, scope: Scope, pk: int) -> Pjp:
    pjp = pjp_list(scope=scope).filter(pk=pk).first()
    if pjp is None:
        raise NotFound("PJP not found.")
    return pjp


def pjp_in_force(*, scope: Scope, booker_id: int, day: date) -> Pjp | None:
    """The version of the booker's plan in force on `day` (past days read back their own version)."""
    return (pjp_list(scope=scope, booker_id=booker_id).filter(effective_from__lte=day)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day)).order_by("-effective_from").first())


def journey_list(*, scope: Scope, day: date | None = None, distributor_id: int | None = None,
                 booker_id: int | None = None) -> QuerySet[DailyJourney]:
    """Journeys with their route and visits (in sequence, with the outlet): three queries for any number."""
    visits = Visit.objects.select_related("outlet").order_by("sequence")
    qs = scope.filter(DailyJourney.objects.select_related("route")).prefetch_related(
        Prefetch("visits", queryset=visits))
    if day is not None:
        qs = qs.filter(date=day)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if booker_id is not None:
        qs = qs.filter(booker_id=booker_id)
    return qs


def journey_get(*, scope: Scope, pk: int) -> DailyJourney:
    journey = journey_list(scope=scope).filter(pk=pk).first()
    if journey is None:
        raise NotFound("Journey not found.")
    return journey


def visit_get(*, scope: Scope, pk: int) -> Visit:
    visit = scope.filter(Visit.objects.select_related("journey", "outlet")).filter(pk=pk).first()
    if visit is None:
        raise NotFound("Visit not found.")
    return visit


def visit_event_list(*, scope: Scope, visit_id: int) -> QuerySet[VisitEvent]:
    return scope.filter(VisitEvent.objects.filter(visit_id=visit_id)).order_by("created_at", "pk")


def journey_notification_list(*, scope: Scope, booker_id: int, since: date | None = None,
                              undelivered: bool = False) -> QuerySet[JourneyNotification]:
    qs = scope.filter(JourneyNotification.objects.filter(booker_id=booker_id))
    if since is not None:
        qs = qs.filter(date__gte=since)
    if undelivered:
        qs = qs.filter(delivered_at__isnull=True)
    return qs


def route_summary_list(*, scope: Scope, distributor_id: int | None = None,
                       active: bool | None = None) -> QuerySet[Route]:
    """Routes with `stop_count` (one query for any number of routes)."""
    qs = route_list(scope=scope, distributor_id=distributor_id).annotate(stop_count=Count("stops"))
    qs = qs.order_by("code", "pk")  # Meta.ordering does not apply to a grouped query
    return qs if active is None else qs.filter(active=active)


def journey_day_list(*, scope: Scope, day: date, booker_id: int | None = None,
                     distributor_id: int | None = None) -> QuerySet[DailyJourney]:
    """A day's journeys with their booker, route and visits: the same number of queries for any number of
    journeys and visits."""
    return journey_list(scope=scope, day=day, distributor_id=distributor_id, booker_id=booker_id).select_related(
        "booker").order_by("distributor_id", "booker__username", "pk")


def proposal_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[OptimisationProposal]:
    qs = scope.filter(OptimisationProposal.objects.all())
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def proposal_get(*, scope: Scope, proposal_id: int) -> OptimisationProposal:
    proposal = proposal_list(scope=scope).filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound("Proposal not found.")
    return proposal


def proposal_for_job(*, scope: Scope, job_id: int) -> OptimisationProposal | None:
    """The proposal a background job left (None while it runs, or when it failed)."""
    return proposal_list(scope=scope).filter(job_id=job_id).order_by("pk").first()
