"""Celery interfaces of the inventory app: enter the tenant, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from dms.tenancy.jobs import job_run


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def allocate_day_task(*, tenant_id: int, job_id: int) -> str:
    """Allocate a day's queue of confirmed orders for a queued job (inventory.allocation.allocate_day_start), in
    the scope of the person who asked, in one transaction. Idempotent: a finished job is not run again, and a
    job run again skips the orders allocated meanwhile."""
    from .allocation import allocate_day_job  # the services import this module: avoid the cycle

    return job_run(tenant_id=tenant_id, job_id=job_id, work=allocate_day_job)
