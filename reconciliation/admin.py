"""The reconciliation admin: the runs (read-only, with their counts per check; "Run again" and "Reconcile a date…"
for manufacturer admins) and the exception queue.

The queue is worked by manufacturer admins and analysts and by distributor admins and staff (analysts are read-only
elsewhere in the admin, not here): "Assign to me", "Assign to…" (a user who can see the exception's distributor),
"Resolve…" (a note is required) and "Re-open", as bulk actions on the list and as buttons on an exception's page.
Every change is one reconciliation.services call under request.scope, so it is a transition with an event. The list
opens on what is still to do (open or assigned). An exception's page links the records involved to their own
admin pages where there is one. Querysets come from the scoped managers: a distributor user sees its own
distributor's exceptions only, and another tenant's run or exception is a 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dms.core.errors import DomainError
from dms.tenancy.admin_base import DistributorOwnedAdmin, RoleInline, TenantAdmin, request_role
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list, tenant_zone

from . import selectors
from .checks import CHECKS
from .enums import OPEN_STATES, ExceptionStatus, RunStatus, RunTrigger
from .models import ExceptionEvent, ReconciliationException, ReconciliationRun
from .services import exception_assign, exception_reopen, exception_resolve, reconciliation_request
from .services.queue import NOTE_MAX

RUNNERS = frozenset({Role.MANUFACTURER_ADMIN})  # the run is the tenant's: tenant-level admins start it
WORKERS = selectors.QUEUE_ROLES
MAX_MESSAGES = 20  # per-exception refusals shown after a bulk action; the rest are counted
TEMPLATES = "admin/reconciliation"

# The type of a record involved (checks/base.py) -> the admin whose change page shows it.
RECORD_ADMINS = {
    "order": "orders_secondaryorder", "secondary_order": "orders_secondaryorder",
    "primary_order": "orders_primaryorder",
    "invoice": "invoicing_invoice", "credit_note": "invoicing_creditnote", "payment": "invoicing_payment",
    "load_form": "dispatch_loadform", "vehicle": "dispatch_vehicle",
    "dispatch_advice": "dispatch_dispatchadvice", "da": "dispatch_dispatchadvice",
    "goods_receipt": "dispatch_goodsreceipt", "grn": "dispatch_goodsreceipt",
    "balance": "inventory_stockbalance", "stock_balance": "inventory_stockbalance",
    "movement": "inventory_stockmovement", "stock_movement": "inventory_stockmovement",
    "allocation": "inventory_allocation", "warehouse": "inventory_warehouse",
    "device": "tenancy_device", "distributor": "tenancy_distributor",
    "journey": "pjp_dailyjourney", "daily_journey": "pjp_dailyjourney", "visit": "pjp_visit", "route": "pjp_route",
    "outlet": "catalog_outlet", "sku": "catalog_sku",
}


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _may(request: HttpRequest, roles: frozenset[Role]) -> bool:
    return request_role(request) in roles


def _require(request: HttpRequest, roles: frozenset[Role]) -> Scope:
    if not _may(request, roles):
        raise PermissionDenied
    return _scope(request)


def _page(model_admin: admin.ModelAdmin, request: HttpRequest, template: str, title: str,
          **context: Any) -> TemplateResponse:
    return TemplateResponse(request, f"{TEMPLATES}/{template}", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **context})


def _place(form: forms.Form, error: DomainError) -> None:
    """A service's refusal on the form: under the field it names, else above the form."""
    placed = False
    for name, problems in (error.fields or {}).items():
        if name in form.fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def _duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


# --- runs ----------------------------------------------------------------------------------------------------------

class ReconcileForm(forms.Form):
    business_date = forms.DateField(help_text="The tenant-local business date to reconcile (not a future one).")
    rerun = forms.BooleanField(required=False, label="Run again if it was reconciled already",
                               help_text="Exceptions are updated, never doubled.")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(TenantAdmin):
    """Read-only: a run changes only by running. Counts are the tenant's, over all its distributors."""

    edit_roles = frozenset()
    list_display = ["business_date", "status", "trigger", "attempts", "duration", "checks_progress", "found", "new",
                    "still_open"]
    list_filter = ["status", "trigger"]
    date_hierarchy = "business_date"
    fields = readonly_fields = ("business_date", "status", "trigger", "requested_by", "attempts", "started_at",
                                "finished_at", "duration", "checks_progress", "totals", "check_table", "exceptions",
                                "error")
    actions = ["run_again"]
    change_list_template = f"{TEMPLATES}/reconciliationrun/change_list.html"
    change_form_template = f"{TEMPLATES}/reconciliationrun/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_run_permission(self, request: HttpRequest) -> bool:
        return _may(request, RUNNERS)

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj: ReconciliationRun) -> str:
        return _duration(obj.duration_ms)

    @admin.display(description="checks done")
    def checks_progress(self, obj: ReconciliationRun) -> str:
        return f"{len(obj.checks_done)}/{selectors.check_total()}"

    @admin.display(description="exceptions found")
    def found(self, obj: ReconciliationRun) -> int:
        return selectors.run_totals(obj)["found"]

    @admin.display(description="new")
    def new(self, obj: ReconciliationRun) -> int:
        return selectors.run_totals(obj)["new"]

    @admin.display(description="open")
    def still_open(self, obj: ReconciliationRun) -> int:
        return selectors.run_totals(obj)["open"]

    @admin.display(description="exceptions (all distributors)")
    def totals(self, obj: ReconciliationRun) -> str:
        t = selectors.run_totals(obj)
        return f"{t['found']} found ({t['new']} new, {t['open']} open), {t['cleared']} cleared as no longer found"

    @admin.display(description="per check")
    def check_table(self, obj: ReconciliationRun) -> SafeString:
        rows = format_html_join(
            "", '<tr><td title="{}">{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td>'
                '<td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td>{}</td></tr>',
            ((c.description, c.title, "done" if c.done else "not yet", _dash(c.found), _dash(c.new), _dash(c.open),
              _dash(c.cleared), _dash(c.ms), ", ".join(f"{k} {v}" for k, v in c.changed.items()))
             for c in selectors.run_checks(obj)))
        return format_html(
            '<table id="run-checks"><thead><tr><th>Check</th><th>State</th><th class="num">Found</th>'
            '<th class="num">New</th><th class="num">Open</th><th class="num">Cleared</th><th class="num">ms</th>'
            "<th>Changed</th></tr></thead><tbody>{}</tbody></table>", rows)

    @admin.display(description="exception queue")
    def exceptions(self, obj: ReconciliationRun) -> SafeString:
        url = reverse("admin:reconciliation_reconciliationexception_changelist")
        return format_html('<a href="{}?run={}&amp;status=all" id="run-exceptions">The exceptions this run found</a>',
                           url, obj.pk)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(request, {**(extra_context or {}), "may_run": _may(request, RUNNERS)})

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        context["may_run"] = _may(request, RUNNERS)
        context["in_progress"] = obj is not None and obj.status in (RunStatus.QUEUED, RunStatus.RUNNING)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        return [path("reconcile/", self.admin_site.admin_view(self.reconcile_view),
                     name="reconciliation_reconciliationrun_reconcile"), *super().get_urls()]

    def reconcile_view(self, request: HttpRequest) -> HttpResponse:
        """A business date (and whether to run a reconciled one again); POST requests its run and opens it."""
        scope = _require(request, RUNNERS)
        yesterday = timezone.now().astimezone(tenant_zone(scope=scope)).date() - timedelta(days=1)
        initial = {"business_date": request.GET.get("business_date") or yesterday}
        form = ReconcileForm(request.POST if request.method == "POST" else None, initial=initial)
        if form.is_bound and form.is_valid():
            try:
                run = reconciliation_request(scope=scope, business_date=form.cleaned_data["business_date"],
                                             trigger=RunTrigger.MANUAL, rerun=form.cleaned_data["rerun"])
            except DomainError as exc:
                _place(form, exc)
            else:
                self.message_user(request, _requested(run), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:reconciliation_reconciliationrun_change", args=[run.pk]))
        return _page(self, request, "reconcile.html", "Reconcile a date", form=form)

    @admin.action(description="Run again", permissions=["run"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for run in queryset.order_by("business_date"):
            try:
                again = reconciliation_request(scope=_scope(request), business_date=run.business_date,
                                               trigger=RunTrigger.MANUAL, rerun=True)
            except DomainError as exc:
                self.message_user(request, f"{run}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _requested(again), messages.SUCCESS)


def _requested(run: ReconciliationRun) -> str:
    day = run.business_date.isoformat()
    if run.status == RunStatus.QUEUED:
        return f"The reconciliation of {day} is queued; this page shows its progress."
    if run.status == RunStatus.RUNNING:
        return f"The reconciliation of {day} is running already."
    return f"{day} was reconciled already: tick “run again” to reconcile it anew."


def _dash(value: int | None) -> str:
    return "—" if value is None else str(value)


# --- the exception queue: filters ----------------------------------------------------------------------------------

class StatusFilter(admin.SimpleListFilter):
    """Opens on what is still to do; "All" is a value of its own."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ExceptionStatus.choices, (self.ALL, "All")]

    def choices(self, changelist: Any) -> Any:
        yield {"selected": self.value() is None, "display": "Open or assigned",
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset.filter(status__in=OPEN_STATES)
        if value == self.ALL:
            return queryset
        return queryset.filter(status=value)


class CheckFilter(admin.SimpleListFilter):
    title = "check"
    parameter_name = "check"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return selectors.exception_check_codes(scope=_scope(request))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(check_code=self.value()) if self.value() else queryset


class DistributorFilter(admin.SimpleListFilter):
    """Only for users of several distributors; the choices are the scope's distributors."""

    title = "distributor"
    parameter_name = "distributor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        scope = _scope(request)
        if scope.single_distributor_id is not None:
            return []
        return [(str(d.pk), f"{d.code} {d.name}") for d in distributor_list(scope=scope).order_by("code")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(distributor_id=value) if value and value.isdigit() else queryset


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "Me"), ("nobody", "Nobody")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "me":
            return queryset.filter(assigned_to_id=request.user.pk)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class RunFilter(admin.SimpleListFilter):
    """Set by the link on a run's page ("the exceptions this run found"); shown only while it is set."""

    title = "run"
    parameter_name = "run"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"Run {value}")] if value and value.isdigit() else []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        return queryset.filter(Q(first_run_id=int(value)) | Q(last_run_id=int(value)))


# --- the exception queue: forms --------------------------------------------------------------------------------------

class AssignForm(forms.Form):
    assigned_to: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, label="Assign to", empty_label="Nobody: back to the queue")  # type: ignore[arg-type]

    def __init__(self, *args: Any, users: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = users  # type: ignore[attr-defined]


class ResolveForm(forms.Form):
    note = forms.CharField(max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
                           help_text="What was found and what was done: kept with the exception and in its history.")


class ReopenForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 70}))


class ExceptionEventInline(RoleInline):
    model = ExceptionEvent
    ordering = ["created_at", "id"]
    fields = readonly_fields = ("created_at", "action", "from_status", "to_status", "actor_label", "reason")
    verbose_name_plural = "history"


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(DistributorOwnedAdmin):
    """Read-only fields; the queue changes through the actions and the page's buttons only."""

    edit_roles = frozenset()
    list_display = ["business_date", "check_name", "message", "status", "assigned_to", "last_seen_on"]
    list_display_links = ["business_date", "message"]
    list_filter = [StatusFilter, CheckFilter, DistributorFilter, AssignedFilter,
                   ("business_date", admin.DateFieldListFilter), RunFilter]  # type: ignore[list-item]
    search_fields = ["message", "key"]
    list_select_related = ["distributor", "assigned_to"]
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice over the whole queue: not worth its queries
    fields = readonly_fields = (
        "distributor", "check_name", "check_description", "message", "business_date", "first_seen_on",
        "last_seen_on", "status", "assignee", "key", "resolution_note", "resolver", "resolved_at", "runs")
    inlines = [ExceptionEventInline]
    actions = ["assign_to_me", "assign_to", "resolve", "reopen"]
    change_form_template = f"{TEMPLATES}/reconciliationexception/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_work_permission(self, request: HttpRequest) -> bool:
        return _may(request, WORKERS)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if _scope(request).single_distributor_id is not None:
            fields.remove("distributor")
        return fields

    # --- columns and read-only fields
    @admin.display(description="check", ordering="check_code")
    def check_name(self, obj: ReconciliationException) -> str:
        return selectors.check_title(obj.check_code)

    @admin.display(description="what it compares")
    def check_description(self, obj: ReconciliationException) -> str:
        return next((c.description for c in CHECKS if c.code == obj.check_code), "—")

    # usernames as text: the user admin is not the queue's business
    @admin.display(description="assigned to")
    def assignee(self, obj: ReconciliationException) -> str:
        return obj.assigned_to.get_username() if obj.assigned_to is not None else "—"

    @admin.display(description="resolved by")
    def resolver(self, obj: ReconciliationException) -> str:
        return obj.resolved_by.get_username() if obj.resolved_by is not None else "—"

    @admin.display(description="found by")
    def runs(self, obj: ReconciliationException) -> SafeString:
        link = "admin:reconciliation_reconciliationrun_change"
        return format_html('first by <a href="{}">run {}</a>, last by <a href="{}">run {}</a>',
                           reverse(link, args=[obj.first_run_id]), obj.first_run_id,
                           reverse(link, args=[obj.last_run_id]), obj.last_run_id)

    def _records(self, request: HttpRequest, obj: ReconciliationException) -> list[tuple[str, str | None]]:
        """The subject, then the records involved: (label, URL of its admin page when the user may view one)."""
        records = [r for r in obj.records if isinstance(r, dict)] if isinstance(obj.records, list) else []
        subject = {"type": obj.subject_type, "id": obj.subject_id}
        if obj.subject_id is not None and not any(r.get("type") == obj.subject_type and r.get("id") == obj.subject_id
                                                  for r in records):
            records.insert(0, subject)
        viewable = {f"{m._meta.app_label}_{m._meta.model_name}": ma.has_view_permission(request)
                    for m, ma in self.admin_site._registry.items()}
        out = []
        for record in records:
            kind, pk = str(record.get("type") or "record"), record.get("id")
            label = f"{kind.replace('_', ' ')} {record.get('ref') or pk or ''}".strip()
            name = RECORD_ADMINS.get(kind)
            url = None
            if name is not None and viewable.get(name) and isinstance(pk, int):
                try:
                    url = reverse(f"admin:{name}_change", args=[pk])
                except NoReverseMatch:
                    url = None
            out.append((label, url))
        return out

    # --- pages
    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        if obj is not None:
            context["subtitle"] = f"{obj.get_status_display()}: {obj.message}"
            context["is_open"] = obj.status in OPEN_STATES
            context["may_work"] = _may(request, WORKERS)
            context["records"] = self._records(request, obj)
            detail = obj.detail if isinstance(obj.detail, dict) else {}
            context["figures"] = [(name.replace("_", " "), _figure(value)) for name, value in detail.items()]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = "reconciliation_reconciliationexception"
        return [
            path("<int:exception_id>/assign-to-me/", wrap(self.assign_to_me_view), name=f"{name}_assign_to_me"),
            path("<int:exception_id>/assign/", wrap(self.assign_view), name=f"{name}_assign"),
            path("<int:exception_id>/resolve/", wrap(self.resolve_view), name=f"{name}_resolve"),
            path("<int:exception_id>/reopen/", wrap(self.reopen_view), name=f"{name}_reopen"),
            *super().get_urls(),
        ]

    def _exception(self, request: HttpRequest, exception_id: int) -> tuple[Scope, ReconciliationException]:
        scope = _require(request, WORKERS)
        try:
            return scope, selectors.exception_get(scope=scope, pk=exception_id)
        except DomainError as exc:
            raise Http404(exc.message) from exc

    def _back(self, exc: ReconciliationException) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:reconciliation_reconciliationexception_change", args=[exc.pk]))

    def assign_to_me_view(self, request: HttpRequest, exception_id: int) -> HttpResponse:
        scope, exc = self._exception(request, exception_id)
        if request.method != "POST":
            return self._back(exc)
        try:
            exception_assign(scope=scope, exception_id=exc.pk, user_id=request.user.pk)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, "Assigned to you.", messages.SUCCESS)
        return self._back(exc)

    def assign_view(self, request: HttpRequest, exception_id: int) -> HttpResponse:
        scope, exc = self._exception(request, exception_id)
        users = selectors.assignee_list(scope=scope, distributor_ids={exc.distributor_id})
        form = AssignForm(request.POST if request.method == "POST" else None, users=users,
                          initial={"assigned_to": exc.assigned_to_id})
        if form.is_bound and form.is_valid():
            user = form.cleaned_data["assigned_to"]
            try:
                exception_assign(scope=scope, exception_id=exc.pk, user_id=user.pk if user else None)
            except DomainError as error:
                _place(form, error)
            else:
                self.message_user(request, f"Assigned to {user.get_username()}." if user else "Back in the queue.",
                                  messages.SUCCESS)
                return self._back(exc)
        return self._form_page(request, form, "Assign an exception", [exc], button="Assign")

    def resolve_view(self, request: HttpRequest, exception_id: int) -> HttpResponse:
        scope, exc = self._exception(request, exception_id)
        form = ResolveForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                exception_resolve(scope=scope, exception_id=exc.pk, note=form.cleaned_data["note"])
            except DomainError as error:
                _place(form, error)
            else:
                self.message_user(request, "Resolved.", messages.SUCCESS)
                return self._back(exc)
        return self._form_page(request, form, "Resolve an exception", [exc], button="Resolve")

    def reopen_view(self, request: HttpRequest, exception_id: int) -> HttpResponse:
        scope, exc = self._exception(request, exception_id)
        form = ReopenForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            try:
                exception_reopen(scope=scope, exception_id=exc.pk, reason=form.cleaned_data["reason"])
            except DomainError as error:
                _place(form, error)
            else:
                self.message_user(request, "Re-opened.", messages.SUCCESS)
                return self._back(exc)
        return self._form_page(request, form, "Re-open an exception", [exc], button="Re-open")

    def _form_page(self, request: HttpRequest, form: forms.Form, title: str,
                   exceptions: list[ReconciliationException], *, button: str, action: str = "") -> TemplateResponse:
        """The page of a queue change: the exceptions concerned and the form. With `action`, it is a bulk action's
        intermediate page and posts back to the list with the selection."""
        back = (reverse("admin:reconciliation_reconciliationexception_changelist") if action
                else reverse("admin:reconciliation_reconciliationexception_change", args=[exceptions[0].pk]))
        return _page(self, request, "queue_form.html", title, form=form, button=button, back=back,
                     exceptions=[(e, selectors.check_title(e.check_code)) for e in exceptions], action=action,
                     ids=[e.pk for e in exceptions], action_checkbox_name=helpers.ACTION_CHECKBOX_NAME)

    # --- bulk actions
    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(request, queryset, "assigned to you",
                   lambda pk: exception_assign(scope=_scope(request), exception_id=pk, user_id=request.user.pk))

    @admin.action(description="Assign to…", permissions=["work"])
    def assign_to(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        selected = list(queryset.order_by("pk"))
        users = selectors.assignee_list(scope=_scope(request), distributor_ids={e.distributor_id for e in selected})
        form = AssignForm(request.POST if "apply" in request.POST else None, users=users)
        if form.is_bound and form.is_valid():
            user = form.cleaned_data["assigned_to"]
            done = f"assigned to {user.get_username()}" if user else "put back in the queue"
            self._each(request, queryset, done, lambda pk: exception_assign(
                scope=_scope(request), exception_id=pk, user_id=user.pk if user else None))
            return None
        return self._form_page(request, form, "Assign exceptions", selected, button="Assign", action="assign_to")

    @admin.action(description="Resolve…", permissions=["work"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            self._each(request, queryset, "resolved",
                       lambda pk: exception_resolve(scope=_scope(request), exception_id=pk, note=note))
            return None
        return self._form_page(request, form, "Resolve exceptions", list(queryset.order_by("pk")), button="Resolve",
                               action="resolve")

    @admin.action(description="Re-open", permissions=["work"])
    def reopen(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(request, queryset, "re-opened",
                   lambda pk: exception_reopen(scope=_scope(request), exception_id=pk, reason="re-opened in the admin"))

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], done: str,
              act: Callable[[int], ReconciliationException]) -> None:
        """One service call per exception (each its own savepoint); report the count and each refusal."""
        succeeded, refused = 0, []
        for pk in list(queryset.order_by("pk").values_list("pk", flat=True)):
            try:
                act(pk)
                succeeded += 1
            except DomainError as exc:
                refused.append(f"Exception {pk}: not {done}. {exc.message}")
        if succeeded:
            self.message_user(request, f"{succeeded} exception{'s' if succeeded != 1 else ''} {done}.",
                              messages.SUCCESS)
        for message in refused[:MAX_MESSAGES]:
            self.message_user(request, message, messages.ERROR)
        if len(refused) > MAX_MESSAGES:
            self.message_user(request, f"{len(refused) - MAX_MESSAGES} more were not {done}.", messages.ERROR)


def _figure(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "—" if value is None else str(value)
