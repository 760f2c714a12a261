"""Background jobs: create in the request's transaction, run in a Celery task, report progress.

    job = job_create(scope=scope, kind="masters_import", params={...}, payload=data)   # request
    job_run(tenant_id=..., job_id=..., work=fn)                                        # task

`work(scope, job, progress)` runs inside one tenant transaction with the scope of the person who asked.
A job is claimed with a compare-and-set, so a redelivered task never runs finished work twice; a task
that died mid-way rolled its transaction back, so running it again is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from dms.core.errors import DomainError

from .context import tenant_scope
from .models import BackgroundJob
from .scope import Actor, Scope

PROGRESS_TTL = 24 * 3600
Progress = Callable[[int, int, str], None]


def _progress_key(tenant_id: int, job_id: int) -> str:
    return f"dms:job-progress:{tenant_id}:{job_id}"


def progress_reporter(tenant_id: int, job_id: int) -> Progress:
    def report(done: int, total: int, message: str = "") -> None:
        cache.set(_progress_key(tenant_id, job_id), {"done": done, "total": total, "message": message},
                  PROGRESS_TTL)

    return report


def job_progress(job: BackgroundJob) -> dict[str, Any]:
    """Status with live progress; a finished job reports 100 %."""
    live = cache.get(_progress_key(job.tenant_id, job.pk)) or {"done": 0, "total": 0, "message": ""}
    if job.status == BackgroundJob.Status.SUCCEEDED:
        live = {**live, "done": live["total"] or 1, "total": live["total"] or 1}
    percent = int(100 * live["done"] / live["total"]) if live["total"] else 0
    return {"id": job.pk, "kind": job.kind, "status": job.status, "percent": percent, **live,
            "result": job.result, "error": job.error, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at}


def job_create(*, scope: Scope, kind: str, params: dict[str, Any], payload: bytes | None = None,
               task: Any) -> BackgroundJob:
    """Record the job and enqueue `task(tenant_id=..., job_id=...)` once the transaction commits."""
    job = BackgroundJob.objects.create(
        kind=kind, params=params, payload=payload, actor_role=scope.role or "",
        requested_by_id=scope.actor.id if scope.actor.kind == "user" else None,
        scope_distributor_id=scope.single_distributor_id,
    )
    tenant_id, job_id = scope.tenant_id, job.pk
    transaction.on_commit(lambda: task.delay(tenant_id=tenant_id, job_id=job_id))
    return job


def _scope_of(job: BackgroundJob) -> Scope:
    """The scope of the person who asked, rebuilt from what the server recorded (never from input)."""
    actor = Actor(kind="user" if job.requested_by_id else "system", id=job.requested_by_id,
                  role=job.actor_role or None, label=f"job:{job.pk}")
    dids = frozenset({job.scope_distributor_id}) if job.scope_distributor_id else None
    return Scope(tenant_id=job.tenant_id, distributor_ids=dids, actor=actor)


def job_run(*, tenant_id: int, job_id: int, work: Callable[[Scope, BackgroundJob, Progress], dict],
            transactional: bool = True) -> str:
    """Claim, run and finish a job. Returns the final status. Safe to call again for the same job.

    `work` runs inside one tenant transaction, unless `transactional` is False: then it is called outside any
    transaction and opens its own tenant_scope blocks (a long solve between a read and a write must not hold a
    transaction, and its snapshot, open for minutes)."""
    now = timezone.now()
    with tenant_scope(Scope.system(tenant_id, "job-claim")):
        claimed = BackgroundJob.objects.filter(
            pk=job_id, status__in=[BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING]
        ).update(status=BackgroundJob.Status.RUNNING, started_at=now, attempts=F("attempts") + 1)
        job = BackgroundJob.objects.filter(pk=job_id).first()
    if job is None:
        raise DomainError("not_found", f"job {job_id} not found for tenant {tenant_id}", status_code=404)
    if not claimed:
        return job.status  # already finished: a redelivery, nothing to do
    progress = progress_reporter(tenant_id, job_id)
    scope = _scope_of(job)
    try:
        if transactional:
            with tenant_scope(scope):
                result = work(scope, job, progress)
        else:
            result = work(scope, job, progress)
        status, error = BackgroundJob.Status.SUCCEEDED, ""
    except DomainError as exc:
        status, error, result = BackgroundJob.Status.FAILED, exc.message, {"code": exc.code, "fields": exc.fields,
                                                                           **exc.extra}
    except OperationalError:
        raise  # transient (connection, deadlock): the task retries and re-claims the running job
    except Exception as exc:
        _finish(tenant_id, job_id, BackgroundJob.Status.FAILED, {}, f"internal error: {type(exc).__name__}")
        raise
    _finish(tenant_id, job_id, status, result, error)
    return status


def _finish(tenant_id: int, job_id: int, status: str, result: dict, error: str) -> None:
    with tenant_scope(Scope.system(tenant_id, "job-finish")):
        BackgroundJob.objects.filter(pk=job_id).update(status=status, result=result, error=error,
                                                       finished_at=timezone.now(), payload=None)
