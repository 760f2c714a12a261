"""Celery interfaces of the dispatch app: enter the tenant, call one service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


# The delivery-trip planner is CPU-heavy: it runs on the `optimisation` queue (STYLE §5). Its registered name matches
# the "*.optimise_*" entry of CELERY_TASK_ROUTES, which sends it there (a `queue` task attribute is deprecated).
@shared_task(name="dispatch.tasks.optimise_load_forms_task", acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=True, retry_jitter=True, max_retries=5)
def load_forms_plan_task(*, tenant_id: int, job_id: int) -> str:
    """Plan a day's load forms for a queued job. Idempotent: a finished job is not run again, and a job that wrote
    its load forms returns them."""
    from .services import load_forms_plan_run  # the services import this module: avoid the cycle

    return load_forms_plan_run(tenant_id=tenant_id, job_id=job_id)
