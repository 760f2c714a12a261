"""The primary-order admin: the distributor's orders to the manufacturer, with their lines and events.

Modest on purpose: orders are drafted over the API (or the ERP); here distributor editors submit and cancel them
with bulk actions (cancel asks for a reason on an intermediate page, kept in the order's event), each order
through its own service call under request.scope, so one refusal never blocks the others. The manufacturer
decides over its API. Querysets come from the scoped managers: another tenant's or distributor's order is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from dms.core.errors import DomainError
from dms.tenancy.admin_base import DistributorOwnedAdmin
from dms.tenancy.scope import Scope

from .admin import ReasonForm, RoleInline
from .models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from .services import primary_order_cancel, primary_order_submit

MAX_MESSAGES = 20
LINE_FIELDS = ("line_no", "sku", "ordered_cases", "approved_cases", "case_price", "ordered_value", "approved_value",
               "decision_note")
EVENT_FIELDS = ("created_at", "action", "from_status", "to_status", "actor_label", "reason", "detail")


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


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
                       "decided_at", "created_by", "currency", "total_ordered", "total_approved", "version"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # drafted over the API, where the lines are valued by the services

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # the page itself is read-only; "change" gates the actions on the changelist (obj None)
        return super().has_change_permission(request, obj) and obj is None

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
