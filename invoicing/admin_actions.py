"""The bulk action "Invoice selected orders" on Orders -> Secondary orders.

It lives here and InvoicingConfig.ready attaches it to the orders admin, because orders sits below invoicing
(STYLE §1: imports flow one way) and may not import invoicing; the same ready() already plugs invoicing's receivable
into the orders credit check. The action calls invoice_issue_many under request.scope (each order in a savepoint of
its own, so one refused order never blocks the others) and reports each order: its new invoice, the invoice it had
already, or why it was refused. Distributor admins and staff invoice (invoicing.admin.WRITERS), as over the API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dms.core.errors import DomainError
from dms.tenancy.admin_base import request_role
from orders.models import SecondaryOrder

from .admin import WRITERS
from .services import MAX_ORDERS, IssueResult, invoice_issue_many

AFTER = "allocate_selected"  # offered right after the allocation that makes orders invoiceable
MAX_MESSAGES = 20  # per-order messages shown after the action; the rest are counted


def _labels(queryset: QuerySet[SecondaryOrder]) -> dict[int, str]:
    """Order pk -> its label, named as the orders admin names orders ("Order 1a2b3c4d (SHOP1)"), by pk."""
    return {order.pk: f"Order {str(order.uuid)[:8]} ({order.outlet.code})"
            for order in queryset.select_related("outlet").order_by("pk")}


def _line(result: IssueResult, label: str) -> tuple[int, str]:
    """The level and text of one order's message."""
    invoice = result.invoice
    if not result.ok or invoice is None:
        return messages.ERROR, f"{label}: not invoiced. {result.message}"
    if result.created:
        return messages.SUCCESS, f"{label}: invoiced, {invoice.number_text} for {invoice.total} {invoice.currency}."
    return messages.INFO, f"{label}: invoiced already, {invoice.number_text}."


def has_invoice_permission(modeladmin: admin.ModelAdmin, request: HttpRequest) -> bool:
    """Only the roles that issue invoices are offered the action (a manufacturer admin may change orders but does
    not invoice a distributor's sales)."""
    return modeladmin.has_change_permission(request) and request_role(request) in WRITERS


@admin.action(description="Invoice selected orders", permissions=["invoice"])
def invoice_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[SecondaryOrder]) -> None:
    """Allocated or partially allocated -> invoiced, for each selected order; a summary, then a message per order."""
    if request_role(request) not in WRITERS:
        modeladmin.message_user(request, "Your role may not issue invoices.", messages.ERROR)
        return
    labels = _labels(queryset)
    if not labels:  # ids of orders the user may not see (another distributor's) are left out of the queryset
        modeladmin.message_user(request, "None of the selected orders was found: nothing was invoiced.",
                                messages.WARNING)
        return
    if len(labels) > MAX_ORDERS:
        modeladmin.message_user(request, f"Invoice at most {MAX_ORDERS} orders at once.", messages.ERROR)
        return
    try:
        results = invoice_issue_many(scope=request.scope, order_ids=list(labels))  # type: ignore[attr-defined]
    except DomainError as exc:
        modeladmin.message_user(request, f"Nothing was invoiced: {exc.message}", messages.ERROR)
        return
    created = sum(1 for r in results if r.ok and r.created)
    already = sum(1 for r in results if r.ok and not r.created)
    refused = len(results) - created - already
    counts = [(created, "invoiced"), (already, "invoiced already"), (refused, "not invoiced")]
    modeladmin.message_user(
        request, f"Invoicing of {len(results)} order{'s' if len(results) != 1 else ''}: "
                 f"{', '.join(f'{n} {what}' for n, what in counts if n)}.",
        messages.SUCCESS if created else messages.WARNING)
    for result in results[:MAX_MESSAGES]:
        level, text = _line(result, labels.get(result.order_id, f"Order {result.order_id}"))
        modeladmin.message_user(request, text, level)
    if len(results) > MAX_MESSAGES:
        modeladmin.message_user(request, f"{len(results) - MAX_MESSAGES} more orders: see each order's events.",
                                messages.INFO)


def attach(model_admin: type[admin.ModelAdmin]) -> None:
    """Offer the action on the orders admin, after "Allocate selected…"; attaching twice changes nothing."""
    actions: list[Any] = list(model_admin.actions or [])
    if invoice_selected in actions:
        return
    model_admin.has_invoice_permission = has_invoice_permission  # type: ignore[attr-defined]
    at = actions.index(AFTER) + 1 if AFTER in actions else len(actions)
    actions.insert(at, invoice_selected)
    model_admin.actions = actions
