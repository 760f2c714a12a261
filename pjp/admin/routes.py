"""The route admin: stop order, offline map, optimisation and build pages, proposals."""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    DISTRIBUTOR_EDITORS,
    DistributorOwnedAdmin,
    RoleInline,
    ServiceRefused,
    VersionedChangeForm,
)
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.selectors import job_list

from ..admin_views import (
    PjpPublishForm,
    RouteBuildForm,
    proposal_view,
    route_page,
    slot_field,
)
from ..enums import ProposalKind, ProposalStatus
from ..errors import PjpError
from ..models import Route, RouteStop
from ..services import route_create, route_set_stops, route_update
from ..services.routes import ROUTE_FIELDS
from .common import REFUSED, STOP_FIELD, UNSEQUENCED, _domain_to_http, _may_edit, _scope


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
        from ..optimisation import route_optimise_start  # the optimisers load OR-Tools: only when used

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
        from ..optimisation import routes_build_start
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
        from ..optimisation import ROUTE_SEQUENCE_KIND, ROUTES_BUILD_KIND

        kind = ROUTE_SEQUENCE_KIND if route_id is not None else ROUTES_BUILD_KIND
        job = job_list(scope=_scope(request)).filter(pk=job_id, kind=kind).first()
        if job is None or (route_id is not None and str((job.params or {}).get("route_id")) != str(route_id)):
            raise Http404
        return job

    def _job_page(self, request: HttpRequest, *, job: BackgroundJob, back: str, title: str,
                  route: Route | None) -> HttpResponse:
        """Progress while queued or running (the page refreshes itself), then the proposal with Accept and
        Discard. POST decides: proposal_accept / proposal_discard, back to the route with a message."""
        from ..optimisation import proposal_accept, proposal_discard, proposal_for_job

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
