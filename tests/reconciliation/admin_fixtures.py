"""Runs and exceptions written directly (inside tenant_scope, as the run would leave them), for the admin and API
tests of the queue: they need rows to show, not the checks that find them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from reconciliation.enums import ExceptionStatus, RunStatus, RunTrigger
from reconciliation.models import ReconciliationException, ReconciliationRun

DAY = date(2025, 1, 6)
STUCK = "test_stuck_orders"  # check codes of these tests only: titles fall back to the code
TOTALS = "test_invoice_totals"


def make_run(tenant_id: int, business_date: date = DAY, **fields: Any) -> ReconciliationRun:
    defaults: dict[str, Any] = {"status": RunStatus.SUCCEEDED, "trigger": RunTrigger.BEAT, "attempts": 1,
                                "duration_ms": 1250, "checks_done": [STUCK, TOTALS],
                                "counts": {STUCK: {"found": 2, "new": 1, "open": 2, "cleared": 0, "ms": 800},
                                           TOTALS: {"found": 1, "new": 1, "open": 1, "cleared": 3, "ms": 450,
                                                    "missed": 4}}}
    with tenant_scope(Scope.system(tenant_id)):
        return ReconciliationRun.objects.create(business_date=business_date, **{**defaults, **fields})


def make_exception(run: ReconciliationRun, distributor: Distributor, *, check_code: str = STUCK,
                   key: str | None = None, message: str = "Order booked 30 hours ago, not confirmed.",
                   subject_type: str = "order", subject_id: int | None = 42,
                   records: list[dict[str, Any]] | None = None, detail: dict[str, Any] | None = None,
                   status: str = ExceptionStatus.OPEN, **fields: Any) -> ReconciliationException:
    if records is None:
        records = [{"type": "order", "id": 42, "ref": "ORD-42"}, {"type": "mystery", "id": 7, "ref": "M-7"}]
    with tenant_scope(Scope.system(run.tenant_id)):
        return ReconciliationException.objects.create(
            distributor=distributor, check_code=check_code, key=key or f"{check_code}:{uuid.uuid4().hex[:8]}",
            business_date=run.business_date, first_run=run, last_run=run, first_seen_on=run.business_date,
            last_seen_on=run.business_date, last_pass=uuid.uuid4(), subject_type=subject_type, subject_id=subject_id,
            message=message, records=records,
            detail={"booked_hours": 30, "limit_hours": 24} if detail is None else detail, status=status, **fields)


def exception_of(tenant_id: int, pk: int) -> ReconciliationException:
    with tenant_scope(Scope.system(tenant_id)):
        return ReconciliationException.objects.select_related("assigned_to").get(pk=pk)


def run_of(tenant_id: int, pk: int) -> ReconciliationRun:
    with tenant_scope(Scope.system(tenant_id)):
        return ReconciliationRun.objects.get(pk=pk)


@dataclass
class Queue:
    """Tenant A's run with two exceptions of A1 (two checks) and one of its sibling A2; tenant B's run and
    exception."""

    run: ReconciliationRun
    stuck: ReconciliationException
    totals: ReconciliationException
    sibling: ReconciliationException
    run_b: ReconciliationRun
    theirs: ReconciliationException


def build_queue(cast_a: Any, cast_b: Any) -> Queue:
    a1, a2 = cast_a.distributors[:2]
    run = make_run(cast_a.tenant.pk)
    stuck = make_exception(run, a1, message="Order ORD-42 booked 30 hours ago, not confirmed.")
    totals = make_exception(run, a1, check_code=TOTALS, subject_type="invoice", subject_id=9,
                            message="Invoice INV-9 total 100.00, its lines sum to 90.00.",
                            records=[{"type": "invoice", "id": 9, "ref": "INV-9"}],
                            detail={"total": "100.00", "lines": "90.00"})
    sibling = make_exception(run, a2, message="SIBLING order stuck in booked.")
    run_b = make_run(cast_b.tenant.pk, error="THEIRS run")
    theirs = make_exception(run_b, cast_b.distributors[0], message="THEIRS order stuck in booked.")
    return Queue(run, stuck, totals, sibling, run_b, theirs)
