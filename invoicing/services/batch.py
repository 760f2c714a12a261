"""Batch invoicing: a day's allocated orders of a distributor, invoiced by a Celery job with progress.

Orders are invoiced a chunk at a time, each chunk in its own transaction (its own tenant_scope), so a worker that
dies half-way keeps the invoices it committed, and running the job again (a redelivery, a retry after a deadlock,
a second click) skips them: only orders still allocated are picked up, and invoice_issue returns an order's invoice
if it has one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dms.core.errors import DomainError, NotFound
from dms.core.memo import memo_scope
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import Progress, job_create
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope

from ..errors import InvoicingError
from .invoices import invoice_issue_chunk

BATCH_KIND = "invoice_batch"
REFUSED_KEPT = 200  # refusals listed in the job's result; the rest are counted
# Orders invoiced in one transaction (invoice_issue_chunk), under one memo of master data: large enough that the
# per-transaction cost vanishes, small enough that a price correction made during a long batch reaches the orders
# after it within a second, and that the series lock is never held for long.
CHUNK = 100


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
    them CHUNK at a time, each chunk in a transaction of its own (invoice_issue_chunk), reporting progress after
    each."""
    from .. import selectors

    params = job.params
    on_date = date.fromisoformat(params["date"]) if params.get("date") else None
    with tenant_scope(scope):
        order_ids = list(selectors.invoiceable_order_ids(scope=scope, distributor_id=params["distributor_id"],
                                                         booked_on=on_date))
    total = len(order_ids)
    progress(0, total, f"{total} orders to invoice")
    invoiced: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    already = 0
    done = 0
    for start in range(0, total, CHUNK):
        chunk = order_ids[start:start + CHUNK]
        with memo_scope(), tenant_scope(scope):  # prices, taxes, schemes and the tenant: read once per chunk
            results = invoice_issue_chunk(scope=scope, order_ids=chunk)
        for result in results:
            if not result.ok:
                refused.append({"order_id": result.order_id, "code": result.code, "message": result.message})
            elif result.created and result.invoice is not None:
                invoiced.append({"order_id": result.order_id, "invoice_id": result.invoice.pk,
                                 "number": result.invoice.number_text, "total": str(result.invoice.total)})
            else:
                already += 1
        done += len(chunk)
        progress(done, total, f"{done} of {total} orders: {len(invoiced)} invoiced, {len(refused)} refused")
    return {"orders": total, "invoiced": len(invoiced), "already_invoiced": already, "refused": len(refused),
            "invoices": invoiced, "refusals": refused[:REFUSED_KEPT]}
