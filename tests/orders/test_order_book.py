"""order_book: pricing through the one engine, device prices and price_flag, re-sends (duplicate, edit, conflict),
and invalid input named field by field with nothing written."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from catalog.enums import SchemeKind
from catalog.pricing import LineInput, price_lines
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import OrderSource, OrderStatus
from orders.services import MAX_LINES, BookedLine, booking_fingerprint, order_book
from tests.factories.catalog import make_outlet, make_price_list, make_scheme, make_sku
from tests.factories.orders import BOOKED_AT, book, booking_for, make_order
from tests.factories.pjp import staff_scope

from .conftest import count_orders, events_of, lines_of, reload, set_status

pytestmark = pytest.mark.django_db

D = Decimal


def engine(outlet: Any, lines: list[tuple[Any, int, int]], on_date: date) -> Any:
    with tenant_scope(Scope.system(outlet.tenant_id)) as scope:
        return price_lines(scope=scope, outlet=outlet, on_date=on_date,
                           lines=[LineInput(sku_id=s.pk, cases=c, units=u) for s, c, u in lines])


# --- pricing ----------------------------------------------------------------------------------------------------------

def test_a_booking_is_priced_by_the_engine_and_its_totals_are_the_sum_of_its_lines(cat, outlet):
    # given
    booked = [(cat.cola, 3, 0), (cat.chips, 1, 6), (cat.water, 0, 4)]
    expected = engine(outlet, booked, BOOKED_AT.date())
    # when
    result = book(outlet, booked)
    # then
    order = reload(result.order)
    assert result.outcome == "applied" and result.message == ""
    assert (order.gross, order.discount, order.tax, order.total, order.currency) == (
        expected.gross, expected.discount, expected.tax, expected.total, "PKR")
    lines = lines_of(order)
    assert [(li.line_no, li.sku_id, li.cases, li.units, li.qty_units, li.case_price, li.gross, li.discount,
             li.tax_rate, li.tax, li.total, li.is_free) for li in lines] == [
        (p.index + 1, p.sku_id, p.cases, p.units, p.qty_units, p.case_price, p.gross, p.discount, p.tax_rate, p.tax,
         p.total, p.is_free) for p in expected.lines]
    # 3 x 1234.5678 = 3703.70 + 17 % = 4333.33, to the cent; the order is the sum of its lines
    assert (lines[0].gross, lines[0].tax, lines[0].total) == (D("3703.70"), D("629.63"), D("4333.33"))
    assert sum(li.total for li in lines) == order.total
    assert sum(li.gross for li in lines) == order.gross and sum(li.tax for li in lines) == order.tax
    assert (order.status, order.version, order.hold, order.price_flag) == (OrderStatus.BOOKED, 1, "", False)
    assert order.fingerprint == booking_fingerprint(booking_for(outlet, booked, uuid=order.uuid))


def test_free_goods_are_stored_as_free_lines_at_no_charge(tid, cat, outlet):
    # given: 10 cases of cola earn a case of water
    scheme = make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[("10", "1", cat.water)], skus=[cat.cola])
    # when
    order = make_order(outlet, [(cat.cola, 20)])
    # then
    paid, gift = lines_of(order)
    assert (paid.is_free, paid.scheme_ids) == (False, [scheme.pk])
    assert (gift.line_no, gift.sku_id, gift.cases, gift.units, gift.is_free, gift.total) == (
        2, cat.water.pk, 2, 0, True, D("0.00"))
    assert gift.gross == gift.discount == D("199.98")
    assert reload(order).total == paid.total


def test_the_pricing_date_is_the_tenant_local_date_of_the_booking(tid, cat, outlet):
    # given: a new cola price from 2 June; Karachi is UTC+5
    make_price_list(tid, {cat.cola: D("1300.0000")}, valid_from=date(2025, 6, 2))
    # when: 1 June 18:00 UTC is 23:00 in Karachi; 1 June 20:00 UTC is already 2 June there
    before = make_order(outlet, [(cat.cola, 1)], booked_at=datetime(2025, 6, 1, 18, 0, tzinfo=UTC))
    after = make_order(outlet, [(cat.cola, 1)], booked_at=datetime(2025, 6, 1, 20, 0, tzinfo=UTC))
    # then
    assert lines_of(before)[0].case_price == D("1234.5678")
    assert lines_of(after)[0].case_price == D("1300.0000")


def test_a_booking_time_ahead_of_the_server_clock_is_clamped_to_now(cat, outlet):
    # given
    ahead = timezone.now() + timedelta(hours=3)
    # when
    order = make_order(outlet, [(cat.cola, 1)], booked_at=ahead)
    # then
    assert reload(order).booked_at <= timezone.now()
    assert reload(order).booked_at > timezone.now() - timedelta(minutes=1)


# --- what the app showed ----------------------------------------------------------------------------------------------

def test_other_device_prices_set_price_flag_and_the_server_figures_stand(cat, outlet):
    # given: the app showed cola at 1200 a case and a total of 4000
    expected = engine(outlet, [(cat.cola, 3, 0), (cat.water, 1, 0)], BOOKED_AT.date())
    # when
    order = make_order(outlet, [(cat.cola, 3, 0, D("1200")), (cat.water, 1, 0, D("99.99"))],
                       device_total=D("4000"))
    # then
    order = reload(order)
    assert order.price_flag is True
    assert (order.total, order.device_total) == (expected.total, D("4000.00"))
    cola, water = lines_of(order)
    assert (cola.case_price, cola.device_case_price) == (D("1234.5678"), D("1200.0000"))
    assert (water.case_price, water.device_case_price) == (D("99.9900"), D("99.9900"))
    (booked,) = events_of(order)
    assert booked.detail["price_differences"] == {
        "lines": [{"line_no": 1, "sku_id": cat.cola.pk, "device_case_price": "1200.0000",
                   "case_price": "1234.5678"}],
        "total": {"device_total": "4000.00", "total": str(expected.total)},
    }


def test_device_prices_equal_to_the_servers_leave_price_flag_off(cat, outlet):
    # given: the same amounts, however many trailing zeros the app sent
    expected = engine(outlet, [(cat.cola, 3, 0)], BOOKED_AT.date())
    # when
    order = make_order(outlet, [(cat.cola, 3, 0, D("1234.56780"))], device_total=expected.total + D("0.000"))
    # then
    assert reload(order).price_flag is False
    assert "price_differences" not in events_of(order)[0].detail


# --- re-sends ---------------------------------------------------------------------------------------------------------

def test_a_resent_order_is_a_duplicate_and_writes_nothing(tid, cat, outlet):
    # given
    order_uuid = uuid.uuid4()
    first = book(outlet, [(cat.cola, 2, 0, D("1234.5678"))], uuid=order_uuid, device_total=D("3395.06"),
                 note="back door")
    before = count_orders(tid)
    # when: the same content again, the booking time re-stamped by a device whose clock runs ahead
    again = book(outlet, [BookedLine(cat.cola.pk, 2, 0, D("1234.56780"))], uuid=order_uuid,
                 device_total=D("3395.060"), note="back door", booked_at=BOOKED_AT + timedelta(minutes=3))
    # then
    assert again.outcome == "duplicate" and again.order.pk == first.order.pk
    assert "already received" in again.message
    assert count_orders(tid) == before
    assert reload(first.order).version == 1


def test_a_changed_order_resent_while_booked_is_applied_as_an_edit(cat, outlet):
    # given
    order_uuid = uuid.uuid4()
    first = book(outlet, [(cat.cola, 2), (cat.chips, 1)], uuid=order_uuid)
    # when: the booker dropped the chips and added water
    result = book(outlet, [(cat.cola, 3), (cat.water, 2)], uuid=order_uuid, note="edited on the phone",
                  device_total=D("1"))
    # then
    order = reload(result.order)
    assert (result.outcome, order.pk, order.version, order.note) == ("applied", first.order.pk, 2,
                                                                     "edited on the phone")
    assert [(li.sku_id, li.cases) for li in lines_of(order)] == [(cat.cola.pk, 3), (cat.water.pk, 2)]
    assert order.total == engine(outlet, [(cat.cola, 3, 0), (cat.water, 2, 0)], BOOKED_AT.date()).total
    assert order.price_flag is True  # the app's total of 1 is not the server's
    assert [(e.action, e.to_status) for e in events_of(order)] == [("booked", "booked"), ("edited", "")]
    assert events_of(order)[1].detail["version"] == 2


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.INVOICED])
def test_a_changed_order_resent_after_booked_is_a_conflict_and_the_server_copy_stays(tid, cat, outlet, status):
    # given
    order_uuid = uuid.uuid4()
    first = book(outlet, [(cat.cola, 2)], uuid=order_uuid)
    set_status(first.order, status)
    before = count_orders(tid)
    # when
    result = book(outlet, [(cat.cola, 9)], uuid=order_uuid)
    # then
    assert result.outcome == "conflict"
    assert result.message == f"The order was already {status.label.lower()}; the server's copy wins."
    assert count_orders(tid) == before
    assert [li.cases for li in lines_of(first.order)] == [2]


def test_the_same_uuid_booked_for_another_outlet_is_a_conflict(cat, outlet, dist_a1):
    # given
    order_uuid = uuid.uuid4()
    first = book(outlet, [(cat.cola, 2)], uuid=order_uuid)
    other = make_outlet(dist_a1, credit_limit=D("0"))
    # when
    result = book(other, [(cat.cola, 2)], uuid=order_uuid)
    # then
    assert (result.outcome, result.order.pk, result.order.outlet_id) == ("conflict", first.order.pk, outlet.pk)


# --- who booked it ----------------------------------------------------------------------------------------------------

def test_the_booker_and_device_are_kept_and_the_creation_event_names_the_actor(cast_a, cat, outlet, dist_a1):
    # given
    booker, device = cast_a.users[Role.ORDER_BOOKER], cast_a.device
    scope = Scope.for_device(device)
    # when
    order = make_order(outlet, [(cat.cola, 1)], scope=scope, booker_id=booker.pk, device_id=device.pk,
                       source=OrderSource.MOBILE)
    # then
    order = reload(order)
    assert (order.booker_id, order.device_id, order.distributor_id, order.source) == (
        booker.pk, device.pk, dist_a1.pk, "mobile")
    (event,) = events_of(order)
    assert (event.action, event.from_status, event.to_status, event.actor_kind, event.actor_id) == (
        "booked", "", "booked", "device", device.pk)


def _visit(distributor: Any, outlet: Any, booker: Any) -> Any:
    """A planned visit to `outlet` on a journey of `booker` (rows made directly, as the journey builder would)."""
    from pjp.models import DailyJourney, Pjp, Route, Visit

    with tenant_scope(Scope.system(distributor.tenant_id)):
        route = Route.objects.create(distributor=distributor, code="R-ORD", name="Orders route")
        pjp = Pjp.objects.create(distributor=distributor, booker=booker, cycle_anchor=date(2025, 6, 2),
                                 effective_from=date(2025, 6, 2))
        journey = DailyJourney.objects.create(distributor=distributor, booker=booker, date=date(2025, 6, 2), pjp=pjp,
                                              route=route, route_version=1, planned_start=BOOKED_AT,
                                              planned_end=BOOKED_AT)
        return Visit.objects.create(distributor=distributor, journey=journey, outlet=outlet, sequence=1, eta=BOOKED_AT,
                                    etd=BOOKED_AT)


def test_the_visit_the_order_was_booked_on_is_kept_and_must_be_at_the_outlet(cast_a, cat, outlet, dist_a1):
    # given
    visit = _visit(dist_a1, outlet, cast_a.users[Role.ORDER_BOOKER])
    elsewhere = make_outlet(dist_a1, credit_limit=D("0"))
    # when
    order = make_order(outlet, [(cat.cola, 1)], visit_id=visit.pk)
    with pytest.raises(DomainError) as exc:
        book(elsewhere, [(cat.cola, 1)], visit_id=visit.pk)
    # then
    assert reload(order).visit_id == visit.pk
    assert set(exc.value.fields) == {"visit_id"}


# --- invalid input ----------------------------------------------------------------------------------------------------

def _bad_cases() -> list[Any]:
    def lines(n: int) -> list[Any]:
        return [BookedLine(1_000_000 + i, 1) for i in range(n)]

    return [
        pytest.param(lambda cat, o: {"lines": ()}, {"lines"}, "invalid", id="no lines"),
        pytest.param(lambda cat, o: {"lines": tuple(lines(MAX_LINES + 1))}, {"lines"}, "invalid",
                     id="too many lines"),
        pytest.param(lambda cat, o: {"lines": (BookedLine(cat.cola.pk, 1), BookedLine(cat.cola.pk, 2))},
                     {"lines[1].sku_id"}, "invalid", id="one SKU twice"),
        pytest.param(lambda cat, o: {"lines": (BookedLine(cat.cola.pk, 1), BookedLine(999_999, 1))},
                     {"lines[1].sku_id"}, "unknown_sku", id="unknown SKU"),
        pytest.param(lambda cat, o: {"lines": (BookedLine(cat.cola.pk, 0, 0),)}, {"lines[0].cases"},
                     "invalid_quantity", id="nothing booked"),
        pytest.param(lambda cat, o: {"lines": (BookedLine(cat.cola.pk, 1, -2),)}, {"lines[0].units"},
                     "invalid_quantity", id="negative units"),
        pytest.param(lambda cat, o: {"lines": (BookedLine(cat.cola.pk, 1, 0, D("-1")),)},
                     {"lines[0].device_case_price"}, "invalid", id="negative device price"),
        pytest.param(lambda cat, o: {"booked_at": datetime(2025, 6, 2, 10, 0)}, {"booked_at"}, "invalid",
                     id="naive booking time"),
        pytest.param(lambda cat, o: {"delivery_date": date(2025, 6, 1)}, {"delivery_date"}, "invalid",
                     id="delivery before booking"),
        pytest.param(lambda cat, o: {"device_total": D("-5")}, {"device_total"}, "invalid", id="negative total"),
        pytest.param(lambda cat, o: {"note": "x" * 501}, {"note"}, "invalid", id="long note"),
        pytest.param(lambda cat, o: {"outlet_id": 999_999}, {"outlet_id"}, "invalid", id="unknown outlet"),
        pytest.param(lambda cat, o: {"visit_id": 999_999}, {"visit_id"}, "invalid", id="unknown visit"),
    ]


@pytest.mark.parametrize(("change", "fields", "code"), _bad_cases())
def test_invalid_input_names_the_field_and_writes_nothing(tid, cat, outlet, change, fields, code):
    # given
    booking = dataclasses.replace(booking_for(outlet, [(cat.cola, 1)]), **change(cat, outlet))
    # when
    with tenant_scope(Scope.system(tid)) as scope, pytest.raises(DomainError) as exc:
        order_book(scope=scope, booking=booking)
    # then
    assert (set(exc.value.fields), exc.value.code, exc.value.status_code) == (fields, code, 400)
    assert count_orders(tid) == (0, 0, 0)


def test_every_problem_is_named_at_once(tid, cat, outlet):
    # given: an inactive outlet, a SKU twice, an unknown SKU and a line with nothing on it
    with tenant_scope(Scope.system(tid)):
        type(outlet).objects.filter(pk=outlet.pk).update(active=False)
    lines = [(cat.cola, 1), (cat.cola, 2), BookedLine(999_999, 1), (cat.water, 0, 0)]
    # when
    with pytest.raises(DomainError) as exc:
        book(outlet, lines)
    # then
    assert set(exc.value.fields) == {"outlet_id", "lines[1].sku_id", "lines[2].sku_id", "lines[3].cases"}
    assert count_orders(tid) == (0, 0, 0)


def test_another_distributors_outlet_is_unknown_to_a_distributor_scope(tid, cat, dist_a1, dist_a2):
    # given
    sibling_outlet = make_outlet(dist_a2, credit_limit=D("0"))
    # when
    with pytest.raises(DomainError) as exc:
        book(sibling_outlet, [(cat.cola, 1)], scope=staff_scope(dist_a1))
    # then
    assert set(exc.value.fields) == {"outlet_id"}
    assert count_orders(tid) == (0, 0, 0)


def test_a_booker_device_or_visit_of_another_distributor_is_refused(cast_a, cat, outlet):
    # given: for an outlet of A1, a staff user (no order-booker), an unknown device, and A2's order-booker
    a2_booker = cast_a.users[f"{Role.ORDER_BOOKER}@{cast_a.distributors[1].code}"]
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    # when
    with pytest.raises(DomainError) as exc:
        book(outlet, [(cat.cola, 1)], booker_id=staff.pk, device_id=999_999)
    with pytest.raises(DomainError) as exc2:
        book(outlet, [(cat.cola, 1)], booker_id=a2_booker.pk)
    # then
    assert set(exc.value.fields) == {"booker_id", "device_id"}
    assert set(exc2.value.fields) == {"booker_id"}


def test_a_refused_order_of_a_batch_rolls_back_alone(tid, cat, outlet):
    # given: one transaction, as the app's push runs its batch
    with tenant_scope(Scope.system(tid)) as scope:
        order_book(scope=scope, booking=booking_for(outlet, [(cat.cola, 1)]))
        # when
        with pytest.raises(DomainError):
            order_book(scope=scope, booking=booking_for(outlet, [(cat.cola, 1), (cat.cola, 1)]))
        order_book(scope=scope, booking=booking_for(outlet, [(cat.water, 1)]))
    # then
    assert count_orders(tid) == (2, 2, 2)


def test_a_sku_made_inactive_does_not_turn_a_resend_into_an_error(tid, cat, outlet):
    # given
    order_uuid = uuid.uuid4()
    first = book(outlet, [(cat.cola, 1)], uuid=order_uuid)
    with tenant_scope(Scope.system(tid)):
        type(cat.cola).objects.filter(pk=cat.cola.pk).update(active=False)
    # when
    again = book(outlet, [(cat.cola, 1)], uuid=order_uuid)
    # then
    assert (again.outcome, again.order.pk) == ("duplicate", first.order.pk)


def test_a_new_sku_unknown_to_the_price_list_is_refused_naming_the_line(tid, cat, outlet):
    # given
    unpriced = make_sku(tid, code="NEW")
    # when
    with pytest.raises(DomainError) as exc:
        book(outlet, [(cat.cola, 1), (unpriced, 1)])
    # then
    assert (exc.value.code, set(exc.value.fields)) == ("no_price", {"lines[1].sku_id"})
