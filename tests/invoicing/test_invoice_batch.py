"""Batch invoicing of a day's allocated orders: a background job with progress, each order in its own transaction,
safe to run again (after a crash half-way, or as a redelivered task)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError

from catalog.models import Sku
from dms.core.errors import NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from invoicing.models import Invoice
from invoicing.services import batch, invoice_batch_job, invoice_batch_start
from invoicing.services import invoices as invoice_services
from invoicing.tasks import invoice_batch_task
from orders.models import SecondaryOrder
from tests.conftest import build_tenant
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order
from tests.factories.orders import make_order

from .conftest import in_a

D = Decimal
DAY1 = datetime(2025, 6, 2, 6, 30, tzinfo=UTC)
DAY2 = datetime(2025, 6, 3, 6, 30, tzinfo=UTC)


def start(tid: int, distributor_id: int, day: date | None, django_capture_on_commit_callbacks: Any) -> BackgroundJob:
    """Queue a batch job in the system scope; the queued task is not run (the test runs it)."""
    with django_capture_on_commit_callbacks(execute=False), tenant_scope(Scope.system(tid)) as scope:
        return invoice_batch_start(scope=scope, distributor_id=distributor_id, date=day)


def job_of(tid: int, job_id: int) -> BackgroundJob:
    with in_a(tid):
        return BackgroundJob.objects.get(pk=job_id)


def statuses(tid: int, orders: list[SecondaryOrder]) -> list[str]:
    with in_a(tid):
        by_pk = dict(SecondaryOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "status"))
    return [by_pk[o.pk] for o in orders]


@pytest.mark.django_db
def test_a_days_allocated_orders_are_invoiced_with_progress(outlet, cat, wh, tid, django_capture_on_commit_callbacks,
                                                             monkeypatch):
    # given: three allocated orders booked on day 1, one on day 2, one booked on day 1 but not allocated; chunks of
    # one order, so progress is reported after each
    monkeypatch.setattr(batch, "CHUNK", 1)
    day1 = [make_order(outlet, [(cat.water, n)], booked_at=DAY1) for n in (1, 2, 3)]
    day2 = make_order(outlet, [(cat.water, 4)], booked_at=DAY2)
    not_allocated = make_order(outlet, [(cat.water, 5)], booked_at=DAY1)
    for order in (*day1, day2):
        allocate_order(order, wh)
    job = start(tid, outlet.distributor_id, date(2025, 6, 2), django_capture_on_commit_callbacks)
    reports: list[tuple[int, int, str]] = []
    # when: the job's work, with a progress reporter that records
    with in_a(tid):
        job = BackgroundJob.objects.get(pk=job.pk)
    result = invoice_batch_job(Scope.system(tid), job, lambda done, total, msg="": reports.append((done, total, msg)))
    # then
    assert [(done, total) for done, total, _m in reports] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert reports[-1][2] == "3 of 3 orders: 3 invoiced, 0 refused"
    assert (result["orders"], result["invoiced"], result["refused"]) == (3, 3, 0)
    assert statuses(tid, [*day1, day2, not_allocated]) == ["invoiced"] * 3 + ["allocated", "booked"]
    assert [i["number"][-6:] for i in result["invoices"]] == ["000001", "000002", "000003"]


@pytest.mark.django_db
def test_the_task_runs_the_job_once_and_reports_it_finished(outlet, cat, wh, tid, django_capture_on_commit_callbacks):
    # given: two allocated orders (no date: every allocated order)
    orders = [make_order(outlet, [(cat.water, n)], booked_at=at) for n, at in ((1, DAY1), (2, DAY2))]
    for order in orders:
        allocate_order(order, wh)
    job = start(tid, outlet.distributor_id, None, django_capture_on_commit_callbacks)
    # when: the task runs, and its message is delivered again
    first = invoice_batch_task(tenant_id=tid, job_id=job.pk)
    again = invoice_batch_task(tenant_id=tid, job_id=job.pk)
    # then
    assert first == again == "succeeded"
    done = job_of(tid, job.pk)
    assert (done.result["invoiced"], done.attempts) == (2, 1)
    progress = job_progress(done)
    assert (progress["percent"], progress["done"], progress["total"]) == (100, 2, 2)
    with in_a(tid):
        assert Invoice.objects.count() == 2
    # a second job for the same orders finds nothing left to do
    second = start(tid, outlet.distributor_id, None, django_capture_on_commit_callbacks)
    assert invoice_batch_task(tenant_id=tid, job_id=second.pk) == "succeeded"
    assert job_of(tid, second.pk).result["orders"] == 0


@pytest.mark.django_db
def test_a_refused_order_does_not_stop_the_others(outlet, cat, wh, tid, django_capture_on_commit_callbacks):
    # given: the second order's SKU was deactivated after booking (the engine no longer prices it)
    orders = [make_order(outlet, [(sku, 1)], booked_at=DAY1) for sku in (cat.water, cat.chips, cat.cola)]
    for order in orders:
        allocate_order(order, wh)
    with in_a(tid):
        Sku.objects.filter(pk=cat.chips.pk).update(active=False)
    job = start(tid, outlet.distributor_id, date(2025, 6, 2), django_capture_on_commit_callbacks)
    # when
    invoice_batch_task(tenant_id=tid, job_id=job.pk)
    # then
    result = job_of(tid, job.pk).result
    assert (result["invoiced"], result["refused"]) == (2, 1)
    assert result["refusals"][0]["order_id"] == orders[1].pk and result["refusals"][0]["code"] == "inactive_sku"
    assert statuses(tid, orders) == ["invoiced", "allocated", "invoiced"]


@pytest.mark.django_db
def test_a_batch_for_another_distributor_is_not_found(outlet, dist_a2, tid):
    scope = Scope(tenant_id=tid, distributor_ids=frozenset({outlet.distributor_id}), actor=Scope.system(1).actor)
    with tenant_scope(scope), pytest.raises(NotFound):
        invoice_batch_start(scope=scope, distributor_id=dist_a2.pk)


@pytest.mark.django_db(transaction=True)
def test_a_job_killed_half_way_keeps_its_invoices_and_the_retry_finishes_without_gaps():
    # given: five allocated orders of a fresh tenant
    cast = build_tenant("bt")
    tid, distributor = cast.tenant.pk, cast.distributors[0]
    make_tax_rate(tid, tax_class="STD", rate=D("0.1700"))
    sku = make_sku(tid, brand=make_brand(tid), units_per_case=6)
    make_price_list(tid, {sku: D("99.9900")})
    outlet, wh = make_outlet(distributor, credit_limit=D("0")), make_warehouse(distributor)
    orders = [make_order(outlet, [(sku, n)], booked_at=DAY1) for n in range(1, 6)]
    for order in orders:
        allocate_order(order, wh)
    with mock.patch.object(invoice_batch_task, "delay") as queued, tenant_scope(Scope.system(tid)) as scope:
        job = invoice_batch_start(scope=scope, distributor_id=distributor.pk, date=date(2025, 6, 2))
    queued.assert_called_once_with(tenant_id=tid, job_id=job.pk)
    # when: in chunks of two, the database connection drops while the second chunk is written, and stays down (its
    # one-by-one fallback fails too): the task raises and would be retried
    real = invoice_services._write
    calls = {"n": 0}

    def flaky(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= 2:
            real(*args)  # its writes are rolled back with the transaction
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args)

    with mock.patch.object(batch, "CHUNK", 2), mock.patch.object(invoice_services, "_write", flaky), \
            pytest.raises(OperationalError):
        invoice_batch_task(tenant_id=tid, job_id=job.pk)
    # then: the first two invoices are committed, the job is still running
    assert statuses(tid, orders) == ["invoiced", "invoiced", "allocated", "allocated", "allocated"]
    assert job_of(tid, job.pk).status == "running"
    # when: the retry runs the same job again
    assert invoice_batch_task(tenant_id=tid, job_id=job.pk) == "succeeded"
    # then: every order invoiced once, numbers 1..5 without a gap
    done = job_of(tid, job.pk)
    assert (done.result["orders"], done.result["invoiced"], done.attempts) == (3, 3, 2)
    assert statuses(tid, orders) == ["invoiced"] * 5
    with in_a(tid):
        numbers = list(Invoice.objects.order_by("number").values_list("order_id", "number"))
    assert [n for _o, n in numbers] == [1, 2, 3, 4, 5]
    assert sorted(o for o, _n in numbers) == sorted(o.pk for o in orders)


def test_a_chunk_is_invoiced_in_bulk_with_consecutive_numbers_and_a_refusal_left_out(outlet, cat, wh, tid):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from invoicing.services import invoice_issue_chunk

    # given: twenty allocated orders and, among them, one only booked
    orders = [make_order(outlet, [(cat.water, n), (cat.cola, 1)], booked_at=DAY1) for n in range(1, 21)]
    booked = orders[7]
    for order in orders:
        if order is not booked:
            allocate_order(order, wh)
    ids = [o.pk for o in orders]
    # when
    with tenant_scope(Scope.system(tid)) as scope, CaptureQueriesContext(connection) as queries:
        results = invoice_issue_chunk(scope=scope, order_ids=ids)
    # then: a result per order in the order given; the booked one refused, the rest numbered 1..19 in order-id order
    assert [r.order_id for r in results] == ids
    assert [(r.ok, r.code) for r in results if r.order_id == booked.pk] == [(False, "not_allocated")]
    numbers = [r.invoice.number for r in results if r.ok]
    assert numbers == list(range(1, 20))
    assert statuses(tid, orders).count("invoiced") == 19
    # in bulk: the query count does not grow with the orders (locks, reads, one write per table)
    assert len(queries) <= 25, [q["sql"][:90] for q in queries.captured_queries]
    # and a second run finds them invoiced, writing nothing
    with tenant_scope(Scope.system(tid)) as scope:
        again = invoice_issue_chunk(scope=scope, order_ids=ids)
    assert [(r.ok, r.created) for r in again if r.order_id != booked.pk] == [(True, False)] * 19
