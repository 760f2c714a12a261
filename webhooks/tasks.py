"""Celery interfaces of webhooks: send one delivery, and the per-minute re-drive of due deliveries.

`BEAT_SCHEDULE` is the entry to merge into CELERY_BEAT_SCHEDULE (dms/settings/base.py). Retries are not
self-scheduled with a countdown: a failed try sets the delivery's next_attempt_at, and the re-drive enqueues it when
it is due (see webhooks/services/delivery.py for why).

`deliver_webhook` is the one task that does not run its service inside `tenant_scope`: `deliver` opens two short
tenant transactions itself (claim, then record), so that none is open during the HTTP request.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.db import OperationalError, transaction
from kombu.exceptions import KombuError

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

logger = logging.getLogger("webhooks")

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "webhooks-redrive": {
        "task": "webhooks.tasks.redrive_webhooks",
        "schedule": crontab(),  # every minute: lost enqueues, due retries and dead workers' deliveries
    },
}


def enqueue_deliveries(tenant_id: int, delivery_ids: list[int]) -> None:
    """Send each delivery's task to the broker (after the emitting transaction committed). A broker error is logged
    and swallowed: the change is committed, its deliveries are pending, and the re-drive will send them."""
    for index, delivery_id in enumerate(delivery_ids):
        try:
            deliver_webhook.delay(tenant_id=tenant_id, delivery_id=delivery_id)
        except (KombuError, OSError):  # the broker is unreachable; a bug in an eager run still raises
            logger.warning("webhooks: could not enqueue %s deliveries of tenant %s; the re-drive will send them",
                           len(delivery_ids) - index, tenant_id, exc_info=True)
            return


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def deliver_webhook(*, tenant_id: int, delivery_id: int) -> str:
    """One try of a delivery. Idempotent: a delivery already succeeded, failed, not yet due or held by another
    worker is left alone ("skipped")."""
    from .services import deliver  # services import tasks: avoid the cycle

    return deliver(scope=Scope.system(tenant_id, "webhooks-deliver"), delivery_id=delivery_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def redrive_webhooks(*, tenant_id: int | None = None) -> dict[str, Any]:
    """Without `tenant_id` (the beat): fan out one task per active tenant. With it: enqueue that tenant's due
    deliveries (at most services.REDRIVE_BATCH a run). Idempotent."""
    from .services import redrive

    if tenant_id is None:
        with transaction.atomic():
            ids = list(Tenant.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))
            for tid in ids:
                transaction.on_commit(partial(redrive_webhooks.delay, tenant_id=tid))
        return {"tenants": ids}
    with tenant_scope(Scope.system(tenant_id, "webhooks-redrive")) as scope:
        enqueued = redrive(scope=scope)
    return {"tenant_id": tenant_id, "enqueued": len(enqueued)}
