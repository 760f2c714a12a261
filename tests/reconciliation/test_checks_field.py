"""The field checks (reconciliation.checks.field): the day close and its missed visits, devices that did not sync,
day closes with gaps or count mismatches, orders stuck in a state.

Each seeded mismatch is found exactly once with the records involved, a clean day yields nothing, and a second
pass adds no exception (it finds the same rows again, or clears what is gone).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Device, TenantSettings
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_revoke
from mobile.dayclose import day_close
from mobile.models import SyncItem
from orders.enums import HoldKind, OrderStatus
from orders.models import SecondaryOrder
from pjp.enums import VisitStatus
from pjp.models import Visit, VisitEvent
from reconciliation.checks import CHECKS
from reconciliation.checks.base import CheckContext
from reconciliation.checks.field import FIELD_CHECKS
from reconciliation.enums import ExceptionStatus, RunStatus, RunTrigger
from reconciliation.models import ReconciliationException, ReconciliationRun
from reconciliation.services import reconciliation_request, run_check
from reconciliation.services.run import check_context
from tests.factories.catalog import make_outlet, make_sku
from tests.factories.mobile import make_booker, make_device, make_order, plan_journeys
from tests.mobile.sync_setup import Day, order_item, push_ok, visit_item, working_day

CHECK = {c.code: c for c in FIELD_CHECKS}


# --- helpers -------------------------------------------------------------------------------------------------------

def context(cast: Any, day: date) -> CheckContext:
    """The context the run gives its checks for `day` (its run row is created once)."""
    with tenant_scope(Scope.system(cast.tenant.pk, "reconciliation")) as scope:
        run, _ = ReconciliationRun.objects.get_or_create(business_date=day)
        return check_context(scope=scope, run=run)


def reconcile(cast: Any, code: str, day: date) -> dict[str, int]:
    """One pass of a check, as the run makes it: in a tenant transaction of its own."""
    with tenant_scope(Scope.system(cast.tenant.pk, "reconciliation")) as scope:
        run, _ = ReconciliationRun.objects.get_or_create(business_date=day)
        return run_check(CHECK[code], check_context(scope=scope, run=run))


def found(cast: Any, code: str, *, open_only: bool = True) -> list[ReconciliationException]:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        qs = ReconciliationException.objects.filter(check_code=code).order_by("key")
        if open_only:
            qs = qs.filter(status=ExceptionStatus.OPEN)
        return list(qs)


def in_tenant(cast: Any) -> Any:
    return tenant_scope(Scope.system(cast.tenant.pk))


def set_status(visits: list[Visit], status: str) -> None:
    Visit.objects.filter(pk__in=[v.pk for v in visits]).update(status=status)


def sync_item(device: Device, seq: int, day: date, *, kind: str = "visit", result: str = "applied",
              obj: uuid.UUID | None = None) -> None:
    SyncItem.objects.create(distributor_id=device.distributor_id, device=device, device_seq=seq, kind=kind,
                            object_uuid=obj or uuid.uuid4(), result=result, work_date=day)


@pytest.fixture
def day(cast_a: Any) -> Day:
    """Today: A1's booker (with the cast's phone) has a journey of three planned visits."""
    return working_day(cast_a)


@pytest.fixture
def app(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.device_token, kind="device")


def test_the_field_checks_run_first_in_their_order():
    # then: the day close comes first, so the later checks and the analytics see the missed visits
    assert [c.code for c in FIELD_CHECKS] == ["visits_missed", "device_not_synced", "device_day_close",
                                             "orders_stuck"]
    assert [c.code for c in CHECKS[:4]] == [c.code for c in FIELD_CHECKS]


# --- 1. visits missed ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_day_close_marks_planned_visits_missed_and_lists_the_journey_once(cast_a, day):
    # given: the first visit was made; a second booker made all of theirs
    other = make_booker(cast_a.distributors[0], "a-a1-booker-2")
    shops = [make_outlet(cast_a.distributors[0], code=f"OTHER{i}") for i in range(2)]
    other_journey = plan_journeys(cast_a.distributors[0], other, {day.today: shops}, today=day.today)[day.today]
    with in_tenant(cast_a):
        set_status(day.visits[:1], VisitStatus.PRODUCTIVE)
        set_status(list(Visit.objects.filter(journey=other_journey)), VisitStatus.UNPRODUCTIVE)
    # when
    counts = reconcile(cast_a, "visits_missed", day.today)
    # then
    assert counts["missed"] == 2 and counts["found"] == 1 and counts["new"] == 1
    [exc] = found(cast_a, "visits_missed")
    missed = day.visits[1:]
    assert (exc.key, exc.subject_type, exc.subject_id) == (f"journey:{day.journey.pk}", "journey", day.journey.pk)
    assert exc.distributor_id == cast_a.distributors[0].pk
    assert exc.records[:2] == [
        {"type": "journey", "id": day.journey.pk, "ref": f"{day.journey.route.code} {day.today.isoformat()}"},
        {"type": "user", "id": day.booker.pk, "ref": day.booker.username}]
    assert [(r["type"], r["id"], r["outlet_id"]) for r in exc.records[2:]] == [
        ("visit", v.pk, v.outlet_id) for v in missed]
    assert exc.detail == {"date": day.today.isoformat(), "planned": 3, "visited": 1, "missed": 2}
    assert "missed 2 of 3 planned visits" in exc.message
    with in_tenant(cast_a):
        assert set(Visit.objects.filter(pk__in=[v.pk for v in missed]).values_list("status", flat=True)) == {
            VisitStatus.MISSED}
        assert VisitEvent.objects.filter(visit__in=missed, reason="day closed with no visit").count() == 2


@pytest.mark.django_db
def test_closing_the_day_twice_adds_no_exception_and_marks_nothing_more(cast_a, day):
    # given
    reconcile(cast_a, "visits_missed", day.today)
    # when
    again = reconcile(cast_a, "visits_missed", day.today)
    # then
    assert (again["missed"], again["found"], again["new"], again["cleared"]) == (0, 1, 0, 0)
    assert len(found(cast_a, "visits_missed", open_only=False)) == 1
    with in_tenant(cast_a):
        assert VisitEvent.objects.filter(to_status=VisitStatus.MISSED).count() == 3


@pytest.mark.django_db
def test_a_day_with_every_planned_visit_made_has_no_missed_visit(cast_a, day):
    # given
    with in_tenant(cast_a):
        set_status(day.visits, VisitStatus.PRODUCTIVE)
    # when
    counts = reconcile(cast_a, "visits_missed", day.today)
    # then
    assert (counts["missed"], counts["found"]) == (0, 0)
    assert found(cast_a, "visits_missed", open_only=False) == []


@pytest.mark.django_db
def test_a_visit_missed_before_the_night_is_listed_with_those_the_close_marks(cast_a, day):
    # given: the first visit was marked missed during the day, the second made, the third still planned
    with in_tenant(cast_a):
        set_status(day.visits[:1], VisitStatus.MISSED)
        set_status(day.visits[1:2], VisitStatus.PRODUCTIVE)
    # when
    counts = reconcile(cast_a, "visits_missed", day.today)
    # then
    assert (counts["missed"], counts["found"]) == (1, 1)
    [exc] = found(cast_a, "visits_missed")
    assert exc.detail == {"date": day.today.isoformat(), "planned": 3, "visited": 1, "missed": 2}
    assert [r["id"] for r in exc.records[2:]] == [day.visits[0].pk, day.visits[2].pk]


# --- 2. devices not synced -----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_an_active_device_with_planned_visits_and_no_sync_is_reported_once(cast_a, day):
    # given: the booker also has an old phone, revoked; a booker with a journey but no device
    old = make_device(cast_a.distributors[0], day.booker, "a-old-phone")
    with in_tenant(cast_a) as scope:
        device_revoke(scope=scope, device_id=old.pk)
    no_phone = make_booker(cast_a.distributors[0], "a-a1-no-phone")
    plan_journeys(cast_a.distributors[0], no_phone, {day.today: [make_outlet(cast_a.distributors[0])]},
                  today=day.today)
    # when
    counts = reconcile(cast_a, "device_not_synced", day.today)
    again = reconcile(cast_a, "device_not_synced", day.today)
    # then
    assert (counts["found"], counts["new"]) == (1, 1)
    assert (again["found"], again["new"]) == (1, 0)
    [exc] = found(cast_a, "device_not_synced", open_only=False)
    device = cast_a.device
    assert (exc.key, exc.subject_type, exc.subject_id) == (
        f"device:{device.pk}:{day.today.isoformat()}", "device", device.pk)
    assert exc.records == [
        {"type": "device", "id": device.pk, "ref": device.name},
        {"type": "user", "id": day.booker.pk, "ref": day.booker.username},
        {"type": "journey", "id": day.journey.pk, "ref": f"{day.journey.route.code} {day.today.isoformat()}"}]
    assert exc.detail["planned"] == 3 and exc.detail["date"] == day.today.isoformat()


@pytest.mark.django_db
def test_a_booker_who_synced_from_any_of_their_devices_is_not_reported(cast_a, day):
    # given: a second phone of the booker sent an item of the day; the cast's phone sent nothing
    second = make_device(cast_a.distributors[0], day.booker, "a-phone-2")
    with in_tenant(cast_a):
        sync_item(second, 1, day.today)
    # when
    counts = reconcile(cast_a, "device_not_synced", day.today)
    # then
    assert counts["found"] == 0
    assert found(cast_a, "device_not_synced", open_only=False) == []


@pytest.mark.django_db
def test_an_item_of_another_day_is_not_a_sync_of_this_one(cast_a, day):
    # given
    with in_tenant(cast_a):
        sync_item(cast_a.device, 1, day.today - timedelta(days=1))
    # when
    counts = reconcile(cast_a, "device_not_synced", day.today)
    # then
    assert counts["found"] == 1


@pytest.mark.django_db
def test_a_device_that_syncs_after_all_is_cleared_when_the_day_is_reconciled_again(cast_a, day, app):
    # given
    reconcile(cast_a, "device_not_synced", day.today)
    push_ok(app, [visit_item(day, 0, 1)])
    # when
    counts = reconcile(cast_a, "device_not_synced", day.today)
    # then
    assert (counts["found"], counts["cleared"]) == (0, 1)
    [exc] = found(cast_a, "device_not_synced", open_only=False)
    assert exc.status == ExceptionStatus.CLEARED


# --- 3. day close gaps and mismatches ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_day_close_with_a_gap_and_a_short_count_is_found_once(cast_a, day, app):
    # given: seqs 1-5 used today, 3 never arrived; the app counts 2 visits and 3 orders
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2), visit_item(day, 1, 4), order_item(day, 1, 5)])
    app.post(reverse("mobile-day-close"), {"date": day.today.isoformat(), "first_device_seq": 1,
                                           "last_device_seq": 5, "counts": {"visit": 2, "order": 3}}, format="json")
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    again = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert (counts["found"], counts["new"], again["found"], again["new"]) == (1, 1, 1, 0)
    [exc] = found(cast_a, "device_day_close", open_only=False)
    device = cast_a.device
    assert (exc.key, exc.subject_type, exc.subject_id) == (
        f"device:{device.pk}:{day.today.isoformat()}", "device", device.pk)
    assert exc.records == [{"type": "device", "id": device.pk, "ref": device.name},
                           {"type": "user", "id": day.booker.pk, "ref": day.booker.username}]
    assert exc.detail["missing_seqs"] == [[3, 3]] and exc.detail["missing"] == 1
    assert exc.detail["counts"] == {"visit": {"device": 2, "server": 2}, "order": {"device": 3, "server": 2}}
    assert exc.detail["mismatches"] == [{"kind": "order", "device": 3, "server": 2}]
    assert "1 item(s) never arrived" in exc.message and "order 3 on the device, 2 on the server" in exc.message


@pytest.mark.django_db
def test_the_night_recomputes_against_what_arrived_after_the_day_close(cast_a, day, app):
    # given: the day close saw the gap; the missing order arrived afterwards
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2), visit_item(day, 1, 4), order_item(day, 1, 5)])
    app.post(reverse("mobile-day-close"), {"date": day.today.isoformat(), "first_device_seq": 1,
                                           "last_device_seq": 5, "counts": {"visit": 2, "order": 3}}, format="json")
    push_ok(app, [order_item(day, 2, 3)])
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 0
    assert found(cast_a, "device_day_close", open_only=False) == []


@pytest.mark.django_db
def test_gaps_at_both_ends_of_the_range_are_listed_as_ranges(cast_a, day):
    # given: seqs 1-8 used, only 3-5 arrived (one of them rejected: it arrived all the same)
    device = cast_a.device
    with in_tenant(cast_a) as scope:
        sync_item(device, 3, day.today)
        sync_item(device, 4, day.today, kind="order")
        sync_item(device, 5, day.today, kind="order", result="rejected")
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=8,
                  counts={"visit": 1, "order": 1})
    # when
    reconcile(cast_a, "device_day_close", day.today)
    # then
    [exc] = found(cast_a, "device_day_close")
    assert exc.detail["missing_seqs"] == [[1, 2], [6, 8]]
    assert (exc.detail["missing"], exc.detail["missing_ranges"]) == (5, 2)
    assert exc.detail["mismatches"] == []


@pytest.mark.django_db
def test_a_device_that_sent_items_but_never_closed_the_day_is_found_under_its_own_key(cast_a, day, app):
    # given
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2)])
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 1
    [exc] = found(cast_a, "device_day_close")
    assert exc.key == f"device:{cast_a.device.pk}:{day.today.isoformat()}:no-close"
    assert exc.records[0] == {"type": "device", "id": cast_a.device.pk, "ref": cast_a.device.name}
    assert (exc.detail["items"], exc.detail["visits"], exc.detail["orders"]) == (2, 1, 1)
    assert "never closed the day" in exc.message


@pytest.mark.django_db
def test_a_day_closed_in_agreement_with_the_server_gives_nothing(cast_a, day, app):
    # given
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2), visit_item(day, 1, 3)])
    app.post(reverse("mobile-day-close"), {"date": day.today.isoformat(), "first_device_seq": 1,
                                           "last_device_seq": 3, "counts": {"visit": 2, "order": 1}}, format="json")
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 0
    assert found(cast_a, "device_day_close", open_only=False) == []


# The check first compares control totals (the date's items fill the range, no object sent twice, plain counts
# equal the device's) and works a close out in full only where they differ: these are the cases where they differ
# and the full answer is still "nothing", or where the plain counts agree and the full answer is a mismatch.

@pytest.mark.django_db
def test_an_object_sent_twice_is_counted_once_and_agrees_with_the_device(cast_a, day):
    # given: the visit was re-sent under a new sequence number (a duplicate); the app counts it once
    device, visit = cast_a.device, uuid.uuid4()
    with in_tenant(cast_a) as scope:
        sync_item(device, 1, day.today, obj=visit)
        sync_item(device, 2, day.today, obj=visit, result="duplicate")
        sync_item(device, 3, day.today, kind="order")
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=3,
                  counts={"visit": 1, "order": 1})
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 0
    assert found(cast_a, "device_day_close", open_only=False) == []


@pytest.mark.django_db
def test_a_device_counting_a_resent_object_twice_is_a_mismatch_though_the_items_number_the_same(cast_a, day):
    # given: two visit items, one object; the app says two visits
    device, visit = cast_a.device, uuid.uuid4()
    with in_tenant(cast_a) as scope:
        sync_item(device, 1, day.today, obj=visit)
        sync_item(device, 2, day.today, obj=visit, result="duplicate")
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=2, counts={"visit": 2})
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 1
    [exc] = found(cast_a, "device_day_close")
    assert exc.detail["mismatches"] == [{"kind": "visit", "device": 2, "server": 1}]
    assert exc.detail["missing"] == 0 and exc.detail["missing_seqs"] == []
    assert "visit 2 on the device, 1 on the server" in exc.message


@pytest.mark.django_db
def test_an_item_of_another_day_inside_the_range_is_no_gap(cast_a, day):
    # given: seq 2 belongs to the day before (sent late), between two items of the day
    device = cast_a.device
    with in_tenant(cast_a) as scope:
        sync_item(device, 1, day.today)
        sync_item(device, 2, day.today - timedelta(days=1))
        sync_item(device, 3, day.today)
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=3, counts={"visit": 2})
    # when
    counts = reconcile(cast_a, "device_day_close", day.today)
    # then
    assert counts["found"] == 0


@pytest.mark.django_db
def test_an_item_of_the_day_beyond_the_range_does_not_hide_a_gap_in_it(cast_a, day):
    # given: seqs 1-3 closed, 3 never arrived; seq 4, of the same day, came after the close: as many items of the
    # day as the range is long, and as many visits as the app counted
    device = cast_a.device
    with in_tenant(cast_a) as scope:
        for seq in (1, 2, 4):
            sync_item(device, seq, day.today)
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=3, counts={"visit": 3})
    # when
    reconcile(cast_a, "device_day_close", day.today)
    # then
    [exc] = found(cast_a, "device_day_close")
    assert exc.detail["missing_seqs"] == [[3, 3]] and exc.detail["mismatches"] == []


@pytest.mark.django_db
def test_a_device_counting_more_than_arrived_without_a_gap_is_a_mismatch(cast_a, day):
    # given: the range is complete, but one of its items was rejected; the app counts both as sent orders
    device = cast_a.device
    with in_tenant(cast_a) as scope:
        sync_item(device, 1, day.today, kind="order")
        sync_item(device, 2, day.today, kind="order", result="rejected")
        day_close(scope=scope, device=device, day=day.today, first_seq=1, last_seq=2, counts={"order": 2})
    # when
    reconcile(cast_a, "device_day_close", day.today)
    # then
    [exc] = found(cast_a, "device_day_close")
    assert exc.detail["mismatches"] == [{"kind": "order", "device": 2, "server": 1}]
    assert exc.detail["missing_ranges"] == 0


# --- 4. orders stuck -----------------------------------------------------------------------------------------------

def stuck_order(outlet: Any, sku: Any, status: str, *, hours: float | None, as_of: Any, hold: bool = False,
                last_change_hours: float | None = None) -> SecondaryOrder:
    """An order that entered `status` `hours` before as_of (None: unknown, last changed `last_change_hours` ago)."""
    order = make_order(outlet, sku, booked_at=as_of - timedelta(hours=200), status=status)
    with tenant_scope(Scope.system(outlet.tenant_id)):
        since = None if hours is None else as_of - timedelta(hours=hours)
        changes: dict[str, Any] = {"status_changed_at": since}
        if last_change_hours is not None:
            changes["updated_at"] = as_of - timedelta(hours=last_change_hours)
        if hold:
            changes.update(hold=HoldKind.CREDIT, hold_reason="over the credit limit by 5,000.00")
        SecondaryOrder.objects.filter(pk=order.pk).update(**changes)
    return order


@pytest.fixture
def shop(cast_a: Any) -> Any:
    return make_outlet(cast_a.distributors[0], code="STUCK1", name="Stuck Shop")


@pytest.fixture
def sku(cast_a: Any) -> Any:
    return make_sku(cast_a.tenant.pk)


@pytest.mark.django_db
def test_orders_past_their_states_limit_are_found_once_each(cast_a, cast_b, shop, sku):
    # given: the default limits (booked 24 h, allocated 24 h, invoiced 48 h)
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    as_of = context(cast_a, today).as_of
    a2_shop = make_outlet(cast_a.distributors[1], code="A2SHOP")
    S = OrderStatus
    stuck = {
        "booked": stuck_order(shop, sku, S.BOOKED, hours=25, as_of=as_of),
        "confirmed": stuck_order(shop, sku, S.CONFIRMED, hours=26, as_of=as_of),
        "partially_allocated": stuck_order(shop, sku, S.PARTIALLY_ALLOCATED, hours=30, as_of=as_of),
        "invoiced": stuck_order(shop, sku, S.INVOICED, hours=None, last_change_hours=49, as_of=as_of),
        "a2_allocated": stuck_order(a2_shop, sku, S.ALLOCATED, hours=25, as_of=as_of),
    }
    fine = [stuck_order(shop, sku, S.BOOKED, hours=23, as_of=as_of),
            stuck_order(shop, sku, S.ALLOCATED, hours=2, as_of=as_of),
            stuck_order(shop, sku, S.INVOICED, hours=47, as_of=as_of),
            stuck_order(shop, sku, S.LOADED, hours=300, as_of=as_of),
            stuck_order(shop, sku, S.CANCELLED, hours=300, as_of=as_of)]
    stuck_order(make_outlet(cast_b.distributors[0]), make_sku(cast_b.tenant.pk), S.BOOKED, hours=99, as_of=as_of)
    # when
    counts = reconcile(cast_a, "orders_stuck", today)
    # then
    assert counts["found"] == 5
    by_key = {e.key: e for e in found(cast_a, "orders_stuck")}
    assert set(by_key) == {f"order:{o.pk}:{o.status}" for o in stuck.values()}
    assert not {f"order:{o.pk}:{o.status}" for o in fine} & set(by_key)
    booked = by_key[f"order:{stuck['booked'].pk}:booked"]
    assert (booked.subject_type, booked.subject_id, booked.distributor_id) == (
        "order", stuck["booked"].pk, cast_a.distributors[0].pk)
    assert booked.records == [{"type": "order", "id": stuck["booked"].pk, "ref": str(stuck["booked"].uuid)},
                              {"type": "outlet", "id": shop.pk, "ref": "STUCK1 Stuck Shop"}]
    assert booked.detail["status"] == "booked" and booked.detail["hold"] == ""
    assert (float(booked.detail["hours"]), float(booked.detail["limit_hours"])) == (25.0, 24.0)
    assert "has been booked for 25.0 hours (limit 24)" in booked.message
    assert float(by_key[f"order:{stuck['confirmed'].pk}:confirmed"].detail["limit_hours"]) == 24.0
    invoiced = by_key[f"order:{stuck['invoiced'].pk}:invoiced"]
    assert (float(invoiced.detail["hours"]), float(invoiced.detail["limit_hours"])) == (49.0, 48.0)
    assert by_key[f"order:{stuck['a2_allocated'].pk}:allocated"].distributor_id == cast_a.distributors[1].pk


@pytest.mark.django_db
def test_an_order_on_credit_hold_is_reported_as_waiting_for_its_release(cast_a, shop, sku):
    # given
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    as_of = context(cast_a, today).as_of
    held = stuck_order(shop, sku, OrderStatus.BOOKED, hours=30, as_of=as_of, hold=True)
    # when
    reconcile(cast_a, "orders_stuck", today)
    # then
    [exc] = found(cast_a, "orders_stuck")
    assert exc.key == f"order:{held.pk}:booked"
    assert exc.detail["hold"] == "credit"
    assert "on credit hold, waiting for someone to release it: over the credit limit" in exc.message


@pytest.mark.django_db
def test_the_tenants_own_limits_apply(cast_a, shop, sku):
    # given: the tenant gives booked orders two days
    with in_tenant(cast_a):
        TenantSettings.objects.filter(tenant_id=cast_a.tenant.pk).update(stuck_booked_hours=48)
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    as_of = context(cast_a, today).as_of
    stuck_order(shop, sku, OrderStatus.BOOKED, hours=30, as_of=as_of)
    late = stuck_order(shop, sku, OrderStatus.BOOKED, hours=50, as_of=as_of)
    # when
    reconcile(cast_a, "orders_stuck", today)
    # then
    assert [e.key for e in found(cast_a, "orders_stuck")] == [f"order:{late.pk}:booked"]


@pytest.mark.django_db
def test_a_stuck_order_found_twice_is_one_exception_and_is_cleared_once_it_moves(cast_a, shop, sku):
    # given
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    as_of = context(cast_a, today).as_of
    order = stuck_order(shop, sku, OrderStatus.BOOKED, hours=30, as_of=as_of)
    first = reconcile(cast_a, "orders_stuck", today)
    # when
    again = reconcile(cast_a, "orders_stuck", today)
    with in_tenant(cast_a):
        SecondaryOrder.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED,
                                                          status_changed_at=timezone.now())
    moved = reconcile(cast_a, "orders_stuck", today)
    # then
    assert (first["new"], again["found"], again["new"], moved["found"], moved["cleared"]) == (1, 1, 0, 0, 1)
    [exc] = found(cast_a, "orders_stuck", open_only=False)
    assert (exc.key, exc.status) == (f"order:{order.pk}:booked", ExceptionStatus.CLEARED)


@pytest.mark.django_db
def test_orders_moving_within_their_limits_give_nothing(cast_a, shop, sku):
    # given
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    as_of = context(cast_a, today).as_of
    for status in (OrderStatus.BOOKED, OrderStatus.CONFIRMED, OrderStatus.ALLOCATED, OrderStatus.INVOICED):
        stuck_order(shop, sku, status, hours=1, as_of=as_of)
    # when
    counts = reconcile(cast_a, "orders_stuck", today)
    # then
    assert counts["found"] == 0


# --- the whole field run -------------------------------------------------------------------------------------------

def seed_a_bad_day(cast: Any, day: Day) -> tuple[SecondaryOrder, Any]:
    """One of each: a missed visit, a device with no sync (a second booker's, whose one visit is missed too), a
    device that never closed its day, an order booked 30 hours ago. Returns the order and the silent journey."""
    distributor = cast.distributors[0]
    silent = make_booker(distributor, "a-a1-silent")
    make_device(distributor, silent, "a-silent-phone")
    silent_journey = plan_journeys(distributor, silent, {day.today: [make_outlet(distributor, code="SILENT1")]},
                                   today=day.today)[day.today]
    with in_tenant(cast):
        set_status(day.visits[:2], VisitStatus.PRODUCTIVE)
        sync_item(cast.device, 1, day.today)
        sync_item(cast.device, 2, day.today)
    as_of = context(cast, day.today).as_of
    return stuck_order(day.outlets[0], day.skus[0], OrderStatus.BOOKED, hours=30, as_of=as_of), silent_journey


@pytest.mark.django_db
def test_a_bad_day_gives_each_mismatch_once_and_a_second_pass_adds_nothing(cast_a, day):
    # given
    order, silent_journey = seed_a_bad_day(cast_a, day)
    # when
    first = {code: reconcile(cast_a, code, day.today) for code in CHECK}
    second = {code: reconcile(cast_a, code, day.today) for code in CHECK}
    # then
    assert {code: c["found"] for code, c in first.items()} == {**dict.fromkeys(CHECK, 1), "visits_missed": 2}
    assert {code: c["new"] for code, c in second.items()} == dict.fromkeys(CHECK, 0)
    with in_tenant(cast_a):
        keys = sorted(ReconciliationException.objects.values_list("check_code", "key"))
        silent_device = Device.objects.get(identifier="a-silent-phone")
    assert keys == sorted([
        ("visits_missed", f"journey:{day.journey.pk}"),
        ("visits_missed", f"journey:{silent_journey.pk}"),
        ("device_not_synced", f"device:{silent_device.pk}:{day.today.isoformat()}"),
        ("device_day_close", f"device:{cast_a.device.pk}:{day.today.isoformat()}:no-close"),
        ("orders_stuck", f"order:{order.pk}:booked"),
    ])


@pytest.mark.django_db
def test_a_clean_day_gives_no_field_exception(cast_a, day, app):
    # given: every visit made and synced, the day closed in agreement, no order waiting
    push_ok(app, [visit_item(day, 0, 1), visit_item(day, 1, 2), visit_item(day, 2, 3, outcome="unproductive",
                                                                         reason="shop_closed")])
    app.post(reverse("mobile-day-close"), {"date": day.today.isoformat(), "first_device_seq": 1,
                                           "last_device_seq": 3, "counts": {"visit": 3}}, format="json")
    # when
    counts = {code: reconcile(cast_a, code, day.today) for code in CHECK}
    # then
    assert {code: c["found"] for code, c in counts.items()} == dict.fromkeys(CHECK, 0)
    assert counts["visits_missed"]["missed"] == 0
    with in_tenant(cast_a):
        assert not ReconciliationException.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_whole_run_finds_the_field_mismatches_and_a_rerun_doubles_nothing(cast_a):
    # given
    day = working_day(cast_a)
    seed_a_bad_day(cast_a, day)
    # when: requested, the run is executed by its task once the request commits (eager in tests)
    with in_tenant(cast_a) as scope:
        run = reconciliation_request(scope=scope, business_date=day.today, trigger=RunTrigger.MANUAL)
    with in_tenant(cast_a):
        first = ReconciliationRun.objects.get(pk=run.pk)
    with in_tenant(cast_a) as scope:
        reconciliation_request(scope=scope, business_date=day.today, trigger=RunTrigger.MANUAL, rerun=True)
    # then
    with in_tenant(cast_a):
        second = ReconciliationRun.objects.get(pk=run.pk)
        keys = list(ReconciliationException.objects.filter(check_code__in=list(CHECK))
                    .values_list("check_code", "key", "status"))
    assert first.status == second.status == RunStatus.SUCCEEDED
    assert first.checks_done[:4] == second.checks_done[:4] == list(CHECK)
    expected = {**dict.fromkeys(CHECK, 1), "visits_missed": 2}
    assert {code: first.counts[code]["found"] for code in CHECK} == expected
    assert {code: second.counts[code]["found"] for code in CHECK} == expected
    assert {code: second.counts[code]["new"] for code in CHECK} == dict.fromkeys(CHECK, 0)
    assert (first.counts["visits_missed"]["missed"], second.counts["visits_missed"]["missed"]) == (2, 0)
    assert len(keys) == len(set(keys)) == 5
    assert {status for *_, status in keys} == {ExceptionStatus.OPEN}
