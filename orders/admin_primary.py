"""The primary-order admin: the distributor's orders to the manufacturer, with their lines and events.

Modest on purpose: orders are drafted over the API (or the ERP); here distributor editors submit and cancel them
with bulk actions (cancel asks for a reason on an intermediate page, kept in the order's event), each order
through its own service call under request.scope, so one refusal never blocks the others. The manufacturer
decides over its API. Querysets come from the scoped managers: another tenant's or distributor's order is a 404.

"New order from suggestion" (changelist button, `suggestion/`) shows the suggested order with its reasons, the
cases editable; distributor admins and staff turn it into a draft (primary_order_create_suggested) and land on
it. Manufacturer users may look (they pick the distributor) but not order. An order's page links to its Dispatch
Advice and Goods Receipt once they exist (plain text while the dispatch admin is not registered).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dms.core.errors import DomainError, NotFound
from dms.tenancy.admin_base import DistributorOwnedAdmin, request_role
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list

from .admin import ReasonForm, RoleInline
from .models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from .services import (
    SuggestedLine,
    primary_order_cancel,
    primary_order_create_suggested,
    primary_order_submit,
    primary_order_suggest,
)

MAX_MESSAGES = 20
LINE_FIELDS = ("line_no", "sku", "ordered_cases", "approved_cases", "case_price", "ordered_value", "approved_value",
               "decision_note")
EVENT_FIELDS = ("created_at", "action", "from_status", "to_status", "actor_label", "reason", "detail")
# Who may turn the suggestion into a draft: the distributor's own people, as over the API.
SUGGESTION_WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _admin_link(url_name: str, pk: int, label: str) -> SafeString:
    """A link to another app's admin page; the label alone while that admin is not registered."""
    try:
        return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), label)
    except NoReverseMatch:
        return format_html("{}", label)


class SuggestionForm(forms.Form):
    """The suggested cases of every orderable SKU (cases_<sku_id>), editable, plus the draft's note and date."""

    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 60}))
    requested_delivery_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, lines: list[SuggestedLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            if line.orderable:
                self.fields[f"cases_{line.sku_id}"] = forms.IntegerField(
                    min_value=0, initial=line.suggested_cases, label=line.sku_code,
                    widget=forms.NumberInput(attrs={"style": "width: 6em"}))

    def rows(self) -> list[tuple[SuggestedLine, Any]]:
        """(line, its cases field or None when it cannot be ordered), in suggestion order."""
        return [(line, self[f"cases_{line.sku_id}"] if line.orderable else None) for line in self.lines]

    def cases(self) -> dict[int, int]:
        return {line.sku_id: self.cleaned_data[f"cases_{line.sku_id}"] for line in self.lines if line.orderable}


class PrimaryOrderLineInline(RoleInline):
    model = PrimaryOrderLine
    extra = 0
    ordering = ["line_no"]
    fields = readonly_fields = LINE_FIELDS
    verbose_name = "line"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("sku")


class PrimaryOrderEventInline(RoleInline):
    model = PrimaryOrderEvent
    extra = 0
    ordering = ["created_at", "id"]
    fields = readonly_fields = EVENT_FIELDS
    verbose_name_plural = "events"


@admin.register(PrimaryOrder)
class PrimaryOrderAdmin(DistributorOwnedAdmin):
    list_display = ["number", "status", "requested_delivery_date", "submitted_at", "total_ordered", "total_approved",
                    "currency"]
    list_filter = ["status", ("submitted_at", admin.DateFieldListFilter)]  # type: ignore[list-item]
    search_fields = ["number", "note"]
    inlines = [PrimaryOrderLineInline, PrimaryOrderEventInline]
    actions = ["submit_selected", "cancel_selected"]
    readonly_fields = ["number", "distributor", "status", "note", "requested_delivery_date", "submitted_at",
                       "decided_at", "created_by", "currency", "total_ordered", "total_approved", "version",
                       "dispatch_documents"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafted over the API, where the lines are valued by the services

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # the page itself is read-only; "change" gates the actions on the changelist (obj None)
        return super().has_change_permission(request, obj) and obj is None

    @admin.display(description="dispatch advice and goods receipt")
    def dispatch_documents(self, obj: PrimaryOrder) -> str:
        links: list[SafeString] = []
        for advice in obj.dispatch_advices.prefetch_related("receipts").order_by("id"):
            links.append(_admin_link("admin:dispatch_dispatchadvice_change", advice.pk,
                                     f"{advice.number} ({advice.get_status_display().lower()})"))
            links += [_admin_link("admin:dispatch_goodsreceipt_change", receipt.pk, receipt.number)
                      for receipt in advice.receipts.order_by("id")]
        if not links:
            return "none yet"
        return format_html_join(", ", "{}", ((link,) for link in links))

    # --- the suggested order ---------------------------------------------------------------------------------
    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [path("suggestion/", self.admin_site.admin_view(self.suggestion_view), name=f"{name}_suggestion"),
                *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {**(extra_context or {}), "may_suggest": self.has_view_permission(request)}
        return super().changelist_view(request, extra)

    def suggestion_view(self, request: HttpRequest) -> HttpResponse:
        """GET: the suggested order of the user's distributor (a manufacturer user picks one). POST: a draft with the
        cases as edited, then its page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        scope = _scope(request)
        may_order = request_role(request) in SUGGESTION_WRITERS
        distributors = []
        distributor_id = scope.single_distributor_id
        if distributor_id is None:
            distributors = list(distributor_list(scope=scope).order_by("code"))
            chosen = request.POST.get("distributor") or request.GET.get("distributor") or ""
            distributor_id = int(chosen) if chosen.isdigit() else None
        lines: list[SuggestedLine] = []
        if distributor_id is not None:
            try:
                lines = primary_order_suggest(scope=scope, distributor_id=distributor_id)
            except NotFound as exc:
                raise Http404 from exc
        form = SuggestionForm(request.POST if request.method == "POST" else None, lines=lines)
        if request.method == "POST":
            if not may_order:
                raise PermissionDenied
            if distributor_id is not None and form.is_valid():
                try:
                    draft = primary_order_create_suggested(
                        scope=scope, distributor_id=distributor_id, cases=form.cases(),
                        note=form.cleaned_data["note"] or "",
                        requested_delivery_date=form.cleaned_data["requested_delivery_date"])
                except DomainError as exc:
                    details = [str(p) for ps in (exc.fields or {}).values() for p in ps if str(p) != exc.message]
                    form.add_error(None, " ".join([exc.message, *details]))
                else:
                    count = sum(1 for n in form.cases().values() if n)
                    self.message_user(request, f"{draft.order.number} drafted from the suggestion ({count} "
                                      f"line{'s' if count != 1 else ''}): check it, then submit it.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:orders_primaryorder_change", args=[draft.order.pk]))
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "New order from suggestion",
            "form": form, "rows": form.rows() if lines else [], "may_order": may_order,
            "distributors": distributors,
            "distributor_id": distributor_id, "asked": distributor_id is not None,
        }
        return TemplateResponse(request, "admin/orders/primaryorder/suggestion.html", context)

    @admin.action(description="Submit selected drafts", permissions=["change"])
    def submit_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._each(request, queryset, lambda pk: primary_order_submit(scope=_scope(request), order_id=pk),
                   "submitted")

    @admin.action(description="Cancel selected orders…", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        labels = {o.pk: o.number for o in queryset.order_by("pk")}
        form = ReasonForm(request.POST if "apply_reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(request, queryset,
                       lambda pk: primary_order_cancel(scope=_scope(request), order_id=pk, reason=reason), "cancelled")
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "Cancel primary orders",
            "intro": "Drafts and submitted orders can be cancelled; the reason is kept in each order's events.",
            "button": "Cancel these orders", "form": form, "action": "cancel_selected", "labels": labels.values(),
            "ids": list(labels), "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/secondaryorder/reason.html", context)

    def _each(self, request: HttpRequest, queryset: QuerySet[Any], act: Callable[[int], PrimaryOrder],
              done: str) -> None:
        """One service call per order (by pk, the lock order), each its own savepoint."""
        ok, failed = 0, []
        for order in queryset.order_by("pk"):
            try:
                act(order.pk)
            except DomainError as exc:
                failed.append(f"{order.number}: not {done}. {exc.message}")
            else:
                ok += 1
        if ok:
            self.message_user(request, f"{ok} order{'s' if ok != 1 else ''} {done}.", messages.SUCCESS)
        for message in failed[:MAX_MESSAGES]:
            self.message_user(request, message, messages.ERROR)
        if len(failed) > MAX_MESSAGES:
            self.message_user(request, f"{len(failed) - MAX_MESSAGES} more orders were not {done}.", messages.ERROR)
