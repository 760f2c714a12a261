"""Analytics tasks: the facts refresh of one tenant-local date, the hooks that enqueue it, and the backfill.

- `after_reconciliation` (settings.RECONCILIATION_AFTER_RUN): the full refresh of the closed date, every
  distributor, once the nightly run has committed (and so the day close has marked missed visits).
- `after_sync` (called by the mobile push through a settings hook, since nothing imports analytics): a refresh of
  one distributor's date, debounced: the first sync of a (tenant, distributor, date) claims a cache key and enqueues
  the refresh DEBOUNCE_SECONDS later, so the syncs of those minutes cost one refresh; the task frees the key when it
  starts, so a sync arriving during or after it enqueues the next one.
- `facts_backfill_task`: a range of dates (analytics.backfill), one date per transaction, reporting PROGRESS; a
  retry after a database error resumes at the failed date, and a long range continues in a new task after
  BACKFILL_BUDGET_SECONDS so no run meets the worker's time limit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.core.cache import cache
from django.db import OperationalError, transaction

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope

DEBOUNCE_SECONDS = 300
# The key outlives the countdown a little: a late worker does not let a second refresh in before the first runs.
DEBOUNCE_KEY_TTL = DEBOUNCE_SECONDS + 120
# A backfill task hands the rest of its range to a new task once it has run this long: well inside
# CELERY_TASK_SOFT_TIME_LIMIT (1,500 s), leaving room for the date under way.
BACKFILL_BUDGET_SECONDS = 600
BACKFILL_MAX_RETRIES = 5


# How far back the nightly refresh looks for coverage months made stale by an outlet change (they are read from the
# month bits until rebuilt: right, only slower).
COVERAGE_HEAL_MONTHS = 13


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _facts_supported() -> bool:
    """The hooks do nothing where the builder cannot run (the SQLite demo: an eager refresh would fail the push)."""
    from .backfill import facts_supported

    return facts_supported()


def debounce_key(tenant_id: int, distributor_id: int, business_date: date | str) -> str:
    return f"analytics:facts-refresh:{int(tenant_id)}:{int(distributor_id)}:{_as_date(business_date).isoformat()}"


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def facts_refresh_task(*, tenant_id: int, business_date: str, distributor_ids: Sequence[int] | None = None,
                       debounce: bool = False) -> dict[str, int]:
    """Rebuild the facts of the tenant's `business_date` (ISO date) for all or some distributors. Idempotent.
    `debounce`: started by after_sync, so free the distributors' debounce keys first. The whole date's refresh (the
    nightly one) then rebuilds the coverage months an outlet change made stale over the past COVERAGE_HEAL_MONTHS
    (the count is returned as "coverage_months_healed")."""
    from .builders import coverage_heal, facts_refresh

    day = _as_date(business_date)
    if debounce and distributor_ids:
        cache.delete_many([debounce_key(tenant_id, d, day) for d in distributor_ids])
    with tenant_scope(Scope.system(tenant_id, "analytics")) as scope:
        counts = facts_refresh(scope=scope, business_date=day, distributor_ids=distributor_ids)
    if distributor_ids is None:
        with tenant_scope(Scope.system(tenant_id, "analytics")) as scope:
            counts["coverage_months_healed"] = coverage_heal(scope=scope, until=day, months=COVERAGE_HEAL_MONTHS)
    return counts


def after_reconciliation(*, tenant_id: int, business_date: date | str, **_: Any) -> None:
    """RECONCILIATION_AFTER_RUN hook: refresh the whole closed date, once the caller's transaction commits."""
    if not _facts_supported():
        return
    day = _as_date(business_date).isoformat()
    transaction.on_commit(lambda: facts_refresh_task.delay(tenant_id=tenant_id, business_date=day))


def after_sync(*, tenant_id: int, distributor_id: int, business_date: date | str) -> None:
    """After a mobile push of `distributor_id`'s items of `business_date`: refresh that slice, at most one refresh
    per (tenant, distributor, date) enqueued at a time, DEBOUNCE_SECONDS after the first sync. Runs on commit, so a
    push that rolls back neither claims the key nor enqueues."""
    if not _facts_supported():
        return
    day = _as_date(business_date).isoformat()

    def enqueue() -> None:
        if cache.add(debounce_key(tenant_id, distributor_id, day), 1, timeout=DEBOUNCE_KEY_TTL):
            facts_refresh_task.apply_async(kwargs={"tenant_id": tenant_id, "business_date": day,
                                                   "distributor_ids": [distributor_id], "debounce": True},
                                           countdown=DEBOUNCE_SECONDS)

    transaction.on_commit(enqueue)


@shared_task(bind=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=BACKFILL_MAX_RETRIES)
def facts_backfill_task(self: Task, *, tenant_id: int, date_from: str, date_to: str,
                        distributor_ids: Sequence[int] | None = None, resume_from: str | None = None
                        ) -> dict[str, Any]:
    """Rebuild the facts of every date date_from..date_to (ISO, tenant-local, inclusive), oldest first, one
    transaction per date, reporting state PROGRESS with meta {"done", "total", "date"} (over the whole range) after
    each. Idempotent. `resume_from`: the first date not done yet (set by its own retries and continuations).

    A database error on a date retries the task from that date (the dates before it are committed), with the
    backoff autoretry would use; past BACKFILL_BUDGET_SECONDS the rest of the range goes to a new task, whose id is
    returned as "continued_as". Returns {"done", "total", "rows"}: rows written by this task per fact table."""
    from .backfill import BackfillStep, facts_backfill

    first, last = _as_date(date_from), _as_date(date_to)
    day = _as_date(resume_from) if resume_from else first
    total = (last - first).days + 1
    scope = Scope.system(tenant_id, "analytics")
    kwargs = {"tenant_id": tenant_id, "date_from": first.isoformat(), "date_to": last.isoformat(),
              "distributor_ids": list(distributor_ids) if distributor_ids is not None else None}
    rows: dict[str, int] = {}

    def report(step: BackfillStep) -> None:
        for table, n in step.counts.items():
            rows[table] = rows.get(table, 0) + n
        if self.request.id:  # not when called as a plain function
            self.update_state(state="PROGRESS", meta={"done": (step.date - first).days + 1, "total": total,
                                                      "date": step.date.isoformat()})

    deadline = time.monotonic() + BACKFILL_BUDGET_SECONDS
    while day <= last:
        try:
            facts_backfill(scope=scope, date_from=day, date_to=day, distributor_ids=distributor_ids,
                           progress=report)
        except OperationalError as exc:
            countdown = get_exponential_backoff_interval(factor=1, retries=self.request.retries, maximum=600,
                                                         full_jitter=True)
            raise self.retry(exc=exc, kwargs={**kwargs, "resume_from": day.isoformat()},
                             countdown=countdown) from exc
        day += timedelta(days=1)
        if day <= last and time.monotonic() > deadline:
            rest = facts_backfill_task.apply_async(kwargs={**kwargs, "resume_from": day.isoformat()})
            return {"done": (day - first).days, "total": total, "rows": rows, "continued_as": rest.id}
    return {"done": total, "total": total, "rows": rows}
