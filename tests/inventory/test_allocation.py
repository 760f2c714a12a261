"""Allocating confirmed secondary orders (inventory.allocation) against PostgreSQL: the figures of first come and fair
share in hand-computed scenarios, the explanations, preview against commit, all or nothing, idempotency, the ledger,
deallocation and the order's transitions and events, and a day's queue as a job."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from catalog.enums import SchemeKind
from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Actor, Scope
from inventory.allocation import (
    FAIR_SHARE,
    FIFO,
    allocate_day_start,
    allocation_plan,
    allocation_plan_day,
    allocation_release,
    orders_allocate,
)
from inventory.models import Allocation, StockBalance
from inventory.selectors import ledger_mismatches
from inventory.services import stock_adjust
from orders.enums import OrderStatus as S
from orders.models import SecondaryOrderLine
from orders.services import order_cancel, order_deallocate, order_deallocate_many
from tests.factories.catalog import make_outlet, make_scheme
from tests.factories.inventory import allocations_of, balance_of, confirmed_order, receive
from tests.factories.orders import make_order

from .conftest import Shop, events_of, movements_of, reload, set_all_or_nothing

pytestmark = pytest.mark.django_db
D = Decimal


def system(tid: int) -> Scope:
    return Scope.system(tid, "test")


def staff_scope(shop: Shop, cast: Any) -> Scope:
    user = cast.users[Role.DISTRIBUTOR_STAFF]
    return Scope(tenant_id=shop.wh.tenant_id, distributor_ids=frozenset({shop.wh.distributor_id}),
                 actor=Actor(kind="user", id=user.pk, role=Role.DISTRIBUTOR_STAFF, label=user.username))


def allocate(scope: Scope, orders: list[Any], **kw: Any) -> dict[int, Any]:
    with tenant_scope(scope):
        return {r.order_id: r for r in orders_allocate(scope=scope, order_ids=[o.pk for o in orders], **kw)}


def plan_of(scope: Scope, orders: list[Any], **kw: Any) -> Any:
    with tenant_scope(scope):
        return allocation_plan(scope=scope, order_ids=[o.pk for o in orders], **kw)


def no_mismatches(tid: int) -> bool:
    with tenant_scope(system(tid)) as scope:
        return ledger_mismatches(scope=scope) == []


def soda_orders(shop: Shop, *units: int) -> list[Any]:
    """One confirmed order per quantity of soda (loose units), for shops 1, 2, ..., booked a minute apart."""
    return [confirmed_order(shop.outlets[i], [(shop.soda, 0, n)], minute=i) for i, n in enumerate(units)]


# --- first come ----------------------------------------------------------------------------------------------------

def test_first_come_fills_orders_in_booking_order_writes_the_ledger_and_moves_each_order(tid, shop, cast_a):
    # given: 30 soda for 20 + 20 + 10
    receive(shop.wh, shop.soda, 30)
    a, b, c = soda_orders(shop, 20, 20, 10)
    # when
    results = allocate(staff_scope(shop, cast_a), [a, b, c], policy=FIFO)
    # then
    assert [(results[o.pk].outcome, results[o.pk].status, results[o.pk].ok) for o in (a, b, c)] == [
        ("allocated", S.ALLOCATED, True), ("partially_allocated", S.PARTIALLY_ALLOCATED, True),
        ("nothing_available", S.CONFIRMED, False)]
    assert results[c.pk].code == "nothing_available"
    assert [reload(o).status for o in (a, b, c)] == [S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.CONFIRMED]
    assert allocations_of(a) == [(1, 20, 20, "active", "20 of 20 units: first come, first served (30 available "
                                                       "for 50 asked): filled before the stock ran out")]
    assert allocations_of(b) == [(1, 20, 10, "active", "10 of 20 units: first come, first served (30 available "
                                                       "for 50 asked): the last 10 left after earlier orders")]
    assert allocations_of(c) == []
    assert balance_of(shop.wh, shop.soda) == (30, 30)
    assert movements_of(shop.wh)[1:] == [("allocation", shop.soda.pk, 20, 0, 20),
                                         ("allocation", shop.soda.pk, 10, 0, 10)]
    assert no_mismatches(tid)


def test_an_allocation_is_recorded_on_the_order_with_the_policy_and_each_lines_units(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 30)
    [a] = soda_orders(shop, 20)
    # when
    allocate(staff_scope(shop, cast_a), [a], policy=FAIR_SHARE)
    # then
    event = events_of(a)[-1]
    assert (event.from_status, event.to_status) == ("confirmed", "allocated")
    assert event.actor_label == "a-a1-distributor_staff"
    assert event.detail["policy"] == "fair_share" and event.detail["warehouse_id"] == shop.wh.pk
    assert [(x["line_no"], x["requested_units"], x["allocated_units"]) for x in event.detail["lines"]] == [(1, 20, 20)]
    assert event.reason == "allocated: fair share" and reload(a).status == S.ALLOCATED
    with tenant_scope(system(tid)):
        row = Allocation.objects.get(order_id=a.pk)
        assert (row.policy, row.warehouse_id, row.run_id) == ("fair_share", shop.wh.pk, None)


# --- fair share ----------------------------------------------------------------------------------------------------

def test_fair_share_gives_every_order_the_same_part_of_the_short_sku(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 30)
    a, b, c = soda_orders(shop, 20, 20, 10)
    # when
    results = allocate(staff_scope(shop, cast_a), [a, b, c], policy=FAIR_SHARE)
    # then: 60 % each
    assert [results[o.pk].lines[0].proposed_units for o in (a, b, c)] == [12, 12, 6]
    assert [reload(o).status for o in (a, b, c)] == [S.PARTIALLY_ALLOCATED] * 3
    assert allocations_of(a)[0][4] == "12 of 20 units: SKU short (30 available for 50 asked), each order gets 60%"
    assert results[a.pk].message == "12 of 20 units (60%)."
    assert balance_of(shop.wh, shop.soda) == (30, 30) and no_mismatches(tid)


def test_fair_share_remainder_goes_to_the_largest_fraction_then_to_the_earliest_booking(tid, shop):
    # given: 10 soda for 3 + 5 + 7 (exact 2, 3.33, 4.67) booked in that order
    receive(shop.wh, shop.soda, 10)
    a, b, c = soda_orders(shop, 3, 5, 7)
    # when
    plan = plan_of(system(tid), [a, b, c], policy=FAIR_SHARE)
    # then
    assert [o.lines[0].proposed_units for o in plan.orders] == [2, 3, 5]
    assert plan.orders[2].lines[0].explanation.endswith("each order gets 66.7%, plus 1 unit of the remainder")
    # given: 10 for 4 + 4 + 4: equal fractions; the earliest booking gets the unit
    d, e, f = [confirmed_order(shop.outlets[3 + i % 2], [(shop.soda, 0, 4)], minute=10 - i) for i in range(3)]
    plan = plan_of(system(tid), [d, e, f], policy=FAIR_SHARE)
    assert {o.order_id: o.lines[0].proposed_units for o in plan.orders} == {d.pk: 3, e.pk: 3, f.pk: 4}


def test_free_goods_are_allocated_in_proportion_to_the_paid_goods_that_earned_them(tid, shop, cast_a):
    # given: two soda cases earn one case (6) of water free; 60 soda for 48 + 24 (83.3 %); water plentiful
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[(2, 1, shop.water)], skus=[shop.soda])
    receive(shop.wh, shop.soda, 60)
    receive(shop.wh, shop.water, 100)
    a = confirmed_order(shop.outlets[0], [(shop.soda, 4)], minute=0)
    b = confirmed_order(shop.outlets[1], [(shop.soda, 2)], minute=1)
    with tenant_scope(system(tid)):
        free = {line.order_id: line.qty_units for line in SecondaryOrderLine.objects.filter(is_free=True)}
    assert free == {a.pk: 12, b.pk: 6}
    # when
    results = allocate(staff_scope(shop, cast_a), [a, b], policy=FAIR_SHARE)
    # then: soda 40 and 20; water floor(12 x 40/48) = 10 and floor(6 x 20/24) = 5
    assert [(line.is_free, line.proposed_units) for line in results[a.pk].lines] == [(False, 40), (True, 10)]
    assert [(line.is_free, line.proposed_units) for line in results[b.pk].lines] == [(False, 20), (True, 5)]
    assert results[a.pk].lines[1].explanation == (
        "10 of 12 free units: free goods follow their paid lines (83.3% allocated)")
    assert balance_of(shop.wh, shop.water) == (100, 15) and balance_of(shop.wh, shop.soda) == (60, 60)
    assert no_mismatches(tid)


# --- the plan -------------------------------------------------------------------------------------------------------

def test_the_preview_shows_each_outlets_fill_rate_in_units_and_value_and_writes_nothing(tid, shop):
    # given: shop 1 orders 20 soda and 10 crisps; shop 2 orders 20 soda; 30 soda, crisps plentiful
    receive(shop.wh, shop.soda, 30)
    receive(shop.wh, shop.crisps, 50)
    a = confirmed_order(shop.outlets[0], [(shop.soda, 0, 20), (shop.crisps, 0, 10)], minute=0)
    b = confirmed_order(shop.outlets[1], [(shop.soda, 0, 20)], minute=1)
    # when
    plan = plan_of(system(tid), [a, b], policy=FAIR_SHARE)
    # then: soda 15 + 15; a unit of either is 10.00 + 17 % tax = 11.70
    first, second = plan.outlets
    assert (first.outlet_code, first.requested_units, first.proposed_units, first.unit_fill_pct) == (
        "SHOP1", 30, 25, "83.3")
    assert (first.requested_value, first.proposed_value, first.value_fill_pct) == (D("351.00"), D("292.50"), "83.3")
    assert (second.outlet_code, second.proposed_units, second.unit_fill_pct, second.proposed_value) == (
        "SHOP2", 15, "75", D("175.50"))
    assert (plan.total.requested_units, plan.total.proposed_units, plan.total.unit_fill_pct) == (50, 40, "80")
    assert [o.outcome for o in plan.orders] == ["partially_allocated", "partially_allocated"]
    assert [reload(o).status for o in (a, b)] == [S.CONFIRMED, S.CONFIRMED]
    assert balance_of(shop.wh, shop.soda) == (30, 0) and len(movements_of(shop.wh)) == 2


def test_the_commit_allocates_what_the_preview_showed_when_nothing_changed(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 25)
    orders = soda_orders(shop, 9, 8, 7, 6)
    scope = staff_scope(shop, cast_a)
    plan = plan_of(scope, orders, policy=FAIR_SHARE)
    # when
    results = allocate(scope, orders, policy=FAIR_SHARE, expected=plan.proposed())
    # then
    assert {r.lines[0].line_id: r.lines[0].proposed_units for r in results.values()} == plan.proposed()
    assert [r.lines[0].explanation for r in results.values()] == [o.lines[0].explanation for o in plan.orders]
    assert all(r.changed_since_preview == () for r in results.values())
    with tenant_scope(system(tid)):
        got = dict(Allocation.objects.values_list("order_line_id", "allocated_units"))
    assert got == {k: v for k, v in plan.proposed().items() if v}


def test_stock_that_changed_after_the_preview_is_allocated_as_it_is_and_reported(tid, shop, cast_a):
    # given: a preview of 20 + 20 from 30; then 10 are counted missing
    receive(shop.wh, shop.soda, 30)
    a, b = soda_orders(shop, 20, 20)
    scope = staff_scope(shop, cast_a)
    plan = plan_of(scope, [a, b], policy=FIFO)
    with tenant_scope(system(tid)) as sys:
        stock_adjust(scope=sys, warehouse_id=shop.wh.pk, sku_id=shop.soda.pk, qty_units=-10, reason="count")
    # when
    results = allocate(scope, [a, b], policy=FIFO, expected=plan.proposed())
    # then: b still gets what is left, and says what changed
    assert results[b.pk].outcome == "nothing_available" and results[a.pk].outcome == "allocated"
    assert [(c.expected_units, c.allocated_units) for c in results[b.pk].changed_since_preview] == [(10, 0)]
    assert "Stock changed since the preview" in results[b.pk].message
    assert balance_of(shop.wh, shop.soda) == (20, 20) and no_mismatches(tid)


def test_orders_that_cannot_be_allocated_say_why_and_the_others_still_are(tid, shop, cast_a, cast_b, dist_a1):
    # given: a booked order, a cancelled one, another tenant's order and a good one
    receive(shop.wh, shop.soda, 10)
    booked = make_order(shop.outlets[0], [(shop.soda, 0, 1)])
    cancelled = confirmed_order(shop.outlets[1], [(shop.soda, 0, 1)])
    with tenant_scope(system(tid)) as sys:
        order_cancel(scope=sys, order_id=cancelled.pk, reason="closed")
    good = confirmed_order(shop.outlets[2], [(shop.soda, 0, 4)])
    stranger = 10**9
    # when
    scope = staff_scope(shop, cast_a)
    with tenant_scope(scope):
        results = {r.order_id: r for r in orders_allocate(scope=scope, order_ids=[booked.pk, cancelled.pk, good.pk,
                                                                                  stranger])}
    # then
    assert [(results[pk].outcome, results[pk].code) for pk in (booked.pk, cancelled.pk, stranger)] == [
        ("refused", "not_confirmed"), ("refused", "not_confirmed"), ("refused", "not_found")]
    assert results[booked.pk].message == "The order is booked: only confirmed orders are allocated."
    assert results[good.pk].outcome == "allocated" and reload(booked).status == S.BOOKED


def test_a_warehouse_of_another_distributor_refuses_the_orders_and_an_unknown_one_is_not_found(tid, shop, cast_a,
                                                                                               dist_a2):
    # given
    from tests.factories.inventory import make_warehouse

    other = make_warehouse(dist_a2, code="A2-W")
    [a] = soda_orders(shop, 1)
    # when
    plan = plan_of(system(tid), [a], warehouse_id=other.pk)
    # then
    assert (plan.orders[0].outcome, plan.orders[0].code) == ("refused", "other_distributor")
    with pytest.raises(NotFound):
        plan_of(staff_scope(shop, cast_a), [a], warehouse_id=other.pk)  # a sibling's warehouse: not found
    with pytest.raises(DomainError) as bad:
        plan_of(system(tid), [a], policy="lottery")
    assert set(bad.value.fields) == {"policy"}


# --- all or nothing, idempotency -----------------------------------------------------------------------------------

def test_an_all_or_nothing_tenant_refuses_a_short_order_and_writes_nothing_for_it(tid, shop, cast_a):
    # given
    set_all_or_nothing(tid)
    receive(shop.wh, shop.soda, 30)
    a, b, c = soda_orders(shop, 20, 20, 10)
    # when
    results = allocate(staff_scope(shop, cast_a), [a, b, c], policy=FIFO)
    # then: b would be short, so it gets nothing and c is filled from what b would have had
    assert [(results[o.pk].outcome, results[o.pk].code) for o in (a, b, c)] == [
        ("allocated", ""), ("refused", "all_or_nothing"), ("allocated", "")]
    assert results[b.pk].message == ("All or nothing: the order cannot be filled in full (SODA 10 of 20 units); "
                                     "nothing is allocated.")
    assert reload(b).status == S.CONFIRMED and allocations_of(b) == [] and len(events_of(b)) == 2
    assert balance_of(shop.wh, shop.soda) == (30, 30) and no_mismatches(tid)


def test_allocating_again_reports_the_allocated_orders_and_allocates_nothing_twice(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 30)
    a, b = soda_orders(shop, 20, 20)
    scope = staff_scope(shop, cast_a)
    allocate(scope, [a, b])
    receive(shop.wh, shop.soda, 50)
    # when
    again = allocate(scope, [a, b])
    # then
    assert [(again[o.pk].outcome, again[o.pk].ok, again[o.pk].status) for o in (a, b)] == [
        ("already_allocated", True, S.ALLOCATED), ("already_allocated", True, S.PARTIALLY_ALLOCATED)]
    assert balance_of(shop.wh, shop.soda) == (80, 30)
    assert [len(allocations_of(o)) for o in (a, b)] == [1, 1] and len(events_of(a)) == 3


def test_the_database_refuses_overselling_even_if_the_service_asked_for_it(tid, shop):
    # given: 5 on hand, already 5 reserved by a bare allocation
    receive(shop.wh, shop.soda, 5)
    from tests.factories.inventory import allocate as reserve

    reserve(shop.wh, shop.soda, 5)
    # when: a balance update beyond on hand, as if a plan were wrong
    from django.db import IntegrityError, transaction
    from django.db.models import F

    with tenant_scope(system(tid)), pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(warehouse_id=shop.wh.pk, sku_id=shop.soda.pk).update(reserved=F("reserved") + 1)
    # then
    assert balance_of(shop.wh, shop.soda) == (5, 5)


# --- release and deallocation ------------------------------------------------------------------------------------

def test_deallocating_returns_the_stock_moves_the_order_back_and_lets_it_be_cancelled(tid, shop, cast_a):
    # given
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[(2, 1, shop.water)], skus=[shop.soda])
    receive(shop.wh, shop.soda, 30)
    receive(shop.wh, shop.water, 4)
    a = confirmed_order(shop.outlets[0], [(shop.soda, 2), (shop.crisps, 0, 5)])  # 24 soda + 6 free water
    scope = staff_scope(shop, cast_a)
    first = allocate(scope, [a])[a.pk]
    assert [line.proposed_units for line in first.lines] == [24, 0, 4] and first.outcome == "partially_allocated"
    # when: cancelling an allocated order is refused; deallocating first works
    with tenant_scope(scope), pytest.raises(InvalidTransition) as refused:
        order_cancel(scope=scope, order_id=a.pk, reason="shop closed")
    with tenant_scope(scope):
        back = order_deallocate(scope=scope, order_id=a.pk, reason="shop closed")
        again = order_deallocate(scope=scope, order_id=a.pk, reason="twice")
        cancelled = order_cancel(scope=scope, order_id=a.pk, reason="shop closed")
    # then
    assert refused.value.message == ("The order is partially allocated: deallocate it first (its stock is released), "
                                     "then cancel it.")
    assert (back.status, again.status, cancelled.status) == (S.CONFIRMED, S.CONFIRMED, S.CANCELLED)
    assert balance_of(shop.wh, shop.soda) == (30, 0) and balance_of(shop.wh, shop.water) == (4, 0)
    assert [row[3] for row in allocations_of(a)] == ["released", "released"]
    assert [m for m in movements_of(shop.wh) if m[0] == "release"] == [
        ("release", shop.soda.pk, -24, 0, -24), ("release", shop.water.pk, -4, 0, -4)]
    assert [(e.from_status, e.to_status) for e in events_of(a)][-3:] == [
        ("confirmed", "partially_allocated"), ("partially_allocated", "confirmed"), ("confirmed", "cancelled")]
    assert events_of(a)[-2].detail["released"][0]["units"] == 24
    assert no_mismatches(tid)


def test_a_deallocated_order_can_be_allocated_again(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 10)
    a, b = soda_orders(shop, 10, 10)
    scope = staff_scope(shop, cast_a)
    allocate(scope, [a, b])
    # when: a gives its stock back, and b takes it
    with tenant_scope(scope):
        results = order_deallocate_many(scope=scope, order_ids=[a.pk, b.pk], reason="reshuffle")
    after = allocate(scope, [b])
    # then
    assert [(r.order_id, r.ok, r.status) for r in results] == [(a.pk, True, S.CONFIRMED), (b.pk, True, S.CONFIRMED)]
    assert after[b.pk].outcome == "allocated"
    assert [row[2:4] for row in allocations_of(b)] == [(10, "active")]
    assert balance_of(shop.wh, shop.soda) == (10, 10) and no_mismatches(tid)


def test_deallocating_needs_a_reason_and_an_allocated_order(tid, shop, cast_a):
    [a] = soda_orders(shop, 1)
    booked = make_order(shop.outlets[1], [(shop.soda, 0, 1)])
    scope = staff_scope(shop, cast_a)
    with tenant_scope(scope), pytest.raises(DomainError) as no_reason:
        order_deallocate(scope=scope, order_id=a.pk, reason=" ")
    with tenant_scope(scope), pytest.raises(InvalidTransition):
        order_deallocate(scope=scope, order_id=booked.pk, reason="why not")
    with tenant_scope(scope):
        assert allocation_release(scope=scope, order_id=a.pk, reason="nothing there") == []
    assert set(no_reason.value.fields) == {"reason"} and reload(booked).status == S.BOOKED


def test_confirming_an_allocated_order_is_refused_so_its_stock_stays_reserved(tid, shop, cast_a):
    # given
    receive(shop.wh, shop.soda, 10)
    [a] = soda_orders(shop, 4)
    scope = staff_scope(shop, cast_a)
    allocate(scope, [a])
    # when: the table leads allocated back to confirmed, but only through order_deallocate
    from orders.services import order_confirm

    with tenant_scope(scope), pytest.raises(InvalidTransition) as refused:
        order_confirm(scope=scope, order_id=a.pk)
    # then
    assert refused.value.status_code == 409 and reload(a).status == S.ALLOCATED
    assert balance_of(shop.wh, shop.soda) == (10, 4) and [row[3] for row in allocations_of(a)] == ["active"]


def test_another_distributors_order_cannot_be_allocated_or_deallocated(tid, shop, cast_a, dist_a2):
    # given: an order of distributor A2, allocated by the tenant
    sibling = confirmed_order(make_outlet(dist_a2, code="A2-SHOP", credit_limit=D("0")), [(shop.soda, 0, 1)])
    scope = staff_scope(shop, cast_a)
    # when / then
    assert allocate(scope, [sibling])[sibling.pk].code == "not_found"
    with tenant_scope(scope), pytest.raises(NotFound):
        order_deallocate(scope=scope, order_id=sibling.pk, reason="not mine")


# --- a day's queue ---------------------------------------------------------------------------------------------------

def test_a_days_queue_runs_as_a_job_with_a_result_per_order_and_can_run_again(tid, shop, cast_a, dist_a1,
                                                                              django_capture_on_commit_callbacks):
    # given: three confirmed orders booked on 2025-06-02 (Karachi), one booked but not confirmed
    receive(shop.wh, shop.soda, 30)
    a, b, c = soda_orders(shop, 20, 20, 10)
    make_order(shop.outlets[3], [(shop.soda, 0, 5)])
    scope = staff_scope(shop, cast_a)
    from datetime import date

    with tenant_scope(scope):
        plan = allocation_plan_day(scope=scope, distributor_id=dist_a1.pk, day=date(2025, 6, 2), policy=FAIR_SHARE)
    assert [o.order_id for o in plan.orders] == [a.pk, b.pk, c.pk]
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, tenant_scope(scope):
        job = allocate_day_start(scope=scope, distributor_id=dist_a1.pk, day=date(2025, 6, 2), policy=FAIR_SHARE)
    # then
    assert len(callbacks) == 1
    with tenant_scope(system(tid)):
        job = BackgroundJob.objects.get(pk=job.pk)
        run_ids = set(Allocation.objects.values_list("run_id", flat=True))
    assert (job.kind, job.status) == ("allocation_day", BackgroundJob.Status.SUCCEEDED)
    assert (job.result["orders"], job.result["partially_allocated"], job.result["units_allocated"]) == (3, 3, 30)
    assert [r["order_id"] for r in job.result["results"]] == [a.pk, b.pk, c.pk]
    assert run_ids == {job.pk} and [reload(o).status for o in (a, b, c)] == [S.PARTIALLY_ALLOCATED] * 3
    # when: the job runs again (a redelivered task whose worker died before it was marked finished)
    from inventory.tasks import allocate_day_task

    with tenant_scope(system(tid)):
        BackgroundJob.objects.filter(pk=job.pk).update(status=BackgroundJob.Status.RUNNING)
    assert allocate_day_task(tenant_id=tid, job_id=job.pk) == BackgroundJob.Status.SUCCEEDED
    # then: the queue is confirmed orders; the allocated ones are no longer in it
    with tenant_scope(system(tid)):
        assert BackgroundJob.objects.get(pk=job.pk).result["orders"] == 0
        assert Allocation.objects.count() == 3
    assert balance_of(shop.wh, shop.soda) == (30, 30) and no_mismatches(tid)


def test_a_day_of_another_distributor_or_a_bad_policy_is_refused_before_a_job_is_made(tid, shop, cast_a, dist_a2):
    from datetime import date

    scope = staff_scope(shop, cast_a)
    with tenant_scope(scope), pytest.raises(NotFound):
        allocate_day_start(scope=scope, distributor_id=dist_a2.pk, day=date(2025, 6, 2))
    with tenant_scope(scope), pytest.raises(DomainError) as bad:
        allocate_day_start(scope=scope, distributor_id=shop.wh.distributor_id, day=date(2025, 6, 2), day_field="x")
    assert set(bad.value.fields) == {"day_field"}
    with tenant_scope(system(tid)):
        assert BackgroundJob.objects.count() == 0
