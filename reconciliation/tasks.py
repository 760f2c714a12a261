"""Reconciliation tasks: the run of one tenant's business date, the hourly fan-out and the redrive."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

# The run's transient database errors: it keeps what it committed and the retry resumes it. Any other error has
# failed the run already; retrying it would fail the same way. (services/run.py imports this module lazily.)
from .services.run import TRANSIENT


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, retry_jitter=True, max_retries=5)
def reconcile_task(*, tenant_id: int, run_id: int) -> str:
    """Run or resume a reconciliation run. Idempotent: a finished or failed run, or one a live worker holds, is
    skipped ("skipped"). A run still unfinished when the retries run out is left to the redrive (its lease passes)."""
    from .services import reconciliation_execute  # services import tasks: avoid the cycle

    return reconciliation_execute(tenant_id=tenant_id, run_id=run_id)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def reconcile_due_task() -> list[dict[str, Any]]:
    """Hourly (beat): start the run of every tenant whose business date has just closed in its own time zone."""
    from .services import reconcile_due

    return [{"tenant_id": d.tenant_id, "business_date": d.business_date.isoformat(), "run_id": d.run_id}
            for d in reconcile_due()]


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def reconcile_redrive_task() -> list[int]:
    """Every few minutes (beat): enqueue again the runs whose worker died or whose enqueue was lost."""
    from .services import reconcile_redrive

    return reconcile_redrive()
