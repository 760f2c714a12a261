"""Batch invoicing: a day's allocated orders of a distributor, invoiced by a Celery job with progress.

Each order is invoiced in its own transaction (its own tenant_scope), so a worker that dies half-way keeps the
invoices it committed, and running the job again (a redelivery, a retry after a deadlock, a second click) skips
them: only orders still allocated are picked up, and invoice_issue returns an order's invoice if it has one.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from typing import Any

from dms.core.errors import DomainError, NotFound
from dms.core.memo import memo_scope
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import Progress, job_create
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope

from ..errors import InvoicingError
from .invoices import invoice_issue_one

BATCH_KIND = "invoice_batch"
REFUSED_KEPT = 200  # refusals listed in the job's result; the rest are counted
# Orders invoiced under one memo of master data: short enough that a price correction made during a long batch
# reaches the orders after it within seconds.
MEMO_CHUNK = 200


def invoice_batch_start(*, scope: Scope, distributor_id: int, date: date | None = None) -> BackgroundJob:
    """Queue the invoicing of the distributor's allocated and partially allocated orders booked on `date` (a
    tenant-local date), or of all of them when `date` is None. Runs in the caller's transaction; the job is queued
    when it commits. Poll the job (GET /api/v1/jobs/<id>/) for progress and the result."""
    if not isinstance(distributor_id, int) or not scope.can_access_distributor(distributor_id) or \
            not Distributor.objects.filter(pk=distributor_id).exists():
        raise NotFound("Distributor not found.")
    if date is not None and not hasattr(date, "isoformat"):
        raise DomainError(InvoicingError.INVALID, "A date.", fields={"date": ["A date."]})
    from ..tasks import invoice_batch_task  # tasks import the services: avoid the cycle

    return job_create(scope=scope, kind=BATCH_KIND, task=invoice_batch_task,
                      params={"distributor_id": distributor_id, "date": date.isoformat() if date else None})


def invoice_batch_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """The job's work (job_run with transactional=False): list the orders in one short transaction, then invoice
    each in a transaction of its own, reporting progress after each."""
    from .. import selectors

    params = job.params
    on_date = date.fromisoformat(params["date"]) if params.get("date") else None
    with tenant_scope(scope):
        order_ids = list(selectors.invoiceable_order_ids(scope=scope, distributor_id=params["distributor_id"],
                                                         booked_on=on_date))
    total = len(order_ids)
    progress(0, total, f"{total} orders to invoice")
    memo = ExitStack()
    invoiced: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    already = 0
    for done, order_id in enumerate(order_ids, start=1):
        if (done - 1) % MEMO_CHUNK == 0:  # prices, taxes, schemes and the tenant are read once per chunk
            memo.close()
            memo = ExitStack()
            memo.enter_context(memo_scope())
        with tenant_scope(scope):
            result = invoice_issue_one(scope=scope, order_id=order_id)
        if not result.ok:
            refused.append({"order_id": order_id, "code": result.code, "message": result.message})
        elif result.created and result.invoice is not None:
            invoiced.append({"order_id": order_id, "invoice_id": result.invoice.pk,
                             "number": result.invoice.number_text, "total": str(result.invoice.total)})
        else:
            already += 1
        progress(done, total, f"{done} of {total} orders: {len(invoiced)} invoiced, {len(refused)} refused")
    memo.close()
    return {"orders": total, "invoiced": len(invoiced), "already_invoiced": already, "refused": len(refused),
            "invoices": invoiced, "refusals": refused[:REFUSED_KEPT]}
