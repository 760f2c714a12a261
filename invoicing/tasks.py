"""Celery interfaces of invoicing: enter the tenant, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from dms.tenancy.jobs import job_run


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def invoice_batch_task(*, tenant_id: int, job_id: int) -> str:
    """Run a queued batch invoicing job. Safe to run again: finished jobs are not re-run, and a re-run of an
    unfinished one skips the orders already invoiced."""
    from .services import invoice_batch_job

    return job_run(tenant_id=tenant_id, job_id=job_id, work=invoice_batch_job, transactional=False)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def on_account_apply_task(*, tenant_id: int, outlet_ids: list[int]) -> dict[str, str]:
    """Apply the outlets' money on account to their open invoices (after invoices were issued to them). Safe to run
    again: what was applied is no longer on account. Returns outlet id -> amount applied."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope

    from .services.payments import on_account_apply

    applied = {}
    for outlet_id in outlet_ids:
        with tenant_scope(Scope.system(tenant_id, "on-account")) as scope:
            applied[str(outlet_id)] = str(on_account_apply(scope=scope, outlet_id=outlet_id))
    return applied
