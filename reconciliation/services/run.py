"""Running the reconciliation of a tenant's business date: request, execute (resumable), fan-out and redrive.

A run is one row per tenant and business date. `reconciliation_execute` claims it with a lease, then runs each check
not yet done in a transaction of its own: the check's `prepare` (a state change through the owning app's service),
its SELECT wrapped in one INSERT .. ON CONFLICT into the exception table, the clearing of what it no longer finds,
and the run row's progress, all committed together. A worker killed mid-check loses only that check's
uncommitted work; whoever picks the run up next (the redelivered task, or the redrive when the lease has passed)
starts at the first check not done. Two executors of one run serialise on the run row and never do a check twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant, TenantSettings
from dms.tenancy.scope import Scope

from ..checks import CHECKS
from ..checks.base import Check, CheckContext, Limits, table
from ..enums import CheckScope, RunStatus, RunTrigger
from ..models import ExceptionEvent, ReconciliationException, ReconciliationRun

LEASE = timedelta(minutes=10)  # renewed after every check (settings.RECONCILIATION_LEASE_SECONDS overrides it)
QUEUED_GRACE = timedelta(minutes=5)  # a queued run not claimed by then is enqueued again
# Errors that say nothing about the check (the connection dropped, a deadlock, a lock timeout): the run keeps what
# it committed and the task retries. Any other error, a broken check's SQL included, fails the run: retrying it
# would fail the same way every time the redrive picked it up.
TRANSIENT = (OperationalError, InterfaceError)
Progress = Callable[[int, int, str], None]
WORK_MEM_MB = 64  # per sort or hash node of a check's query, for the run's transactions only


def _lease() -> timedelta:
    seconds = getattr(settings, "RECONCILIATION_LEASE_SECONDS", None)
    return LEASE if seconds is None else timedelta(seconds=int(seconds))


def registered_checks() -> tuple[Check, ...]:
    """The checks a run executes: the registry (reconciliation.checks.CHECKS), then the site's own checks named by
    settings.RECONCILIATION_EXTRA_CHECKS (dotted paths of Check objects; the worker tests add theirs this way)."""
    extra = tuple(import_string(path) for path in getattr(settings, "RECONCILIATION_EXTRA_CHECKS", ()))
    return CHECKS + extra


def _no_progress(done: int, total: int, message: str) -> None:
    return None


# --- the calendar ------------------------------------------------------------------------------------------------

def close_instant(business_date: date, tz: ZoneInfo, closing_hour: int) -> datetime:
    """When a business date closes, in UTC: at `closing_hour` local time on the date itself for an evening hour
    (12..23), on the next morning for a small hour (0..11: a day that closes after midnight). An hour that does not
    exist that night (DST starts) is the moment the clocks jump; one that happens twice (DST ends), the first."""
    day = business_date if closing_hour >= 12 else business_date + timedelta(days=1)
    # In UTC, not the local zone: Python never finds a local time in a DST fold or gap equal to any other zone's.
    return datetime(day.year, day.month, day.day, closing_hour, tzinfo=tz).astimezone(UTC)


def latest_closed_date(now: datetime, tz: ZoneInfo, closing_hour: int) -> date:
    """The most recent business date whose close (close_instant) is at or before `now`."""
    instant, local = now.astimezone(UTC), now.astimezone(tz).date()
    for back in range(3):
        candidate = local - timedelta(days=back)
        if close_instant(candidate, tz, closing_hour) <= instant:
            return candidate
    raise AssertionError("a business date closes within two days")  # pragma: no cover


def _settings_of(tenant_id: int) -> TenantSettings:
    return TenantSettings.objects.filter(tenant_id=tenant_id).first() or TenantSettings()


def _context(scope: Scope, run: ReconciliationRun, tenant: Tenant, policy: TenantSettings) -> CheckContext:
    tz = tenant.tz
    day = run.business_date
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz)
    as_of = min(timezone.now(), close_instant(day, tz, policy.day_close_hour))
    limits = Limits(booked_hours=policy.stuck_booked_hours, allocated_hours=policy.stuck_allocated_hours,
                    invoiced_hours=policy.stuck_invoiced_hours, grn_due_days=policy.grn_due_days)
    return CheckContext(scope=scope, run_id=run.pk, business_date=day, tz=tz, day_start=start, day_end=end,
                        as_of=as_of, limits=limits)


def check_context(*, scope: Scope, run: ReconciliationRun) -> CheckContext:
    """The context the run's checks see: the tenant's business date, its bounds and limits (tests and tools)."""
    return _context(scope, run, Tenant.objects.get(pk=scope.tenant_id), _settings_of(scope.tenant_id))


# --- request -----------------------------------------------------------------------------------------------------

def _enqueue(tenant_id: int, run_id: int) -> None:
    from ..tasks import reconcile_task  # tasks import services: avoid the cycle

    transaction.on_commit(partial(reconcile_task.delay, tenant_id=tenant_id, run_id=run_id))


@transaction.atomic
def reconciliation_request(*, scope: Scope, business_date: date, trigger: str = RunTrigger.MANUAL,
                           rerun: bool = False, enqueue: bool = True) -> ReconciliationRun:
    """The run of `business_date`, created if need be and enqueued (after commit) unless it is done or held by a
    live worker. `rerun` starts a finished run again from its first check: exceptions are upserted, so nothing is
    doubled; a failed run always starts again from its first check. `enqueue=False` leaves the run queued for the
    caller to execute (the management command); the redrive enqueues it if the caller never does. A date that has
    not come yet is refused. Locks the run row."""
    tenant = Tenant.objects.get(pk=scope.tenant_id)
    if business_date > timezone.now().astimezone(tenant.tz).date():
        raise DomainError("invalid", "A business date that has not come cannot be reconciled.",
                          fields={"business_date": ["Is in the future."]})
    requester = scope.actor.id if scope.actor.kind == "user" else None
    run, _ = ReconciliationRun.objects.get_or_create(
        business_date=business_date, defaults={"trigger": trigger, "requested_by_id": requester})
    run = ReconciliationRun.objects.select_for_update(no_key=True, of=("self",)).get(pk=run.pk)
    now = timezone.now()
    live = run.status == RunStatus.RUNNING and run.lease_until is not None and run.lease_until > now
    if live or (run.status == RunStatus.SUCCEEDED and not rerun):
        return run
    if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        run.checks_done, run.counts, run.error, run.duration_ms = [], {}, "", None
    run.status, run.trigger, run.requested_by_id, run.lease_until = RunStatus.QUEUED, trigger, requester, None
    run.finished_at = None
    run.save()
    if enqueue:
        _enqueue(scope.tenant_id, run.pk)
    return run


# --- execute -----------------------------------------------------------------------------------------------------

def _claim(tenant_id: int, run_id: int) -> ReconciliationRun | None:
    """Lease the run to this worker; None when it is finished or another worker's lease is live."""
    with tenant_scope(Scope.system(tenant_id, "reconciliation")):
        run = ReconciliationRun.objects.select_for_update(no_key=True, of=("self",)).filter(pk=run_id).first()
        if run is None:
            raise NotFound("Run not found.")
        now = timezone.now()
        # A failed run waits for "Run again" (reconciliation_request); a late copy of its task must not revive it.
        if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            return None
        if run.status == RunStatus.RUNNING and run.lease_until is not None and run.lease_until > now:
            return None
        run.status, run.attempts, run.started_at, run.lease_until, run.error = (
            RunStatus.RUNNING, run.attempts + 1, now, now + _lease(), "")
        run.save(update_fields=["status", "attempts", "started_at", "lease_until", "error", "updated_at"])
        return run


UPSERT = """
WITH found AS ({select}),
reopened AS (
    SELECT e.id FROM {exceptions} e JOIN found f ON f.distributor_id = e.distributor_id AND f.key = e.key
    WHERE e.tenant_id = %(tenant_id)s AND e.check_code = %(check_code)s AND e.status = 'cleared'
),
up AS (
    INSERT INTO {exceptions} AS e (tenant_id, distributor_id, check_code, key, business_date, first_run_id,
        last_run_id, first_seen_on, last_seen_on, last_pass, subject_type, subject_id, message, records, detail,
        status, resolution_note, created_at, updated_at)
    SELECT %(tenant_id)s, f.distributor_id, %(check_code)s, f.key, %(business_date)s, %(run_id)s, %(run_id)s,
        %(business_date)s, %(business_date)s, %(pass_id)s, f.subject_type, f.subject_id, left(f.message, 500),
        coalesce(f.records, '[]'::jsonb), coalesce(f.detail, '{{}}'::jsonb), 'open', '', now(), now()
    FROM found f
    ON CONFLICT (tenant_id, distributor_id, check_code, key) DO UPDATE SET
        last_run_id = EXCLUDED.last_run_id, last_seen_on = GREATEST(e.last_seen_on, EXCLUDED.last_seen_on),
        last_pass = EXCLUDED.last_pass, message = EXCLUDED.message, records = EXCLUDED.records,
        detail = EXCLUDED.detail, updated_at = now(),
        status = CASE WHEN e.status <> 'cleared' THEN e.status
                      WHEN e.assigned_to_id IS NULL THEN 'open' ELSE 'assigned' END,
        resolution_note = CASE WHEN e.status = 'cleared' THEN '' ELSE e.resolution_note END,
        resolved_at = CASE WHEN e.status = 'cleared' THEN NULL ELSE e.resolved_at END
    RETURNING e.id, e.distributor_id, (xmax = 0) AS inserted, e.status AS status
),
events AS (
    INSERT INTO {events} (tenant_id, distributor_id, exception_id, from_status, to_status, action, actor_kind,
        actor_id, actor_label, reason, detail, created_at, updated_at)
    SELECT %(tenant_id)s, up.distributor_id, up.id, 'cleared', up.status, 'reopen', %(actor_kind)s, NULL,
        %(actor_label)s, 'Found again by the reconciliation of ' || %(business_date)s::text || '.', '{{}}'::jsonb,
        now(), now()
    FROM up JOIN reopened USING (id)
)
SELECT count(*), count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE status IN ('open', 'assigned')) FROM up
"""

# An open exception's status is "assigned" exactly when it has an assignee (services/queue.py keeps it so), which
# gives the event its from-status without reading the row twice.
CLEAR = """
WITH cleared AS (
    UPDATE {exceptions} SET status = 'cleared', resolved_at = now(), updated_at = now(),
        resolution_note = 'No longer found by the reconciliation of ' || %(business_date)s::text || '.'
    WHERE tenant_id = %(tenant_id)s AND check_code = %(check_code)s AND status IN ('open', 'assigned')
      AND last_pass <> %(pass_id)s AND (%(state)s OR business_date = %(business_date)s)
    RETURNING id, distributor_id, assigned_to_id, resolution_note
),
events AS (
    INSERT INTO {events} (tenant_id, distributor_id, exception_id, from_status, to_status, action, actor_kind,
        actor_id, actor_label, reason, detail, created_at, updated_at)
    SELECT %(tenant_id)s, distributor_id, id, CASE WHEN assigned_to_id IS NULL THEN 'open' ELSE 'assigned' END,
        'cleared', 'clear', %(actor_kind)s, NULL, %(actor_label)s, resolution_note, '{{}}'::jsonb, now(), now()
    FROM cleared
)
SELECT count(*) FROM cleared
"""


def _suspects(check: Check, ctx: CheckContext) -> list[int] | None:
    """The distributors the check's gate says to look at (None: the check has no gate)."""
    if check.gate is None:
        return None
    sql, params = check.gate(ctx)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(int(row[0]) for row in cursor.fetchall())


def run_check(check: Check, ctx: CheckContext) -> dict[str, int]:
    """Run one check in the caller's transaction: prepare, upsert what it finds (re-opening what had been cleared),
    clear what it no longer finds, with an ExceptionEvent for each exception cleared or re-opened. Returns its
    counts: found, new (first seen now), open (of those found), cleared, ms, and prepare's own."""
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        # The checks are index lookups and hash joins over one day; JIT compiling them costs seconds, saves nothing.
        # A day's aggregates (a million allocations or movements by distributor or balance) fit a hash table in
        # WORK_MEM_MB where the default 4 MB makes PostgreSQL sort them, on disk.
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '{WORK_MEM_MB:d}MB'")
    changed = check.prepare(ctx) if check.prepare else {}
    suspects = _suspects(check, ctx)
    select, params = check.select(ctx)
    if suspects is not None:
        params = {**params, "suspects": suspects}
    pass_id = uuid.uuid4()
    actor = ctx.scope.actor
    params = {**params, "tenant_id": ctx.tenant_id, "business_date": ctx.business_date, "run_id": ctx.run_id,
              "check_code": check.code, "pass_id": pass_id, "state": check.scope == CheckScope.STATE,
              "actor_kind": actor.kind, "actor_label": actor.label[:150]}
    tables = {"exceptions": table(ReconciliationException), "events": table(ExceptionEvent)}
    with connection.cursor() as cursor:
        if suspects == []:  # the control totals agree: nothing to find, what was found before is cleared
            found = new = still_open = 0
        else:
            cursor.execute(UPSERT.format(select=select, **tables), params)
            found, new, still_open = cursor.fetchone()
        cursor.execute(CLEAR.format(**tables), params)
        (cleared,) = cursor.fetchone()
    gated = {} if suspects is None else {"suspects": len(suspects)}
    return {**changed, **gated, "found": found, "new": new, "open": still_open, "cleared": cleared,
            "ms": round((time.perf_counter() - started) * 1000)}


def _step(tenant_id: int, run_id: int, check: Check) -> bool:
    """Run `check` for the run unless done; commit it with the run's progress. False when the run is no longer
    this worker's to run (finished, or failed elsewhere)."""
    with tenant_scope(Scope.system(tenant_id, "reconciliation")) as scope:
        run = ReconciliationRun.objects.select_for_update(no_key=True, of=("self",)).get(pk=run_id)
        if run.status != RunStatus.RUNNING:
            return False
        if check.code in run.checks_done:
            return True
        tenant = Tenant.objects.get(pk=tenant_id)
        counts = run_check(check, _context(scope, run, tenant, _settings_of(tenant_id)))
        run.checks_done = [*run.checks_done, check.code]
        run.counts = {**run.counts, check.code: counts}
        run.lease_until = timezone.now() + _lease()
        run.save(update_fields=["checks_done", "counts", "lease_until", "updated_at"])
    return True


def _finish(tenant_id: int, run_id: int, codes: set[str]) -> ReconciliationRun:
    """Succeed the run once every check of this execution (`codes`) is done, and call the hooks after commit."""
    with tenant_scope(Scope.system(tenant_id, "reconciliation")):
        run = ReconciliationRun.objects.select_for_update(no_key=True, of=("self",)).get(pk=run_id)
        if run.status == RunStatus.RUNNING and set(run.checks_done) >= codes:
            run.status, run.finished_at, run.lease_until = RunStatus.SUCCEEDED, timezone.now(), None
            run.duration_ms = sum(int(c.get("ms", 0)) for c in run.counts.values())
            run.save(update_fields=["status", "finished_at", "lease_until", "duration_ms", "updated_at"])
            transaction.on_commit(partial(_after_run, tenant_id, run.business_date))
        return run


def _fail(tenant_id: int, run_id: int, error: str) -> None:
    with tenant_scope(Scope.system(tenant_id, "reconciliation")):
        ReconciliationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error=error[:4000], lease_until=None, finished_at=timezone.now(),
            updated_at=timezone.now())


def _release(tenant_id: int, run_id: int) -> None:
    """End this worker's lease early (the attempt met a transient error), so the task's retry can claim the run at
    once instead of waiting for the lease to pass. Best effort: with the database gone, the lease passes by itself
    and the redrive picks the run up."""
    try:
        with tenant_scope(Scope.system(tenant_id, "reconciliation")):
            ReconciliationRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
                lease_until=timezone.now(), updated_at=timezone.now())
    except TRANSIENT:
        pass


def _after_run(tenant_id: int, business_date: date) -> None:
    """The hooks of a finished run (settings.RECONCILIATION_AFTER_RUN: dotted paths of callables taking tenant_id
    and business_date), e.g. the analytics facts refresh of the day. Called after the run commits."""
    for path in getattr(settings, "RECONCILIATION_AFTER_RUN", ()):
        import_string(path)(tenant_id=tenant_id, business_date=business_date)


def reconciliation_execute(*, tenant_id: int, run_id: int, progress: Progress = _no_progress,
                           checks: Iterable[Check] | None = None) -> str:
    """Run (or resume) the run: every check not done yet, each committed on its own, then succeed it. `checks`
    defaults to registered_checks(). Returns the run's status, or "skipped" when the run is finished, failed or
    held by a live worker. Called by the task outside any transaction. A transient database error (TRANSIENT)
    propagates with the lease released, so the task's retry resumes the run; any other error fails the run with
    its message (visible in the admin; "Run again" starts it anew) and propagates."""
    if connection.in_atomic_block:
        raise RuntimeError("reconciliation_execute runs each check in a transaction of its own: call it outside one")
    todo = list(registered_checks() if checks is None else checks)
    run = _claim(tenant_id, run_id)
    if run is None:
        return "skipped"
    progress(0, len(todo), f"reconciling {run.business_date.isoformat()}")
    try:
        for done, check in enumerate(todo, start=1):
            if not _step(tenant_id, run_id, check):
                return "skipped"
            progress(done, len(todo), f"{check.title}: done")
    except TRANSIENT:
        _release(tenant_id, run_id)
        raise
    except Exception as exc:
        _fail(tenant_id, run_id, f"{type(exc).__name__}: {exc}")
        raise
    return _finish(tenant_id, run_id, {c.code for c in todo}).status


# --- the schedule ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    tenant_id: int
    business_date: date
    run_id: int


def reconcile_due(*, now: datetime | None = None) -> list[Due]:
    """Start the run of every active tenant whose latest closed business date (its closing hour in its own time
    zone) has no run yet. Called hourly by beat; a tenant whose close passed while beat was down is caught up at
    the next hour. Each tenant in a transaction of its own."""
    now = now or timezone.now()
    started: list[Due] = []
    for tenant in Tenant.objects.filter(active=True).order_by("pk"):
        with tenant_scope(Scope.system(tenant.pk, "reconciliation-schedule")) as scope:
            day = latest_closed_date(now, tenant.tz, _settings_of(tenant.pk).day_close_hour)
            if ReconciliationRun.objects.filter(business_date=day).exists():
                continue
            run = reconciliation_request(scope=scope, business_date=day, trigger=RunTrigger.BEAT)
            started.append(Due(tenant.pk, day, run.pk))
    return started


def reconcile_redrive(*, now: datetime | None = None) -> list[int]:
    """Enqueue again the runs no worker holds: running with a passed lease (the worker died), or queued and not
    claimed for QUEUED_GRACE (the enqueue was lost). Returns their ids."""
    now = now or timezone.now()
    ids: list[int] = []
    for tenant in Tenant.objects.filter(active=True).order_by("pk"):
        with tenant_scope(Scope.system(tenant.pk, "reconciliation-redrive")):
            stale = ReconciliationRun.objects.filter(
                Q(status=RunStatus.RUNNING, lease_until__lt=now)
                | Q(status=RunStatus.QUEUED, updated_at__lt=now - QUEUED_GRACE))
            for run_id in stale.values_list("pk", flat=True):
                _enqueue(tenant.pk, run_id)
                ids.append(run_id)
    return ids


def exception_counts(run: ReconciliationRun) -> dict[str, Any]:
    """Per check: its title and what the run counted (for the admin and the API)."""
    titles = {c.code: c.title for c in registered_checks()}
    return {code: {"title": titles.get(code, code), **counts} for code, counts in run.counts.items()}

