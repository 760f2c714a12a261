"""The load-form admin: vehicles (distributor editors keep them), load forms, the "Build load forms" page, a load
form's page and its settlement screen.

- Build load forms (Dispatch -> Load forms -> "Build load forms"): a day, the vehicles and the invoices waiting
  for that day (all ticked); "Plan" starts load_forms_plan_start and opens the job's page, which refreshes itself
  while the planner runs, then lists the planned load forms and the invoices it could not place, with the reason.
- A load form's page: the figures, the delivery sequence (ETA, outlet, invoice, amount, outcome), the pick list
  (cases and units per SKU), the loading order (reverse delivery sequence) and the events; "Print PDF"; the next
  step as a button (Mark loaded, Depart, Cancel with a reason) and the delivery man.
- Settlement (out for delivery): per invoice the outcome, the units delivered of each line when partly delivered,
  the reason and what happens to returned goods; per outlet the cash and the cheque collected; the cash and
  cheques counted. "Save" records the deliveries and collections (delivery_record, cash_record); "Save and settle"
  also settles (load_form_settle), and when it cannot, the page lists the differences; what was recorded stays.

Every write goes through dispatch.services under request.scope; a refusal is shown on the page. Querysets come
from the scoped managers, so another tenant's or distributor's vehicle or load form is a 404.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from dms.core.errors import DomainError
from dms.core.pdf import streamed_response
from dms.tenancy.admin_base import DISTRIBUTOR_EDITORS, DistributorOwnedAdmin, request_role
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list, job_list

from . import pdf
from . import selectors_loading as sel
from .enums import CollectionMethod, DeliveryOutcome, LoadFormStatus, Restock
from .models import LoadForm, Vehicle
from .services import (
    LOAD_FORMS_PLAN_KIND,
    cash_record,
    delivery_record,
    load_form_assign,
    load_form_cancel,
    load_form_depart,
    load_form_mark_loaded,
    load_form_settle,
    load_forms_plan_start,
)
from .services.common import tenant_today

TEMPLATES = "admin/dispatch/loadform/"


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _may_edit(request: HttpRequest) -> bool:
    return request_role(request) in DISTRIBUTOR_EDITORS


def _http(exc: DomainError) -> None:
    """A missing (or other tenant's) object is a 404 and a refused role a 403, as everywhere else."""
    if exc.status_code == 404:
        raise Http404(exc.message) from exc
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc


def _explain(exc: DomainError) -> str:
    """The refusal's message and, when it says "see the fields", each field's problems."""
    problems = [f"{name}: {'; '.join(str(p) for p in found)}" for name, found in (exc.fields or {}).items()
                if not any(str(p) in exc.message for p in found)]
    return exc.message + (f" ({' / '.join(problems)})" if problems else "")


# --- vehicles ---------------------------------------------------------------------------------------------------

class VehicleForm(forms.ModelForm):
    """Checks the unique code and registration here: for a distributor user the distributor is not on the form, so
    Django's own constraint validation would skip them and the insert would fail instead."""

    scope_distributor_id: ClassVar[int | None] = None

    class Meta:
        model = Vehicle
        fields = ["distributor", "code", "registration", "capacity_weight_kg", "capacity_volume_l", "capacity_cases",
                  "shift_start", "shift_end", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        distributor = data.get("distributor")
        distributor_id = (distributor.pk if distributor is not None else None) or self.instance.distributor_id \
            or self.scope_distributor_id
        if distributor_id is None:
            return data
        others = Vehicle.objects.filter(distributor_id=distributor_id).exclude(pk=self.instance.pk)
        for name in ("code", "registration"):
            if data.get(name) and others.filter(**{f"{name}__iexact": data[name]}).exists():
                self.add_error(name, f"This distributor has a vehicle with this {name} already.")
        for name in ("capacity_weight_kg", "capacity_volume_l", "capacity_cases"):
            if data.get(name) is not None and data[name] <= 0:
                self.add_error(name, "More than 0.")
        start, end = data.get("shift_start"), data.get("shift_end")
        if start is not None and end is not None and end <= start:
            self.add_error("shift_end", "The shift ends after it starts.")
        return data


@admin.register(Vehicle)
class VehicleAdmin(DistributorOwnedAdmin):
    form = VehicleForm
    list_display = ["code", "registration", "capacity_weight_kg", "capacity_volume_l", "capacity_cases",
                    "shift_start", "shift_end", "active"]
    list_filter = ["active"]
    search_fields = ["code", "registration"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"scope_distributor_id": _scope(request).single_distributor_id})


# --- forms ------------------------------------------------------------------------------------------------------

class BuildForm(forms.Form):
    """The day, the vehicles and the invoices of a plan (the choices are the scope's, set by the view)."""

    distributor = forms.TypedChoiceField(coerce=int, required=False, help_text="whose load forms")
    date = forms.DateField(help_text="the delivery day")
    vehicles = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple)
    invoices = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple, required=False,
                                              help_text="the invoices waiting for that day; none ticked: all of them")
    time_limit = forms.FloatField(initial=5.0, min_value=1.0, max_value=120.0,
                                  help_text="seconds the planner may search")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300)


def _decimal(raw: str | None) -> Decimal | None:
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


# --- load forms -------------------------------------------------------------------------------------------------

@admin.register(LoadForm)
class LoadFormAdmin(DistributorOwnedAdmin):
    list_display = ["number_link", "date", "vehicle", "delivery_man", "status", "invoice_count", "total_cases",
                    "total_weight_kg", "total_value", "expected_cash", "collected"]
    list_filter = ["status", ("date", admin.DateFieldListFilter)]  # type: ignore[list-item]
    search_fields = ["number", "vehicle__code", "note"]
    list_select_related = ["vehicle", "delivery_man", "distributor"]
    date_hierarchy = "date"
    change_list_template = f"{TEMPLATES}change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # load forms are made by "Build load forms" (or the API), never by a plain form

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return sel.load_form_list(scope=_scope(request))

    @admin.display(description="number", ordering="number")
    def number_link(self, obj: LoadForm) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:dispatch_loadform_change", args=[obj.pk]), obj.number)

    @admin.display(description="collected")
    def collected(self, obj: LoadForm) -> Decimal:
        return obj.collected_cash + obj.collected_cheques

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), "may_build": _may_edit(request)})

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("build/", wrap(self.build_view), name="dispatch_loadform_build"),
            path("build/<int:job_id>/", wrap(self.build_job_view), name="dispatch_loadform_build_job"),
            path("<int:load_form_id>/pdf/", wrap(self.pdf_view), name="dispatch_loadform_pdf"),
            path("<int:load_form_id>/settle/", wrap(self.settle_view), name="dispatch_loadform_settle"),
            *super().get_urls(),
        ]

    def _load_form(self, request: HttpRequest, load_form_id: Any) -> LoadForm:
        found = self.get_object(request, str(load_form_id))
        if found is None:
            raise Http404
        return sel.load_form_get(scope=_scope(request), pk=found.pk)

    # --- the load form's page -------------------------------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The load form's page; POST takes its next step (_loaded, _depart, _cancel, _assign) and comes back."""
        load_form = self._load_form(request, object_id)
        here = reverse("admin:dispatch_loadform_change", args=[load_form.pk])
        if request.method == "POST":
            if not _may_edit(request):
                raise PermissionDenied
            self._act(request, load_form)
            return HttpResponseRedirect(here)
        scope = _scope(request)
        stops = [s for s in load_form.stops.all() if s.live]
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": f"Load form {load_form.number}",
            "load_form": load_form, "stops": stops, "pick": sel.load_form_pick_list(scope=scope,
                                                                                   load_form_id=load_form.pk),
            "events": list(load_form.events.all()), "may_edit": _may_edit(request),
            "delivery_men": list(sel.delivery_men(scope=scope, distributor_id=load_form.distributor_id)),
            "cash": sel.cash_figures(scope=scope, load_form=load_form), "cancel_form": CancelForm(),
        }
        return TemplateResponse(request, f"{TEMPLATES}detail.html", context)

    def _act(self, request: HttpRequest, load_form: LoadForm) -> None:
        scope = _scope(request)
        try:
            if "_loaded" in request.POST:
                load_form_mark_loaded(scope=scope, load_form_id=load_form.pk)
                done = f"{load_form.number} is loaded: its stock left the warehouse."
            elif "_depart" in request.POST:
                load_form_depart(scope=scope, load_form_id=load_form.pk)
                done = f"{load_form.number} is out for delivery."
            elif "_cancel" in request.POST:
                load_form_cancel(scope=scope, load_form_id=load_form.pk, reason=request.POST.get("reason", ""))
                done = f"{load_form.number} is cancelled: its invoices are free for another load form."
            elif "_assign" in request.POST:
                raw = request.POST.get("delivery_man", "")
                load_form_assign(scope=scope, load_form_id=load_form.pk,
                                 delivery_man_id=int(raw) if raw.isdigit() else None)
                done = "The delivery man is saved."
            else:
                return
        except DomainError as exc:
            _http(exc)
            self.message_user(request, f"Not done: {_explain(exc)}", messages.ERROR)
            return
        self.message_user(request, done, messages.SUCCESS)

    # --- the PDF --------------------------------------------------------------------------------------------
    def pdf_view(self, request: HttpRequest, load_form_id: int) -> HttpResponse | StreamingHttpResponse:
        """The printable load form, read now and drawn while the response streams: after the request's
        transaction (the tenant middleware's) has ended."""
        found = self.get_object(request, str(load_form_id))
        if found is None:
            raise Http404
        document = sel.load_form_document(scope=_scope(request), pk=found.pk)
        return streamed_response(partial(pdf.render, document), filename=document.number)

    # --- settlement -----------------------------------------------------------------------------------------
    def settle_view(self, request: HttpRequest, load_form_id: int) -> HttpResponse:
        """Record deliveries and collections and settle (see the module docstring)."""
        load_form = self._load_form(request, load_form_id)
        if not _may_edit(request):
            raise PermissionDenied
        here = reverse("admin:dispatch_loadform_settle", args=[load_form.pk])
        if load_form.status != LoadFormStatus.OUT_FOR_DELIVERY:
            self.message_user(request, f"{load_form.number} is {load_form.get_status_display().lower()}: only a load "
                                       "form out for delivery is settled.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:dispatch_loadform_change", args=[load_form.pk]))
        problems: list[str] = []
        differences: list[dict[str, Any]] = []
        if request.method == "POST":
            problems = self._record(request, load_form)
            if not problems and "_settle" in request.POST:
                settled, differences, refusal = self._settle(request, load_form)
                if settled:
                    self.message_user(request, f"{load_form.number} is settled.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:dispatch_loadform_change", args=[load_form.pk]))
                if refusal:
                    problems.append(refusal)
            elif not problems:
                self.message_user(request, "Saved.", messages.SUCCESS)
                return HttpResponseRedirect(here)
            load_form = sel.load_form_get(scope=_scope(request), pk=load_form.pk)
        return self._settle_page(request, load_form, problems, differences)

    def _settle_page(self, request: HttpRequest, load_form: LoadForm, problems: list[str],
                     differences: list[dict[str, Any]]) -> HttpResponse:
        scope = _scope(request)
        stops = [s for s in load_form.stops.all() if s.live]
        lines = {s.pk: sel.invoice_lines_of(scope=scope, invoice_id=s.invoice_id) for s in stops}
        outlets: dict[int, dict[str, Any]] = {}
        cash = sel.cash_figures(scope=scope, load_form=load_form)
        for row in cash.outlets:
            outlets[row.outlet_id] = {"id": row.outlet_id, "label": row.outlet_label, "expected": row.expected,
                                      "collected": row.collected}
        data = request.POST if request.method == "POST" else None
        rows = [{"stop": s, "lines": lines[s.pk], "pending": s.outcome == DeliveryOutcome.PENDING,
                 "outcome": data.get(f"stop-{s.pk}-outcome", s.outcome) if data else s.outcome,
                 "reason": data.get(f"stop-{s.pk}-reason", "") if data else s.return_reason,
                 "restock": data.get(f"stop-{s.pk}-restock", Restock.SALEABLE) if data else Restock.SALEABLE,
                 "on_account": bool(data and data.get(f"stop-{s.pk}-onaccount"))} for s in stops]
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": f"Settle {load_form.number}",
            "load_form": load_form, "rows": rows, "outlets": list(outlets.values()), "cash": cash,
            "problems": problems, "differences": differences, "token": uuid.uuid4().hex,
            "outcomes": [c for c in DeliveryOutcome.choices], "restocks": Restock.choices,
            "counted_cash": data.get("counted_cash", "") if data else "",
            "counted_cheques": data.get("counted_cheques", "") if data else "",
        }
        return TemplateResponse(request, f"{TEMPLATES}settle.html", context)

    def _record(self, request: HttpRequest, load_form: LoadForm) -> list[str]:
        """Each pending invoice given an outcome, and each amount collected, through the services; a refusal of one
        is listed and the others are still recorded (each service call is its own savepoint)."""
        scope = _scope(request)
        post = request.POST
        problems: list[str] = []
        for stop in [s for s in load_form.stops.all() if s.live and s.outcome == DeliveryOutcome.PENDING]:
            outcome = post.get(f"stop-{stop.pk}-outcome", DeliveryOutcome.PENDING)
            if outcome == DeliveryOutcome.PENDING:
                continue
            lines = []
            if outcome == DeliveryOutcome.PARTIALLY_DELIVERED:
                for line in sel.invoice_lines_of(scope=scope, invoice_id=stop.invoice_id):
                    raw = post.get(f"line-{line.pk}-delivered", "").strip()
                    if raw.isdigit() and int(raw) != line.qty_units:
                        lines.append((line.pk, int(raw)))
                    elif raw and not raw.isdigit():
                        problems.append(f"{stop.invoice.number_text}: line {line.line_no} needs a whole number of "
                                        "units.")
            try:
                delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=stop.invoice_id, outcome=outcome,
                                lines=lines, return_reason=post.get(f"stop-{stop.pk}-reason", ""),
                                restock=post.get(f"stop-{stop.pk}-restock", Restock.SALEABLE))
            except DomainError as exc:
                _http(exc)
                problems.append(f"{stop.invoice.number_text}: {_explain(exc)}")
        token = post.get("token", "") or uuid.uuid4().hex
        for outlet_id in sorted(sel.outlets_on(scope=scope, load_form_id=load_form.pk)):
            for method in CollectionMethod.values:
                amount = _decimal(post.get(f"{method}-{outlet_id}"))
                if amount is None or amount == 0:
                    continue
                try:
                    # The page's token makes a re-sent form (a double click, the browser's back and resend) the
                    # same payment, never a second one.
                    cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=outlet_id, amount=amount,
                                method=method, idempotency_key=f"admin-{token}-{outlet_id}-{method}"[:64],
                                reference=post.get(f"{method}ref-{outlet_id}", ""))
                except DomainError as exc:
                    _http(exc)
                    problems.append(f"{method.title()} of outlet {outlet_id}: {_explain(exc)}")
        return problems

    def _settle(self, request: HttpRequest, load_form: LoadForm) -> tuple[bool, list[dict[str, Any]], str]:
        scope = _scope(request)
        post = request.POST
        cash, cheques = _decimal(post.get("counted_cash")), _decimal(post.get("counted_cheques")) or Decimal(0)
        if cash is None:
            return False, [], "Count the cash (0 when there is none)."
        on_account = [s.invoice_id for s in load_form.stops.all() if post.get(f"stop-{s.pk}-onaccount")]
        try:
            load_form_settle(scope=scope, load_form_id=load_form.pk, counted_cash=cash, counted_cheques=cheques,
                             on_account_invoice_ids=on_account)
        except DomainError as exc:
            _http(exc)
            return False, list(exc.extra.get("differences") or []), "" if exc.extra.get("differences") else \
                _explain(exc)
        return True, [], ""

    # --- build load forms -----------------------------------------------------------------------------------
    def build_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the day's form (the vehicles, and the invoices waiting that day); POST: start the plan."""
        if not _may_edit(request):
            raise PermissionDenied
        scope = _scope(request)
        data = request.POST if request.method == "POST" else request.GET
        distributors = list(distributor_list(scope=scope).order_by("code"))
        raw = data.get("distributor") or ""
        distributor_id = scope.single_distributor_id or (int(raw) if raw.isdigit() else
                                                         (distributors[0].pk if distributors else None))
        try:
            day = date.fromisoformat(data.get("date") or "")
        except ValueError:
            day = tenant_today(scope)
        vehicles = list(sel.vehicle_list(scope=scope, distributor_id=distributor_id, active=True)) \
            if distributor_id else []
        waiting = sel.invoice_loads(scope=scope, invoice_ids=sel.plannable_invoice_ids(
            scope=scope, distributor_id=distributor_id, day=day)) if distributor_id else {}
        form = BuildForm(request.POST if request.method == "POST" else None,
                         initial={"distributor": distributor_id, "date": day, "time_limit": 5.0,
                                  "vehicles": [v.pk for v in vehicles], "invoices": list(waiting)})
        form.fields["distributor"].choices = [(d.pk, f"{d.code} {d.name}") for d in distributors]  # type: ignore[attr-defined]
        if scope.single_distributor_id is not None:
            form.fields["distributor"].widget = forms.HiddenInput()
        form.fields["vehicles"].choices = [  # type: ignore[attr-defined]
            (v.pk, f"{v.code} ({v.registration}): {v.capacity_weight_kg} kg, {v.capacity_volume_l} l, "
                   f"{v.capacity_cases} cases") for v in vehicles]
        form.fields["invoices"].choices = [  # type: ignore[attr-defined]
            (g.invoice_id, f"{g.number_text} {g.outlet_label}: {g.weight_kg} kg, {g.cases} cases, {g.amount}")
            for g in waiting.values()]
        if request.method == "POST" and form.is_valid():
            cleaned = form.cleaned_data
            try:
                job = load_forms_plan_start(scope=scope, date=cleaned["date"], vehicle_ids=cleaned["vehicles"],
                                            invoice_ids=cleaned["invoices"] or None,
                                            time_limit=cleaned["time_limit"])
            except DomainError as exc:
                _http(exc)
                form.add_error(None, _explain(exc))
            else:
                return HttpResponseRedirect(reverse("admin:dispatch_loadform_build_job", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "form": form,
                   "title": "Build load forms", "waiting": len(waiting), "day": day}
        return TemplateResponse(request, f"{TEMPLATES}build.html", context)

    def build_job_view(self, request: HttpRequest, job_id: int) -> HttpResponse:
        """The plan's progress (the page refreshes itself), then the load forms it wrote and what it dropped."""
        job = job_list(scope=_scope(request)).filter(pk=job_id, kind=LOAD_FORMS_PLAN_KIND).first()
        if job is None:
            raise Http404
        result = job.result or {}
        forms_made = list(sel.load_form_list(scope=_scope(request)).filter(pk__in=result.get("load_form_ids") or []))
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Build load forms",
                   "job": job, "progress": job_progress(job), "load_forms": forms_made,
                   "dropped": result.get("dropped") or [], "running": job.status in (BackgroundJob.Status.QUEUED,
                                                                                      BackgroundJob.Status.RUNNING)}
        return TemplateResponse(request, f"{TEMPLATES}build_job.html", context)
