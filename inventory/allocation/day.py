"""A day's queue of confirmed orders, allocated by a background job (see the package docstring)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from dms.core.errors import DomainError
from dms.tenancy.jobs import Progress, job_create
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope

from .. import selectors
from .commit import _allocate
from .plan import DAY_MAX_ORDERS, JOB_KIND, OUTCOMES, E, _day_check
from .policy import FIFO, POLICIES

# --- a day's queue -------------------------------------------------------------------------------------------------

def allocate_day_start(*, scope: Scope, distributor_id: int, day: date, day_field: str = "booked",
                       policy: str = FIFO, warehouse_id: int | None = None) -> BackgroundJob:
    """Queue the allocation of a distributor's confirmed orders booked on `day` (tenant-local date; `day_field`
    "delivery": to be delivered on it) as a background job run by allocate_day_task once the caller's transaction
    commits. The job is safe to run again: orders allocated by then are reported, not allocated twice."""
    _day_check(scope, distributor_id=distributor_id, day=day, day_field=day_field, policy=policy,
               warehouse_id=warehouse_id)
    from ..tasks import allocate_day_task  # tasks import this package: avoid the cycle

    return job_create(scope=scope, kind=JOB_KIND, task=allocate_day_task, params={
        "distributor_id": distributor_id, "day": day.isoformat(), "day_field": day_field, "policy": policy,
        "warehouse_id": warehouse_id})


def allocate_day_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """The job's work (in job_run's one tenant transaction): plan and allocate the day's queue as one batch."""
    p = job.params
    ids = selectors.allocation_day_queue(scope=scope, distributor_id=p["distributor_id"],
                                         day=date.fromisoformat(p["day"]), day_field=p["day_field"])
    if len(ids) > DAY_MAX_ORDERS:
        raise DomainError(E.INVALID, f"{len(ids)} orders in the queue: at most {DAY_MAX_ORDERS} in one run; "
                          "allocate them in parts.")
    progress(0, len(ids), f"planning {len(ids)} orders")
    results = _allocate(scope, ids, warehouse_id=p.get("warehouse_id"), policy=p["policy"], expected={},
                        reason=f"{p['day']} allocation: {POLICIES[p['policy']].lower()}", run_id=job.pk,
                        progress=progress) if ids else []
    counts = Counter(result.outcome for result in results)
    return {"orders": len(results), **{outcome: counts[outcome] for outcome in OUTCOMES},
            "units_requested": sum(line.requested_units for r in results for line in r.lines),
            "units_allocated": sum(line.proposed_units for r in results if r.ok for line in r.lines),
            "results": [{"order_id": r.order_id, "outcome": r.outcome, "status": r.status, "code": r.code,
                         "message": r.message} for r in results]}
