"""Read-only admin of daily journeys, visits, notifications and optimisation proposals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from dms.tenancy.admin_base import (
    DistributorOwnedAdmin,
    RoleInline,
)

from ..admin_views import (
    duration,
    km,
    local_time,
)
from ..enums import ProposalKind
from ..models import DailyJourney, JourneyNotification, OptimisationProposal, Visit
from .common import READ_ONLY, BookerFilter, JourneyBookerFilter, _tz, _with_tz

# --- journeys, visits, notifications, proposals: read-only --------------------------------------------

class WindowFlag:
    @admin.display(description="opening hours", ordering="window_missed")
    def window(self, obj: Any) -> str:
        """A missed window is a warning, not a success: words instead of Django's green tick."""
        if not obj.window_missed:
            return "ok"
        return format_html('<strong class="window-missed" title="{}">⚠ outside opening hours</strong>',
                           Visit._meta.get_field("window_missed").help_text)


class VisitInline(WindowFlag, RoleInline):
    model = Visit
    extra = 0
    fields = ["sequence", "outlet", "eta_local", "etd_local", "status", "window"]
    readonly_fields = ["sequence", "outlet", "eta_local", "etd_local", "status", "window"]
    ordering = ["sequence"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _with_tz(super().get_queryset(request).select_related("outlet"))

    @admin.display(description="ETA")
    def eta_local(self, obj: Any) -> str:
        return local_time(obj.eta, _tz(obj))

    @admin.display(description="ETD")
    def etd_local(self, obj: Any) -> str:
        return local_time(obj.etd, _tz(obj))


class ReadOnlyAdmin(DistributorOwnedAdmin):
    edit_roles = READ_ONLY


@admin.register(DailyJourney)
class DailyJourneyAdmin(ReadOnlyAdmin):
    list_display = ["date", "booker", "route", "visit_count", "planned_start_local", "planned_end_local",
                    "distance"]
    list_filter = ["date", BookerFilter]
    search_fields = ["route__code", "booker__username"]
    fields = ["date", "booker", "route", "route_version", "planned_start_local", "planned_end_local", "distance",
              "pjp"]
    readonly_fields = ["planned_start_local", "planned_end_local", "distance"]
    inlines = [VisitInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _with_tz(super().get_queryset(request).select_related("route", "booker")
                        .annotate(visits_n=Count("visits")))

    @admin.display(description="visits", ordering="visits_n")
    def visit_count(self, obj: Any) -> int:
        return int(getattr(obj, "visits_n", 0))

    @admin.display(description="planned start", ordering="planned_start")
    def planned_start_local(self, obj: Any) -> str:
        return local_time(obj.planned_start, _tz(obj))

    @admin.display(description="planned end", ordering="planned_end")
    def planned_end_local(self, obj: Any) -> str:
        return local_time(obj.planned_end, _tz(obj))

    @admin.display(description="distance", ordering="planned_distance_m")
    def distance(self, obj: Any) -> str:
        return km(obj.planned_distance_m)


@admin.register(Visit)
class VisitAdmin(WindowFlag, ReadOnlyAdmin):
    list_display = ["journey_date", "booker", "sequence", "outlet", "eta_local", "status", "window"]
    list_filter = ["status", "window_missed", "journey__date", JourneyBookerFilter]
    search_fields = ["outlet__code", "outlet__name"]
    fields = ["journey", "sequence", "outlet", "eta_local", "etd_local", "status", "window"]
    readonly_fields = ["eta_local", "etd_local", "window"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _with_tz(super().get_queryset(request).select_related("journey", "journey__booker", "outlet"))

    @admin.display(description="date", ordering="journey__date")
    def journey_date(self, obj: Any) -> Any:
        return obj.journey.date

    @admin.display(description="booker", ordering="journey__booker__username")
    def booker(self, obj: Any) -> Any:
        return obj.journey.booker

    @admin.display(description="ETA", ordering="eta")
    def eta_local(self, obj: Any) -> str:
        return local_time(obj.eta, _tz(obj), "%Y-%m-%d %H:%M")

    @admin.display(description="ETD", ordering="etd")
    def etd_local(self, obj: Any) -> str:
        return local_time(obj.etd, _tz(obj), "%Y-%m-%d %H:%M")


@admin.register(JourneyNotification)
class JourneyNotificationAdmin(ReadOnlyAdmin):
    list_display = ["date", "booker", "message", "delivered_at"]
    list_filter = ["date", BookerFilter]
    search_fields = ["message", "booker__username"]
    fields = ["date", "booker", "journey", "message", "delivered_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("booker")


@admin.register(OptimisationProposal)
class OptimisationProposalAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "status", "routes", "distance_change", "decided_by", "review"]
    list_filter = ["kind", "status"]
    fields = ["kind", "status", "created_at", "decided_by", "decided_at", "review", "summary", "changes"]
    readonly_fields = ["created_at", "review", "summary", "changes"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("decided_by")

    @admin.display(description="routes")
    def routes(self, obj: Any) -> str:
        routes = ((obj.after or {}).get("routes") or (obj.before or {}).get("routes") or {}).values()
        return ", ".join(str(r.get("code", "")) for r in routes if isinstance(r, dict))

    @admin.display(description="distance")
    def distance_change(self, obj: Any) -> str:
        before = ((obj.before or {}).get("total") or {}).get("distance_m")
        after = ((obj.after or {}).get("total") or {}).get("distance_m")
        return f"{km(before)} → {km(after)}" if before is not None or after is not None else ""

    @admin.display(description="review")
    def review(self, obj: Any) -> str:
        if obj.job_id is None:
            return "—"
        if obj.kind == ProposalKind.SEQUENCE and len(obj.route_versions or {}) == 1:
            route_id = int(next(iter(obj.route_versions)))
            url = reverse("admin:pjp_route_optimise_job", args=[route_id, obj.job_id])
        else:
            url = reverse("admin:pjp_route_build_job", args=[obj.job_id])
        return format_html('<a href="{}">Open the proposal page</a>', url)

    @admin.display(description="before → after")
    def summary(self, obj: Any) -> str:
        before, after = (obj.before or {}).get("total") or {}, (obj.after or {}).get("total") or {}
        return format_html("{} stops on {} routes: {}, {} → {}, {}", after.get("stops", before.get("stops", "?")),
                           after.get("routes", before.get("routes", "?")), km(before.get("distance_m")),
                           duration(before.get("duration_s")), km(after.get("distance_m")),
                           duration(after.get("duration_s")))

    @admin.display(description="changes")
    def changes(self, obj: Any) -> str:
        texts = [(str(d.get("text", "")),) for d in obj.diff or [] if isinstance(d, dict)]
        if not texts:
            return "No change."
        return format_html('<ol class="proposal-diff">{}</ol>', format_html_join("", "<li>{}</li>", texts))
