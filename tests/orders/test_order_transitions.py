"""Staff services: confirm, cancel, release a hold, edit while booked, and the bulk forms; each allowed or refused
per SecondaryOrder.TRANSITIONS with an event row; intruders get "not found"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders.enums import HoldKind, OrderStatus
from orders.errors import OrderError
from orders.models import SecondaryOrder
from orders.services import (
    BookedLine,
    order_cancel,
    order_cancel_many,
    order_confirm,
    order_confirm_many,
    order_edit,
    order_release_hold,
)
from tests.factories.catalog import make_outlet, make_price_list
from tests.factories.orders import make_order
from tests.factories.pjp import staff_scope

from .conftest import events_of, lines_of, reload, set_status

pytestmark = pytest.mark.django_db

D = Decimal
S = OrderStatus
ALL = list(S)


@pytest.fixture
def order(cat, outlet) -> SecondaryOrder:
    return make_order(outlet, [(cat.cola, 2), (cat.water, 1)])


@pytest.fixture
def scope(dist_a1, cast_a) -> Scope:
    return staff_scope(dist_a1, cast_a.users["distributor_staff"])


def run(scope: Scope, service: Any, **kw: Any) -> Any:
    with tenant_scope(scope):
        return service(scope=scope, **kw)


def hold(order: SecondaryOrder) -> None:
    with tenant_scope(Scope.system(order.tenant_id)):
        SecondaryOrder.objects.filter(pk=order.pk).update(hold=HoldKind.CREDIT, hold_reason="over the limit")


# --- confirm ----------------------------------------------------------------------------------------------------------

def test_a_booked_order_is_confirmed_with_an_event(order, scope):
    # when
    confirmed = run(scope, order_confirm, order_id=order.pk, reason="checked by phone")
    # then
    assert reload(confirmed).status == S.CONFIRMED
    event = events_of(order)[-1]
    assert (event.action, event.from_status, event.to_status, event.actor_kind, event.actor_label, event.reason,
            event.distributor_id) == ("transition", "booked", "confirmed", "user", "a-a1-distributor_staff",
                                      "checked by phone", order.distributor_id)


def test_confirming_a_confirmed_order_changes_nothing(order, scope):
    run(scope, order_confirm, order_id=order.pk)
    run(scope, order_confirm, order_id=order.pk)
    assert [e.to_status for e in events_of(order)] == ["booked", "confirmed"]


@pytest.mark.parametrize("status", [s for s in ALL if s not in (S.BOOKED, S.CONFIRMED)])
def test_confirm_is_refused_from_every_other_state(order, scope, status):
    # given
    set_status(order, status)
    # when
    with pytest.raises(InvalidTransition) as exc:
        run(scope, order_confirm, order_id=order.pk)
    # then
    assert exc.value.status_code == 409
    assert reload(order).status == status and len(events_of(order)) == 1


# --- cancel -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [S.BOOKED, S.CONFIRMED])
def test_booked_and_confirmed_orders_are_cancelled_with_the_reason(order, scope, status):
    # given
    set_status(order, status)
    # when
    run(scope, order_cancel, order_id=order.pk, reason="  shop closed for good ")
    # then
    assert reload(order).status == S.CANCELLED
    event = events_of(order)[-1]
    assert (event.from_status, event.to_status, event.reason) == (status, "cancelled", "shop closed for good")


def test_a_held_order_can_be_cancelled(order, scope):
    hold(order)
    assert run(scope, order_cancel, order_id=order.pk, reason="too much credit").status == S.CANCELLED


@pytest.mark.parametrize("status", [s for s in ALL if s not in (S.BOOKED, S.CONFIRMED, S.CANCELLED)])
def test_cancel_is_refused_once_the_order_is_on_its_way(order, scope, status):
    set_status(order, status)
    with pytest.raises(InvalidTransition):
        run(scope, order_cancel, order_id=order.pk, reason="too late")
    assert reload(order).status == status and len(events_of(order)) == 1


def test_cancelling_needs_a_reason_and_a_cancelled_order_stays_as_it_is(order, scope):
    # when
    with pytest.raises(DomainError) as exc:
        run(scope, order_cancel, order_id=order.pk, reason="  ")
    run(scope, order_cancel, order_id=order.pk, reason="duplicate of another order")
    again = run(scope, order_cancel, order_id=order.pk, reason="again")
    # then
    assert (exc.value.code, set(exc.value.fields)) == (OrderError.INVALID, {"reason"})
    assert again.status == S.CANCELLED
    assert [e.to_status for e in events_of(order)] == ["booked", "cancelled"]


def test_every_transition_of_the_table_that_staff_make_writes_one_event(order, scope):
    """The staff services cover exactly the transitions out of booked and confirmed that the table allows."""
    assert SecondaryOrder.TRANSITIONS[S.BOOKED] == {S.CONFIRMED, S.CANCELLED}
    assert S.CANCELLED in SecondaryOrder.TRANSITIONS[S.CONFIRMED]
    run(scope, order_confirm, order_id=order.pk)
    run(scope, order_cancel, order_id=order.pk, reason="changed their mind")
    assert [(e.from_status, e.to_status) for e in events_of(order)] == [
        ("", "booked"), ("booked", "confirmed"), ("confirmed", "cancelled")]


# --- release hold -----------------------------------------------------------------------------------------------------

def test_releasing_an_order_not_on_hold_changes_nothing(order, scope):
    assert run(scope, order_release_hold, order_id=order.pk, reason="just in case").hold == ""
    assert len(events_of(order)) == 1


def test_releasing_a_hold_needs_a_reason_and_a_booked_order(order, scope):
    # given
    hold(order)
    # when
    with pytest.raises(DomainError) as no_reason:
        run(scope, order_release_hold, order_id=order.pk, reason="")
    set_status(order, S.CANCELLED)
    with pytest.raises(DomainError) as cancelled:
        run(scope, order_release_hold, order_id=order.pk, reason="paid")
    # then
    assert set(no_reason.value.fields) == {"reason"}
    assert (cancelled.value.code, cancelled.value.status_code) == (OrderError.NOT_BOOKED, 409)
    assert reload(order).hold == HoldKind.CREDIT


# --- edit -------------------------------------------------------------------------------------------------------------

def test_staff_edit_lines_note_and_delivery_date_reprices_and_bumps_the_version(tid, cat, outlet, scope):
    # given: the app showed 1200 for cola; a newer price list applies from after the booking date
    order = make_order(outlet, [(cat.cola, 2, 0, D("1200")), (cat.water, 1)])
    make_price_list(tid, {cat.chips: D("999.0000")}, valid_from=date(2030, 1, 1))
    # when
    edited = run(scope, order_edit, order_id=order.pk, version=1, note="call before delivery",
                 delivery_date=date(2025, 6, 4),
                 lines=[BookedLine(cat.cola.pk, 3), BookedLine(cat.chips.pk, 1, 12)], reason="phoned the shop")
    # then
    edited = reload(edited)
    assert (edited.version, edited.note, edited.delivery_date) == (2, "call before delivery", date(2025, 6, 4))
    lines = lines_of(edited)
    assert [(li.sku_id, li.cases, li.units, li.case_price, li.device_case_price) for li in lines] == [
        (cat.cola.pk, 3, 0, D("1234.5678"), D("1200.0000")), (cat.chips.pk, 1, 12, D("480.0000"), None)]
    assert edited.total == sum(li.total for li in lines)
    assert edited.price_flag is True  # describes what the app showed at booking
    event = events_of(edited)[-1]
    assert (event.action, event.reason, event.detail["fields"], event.detail["version"]) == (
        "edited", "phoned the shop", ["note", "delivery_date", "lines"], 2)


def test_an_edit_with_a_stale_version_is_a_409_and_changes_nothing(order, scope):
    # given
    run(scope, order_edit, order_id=order.pk, version=1, note="first")
    # when
    with pytest.raises(DomainError) as exc:
        run(scope, order_edit, order_id=order.pk, version=1, note="second")
    # then
    assert (exc.value.code, exc.value.status_code, set(exc.value.fields)) == (OrderError.STALE_VERSION, 409,
                                                                             {"version"})
    assert (reload(order).note, reload(order).version) == ("first", 2)


def test_an_edit_that_changes_nothing_keeps_the_version(cat, order, scope):
    edited = run(scope, order_edit, order_id=order.pk, version=1, note=order.note,
                 lines=[BookedLine(cat.cola.pk, 2), BookedLine(cat.water.pk, 1)])
    assert edited.version == 1 and len(events_of(order)) == 1


@pytest.mark.parametrize("status", [s for s in ALL if s != S.BOOKED])
def test_only_a_booked_order_can_be_edited(order, scope, status):
    set_status(order, status)
    with pytest.raises(DomainError) as exc:
        run(scope, order_edit, order_id=order.pk, version=1, note="late change")
    assert (exc.value.code, exc.value.status_code) == (OrderError.NOT_BOOKED, 409)


def test_a_bad_edit_names_the_lines_and_keeps_the_order(cat, order, scope):
    # when
    with pytest.raises(DomainError) as exc:
        run(scope, order_edit, order_id=order.pk, version=1, delivery_date=date(2020, 1, 1),
            lines=[BookedLine(cat.cola.pk, 1), BookedLine(cat.cola.pk, 1), BookedLine(cat.water.pk, 0)])
    # then
    assert set(exc.value.fields) == {"delivery_date", "lines[1].sku_id", "lines[2].cases"}
    assert reload(order).version == 1 and len(lines_of(order)) == 2


def test_a_delivery_date_can_be_cleared(cat, outlet, scope):
    order = make_order(outlet, [(cat.cola, 1)], delivery_date=date(2025, 6, 3))
    assert run(scope, order_edit, order_id=order.pk, version=1, delivery_date=None).delivery_date is None


# --- intruders --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("service", "kw"), [
    (order_confirm, {}), (order_cancel, {"reason": "x"}), (order_release_hold, {"reason": "x"}),
    (order_edit, {"version": 1, "note": "x"}),
])
def test_a_sibling_distributor_and_another_tenant_get_not_found(order, dist_a2, cast_b, service, kw):
    for scope in (staff_scope(dist_a2), Scope.system(cast_b.tenant.pk)):
        with pytest.raises(NotFound):
            run(scope, service, order_id=order.pk, **kw)
    assert reload(order).status == S.BOOKED and len(events_of(order)) == 1


# --- bulk -------------------------------------------------------------------------------------------------------------

def test_bulk_confirm_reports_each_order_and_one_refusal_blocks_none(cat, outlet, dist_a2, scope):
    # given: a booked order, a held one, a cancelled one, a sibling distributor's and an unknown id
    good, held, gone = (make_order(outlet, [(cat.cola, 1)]) for _ in range(3))
    hold(held)
    set_status(gone, S.CANCELLED)
    sibling = make_order(make_outlet(dist_a2, credit_limit=D("0")), [(cat.cola, 1)])
    # when
    results = run(scope, order_confirm_many, order_ids=[gone.pk, good.pk, held.pk, sibling.pk, 999_999, good.pk])
    # then
    assert [(r.order_id, r.ok, r.status, r.code) for r in results] == [
        (good.pk, True, S.CONFIRMED, ""), (held.pk, False, "", OrderError.ON_HOLD),
        (gone.pk, False, "", "invalid_transition"), (sibling.pk, False, "", "not_found"),
        (999_999, False, "", "not_found")]
    assert reload(good).status == S.CONFIRMED
    assert (reload(held).status, reload(sibling).status) == (S.BOOKED, S.BOOKED)
    assert [len(events_of(o)) for o in (good, held, gone, sibling)] == [2, 1, 1, 1]


def test_bulk_cancel_needs_one_reason_and_reports_each_order(cat, outlet, scope):
    # given
    booked, confirmed, invoiced = (make_order(outlet, [(cat.cola, 1)]) for _ in range(3))
    set_status(confirmed, S.CONFIRMED)
    set_status(invoiced, S.INVOICED)
    # when
    with pytest.raises(DomainError) as exc:
        run(scope, order_cancel_many, order_ids=[booked.pk], reason="")
    results = run(scope, order_cancel_many, order_ids=[booked.pk, confirmed.pk, invoiced.pk], reason="route closed")
    # then
    assert set(exc.value.fields) == {"reason"}
    assert [(r.ok, r.status) for r in results] == [(True, S.CANCELLED), (True, S.CANCELLED), (False, "")]
    assert events_of(confirmed)[-1].reason == "route closed"
