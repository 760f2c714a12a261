"""Reads of webhooks, always through the scope: another tenant's endpoint or delivery is "not found"."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from dms.core.errors import NotFound
from dms.tenancy.scope import Scope

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, scope: Scope) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(tenant_id=scope.tenant_id).order_by("-created_at", "-id")


def endpoint_get(*, scope: Scope, pk: int) -> WebhookEndpoint:
    endpoint = endpoint_list(scope=scope).filter(pk=pk).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def delivery_list(*, scope: Scope, endpoint_id: int | None = None, status: str | None = None,
                  event_type: str | None = None) -> QuerySet[WebhookDelivery]:
    """Deliveries with their event and endpoint, newest first (one query for any number of rows)."""
    qs = WebhookDelivery.objects.filter(tenant_id=scope.tenant_id).select_related("event", "endpoint")
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event__event_type=event_type)
    return qs.order_by("-id")


def delivery_get(*, scope: Scope, pk: int) -> WebhookDelivery:
    """A delivery with its event, endpoint and attempt log (oldest attempt first)."""
    attempts = WebhookAttempt.objects.filter(tenant_id=scope.tenant_id).order_by("number")
    delivery = (delivery_list(scope=scope).prefetch_related(Prefetch("attempt_log", queryset=attempts))
                .filter(pk=pk).first())
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    return delivery
