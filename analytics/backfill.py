"""The facts backfill: rebuild a range of tenant-local dates with the builder, oldest first, one transaction per date.

What it is for: loading the facts of the days before analytics was switched on (or before a fact table or column
was added), after a data fix, and the demo's and the benchmark's history. The nightly and after-sync refreshes keep
them current afterwards.

Decisions:
- Each date is its own tenant_scope, so its own transaction: a failure keeps the dates before it, a retry resumes at
  the failed date (analytics.tasks.facts_backfill_task does), and no transaction holds a whole range's slices.
  facts_refresh is idempotent, so redoing a date that was done is harmless; it is only wasted work.
- Oldest first: the facts fill in in date order, and today's refresh (the stock and receivables snapshots, which
  only a refresh on the date itself can take) comes last, closest to the end of the run.
- No date after the tenant's today: the builder would write zero rows for it ("nothing happened"), which a dashboard
  cannot tell from a real day without work.
- Progress goes to a callback after each date's commit, outside the transaction, so a slow listener (a Celery
  result backend) never holds the date's locks.
- The builder's SQL is PostgreSQL's (ANY over arrays, LATERAL, AT TIME ZONE, FILTER); `facts_supported()` tells the
  callers that may meet the SQLite demo database, so they can say so instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.utils import timezone

from dms.tenancy.context import current_scope_or_none, tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

from .builders import facts_refresh


@dataclass(frozen=True)
class BackfillStep:
    """One date done (committed): the `done`-th of `total`, with the rows written per fact table."""

    done: int
    total: int
    date: date
    counts: dict[str, int]


Progress = Callable[[BackfillStep], None]


def facts_supported() -> bool:
    """Whether the default database can run the facts builder (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def tenant_today(tenant_id: int) -> date:
    """The tenant's current local date."""
    return timezone.now().astimezone(Tenant.objects.get(pk=tenant_id).tz).date()


def backfill_dates(date_from: date, date_to: date) -> list[date]:
    """date_from..date_to inclusive, oldest first."""
    if date_from > date_to:
        raise ValueError(f"date_from {date_from.isoformat()} is after date_to {date_to.isoformat()}.")
    return [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]


def facts_backfill(*, scope: Scope, date_from: date, date_to: date, distributor_ids: Iterable[int] | None = None,
                   progress: Progress | None = None) -> dict[date, dict[str, int]]:
    """Rebuild the facts of every tenant-local date date_from..date_to (inclusive, oldest first) for the scope's
    distributors (narrowed by `distributor_ids`), each date in its own tenant_scope transaction; call `progress`
    after each date commits. Idempotent: a second run rewrites the same rows. Call it outside tenant_scope (it opens
    one per date). Returns the rows written per date and fact table. ValueError: an empty range, or a date after the
    tenant's today."""
    if current_scope_or_none() is not None:
        raise RuntimeError("facts_backfill opens one tenant_scope per date: call it outside tenant_scope()")
    dates = backfill_dates(date_from, date_to)
    today = tenant_today(scope.tenant_id)
    if date_to > today:
        raise ValueError(f"date_to {date_to.isoformat()} is after the tenant's today ({today.isoformat()}).")
    ids = None if distributor_ids is None else sorted({int(d) for d in distributor_ids})
    done: dict[date, dict[str, int]] = {}
    for n, day in enumerate(dates, start=1):
        with tenant_scope(scope):
            counts = facts_refresh(scope=scope, business_date=day, distributor_ids=ids)
        done[day] = counts
        if progress is not None:
            progress(BackfillStep(done=n, total=len(dates), date=day, counts=counts))
    return done
