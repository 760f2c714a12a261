"""Routes (beats), permanent journey plans, daily journeys and visits.

A Route is an ordered list of a distributor's outlets. A Pjp says which order-booker covers which route on
which weekday of which week of a cycle (1, 2 or 4 weeks). From the plans, each booker's DailyJourney for a
date holds the planned Visits in sequence with estimated arrival and departure times.

Cycle weeks are counted from the plan's `cycle_anchor` (a Monday): week = ((date - anchor).days // 7)
mod cycle_weeks + 1. A stop's `weeks` lists the cycle weeks it is visited in (empty: every week), so an
outlet visited fortnightly on a 4-week cycle has weeks [1, 3] or [2, 4].
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel

from .enums import ProposalKind, ProposalStatus, UnproductiveReason, VisitStatus, Weekday

CYCLE_CHOICES = [(1, "Weekly (1 week)"), (2, "Fortnightly (2 weeks)"), (4, "Four-weekly (4 weeks)")]


def default_work_start() -> time:
    """09:00. A callable, not a fixed time(): Django's deploy check warns about fixed time defaults (W161) for
    the ten seconds around that time every day, which failed `check --deploy` at 09:00 and 18:00."""
    return time(9, 0)


def default_work_end() -> time:
    """18:00 (see default_work_start)."""
    return time(18, 0)


class Route(DistributorModel):
    """A beat: outlets in one area, covered in one working day, in `RouteStop.sequence` order.

    Start and end default to the distributor's warehouse when not given.
    """

    code = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    start_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    start_lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    end_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    end_lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    work_start = models.TimeField(default=default_work_start)
    work_end = models.TimeField(default=default_work_end)
    default_service_minutes = models.PositiveSmallIntegerField(default=10)
    active = models.BooleanField(default=True)
    # Bumped by every change of the stop order; a proposal made on an older version is stale.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "distributor", "code"], name="route_code_uniq"),
            models.CheckConstraint(condition=Q(work_end__gt=F("work_start")), name="route_work_hours_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RouteStop(DistributorModel):
    route = DistributorForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    service_minutes = models.PositiveSmallIntegerField(null=True, blank=True,
                                                       help_text="blank: the route's default")
    weeks = models.JSONField(default=list, blank=True,
                             help_text="cycle weeks this outlet is visited in, e.g. [1, 3]; empty = every week")

    class Meta:
        ordering = ["route", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "route", "outlet"], name="routestop_outlet_uniq"),
            models.UniqueConstraint(fields=["distributor", "route", "sequence"], name="routestop_sequence_uniq",
                                    deferrable=models.Deferrable.DEFERRED),
        ]

    def __str__(self) -> str:
        return f"{self.route.code} #{self.sequence}"


class Pjp(DistributorModel):
    """One version of a booker's plan. A change closes this version (effective_to) and opens a new one,
    so history is kept: the plan in force on any past date can be read back."""

    booker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cycle_weeks = models.PositiveSmallIntegerField(choices=CYCLE_CHOICES, default=1)
    cycle_anchor = models.DateField(help_text="a Monday: week 1 of the cycle starts here")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    replaces = DistributorForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["booker", "-effective_from"]
        verbose_name = "PJP"
        verbose_name_plural = "PJPs"
        constraints = [
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                                   name="pjp_effective_range"),
            models.CheckConstraint(condition=Q(cycle_weeks__in=[1, 2, 4]), name="pjp_cycle_weeks_valid"),
        ]
        indexes = [models.Index(fields=["distributor", "booker", "effective_from"], name="pjp_booker_from")]

    def __str__(self) -> str:
        return f"PJP of {self.booker} from {self.effective_from}"

    def cycle_week(self, day: object) -> int:
        from datetime import date as date_type

        assert isinstance(day, date_type)
        return ((day - self.cycle_anchor).days // 7) % self.cycle_weeks + 1


class PjpSlot(DistributorModel):
    """The booker covers `route` on `weekday` of cycle week `week`."""

    pjp = DistributorForeignKey(Pjp, on_delete=models.CASCADE, related_name="slots")
    week = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(4)])
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    route = DistributorForeignKey(Route, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["pjp", "week", "weekday"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "pjp", "week", "weekday"], name="pjpslot_one_route_a_day"),
        ]


class DailyJourney(DistributorModel):
    """A booker's planned day, materialised ahead from the PJP in force (rebuilding is idempotent)."""

    booker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    pjp = DistributorForeignKey(Pjp, on_delete=models.PROTECT, related_name="+")
    route = DistributorForeignKey(Route, on_delete=models.PROTECT, related_name="+")
    route_version = models.PositiveIntegerField()
    planned_start = models.DateTimeField()
    planned_end = models.DateTimeField()
    planned_distance_m = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["date", "booker"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "booker", "date"], name="journey_one_per_booker_day"),
        ]
        # journey_build and the day's queues read a distributor's journeys by date; the day close and the nightly
        # reconciliation read all of a tenant's journeys of one date in one range.
        indexes = [models.Index(fields=["distributor", "date"], name="journey_distributor_date"),
                   models.Index(fields=["tenant", "date"], name="journey_tenant_date")]

    def __str__(self) -> str:
        return f"{self.booker} {self.date} {self.route.code}"


class Visit(DistributorModel):
    """A planned call at an outlet, in journey sequence; its status follows DESIGN §3's visit machine."""

    TRANSITIONS = {
        VisitStatus.PLANNED: {VisitStatus.CHECKED_IN, VisitStatus.MISSED},
        VisitStatus.CHECKED_IN: {VisitStatus.PRODUCTIVE, VisitStatus.UNPRODUCTIVE},
    }

    journey = DistributorForeignKey(DailyJourney, on_delete=models.CASCADE, related_name="visits")
    outlet = DistributorForeignKey("catalog.Outlet", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveIntegerField()
    eta = models.DateTimeField()
    etd = models.DateTimeField()
    status = models.CharField(max_length=15, choices=VisitStatus.choices, default=VisitStatus.PLANNED)
    window_missed = models.BooleanField(default=False, help_text="no opening hours fit; planned anyway")
    # What happened, as reported by the booker's app (see mobile.push): `uuid` is the app's id for the visit
    # record, so a re-sent visit is recognised. Unplanned visits (an outlet not on the day's journey) are added
    # to the journey with planned=False and a sequence after the planned ones.
    planned = models.BooleanField(default=True)
    uuid = models.UUIDField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)
    check_in_lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    check_in_lng = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    gps_accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    distance_m = models.PositiveIntegerField(null=True, blank=True,
                                             help_text="check-in position to the outlet, great-circle metres")
    unproductive_reason = models.CharField(max_length=20, choices=UnproductiveReason.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["journey", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "journey", "outlet"], name="visit_outlet_once_a_day"),
            models.UniqueConstraint(fields=["distributor", "uuid"], name="visit_uuid_uniq"),
        ]
        # The visits not made, by journey: what the day close changes (planned) and what the reconciliation reports
        # (missed). Partial, so a date's journeys are probed for them without reading their visited visits.
        indexes = [models.Index(fields=["distributor", "journey", "status"], name="visit_unvisited",
                                condition=Q(status__in=[VisitStatus.PLANNED, VisitStatus.MISSED]))]


class VisitEvent(DistributorModel):
    """Audit of a visit's status changes (who, when, from, to, why), written by core.transitions.transition."""

    visit = DistributorForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=15, choices=VisitStatus.choices)
    to_status = models.CharField(max_length=15, choices=VisitStatus.choices)
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["visit", "created_at", "id"]


class JourneyNotification(DistributorModel):
    """The booker's daily message ("your journey for Tuesday: 24 outlets, route LHE-R3"), picked up by the
    mobile pull."""

    booker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    journey = DistributorForeignKey(DailyJourney, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    message = models.CharField(max_length=300)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "booker", "date"], name="notification_one_per_day"),
        ]


class OptimisationProposal(DistributorModel):
    """An optimisation result waiting for a person: metrics before and after, a readable diff, and the new
    order, applied only on acceptance and only if the routes have not changed since (route versions)."""

    kind = models.CharField(max_length=20, choices=ProposalKind.choices)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.READY)
    job = models.ForeignKey("tenancy.BackgroundJob", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    route_versions = models.JSONField(default=dict, help_text="route id -> version the proposal was made on")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    diff = models.JSONField(default=list)
    plan = models.JSONField(default=dict, help_text="route id -> ordered outlet ids")
    seed = models.IntegerField(default=0)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
