"""The PJP admin: plan versions, publishing, the calendar per booker."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    DistributorOwnedAdmin,
    RoleInline,
)

from ..admin_views import (
    PjpPublishForm,
    booker_calendar,
    booker_choices,
    booker_memberships,
    publish_initial,
)
from ..enums import Weekday
from ..models import Pjp, PjpSlot
from ..services import pjp_publish
from ..services.common import tenant_policy
from .common import READ_ONLY, BookerFilter, PlanStatusFilter, _domain_to_http, _may_edit, _scope
from .routes import _form_errors

# --- plans --------------------------------------------------------------------------------------------

class PjpSlotInline(RoleInline):
    model = PjpSlot
    extra = 0
    fields = ["week", "weekday", "route"]
    readonly_fields = ["week", "weekday", "route"]
    ordering = ["week", "weekday"]
    verbose_name_plural = "slots (cycle week x weekday -> route)"


@admin.register(Pjp)
class PjpAdmin(DistributorOwnedAdmin):
    """Read-only: a plan changes by publishing a new version (the publish page calls pjp_publish), so its
    history stays readable."""

    edit_roles = READ_ONLY
    list_display = ["booker", "cycle_weeks", "cycle_anchor", "effective_from", "effective_to", "status",
                    "slot_count", "calendar"]
    list_filter = [PlanStatusFilter, BookerFilter, "cycle_weeks"]
    search_fields = ["booker__username", "note"]
    fields = ["booker", "cycle_weeks", "cycle_anchor", "effective_from", "effective_to", "replaces", "note",
              "status"]
    readonly_fields = ["status"]
    inlines = [PjpSlotInline]
    change_list_template = "admin/pjp/pjp/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        today = tenant_policy(_scope(request)).today()
        return super().get_queryset(request).select_related("booker").annotate(
            slots_n=Count("slots"),
            plan_status=Case(When(effective_from__gt=today, then=Value("future")),
                             When(Q(effective_to__isnull=False) & Q(effective_to__lt=today), then=Value("past")),
                             default=Value("current")))

    @admin.display(description="status", ordering="plan_status")
    def status(self, obj: Any) -> str:
        return str(getattr(obj, "plan_status", ""))

    @admin.display(description="slots", ordering="slots_n")
    def slot_count(self, obj: Any) -> int:
        return int(getattr(obj, "slots_n", 0))

    @admin.display(description="calendar")
    def calendar(self, obj: Any) -> str:
        url = reverse("admin:pjp_pjp_calendar")
        return format_html('<a href="{}?booker={}">Calendar</a>', url, obj.booker_id)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "may_publish": _may_edit(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> Any:
        extra_context = {**(extra_context or {}), "may_publish": _may_edit(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("calendar/", wrap(self.calendar_view), name="pjp_pjp_calendar"),
            path("publish/", wrap(self.publish_view), name="pjp_pjp_publish"),
            *super().get_urls(),
        ]

    def calendar_view(self, request: HttpRequest) -> HttpResponse:
        """A booker's plan as a cycle-weeks x weekdays grid, and the next days' journeys."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        scope = _scope(request)
        memberships = list(booker_memberships(scope=scope))
        raw = request.GET.get("booker", "")
        booker = None
        if raw:
            booker = next((m for m in memberships if raw.isdigit() and m.user_id == int(raw)), None)
            if booker is None:
                raise Http404
        tz = tenant_policy(scope).tz
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "PJP calendar",
            "booker": booker, "booker_groups": booker_choices(memberships),
            "calendar": booker_calendar(scope=scope, booker_id=booker.user_id, tz=tz) if booker else None,
            "weekdays": _weekdays(),
            "may_publish": _may_edit(request), "tz": tz,
        }
        return TemplateResponse(request, "admin/pjp/pjp/calendar.html", context)

    def publish_view(self, request: HttpRequest) -> HttpResponse:
        """A new version of a booker's plan, through pjp_publish (the versions before it are kept)."""
        if not _may_edit(request):
            raise PermissionDenied
        scope = _scope(request)
        raw = request.GET.get("booker", "")
        initial = publish_initial(scope=scope, booker_id=int(raw) if raw.isdigit() else None,
                                  today=tenant_policy(scope).today())
        form = PjpPublishForm(request.POST or None, scope=scope, initial=initial)
        if request.method == "POST" and form.is_valid():
            distributor_id, booker_id = form.pair()
            data = form.cleaned_data
            try:
                pjp = pjp_publish(scope=scope, distributor_id=distributor_id, booker_id=booker_id,
                                  cycle_weeks=data["cycle_weeks"], cycle_anchor=data["cycle_anchor"],
                                  effective_from=data["effective_from"], slots=form.slots(), note=data["note"])
            except DomainError as exc:
                _domain_to_http(exc)
                _form_errors(form, exc, {"booker_id": "booker"})
            else:
                self.message_user(request, f"Published: {pjp}.", messages.SUCCESS)
                return HttpResponseRedirect(f"{reverse('admin:pjp_pjp_calendar')}?booker={booker_id}")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Publish a new PJP version",
                   "form": form, "grid": form.grid(), "weekdays": _weekdays()}
        return TemplateResponse(request, "admin/pjp/pjp/publish.html", context)


def _weekdays() -> list[str]:
    return [d.label for d in Weekday]
