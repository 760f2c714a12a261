"""Celery interfaces of the catalogue: enter the tenant, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from dms.tenancy.jobs import job_run


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def masters_import_task(*, tenant_id: int, job_id: int) -> str:
    """Run a queued master-data import. Idempotent: a finished job is not run again."""
    from .import_jobs import masters_import_job

    return job_run(tenant_id=tenant_id, job_id=job_id, work=masters_import_job)
