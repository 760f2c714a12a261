"""The orders API: list filters and pagination, detail, edit with optimistic locking, transitions, bulk results;
roles, the error shape, a query budget and intruders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import HoldKind, OrderStatus
from orders.models import SecondaryOrder
from tests.factories.catalog import make_outlet
from tests.factories.orders import make_order

from .conftest import events_of, reload, set_status

pytestmark = pytest.mark.django_db

API = "/api/v1/orders"
D = Decimal


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


@pytest.fixture
def order(cat: Any, outlet: Any) -> SecondaryOrder:
    return make_order(outlet, [(cat.cola, 2), (cat.water, 1, 3)], note="ring the bell")


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def hold(order: SecondaryOrder) -> None:
    with tenant_scope(Scope.system(order.tenant_id)):
        SecondaryOrder.objects.filter(pk=order.pk).update(hold=HoldKind.CREDIT, hold_reason="over the limit")


# --- list -------------------------------------------------------------------------------------------------------------

def test_the_list_shows_the_callers_orders_with_money_as_strings(api_as, cast_a, staff, cat, order, dist_a2):
    # given
    sibling = make_order(make_outlet(dist_a2, credit_limit=D("0")), [(cat.cola, 1)])
    # when
    response = staff.get(f"{API}/")
    everything = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get(f"{API}/")
    # then
    assert ids(response) == [order.pk]
    row = response.json()["results"][0]
    assert (row["outlet_code"], row["note"], row["status"], row["line_count"], row["version"]) == (
        "A1-SHOP", "ring the bell", "booked", 2, 1)
    assert row["total"] == str(reload(order).total) and isinstance(row["gross"], str)
    assert row["uuid"] == str(order.uuid) and row["booker_username"] is None
    assert sorted(ids(everything)) == sorted([order.pk, sibling.pk])


def test_the_list_filters_by_status_outlet_booker_flag_hold_and_uuid(cast_a, staff, cat, outlet, dist_a1):
    # given
    booker = cast_a.users[Role.ORDER_BOOKER]
    plain = make_order(outlet, [(cat.cola, 1)])
    flagged = make_order(outlet, [(cat.cola, 1, 0, D("1"))], booker_id=booker.pk)
    other_outlet = make_order(make_outlet(dist_a1, credit_limit=D("0")), [(cat.cola, 1)])
    set_status(other_outlet, OrderStatus.CONFIRMED)
    held = make_order(outlet, [(cat.water, 1)])
    hold(held)
    # when / then
    assert ids(staff.get(f"{API}/", {"status": "confirmed"})) == [other_outlet.pk]
    assert sorted(ids(staff.get(f"{API}/", {"status": ["booked", "confirmed"]}))) == sorted(
        [plain.pk, flagged.pk, other_outlet.pk, held.pk])
    assert sorted(ids(staff.get(f"{API}/", {"outlet": outlet.pk}))) == sorted([plain.pk, flagged.pk, held.pk])
    assert ids(staff.get(f"{API}/", {"booker": booker.pk})) == [flagged.pk]
    assert ids(staff.get(f"{API}/", {"price_flag": "true"})) == [flagged.pk]
    assert ids(staff.get(f"{API}/", {"hold": "credit"})) == [held.pk]
    assert held.pk not in ids(staff.get(f"{API}/", {"hold": "none"}))
    assert ids(staff.get(f"{API}/", {"uuid": str(plain.uuid)})) == [plain.pk]


def test_the_booking_date_filter_uses_the_tenants_local_dates(staff, cat, outlet):
    # given: Karachi is UTC+5: 18:00 UTC is still 1 June there, 20:00 UTC is 2 June
    late = make_order(outlet, [(cat.cola, 1)], booked_at=datetime(2025, 6, 1, 18, 0, tzinfo=UTC))
    next_day = make_order(outlet, [(cat.cola, 1)], booked_at=datetime(2025, 6, 1, 20, 0, tzinfo=UTC))
    # when / then
    assert ids(staff.get(f"{API}/", {"booked_to": "2025-06-01"})) == [late.pk]
    assert ids(staff.get(f"{API}/", {"booked_from": "2025-06-02"})) == [next_day.pk]
    assert ids(staff.get(f"{API}/", {"booked_from": "2025-06-01", "booked_to": "2025-06-02"})) == [
        next_day.pk, late.pk]


def test_a_bad_filter_value_is_a_400_naming_it(staff, order):
    response = staff.get(f"{API}/", {"status": "lost", "booked_from": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "booked_from"}


def test_the_list_pages_and_answers_in_the_same_number_of_queries_for_any_number_of_orders(cast_a, staff, cat,
                                                                                           outlet):
    # given
    make_order(outlet, [(cat.cola, 1)], booker_id=cast_a.users[Role.ORDER_BOOKER].pk)
    with CaptureQueriesContext(connection) as one:
        assert staff.get(f"{API}/").status_code == 200
    for _ in range(4):
        make_order(outlet, [(cat.cola, 1), (cat.water, 1)], booker_id=cast_a.users[Role.ORDER_BOOKER].pk)
    # when
    with CaptureQueriesContext(connection) as five:
        response = staff.get(f"{API}/", {"page_size": 3})
    # then
    assert (response.json()["count"], len(response.json()["results"])) == (5, 3)
    assert len(five) == len(one)


# --- detail and edit --------------------------------------------------------------------------------------------------

def test_the_detail_has_the_priced_lines_and_the_events(staff, cat, order):
    # when
    body = staff.get(f"{API}/{order.pk}/").json()
    # then: cola 2 x 1234.5678 = 2469.14 + 419.75 tax; water 9/6 x 99.99 = 149.99 + 25.50 tax
    assert [(li["line_no"], li["sku_code"], li["cases"], li["units"], li["case_price"], li["total"])
            for li in body["lines"]] == [
        (1, "COLA", 2, 0, "1234.5678", "2888.89"), (2, "WATER", 1, 3, "99.9900", "175.49")]
    assert body["total"] == "3064.38" and body["line_count"] == 2
    assert [(e["action"], e["to_status"], e["actor_kind"]) for e in body["events"]] == [
        ("booked", "booked", "system")]


def test_patch_edits_a_booked_order_and_a_stale_version_is_a_409(staff, cat, order):
    # when
    edited = staff.patch(f"{API}/{order.pk}/", {"version": 1, "note": "side door",
                                                "lines": [{"sku_id": cat.chips.pk, "cases": 2}]}, format="json")
    stale = staff.patch(f"{API}/{order.pk}/", {"version": 1, "note": "front door"}, format="json")
    # then
    assert edited.status_code == 200, edited.content
    body = edited.json()
    assert (body["version"], body["note"], [li["sku_code"] for li in body["lines"]]) == (2, "side door", ["CHIPS"])
    assert body["total"] == "1123.20"  # 2 x 480.00 + 17 %
    assert stale.status_code == 409
    assert (stale.json()["error"]["code"], set(stale.json()["error"]["fields"])) == ("stale_version", {"version"})
    assert reload(order).note == "side door"


def test_patch_needs_the_version_and_names_bad_lines(staff, cat, order):
    no_version = staff.patch(f"{API}/{order.pk}/", {"note": "x"}, format="json")
    bad_lines = staff.patch(f"{API}/{order.pk}/", {"version": 1, "lines": [
        {"sku_id": cat.cola.pk, "cases": 1}, {"sku_id": cat.cola.pk, "cases": 1}, {"sku_id": 999_999, "cases": 1},
        {"sku_id": cat.water.pk, "cases": -1}]}, format="json")
    assert (no_version.status_code, set(no_version.json()["error"]["fields"])) == (400, {"version"})
    assert bad_lines.status_code == 400
    assert set(bad_lines.json()["error"]["fields"]) == {"lines[3].cases"}  # the serializer's type check comes first
    body = staff.patch(f"{API}/{order.pk}/", {"version": 1, "lines": [
        {"sku_id": cat.cola.pk, "cases": 1}, {"sku_id": cat.cola.pk, "cases": 1}, {"sku_id": 999_999, "cases": 1}]},
        format="json").json()
    assert set(body["error"]["fields"]) == {"lines[1].sku_id", "lines[2].sku_id"}


def test_patch_clears_the_delivery_date_with_null(staff, cat, outlet):
    order = make_order(outlet, [(cat.cola, 1)], delivery_date=date(2025, 6, 5))
    response = staff.patch(f"{API}/{order.pk}/", {"version": 1, "delivery_date": None}, format="json")
    assert response.status_code == 200 and response.json()["delivery_date"] is None


# --- transitions ------------------------------------------------------------------------------------------------------

def test_confirm_cancel_and_release_hold_over_the_api(staff, cat, outlet, order):
    # given
    held = make_order(outlet, [(cat.water, 1)])
    hold(held)
    # when
    confirmed = staff.post(f"{API}/{order.pk}/confirm/", {}, format="json")
    refused = staff.post(f"{API}/{held.pk}/confirm/", {}, format="json")
    released = staff.post(f"{API}/{held.pk}/release-hold/", {"reason": "paid in advance"}, format="json")
    no_reason = staff.post(f"{API}/{order.pk}/cancel/", {}, format="json")
    cancelled = staff.post(f"{API}/{order.pk}/cancel/", {"reason": "outlet closed"}, format="json")
    # then
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "on_hold")
    assert (released.status_code, released.json()["hold"], released.json()["events"][-1]["action"]) == (
        200, "", "hold_released")
    assert (no_reason.status_code, set(no_reason.json()["error"]["fields"])) == (400, {"reason"})
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert [e.to_status for e in events_of(order)] == ["booked", "confirmed", "cancelled"]


def test_a_wrong_state_is_a_409(staff, order):
    set_status(order, OrderStatus.INVOICED)
    response = staff.post(f"{API}/{order.pk}/cancel/", {"reason": "too late"}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "invalid_transition")


def test_bulk_confirm_and_cancel_answer_a_result_per_order(staff, cat, outlet, order):
    # given
    held = make_order(outlet, [(cat.water, 1)])
    hold(held)
    # when
    response = staff.post(f"{API}/bulk/confirm/", {"ids": [order.pk, held.pk, 999_999]}, format="json")
    cancel = staff.post(f"{API}/bulk/cancel/", {"ids": [order.pk, held.pk], "reason": "route closed"}, format="json")
    no_reason = staff.post(f"{API}/bulk/cancel/", {"ids": [order.pk]}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["done"], body["refused"]) == (1, 2)
    assert [(r["id"], r["ok"], r["status"], r["code"]) for r in body["results"]] == [
        (order.pk, True, "confirmed", ""), (held.pk, False, "", "on_hold"), (999_999, False, "", "not_found")]
    assert [(r["ok"], r["status"]) for r in cancel.json()["results"]] == [(True, "cancelled"), (True, "cancelled")]
    assert (no_reason.status_code, set(no_reason.json()["error"]["fields"])) == (400, {"reason"})


# --- roles and intruders ----------------------------------------------------------------------------------------------

def test_an_analyst_reads_but_cannot_act(api_as, cast_a, order):
    analyst = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    assert analyst.get(f"{API}/").status_code == 200
    assert analyst.get(f"{API}/{order.pk}/").status_code == 200
    for response in (analyst.patch(f"{API}/{order.pk}/", {"version": 1, "note": "x"}, format="json"),
                     analyst.post(f"{API}/{order.pk}/confirm/", {}, format="json"),
                     analyst.post(f"{API}/{order.pk}/cancel/", {"reason": "x"}, format="json"),
                     analyst.post(f"{API}/{order.pk}/release-hold/", {"reason": "x"}, format="json"),
                     analyst.post(f"{API}/bulk/confirm/", {"ids": [order.pk]}, format="json")):
        assert response.status_code == 403 and "error" in response.json()
    assert reload(order).status == OrderStatus.BOOKED and reload(order).version == 1


def test_a_manufacturer_admin_and_a_distributor_admin_may_act(api_as, cast_a, order):
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    assert admin.post(f"{API}/{order.pk}/confirm/", {}, format="json").status_code == 200
    dist_admin = api_as(cast_a.users[Role.DISTRIBUTOR_ADMIN])
    assert dist_admin.post(f"{API}/{order.pk}/cancel/", {"reason": "x"}, format="json").status_code == 200


def test_other_tenants_and_sibling_distributors_get_404(api_as, cast_a, cast_b, order):
    sibling_staff = api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}"])
    other_admin = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    for client in (sibling_staff, other_admin):
        assert ids(client.get(f"{API}/")) == []
        for response in (client.get(f"{API}/{order.pk}/"),
                         client.patch(f"{API}/{order.pk}/", {"note": "x"}, format="json"),
                         client.post(f"{API}/{order.pk}/confirm/", {}, format="json"),
                         client.post(f"{API}/{order.pk}/cancel/", {}, format="json"),
                         client.post(f"{API}/{order.pk}/release-hold/", {}, format="json")):
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
        bulk = client.post(f"{API}/bulk/confirm/", {"ids": [order.pk]}, format="json").json()
        assert bulk["results"] == [{"id": order.pk, "ok": False, "status": "", "code": "not_found",
                                    "message": "Order not found."}]
    assert reload(order).status == OrderStatus.BOOKED and len(events_of(order)) == 1


def test_devices_and_api_keys_have_no_access(api_as, cast_a, order):
    assert api_as(cast_a.device_token, kind="device").get(f"{API}/").status_code in (401, 403)
    assert api_as(cast_a.api_key_raw, kind="api_key").get(f"{API}/").status_code == 403
