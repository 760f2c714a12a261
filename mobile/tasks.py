"""Celery interfaces of the mobile app: enter the tenant, call one service.

The beat entry lives in dms/settings/base.py (CELERY_BEAT_SCHEDULE); `BEAT_SCHEDULE` below is the entry to merge
there. Retention is SYNC_CHANGE_RETENTION_DAYS (default 7; a device may stay offline up to 3 days, DESIGN §9).
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.db import OperationalError, transaction
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

PRUNE_BATCH = 50_000

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "mobile-prune-sync-changes": {
        "task": "mobile.tasks.prune_sync_changes",
        "schedule": crontab(minute=40, hour=3),  # daily; the age cut-off does not depend on the tenant's zone
    },
}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def prune_sync_changes(*, tenant_id: int | None = None) -> dict[str, Any]:
    """Delete change-feed rows older than the retention. Without `tenant_id`: fan out one task per tenant. With
    it: at most PRUNE_BATCH rows, then the next batch is enqueued after this one commits. Idempotent."""
    from .changes import retention_days, sync_changes_prune

    if tenant_id is None:
        with transaction.atomic():
            ids = list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
            for tid in ids:
                transaction.on_commit(partial(prune_sync_changes.delay, tenant_id=tid))
        return {"tenants": ids}
    before = timezone.now() - timedelta(days=retention_days())
    with tenant_scope(Scope.system(tenant_id, "prune-sync-changes")) as scope:
        result = sync_changes_prune(scope=scope, before=before, limit=PRUNE_BATCH)
        if result.more:
            transaction.on_commit(partial(prune_sync_changes.delay, tenant_id=tenant_id))
    return {"tenant_id": tenant_id, "deleted": result.deleted, "clocks": result.clocks, "more": result.more}
