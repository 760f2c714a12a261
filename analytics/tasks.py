"""Analytics tasks: the facts refresh of one tenant-local date, and the hooks that enqueue it.

- `after_reconciliation` (settings.RECONCILIATION_AFTER_RUN): the full refresh of the closed date, every
  distributor, once the nightly run has committed (and so the day close has marked missed visits).
- `after_sync` (called by the mobile push through a settings hook, since nothing imports analytics): a refresh of
  one distributor's date, debounced: the first sync of a (tenant, distributor, date) claims a cache key and enqueues
  the refresh DEBOUNCE_SECONDS later, so the syncs of those minutes cost one refresh; the task frees the key when it
  starts, so a sync arriving during or after it enqueues the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError, transaction

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope

DEBOUNCE_SECONDS = 300
# The key outlives the countdown a little: a late worker does not let a second refresh in before the first runs.
DEBOUNCE_KEY_TTL = DEBOUNCE_SECONDS + 120


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def debounce_key(tenant_id: int, distributor_id: int, business_date: date | str) -> str:
    return f"analytics:facts-refresh:{int(tenant_id)}:{int(distributor_id)}:{_as_date(business_date).isoformat()}"


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def facts_refresh_task(*, tenant_id: int, business_date: str, distributor_ids: Sequence[int] | None = None,
                       debounce: bool = False) -> dict[str, int]:
    """Rebuild the facts of the tenant's `business_date` (ISO date) for all or some distributors. Idempotent.
    `debounce`: started by after_sync, so free the distributors' debounce keys first."""
    from .builders import facts_refresh

    day = _as_date(business_date)
    if debounce and distributor_ids:
        cache.delete_many([debounce_key(tenant_id, d, day) for d in distributor_ids])
    with tenant_scope(Scope.system(tenant_id, "analytics")) as scope:
        return facts_refresh(scope=scope, business_date=day, distributor_ids=distributor_ids)


def after_reconciliation(*, tenant_id: int, business_date: date | str, **_: Any) -> None:
    """RECONCILIATION_AFTER_RUN hook: refresh the whole closed date, once the caller's transaction commits."""
    day = _as_date(business_date).isoformat()
    transaction.on_commit(lambda: facts_refresh_task.delay(tenant_id=tenant_id, business_date=day))


def after_sync(*, tenant_id: int, distributor_id: int, business_date: date | str) -> None:
    """After a mobile push of `distributor_id`'s items of `business_date`: refresh that slice, at most one refresh
    per (tenant, distributor, date) enqueued at a time, DEBOUNCE_SECONDS after the first sync. Runs on commit, so a
    push that rolls back neither claims the key nor enqueues."""
    day = _as_date(business_date).isoformat()

    def enqueue() -> None:
        if cache.add(debounce_key(tenant_id, distributor_id, day), 1, timeout=DEBOUNCE_KEY_TTL):
            facts_refresh_task.apply_async(kwargs={"tenant_id": tenant_id, "business_date": day,
                                                   "distributor_ids": [distributor_id], "debounce": True},
                                           countdown=DEBOUNCE_SECONDS)

    transaction.on_commit(enqueue)
