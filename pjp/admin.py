"""The pjp admin: routes with their stop order and map, optimisation proposals, plans and their calendar,
and read-only journeys, visits and notifications.

Every write goes through a service under request.scope (route_create/route_update/route_set_stops,
pjp_publish, the optimisation jobs); querysets come from the scoped managers, so another tenant's or
distributor's object is a 404. Roles follow dms.tenancy.admin_base: analysts read, distributor editors
edit, nobody deletes plans or journeys.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    ALL_ADMIN_VIEWERS,
    DISTRIBUTOR_EDITORS,
    DistributorOwnedAdmin,
    ServiceRefused,
    VersionedChangeForm,
    request_role,
)
from dms.tenancy.enums import Role
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import job_list

from .admin_views import (
    PjpPublishForm,
    RouteBuildForm,
    booker_calendar,
    booker_choices,
    booker_memberships,
    duration,
    km,
    local_time,
    proposal_view,
    publish_initial,
    route_page,
    slot_field,
)
from .enums import ProposalKind, ProposalStatus, Weekday
from .errors import PjpError
from .models import DailyJourney, JourneyNotification, OptimisationProposal, Pjp, PjpSlot, Route, RouteStop, Visit
from .services import pjp_publish, route_create, route_set_stops, route_update
from .services.common import tenant_policy
from .services.routes import ROUTE_FIELDS

READ_ONLY: frozenset[Role] = frozenset()
REFUSED = "_pjp_refused"  # request attribute: a service's refusal, shown on the re-rendered change form
STOP_FIELD = re.compile(r"^(outlet_ids)\[(\d+)\]$|^(service_minutes|weeks)\[(\d+)\]$")
UNSEQUENCED = 10**9  # a new stop row left without a position goes last


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _tz(obj: Any) -> ZoneInfo:
    """The tenant's zone, annotated on the row by the admin's queryset (tenant_time_zone)."""
    return ZoneInfo(getattr(obj, "tenant_time_zone", None) or "UTC")


def _with_tz(qs: QuerySet[Any]) -> QuerySet[Any]:
    return qs.annotate(tenant_time_zone=F("tenant__time_zone"))


def _may_edit(request: HttpRequest) -> bool:
    return request_role(request) in DISTRIBUTOR_EDITORS


def _domain_to_http(exc: DomainError) -> None:
    """A missing (or other tenant's) object is a 404 and a refused role a 403, as everywhere else."""
    if exc.status_code == 404:
        raise Http404(exc.message) from exc
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc


# --- list filters (bookers are users, a global table: listed through the scope's memberships) -----------

class BookerFilter(admin.SimpleListFilter):
    title = "order-booker"
    parameter_name = "booker"
    field = "booker_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        return [(m.user_id, f"{m.user.get_username()} ({m.distributor.code})")  # type: ignore[union-attr]
                for m in booker_memberships(scope=_scope(request))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value and value.isdigit() else queryset


class JourneyBookerFilter(BookerFilter):
    field = "journey__booker_id"


class PlanStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("current", "Current"), ("future", "Future"), ("past", "Past")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(plan_status=value) if value in {"current", "future", "past"} else queryset


# --- inlines ------------------------------------------------------------------------------------------

class RoleInline(admin.TabularInline):
    """Inline permissions follow the membership role, like TenantAdmin (not Django's per-model ones)."""

    view_roles: ClassVar[frozenset[Role]] = ALL_ADMIN_VIEWERS
    edit_roles: ClassVar[frozenset[Role]] = READ_ONLY

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.view_roles

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles


class RouteStopForm(forms.ModelForm):
    weeks = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 8}),
                            help_text="cycle weeks, e.g. 1, 3; blank = every week")

    class Meta:
        model = RouteStop
        fields = ["outlet", "sequence", "service_minutes", "weeks"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sequence"].required = False
        self.fields["sequence"].help_text = "position; rows are renumbered 1..N on save"
        if self.instance.pk:
            self.initial["weeks"] = ", ".join(str(w) for w in self.instance.weeks or [])

    def clean_weeks(self) -> list[int]:
        raw = (self.cleaned_data.get("weeks") or "").replace(",", " ").split()
        if not all(w.isdigit() for w in raw):
            raise forms.ValidationError("Cycle weeks are numbers from 1 to 4, e.g. 1, 3.")
        return [int(w) for w in raw]


class RouteStopFormSet(BaseInlineFormSet):
    """The inline's rows become one route_set_stops call (RouteAdmin.save_related), never row saves."""

    refused: ClassVar[DomainError | None] = None

    def ordered(self) -> list[forms.Form]:
        """Kept rows by position. A row moved to a taken position goes before the row that had it, so
        typing 2 on the fifth stop makes it the second."""
        keyed = []
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            deleted = self.can_delete and self._should_delete_form(form)  # type: ignore[attr-defined]
            if not data or data.get("outlet") is None or deleted:
                continue
            sequence = data.get("sequence") or UNSEQUENCED
            moved = 0 if "sequence" in form.changed_data else 1
            keyed.append((sequence, moved, index, form))
        return [form for *_key, form in sorted(keyed, key=lambda k: k[:3])]

    def clean(self) -> None:
        super().clean()
        if self.refused is None:
            return
        forms_in_order = self.ordered()
        by_outlet = {f.cleaned_data["outlet"].pk: f for f in forms_in_order}
        unplaced: list[str] = []
        for name, problems in (self.refused.fields or {}).items():
            match = STOP_FIELD.match(name)
            target = None
            if match and match.group(1):
                position = int(match.group(2))
                target = forms_in_order[position] if position < len(forms_in_order) else None
            elif match:
                target = by_outlet.get(int(match.group(4)))
            for problem in problems if isinstance(problems, list) else [problems]:
                if target is not None:
                    target.add_error(None, str(problem))
                else:
                    unplaced.append(str(problem))
        if unplaced or not self.refused.fields:
            raise forms.ValidationError(unplaced or [self.refused.message])


class RouteStopInline(RoleInline):
    model = RouteStop
    form = RouteStopForm
    formset = RouteStopFormSet
    edit_roles = DISTRIBUTOR_EDITORS
    extra = 0
    ordering = ["sequence"]
    autocomplete_fields = ["outlet"]
    fields = ["sequence", "outlet", "service_minutes", "weeks"]
    verbose_name = "stop"
    verbose_name_plural = "stops in visiting order"

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        refused: ServiceRefused | None = getattr(request, REFUSED, None)
        if refused is not None and refused.part == "stops":
            formset = type(formset.__name__, (formset,), {"refused": refused.error})
        return formset

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "outlet" and field is not None:
            # Only the route's own distributor's outlets are valid choices (the service checks it again).
            route_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            route = Route.objects.filter(pk=unquote(route_id)).first() if route_id and route_id.isdigit() else None
            if route is not None and field.queryset is not None:
                field.queryset = field.queryset.filter(distributor_id=route.distributor_id)
        return field


# --- routes -------------------------------------------------------------------------------------------

class RouteForm(forms.ModelForm):
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    refused: ClassVar[DomainError | None] = None

    class Meta:
        model = Route
        fields = ["distributor", "code", "name", "active", "work_start", "work_end", "default_service_minutes",
                  "start_lat", "start_lng", "end_lat", "end_lng"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
            self.fields["loaded_version"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.refused is not None:
            placed = False
            for name, problems in (self.refused.fields or {}).items():
                for problem in problems if isinstance(problems, list) else [problems]:
                    if name in self.fields:
                        self.add_error(name, str(problem))
                        placed = True
            if not placed:
                self.add_error(None, self.refused.message)
        return data


@admin.register(Route)
class RouteAdmin(VersionedChangeForm, DistributorOwnedAdmin):
    stale_code = PjpError.STALE_VERSION
    refused_attr = REFUSED
    form_part = "route"
    form = RouteForm
    list_display = ["code", "name", "stop_count", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    inlines = [RouteStopInline]
    readonly_fields = ["version"]
    change_list_template = "admin/pjp/route/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(stops_n=Count("stops"))

    @admin.display(description="stops", ordering="stops_n")
    def stop_count(self, obj: Any) -> int:
        return int(getattr(obj, "stops_n", 0))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main: list[Any] = ["code", "name", "active"]
        if _scope(request).single_distributor_id is None:
            main.insert(0, "distributor")
        if obj is not None:
            main.append("version")
            if self.has_change_permission(request, obj):
                main.append("loaded_version")
        return [
            (None, {"fields": main}),
            ("Working day", {"fields": [("work_start", "work_end"), "default_service_minutes"]}),
            ("Start and end (blank: the distributor's warehouse)",
             {"fields": [("start_lat", "start_lng"), ("end_lat", "end_lng")], "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The distributor of a route is fixed once it exists (route_update does not move routes).
        return ["version", "distributor"] if obj is not None else ["version"]

    # The change view: the stop order is saved by route_set_stops with the version the page was loaded with
    # (VersionedChangeForm).
    def stale_message(self, obj: Any, loaded: str) -> str:
        return (f"Route {obj.code} changed since you opened it (version {loaded}, now {obj.version}): nothing "
                "was saved. The page shows the current stops; make your change again.")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        scope = _scope(request)
        try:
            if change:
                changed = {name: getattr(obj, name) for name in form.changed_data if name in ROUTE_FIELDS}
                if changed:
                    route_update(scope=scope, route_id=obj.pk, **changed)
            else:
                fields = {name: getattr(obj, name) for name in ROUTE_FIELDS - {"code", "name"}}
                created = route_create(scope=scope, distributor_id=obj.distributor_id, code=obj.code,
                                       name=obj.name, **fields)
                for f in Route._meta.concrete_fields:
                    setattr(obj, f.attname, getattr(created, f.attname))
                obj._state.adding, obj._state.db = False, created._state.db
        except DomainError as exc:
            _domain_to_http(exc)
            raise ServiceRefused(exc, "route") from exc

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.save_m2m()
        for formset in formsets:
            if isinstance(formset, RouteStopFormSet):
                self._save_stops(request, form, formset, change)

    def _save_stops(self, request: HttpRequest, form: Any, formset: RouteStopFormSet, change: bool) -> None:
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not formset.has_changed():
            return
        rows = [f.cleaned_data for f in formset.ordered()]
        outlet_ids = [row["outlet"].pk for row in rows]
        expected = form.cleaned_data.get("loaded_version") if change else form.instance.version
        try:
            route = route_set_stops(
                scope=_scope(request), route_id=form.instance.pk, outlet_ids=outlet_ids, expected_version=expected,
                # None resets a stop to the route's default service time.
                service_minutes=cast(dict[int, int], {row["outlet"].pk: row.get("service_minutes") for row in rows}),
                weeks={row["outlet"].pk: row.get("weeks") or [] for row in rows})
        except DomainError as exc:
            _domain_to_http(exc)
            raise ServiceRefused(exc, "stops") from exc
        if route.version != expected:
            self.message_user(request, f"Stop order saved: {len(outlet_ids)} stops, version {route.version}.",
                              messages.SUCCESS)
        form.instance.version = route.version

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        message = super().construct_change_message(request, form, formsets, add)
        if any(isinstance(f, RouteStopFormSet) and f.has_changed() for f in formsets):
            message.append({"changed": {"fields": ["stops"]}})
        return message

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        if obj is not None and obj.pk:
            context.update(route_page(scope=_scope(request), route_id=obj.pk))
            context["may_optimise"] = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- optimisation pages ------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("build/", wrap(self.build_view), name=f"{name}_build"),
            path("build/<int:job_id>/", wrap(self.build_job_view), name=f"{name}_build_job"),
            path("<int:route_id>/optimise/", wrap(self.optimise_view), name=f"{name}_optimise"),
            path("<int:route_id>/optimise/<int:job_id>/", wrap(self.optimise_job_view),
                 name=f"{name}_optimise_job"),
            *super().get_urls(),
        ]

    def _route(self, request: HttpRequest, route_id: int) -> Route:
        route = self.get_queryset(request).filter(pk=route_id).first()
        if route is None:
            raise Http404
        return route

    def optimise_view(self, request: HttpRequest, route_id: int) -> HttpResponse:
        """POST: start re-sequencing the route in the background and go to the job's page."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:pjp_route_change", args=[route_id]))
        if not _may_edit(request):
            raise PermissionDenied
        route = self._route(request, route_id)
        from .optimisation import route_optimise_start  # the optimisers load OR-Tools: only when used

        try:
            job = route_optimise_start(scope=_scope(request), route_id=route.pk)
        except DomainError as exc:
            _domain_to_http(exc)
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:pjp_route_change", args=[route.pk]))
        return HttpResponseRedirect(reverse("admin:pjp_route_optimise_job", args=[route.pk, job.pk]))

    def optimise_job_view(self, request: HttpRequest, route_id: int, job_id: int) -> HttpResponse:
        route = self._route(request, route_id)
        job = self._job(request, job_id, route_id=route.pk)
        back = reverse("admin:pjp_route_change", args=[route.pk])
        return self._job_page(request, job=job, back=back, title=f"Optimise the order of route {route.code}",
                              route=route)

    def build_view(self, request: HttpRequest) -> HttpResponse:
        """A form: distributor, bookers, cycle; POST starts building routes and plans in the background."""
        if not _may_edit(request):
            raise PermissionDenied
        from .optimisation import routes_build_start
        scope = _scope(request)
        form = RouteBuildForm(request.POST or None, scope=scope)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                job = routes_build_start(scope=scope, distributor_id=data["distributor"], booker_ids=data["bookers"],
                                         cycle_weeks=data["cycle_weeks"],
                                         max_visits_per_day=data["max_visits_per_day"], time_limit=data["time_limit"])
            except DomainError as exc:
                _domain_to_http(exc)
                _form_errors(form, exc, {"distributor_id": "distributor", "booker_ids": "bookers"})
            else:
                return HttpResponseRedirect(reverse("admin:pjp_route_build_job", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": "Build routes and plans"}
        return TemplateResponse(request, "admin/pjp/route/build.html", context)

    def build_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        job = self._job(request, job_id, route_id=None)
        return self._job_page(request, job=job, back=reverse("admin:pjp_route_changelist"),
                              title="Build routes and plans", route=None)

    def _job(self, request: HttpRequest, job_id: int, *, route_id: int | None) -> BackgroundJob:
        """The scope's optimisation job: a sequencing job of this route, or (route_id None) a build job."""
        from .optimisation import ROUTE_SEQUENCE_KIND, ROUTES_BUILD_KIND

        kind = ROUTE_SEQUENCE_KIND if route_id is not None else ROUTES_BUILD_KIND
        job = job_list(scope=_scope(request)).filter(pk=job_id, kind=kind).first()
        if job is None or (route_id is not None and str((job.params or {}).get("route_id")) != str(route_id)):
            raise Http404
        return job

    def _job_page(self, request: HttpRequest, *, job: BackgroundJob, back: str, title: str,
                  route: Route | None) -> HttpResponse:
        """Progress while queued or running (the page refreshes itself), then the proposal with Accept and
        Discard. POST decides: proposal_accept / proposal_discard, back to the route with a message."""
        from .optimisation import proposal_accept, proposal_discard, proposal_for_job

        scope = _scope(request)
        proposal = (proposal_for_job(scope=scope, job_id=job.pk)
                    if job.status == BackgroundJob.Status.SUCCEEDED else None)
        if request.method == "POST":
            if not _may_edit(request):
                raise PermissionDenied
            if proposal is None:
                raise Http404
            accept = "_accept" in request.POST
            if not accept and "_discard" not in request.POST:
                return HttpResponseRedirect(request.path)
            try:
                if accept:
                    proposal_accept(scope=scope, proposal_id=proposal.pk)
                else:
                    proposal_discard(scope=scope, proposal_id=proposal.pk)
            except DomainError as exc:
                _domain_to_http(exc)
                self.message_user(request, f"Not {'accepted' if accept else 'discarded'}: {exc.message}.",
                                  messages.ERROR)
            else:
                self.message_user(request, _decided_message(proposal, accept), messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": title, "job": job,
            "progress": job_progress(job), "proposal": proposal, "route": route, "back": back,
            "view": proposal_view(scope=scope, proposal=proposal) if proposal is not None else None,
            "may_decide": proposal is not None and proposal.status == ProposalStatus.READY and _may_edit(request),
        }
        return TemplateResponse(request, "admin/pjp/optimisation_job.html", context)


def _decided_message(proposal: Any, accepted: bool) -> str:
    if proposal.kind == ProposalKind.BUILD_ROUTES:
        return ("Accepted: the routes and plans are created." if accepted
                else "Discarded: no route or plan was created.")
    return "Accepted: the route has the new order." if accepted else "Discarded: the route keeps its order."


def _form_errors(form: forms.Form, exc: DomainError, aliases: dict[str, str]) -> None:
    """A service's field errors on the form's fields (by name or alias); the rest above the form."""
    placed = False
    for name, problems in (exc.fields or {}).items():
        base = name.split("[", 1)[0]  # "booker_ids[2]" is about the bookers field
        alias = aliases.get(name) or aliases.get(base) or base
        target = alias if alias in form.fields else slot_target(form, name)
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, str(problem))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def slot_target(form: forms.Form, name: str) -> str | None:
    """`slots[i]...` of pjp_publish -> the grid field of the i-th filled slot."""
    match = re.match(r"^slots\[(\d+)\]", name)
    if match and isinstance(form, PjpPublishForm):
        slots = form.slots()
        index = int(match.group(1))
        if index < len(slots):
            week, day, _route = slots[index]
            return slot_field(week, day)
    return None


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
