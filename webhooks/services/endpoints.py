"""Endpoints (register, change, rotate the secret, delete, send a test event) and the manual retry of a delivery.

A URL is checked when it is set and again before every send (webhooks.net): only http(s), and, unless
WEBHOOKS_ALLOW_PRIVATE_URLS, only hosts whose every address is public. Checking resolves the host, so it does a
DNS lookup inside the caller's transaction; that is bounded by the resolver's timeout and is the only I/O here.
The secret ("whsec_" + base64 of 32 random bytes) is returned by create and rotate only; reads never show it.
Rotation replaces the secret at once (no overlap window in which both would sign).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.tenancy.enums import ActorKind
from dms.tenancy.scope import Scope

from .. import conf, net
from ..enums import DeliveryStatus, EventType, subscribable_event_types
from ..errors import WebhookError
from ..events import new_msg_id
from ..locks import lock_endpoints
from ..models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from .delivery import fail_pending_deliveries

SECRET_BYTES = 32
URL_MAX_LENGTH = 500


def generate_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_endpoint_url(url: str) -> str:
    """The URL, stripped, if webhooks may be sent to it now; else a 400 naming `url`."""
    url = (url or "").strip()
    try:
        if len(url) > URL_MAX_LENGTH:
            raise net.UrlRefused(f"Use at most {URL_MAX_LENGTH} characters.")
        net.check_url(url, allow_private=conf.allow_private_urls(), allow_http=conf.allow_http())
    except net.UrlRefused as exc:
        raise DomainError(WebhookError.URL_REFUSED, f"url: {exc}", fields={"url": [str(exc)]}) from exc
    return url


def check_event_types(event_types: Iterable[str]) -> list[str]:
    """The event types, sorted and without duplicates, if all are known; else a 400 naming `event_types`."""
    allowed = subscribable_event_types()
    chosen = sorted({str(t) for t in event_types})
    unknown = [t for t in chosen if t not in allowed]
    if unknown:
        message = f"Unknown event type {', '.join(repr(t) for t in unknown)}; choose from {', '.join(allowed)}."
        raise DomainError(WebhookError.UNKNOWN_EVENT_TYPE, f"event_types: {message}",
                          fields={"event_types": [message]})
    return chosen


def _locked(scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    endpoint = lock_endpoints(scope).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


@transaction.atomic
def endpoint_create(*, scope: Scope, url: str, description: str = "",
                    event_types: Iterable[str] = ()) -> WebhookEndpoint:
    """Register an endpoint (active) with a new secret; the returned object carries the secret to show once."""
    created_by_id = scope.actor.id if scope.actor.kind == ActorKind.USER else None
    return WebhookEndpoint.objects.create(
        url=check_endpoint_url(url), description=description, event_types=check_event_types(event_types),
        secret=generate_secret(), created_by_id=created_by_id)


@transaction.atomic
def endpoint_update(*, scope: Scope, endpoint_id: int, url: str | None = None, description: str | None = None,
                    event_types: Iterable[str] | None = None, active: bool | None = None) -> WebhookEndpoint:
    """Change what is given (None: unchanged). Re-enabling (active -> True) checks the URL again, resets the failure
    count and clears the disabled mark; deactivating fails the pending deliveries no worker holds. Idempotent.
    Locks the endpoint."""
    endpoint = _locked(scope, endpoint_id)
    now = timezone.now()
    enabling = active is True and not endpoint.active
    if url is not None and (url.strip() != endpoint.url or enabling):
        endpoint.url = check_endpoint_url(url)
    elif enabling:
        check_endpoint_url(endpoint.url)
    if description is not None:
        endpoint.description = description
    if event_types is not None:
        endpoint.event_types = check_event_types(event_types)
    if enabling:
        endpoint.active, endpoint.consecutive_failures = True, 0
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
    elif active is False and endpoint.active:
        endpoint.active, endpoint.disabled_at = False, now
        endpoint.disabled_reason = f"Deactivated by {scope.actor.label}."[:300]
        fail_pending_deliveries(endpoint_id=endpoint.pk, now=now)
    endpoint.save(update_fields=["url", "description", "event_types", "active", "consecutive_failures",
                                 "disabled_at", "disabled_reason", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    """A new secret, effective for every try from now on (a try already sending keeps the old signature).
    The returned object carries the secret to show once. Locks the endpoint."""
    endpoint = _locked(scope, endpoint_id)
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, scope: Scope, endpoint_id: int) -> None:
    """Delete the endpoint with its deliveries and their log (the events stay). A worker sending one of them
    finds it gone and records nothing. Locks the endpoint."""
    _locked(scope, endpoint_id).delete()


@transaction.atomic
def endpoint_send_test(*, scope: Scope, endpoint_id: int) -> WebhookDelivery:
    """Send a `webhook.test` event to this endpoint only (a delivery like any other: signed, retried, logged).
    An inactive endpoint is a 409. Locks the endpoint."""
    from ..tasks import enqueue_deliveries  # tasks import services: avoid the cycle

    endpoint = _locked(scope, endpoint_id)
    if not endpoint.active:
        raise DomainError(WebhookError.ENDPOINT_DISABLED, "The endpoint is inactive; activate it first.",
                          status_code=409)
    now = timezone.now()
    event = OutboxEvent.objects.create(
        msg_id=new_msg_id(), event_type=EventType.ENDPOINT_TEST,
        payload={"type": EventType.ENDPOINT_TEST.value, "timestamp": now.isoformat(),
                 "data": {"endpoint_id": endpoint.pk, "message": "A test event sent from dms."}})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=now)
    transaction.on_commit(partial(enqueue_deliveries, scope.tenant_id, [delivery.pk]))
    return delivery


@transaction.atomic
def delivery_retry(*, scope: Scope, delivery_id: int) -> WebhookDelivery:
    """Failed -> pending, due now, and enqueued after the commit. A delivery that had used up its tries gets one
    more; one failed early (its endpoint was disabled) resumes its schedule. Retrying a pending delivery is a
    no-op; a succeeded one, or one whose endpoint is inactive, is a 409. Locks the endpoint."""
    from ..tasks import enqueue_deliveries  # tasks import services: avoid the cycle

    delivery = WebhookDelivery.objects.filter(tenant_id=scope.tenant_id, pk=delivery_id).first()
    if delivery is None:
        raise NotFound("Webhook delivery not found.")
    if delivery.status == DeliveryStatus.PENDING:
        return delivery
    if delivery.status != DeliveryStatus.FAILED:
        raise DomainError(WebhookError.DELIVERY_NOT_FAILED, "Only a failed delivery can be retried.",
                          fields={"status": [f"The delivery is {delivery.status}."]}, status_code=409)
    if not _locked(scope, delivery.endpoint_id).active:
        raise DomainError(WebhookError.ENDPOINT_DISABLED,
                          "The endpoint is inactive; activate it before retrying its deliveries.", status_code=409)
    now = timezone.now()
    if not WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, lease_until=None):
        return WebhookDelivery.objects.filter(pk=delivery_id).first() or delivery  # retried concurrently
    transaction.on_commit(partial(enqueue_deliveries, scope.tenant_id, [delivery_id]))
    delivery.refresh_from_db()
    return delivery
