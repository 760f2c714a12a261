"""The one entry point other apps use: `emit` an event inside the transaction of the change it reports."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from dms.tenancy.scope import Scope

from .enums import EventType
from .models import OutboxEvent, WebhookDelivery, WebhookEndpoint


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Decimals and dates as strings (money is never a float), exactly as they will be sent."""
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def new_msg_id() -> str:
    """A Standard Webhooks message id: the same for every delivery and retry of one event."""
    return f"msg_{uuid.uuid4().hex}"


def emit(*, scope: Scope, event_type: EventType | str, data: dict[str, Any],
         distributor_id: int | None = None) -> OutboxEvent:
    """Record `event_type` with `data` for every subscribed endpoint of the scope's tenant. Call it inside the
    transaction of the change (it requires one): the event and its deliveries commit or roll back with it. The
    deliveries are enqueued after the commit; the re-drive beat task catches any enqueue that is lost."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhooks.emit must run inside the transaction of the change it reports")
    if str(event_type) == EventType.ENDPOINT_TEST:
        raise ValueError("the test event is sent by services.endpoint_send_test, never emitted")
    now = timezone.now()
    event = OutboxEvent.objects.create(
        msg_id=new_msg_id(), event_type=str(event_type), distributor_id=distributor_id,
        payload={"type": str(event_type), "timestamp": now.isoformat(), "data": _jsonable(data)})
    endpoints = [e for e in WebhookEndpoint.objects.filter(tenant_id=scope.tenant_id, active=True)
                 if e.wants(str(event_type))]
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(tenant_id=scope.tenant_id, event=event, endpoint=e, next_attempt_at=now) for e in endpoints])
    if deliveries:
        from .tasks import enqueue_deliveries

        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: enqueue_deliveries(scope.tenant_id, ids))
    return event
