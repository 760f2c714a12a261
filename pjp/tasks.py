"""Celery interfaces of the pjp app: enter the tenant, call one service.

The beat entry lives in dms/settings/base.py (CELERY_BEAT_SCHEDULE); `BEAT_SCHEDULE` below is the entry to
merge there. The fan-out runs hourly and enqueues the tenants whose local hour is JOURNEY_BUILD_LOCAL_HOUR, so
each tenant builds its coming days once a day, at night in its own time zone.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from celery import shared_task
from celery.schedules import crontab
from django.db import OperationalError, transaction
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

JOURNEY_BUILD_LOCAL_HOUR = 2
DISTRIBUTORS_PER_TASK = 50

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "pjp-journeys-build-ahead": {
        "task": "pjp.tasks.journeys_build_ahead_all_task",
        "schedule": crontab(minute=10),  # hourly; each tenant is picked in its own JOURNEY_BUILD_LOCAL_HOUR
    },
}


def _utc_now() -> datetime:
    return timezone.now()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def journeys_build_ahead_task(*, tenant_id: int, after_distributor_id: int = 0) -> dict[str, Any]:
    """Build the tenant's journeys for today .. today + BUILD_AHEAD_DAYS, DISTRIBUTORS_PER_TASK distributors
    per run; the next batch is enqueued after this one commits. Idempotent: safe to run twice."""
    from .services import journeys_build_ahead  # services may import tasks: avoid the cycle

    with tenant_scope(Scope.system(tenant_id, "journeys-build-ahead")) as scope:
        result = journeys_build_ahead(scope=scope, after_distributor_id=after_distributor_id,
                                      limit=DISTRIBUTORS_PER_TASK)
        if result.next_after is not None:
            transaction.on_commit(partial(journeys_build_ahead_task.delay, tenant_id=tenant_id,
                                          after_distributor_id=result.next_after))
    return result.as_dict()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def journeys_build_ahead_all_task(*, every_tenant: bool = False) -> list[int]:
    """Fan out one journeys_build_ahead_task per active tenant whose local hour is JOURNEY_BUILD_LOCAL_HOUR
    (every active tenant with `every_tenant`). Returns the tenant ids enqueued."""
    now = _utc_now()
    with transaction.atomic():
        tenants = [(t.pk, t.tz) for t in Tenant.objects.filter(active=True).order_by("pk")]
        due = [pk for pk, tz in tenants if every_tenant or now.astimezone(tz).hour == JOURNEY_BUILD_LOCAL_HOUR]
        for tenant_id in due:
            transaction.on_commit(partial(journeys_build_ahead_task.delay, tenant_id=tenant_id))
    return due


# OR-Tools / PyVRP work runs on its own queue (STYLE §5), so a long build never holds up the default workers.
@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def route_sequence_task(*, tenant_id: int, job_id: int) -> str:
    """Sequence a route for a queued job; leaves a proposal. Idempotent: a finished job is not run again."""
    from .optimisation import route_sequence_run

    return route_sequence_run(tenant_id=tenant_id, job_id=job_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
             retry_jitter=True, max_retries=5)
def routes_build_task(*, tenant_id: int, job_id: int) -> str:
    """Build routes for a queued job; leaves a proposal. Idempotent: a finished job is not run again."""
    from .optimisation import routes_build_run

    return routes_build_run(tenant_id=tenant_id, job_id=job_id)
