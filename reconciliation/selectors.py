"""Reads of reconciliation runs and the exception queue, for the API and the admin.

Runs are the tenant's: every user of the tenant sees them, counts included (the counts are tenant-wide figures,
never rows). Exceptions belong to a distributor: a distributor user sees only its own, and another distributor's
or tenant's exception is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from dms.core.errors import NotFound
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import membership_list

from .checks import CHECKS
from .models import ExceptionEvent, ReconciliationException, ReconciliationRun

# Who works the queue (assign, resolve, re-open): manufacturer analysts included, though read-only elsewhere.
QUEUE_ROLES = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_ADMIN,
                         Role.DISTRIBUTOR_STAFF})
UNASSIGNED = "none"  # exception_list(assigned_to=...): nobody's


# --- runs --------------------------------------------------------------------------------------------------------

def run_list(*, scope: Scope, business_date: date | None = None, date_from: date | None = None,
             date_to: date | None = None, status: str | None = None) -> QuerySet[ReconciliationRun]:
    """The tenant's runs, latest business date first; the date range is inclusive."""
    qs = ReconciliationRun.objects.filter(tenant_id=scope.tenant_id).order_by("-business_date", "-id")
    filters = {"business_date": business_date, "business_date__gte": date_from, "business_date__lte": date_to,
               "status": status}
    return qs.filter(**{k: v for k, v in filters.items() if v is not None})


def run_get(*, scope: Scope, pk: int) -> ReconciliationRun:
    run = run_list(scope=scope).filter(pk=pk).first()
    if run is None:
        raise NotFound("Run not found.")
    return run


@dataclass(frozen=True)
class CheckCounts:
    """One check's line on a run's page: what it compares and what the run counted (None: not run yet)."""

    code: str
    title: str
    description: str
    done: bool
    found: int | None
    new: int | None
    open: int | None
    cleared: int | None
    ms: int | None
    changed: dict[str, int]  # what the check's prepare changed, e.g. {"missed": 12}


COUNT_KEYS = ("found", "new", "open", "cleared", "ms")


def run_checks(run: ReconciliationRun) -> list[CheckCounts]:
    """Every check in run order with the run's counts, then any code the run counted that is no longer a check."""
    known = {c.code: c for c in CHECKS}
    codes = [c.code for c in CHECKS] + [code for code in run.counts if code not in known]
    out = []
    for code in codes:
        check = known.get(code)
        counts: dict[str, Any] = run.counts.get(code) or {}
        out.append(CheckCounts(
            code=code, title=check.title if check else code, description=check.description if check else "",
            done=code in run.checks_done, **{k: _int(counts.get(k)) for k in COUNT_KEYS},
            changed={k: int(v) for k, v in counts.items() if k not in COUNT_KEYS and isinstance(v, int)}))
    return out


def run_totals(run: ReconciliationRun) -> dict[str, int]:
    """Exceptions the run found, found for the first time, and left open, over all its checks."""
    rows = [c for c in run.counts.values() if isinstance(c, dict)]
    return {k: sum(int(c.get(k) or 0) for c in rows) for k in ("found", "new", "open", "cleared")}


def check_total() -> int:
    return len(CHECKS)


def check_title(code: str) -> str:
    return next((c.title for c in CHECKS if c.code == code), code)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


# --- the exception queue -----------------------------------------------------------------------------------------

def exception_list(*, scope: Scope, status: str | None = None, statuses: tuple[str, ...] | None = None,
                   check_code: str | None = None, distributor_id: int | None = None,
                   date_from: date | None = None, date_to: date | None = None, assigned_to: int | str | None = None,
                   run_id: int | None = None) -> QuerySet[ReconciliationException]:
    """Exceptions the scope may see, latest business date first, with distributor and assignee. `assigned_to` is a
    user id or UNASSIGNED; the dates (inclusive) are the business date that first found the exception; `run_id`
    keeps those the run found (first or last)."""
    qs = scope.filter(ReconciliationException.objects.select_related("distributor", "assigned_to"))
    filters: dict[str, Any] = {"status": status, "check_code": check_code, "distributor_id": distributor_id,
                               "business_date__gte": date_from, "business_date__lte": date_to}
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    if statuses:
        qs = qs.filter(status__in=statuses)
    if assigned_to == UNASSIGNED:
        qs = qs.filter(assigned_to__isnull=True)
    elif isinstance(assigned_to, int):
        qs = qs.filter(assigned_to_id=assigned_to)
    if run_id is not None:
        qs = qs.filter(Q(first_run_id=run_id) | Q(last_run_id=run_id))
    return qs.order_by("-business_date", "check_code", "id")


def exception_get(*, scope: Scope, pk: int) -> ReconciliationException:
    """An exception with its distributor, assignee, resolver and events (oldest first)."""
    events = ExceptionEvent.objects.order_by("created_at", "id")
    exc = (scope.filter(ReconciliationException.objects.select_related("distributor", "assigned_to", "resolved_by"))
           .prefetch_related(Prefetch("events", queryset=events)).filter(pk=pk).first())
    if exc is None:
        raise NotFound("Exception not found.")
    return exc


def exception_check_codes(*, scope: Scope) -> list[tuple[str, str]]:
    """(code, title) of every check, in run order, then of codes found in the scope's exceptions that are no longer
    checks: the choices of a check filter."""
    known = [(c.code, c.title) for c in CHECKS]
    seen = {code for code, _ in known}
    found = (scope.filter(ReconciliationException.objects.all()).order_by("check_code")
             .values_list("check_code", flat=True).distinct())
    return known + [(code, code) for code in found if code not in seen]


def assignee_list(*, scope: Scope, distributor_ids: set[int]) -> QuerySet[Any]:
    """Active users who work the queue and can see every one of `distributor_ids`: the tenant's manufacturer users,
    and, when there is one distributor, its own admins and staff. A distributor user is offered its distributor's
    colleagues only (its scope lists no other memberships)."""
    cover = Q(distributor__isnull=True)
    if len(distributor_ids) == 1:
        cover |= Q(distributor_id=next(iter(distributor_ids)))
    memberships = membership_list(scope=scope).filter(cover, active=True, role__in=sorted(QUEUE_ROLES))
    return (get_user_model().objects.filter(is_active=True, pk__in=memberships.values("user_id"))
            .order_by("username"))

