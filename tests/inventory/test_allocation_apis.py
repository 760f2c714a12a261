"""/api/v1/inventory/allocations/...: preview, allocate, a day's queue as a job, deallocate, list; roles, intruders
(another tenant or a sibling distributor: 404 or a not_found result) and the error shape naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import OrderStatus as S
from tests.factories.catalog import make_outlet
from tests.factories.inventory import allocations_of, balance_of, confirmed_order, make_warehouse, receive

from .conftest import reload

pytestmark = pytest.mark.django_db

API = "/api/v1/inventory"
D = Decimal


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


@pytest.fixture
def queue(shop: Any) -> list[Any]:
    """30 soda for three orders of 20, 20 and 10, booked in that order on 2025-06-02."""
    receive(shop.wh, shop.soda, 30)
    return [confirmed_order(shop.outlets[i], [(shop.soda, 0, n)], minute=i) for i, n in enumerate((20, 20, 10))]


def test_the_preview_shows_fill_rates_and_each_lines_reason_and_writes_nothing(staff, shop, queue):
    # when
    response = staff.post(f"{API}/allocations/preview/", {"order_ids": [o.pk for o in queue],
                                                          "policy": "fair_share"}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["policy"], body["all_or_nothing"]) == ("fair_share", False)
    assert [(o["outlet_code"], o["unit_fill_pct"], o["proposed_units"]) for o in body["outlets"]] == [
        ("SHOP1", "60", 12), ("SHOP2", "60", 12), ("SHOP3", "60", 6)]
    assert body["outlets"][0]["proposed_value"] == "140.40" and body["outlets"][0]["value_fill_pct"] == "60"
    assert (body["total"]["requested_units"], body["total"]["proposed_units"]) == (50, 30)
    line = body["orders"][0]["lines"][0]
    assert line["explanation"] == "12 of 20 units: SKU short (30 available for 50 asked), each order gets 60%"
    assert body["expected"] == {str(o["lines"][0]["line_id"]): o["lines"][0]["proposed_units"] for o in body["orders"]}
    assert balance_of(shop.wh, shop.soda) == (30, 0) and reload(queue[0]).status == S.CONFIRMED


def test_the_preview_of_a_day_takes_the_distributors_confirmed_orders_of_that_day(staff, api_as, cast_a, shop,
                                                                                 queue):
    # when
    by_day = staff.post(f"{API}/allocations/preview/", {"date": "2025-06-02"}, format="json")
    other_day = staff.post(f"{API}/allocations/preview/", {"date": "2025-06-03"}, format="json")
    manufacturer = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(
        f"{API}/allocations/preview/", {"date": "2025-06-02"}, format="json")
    # then
    assert [o["order_id"] for o in by_day.json()["orders"]] == [o.pk for o in queue]
    assert by_day.json()["orders"][2]["outcome"] == "nothing_available"
    assert other_day.status_code == 200 and other_day.json()["orders"] == []
    assert manufacturer.status_code == 400 and set(manufacturer.json()["error"]["fields"]) == {"distributor_id"}


def test_allocating_with_the_previews_expected_units_gives_a_result_per_order(staff, shop, queue):
    # given
    ids = [o.pk for o in queue]
    preview = staff.post(f"{API}/allocations/preview/", {"order_ids": ids}, format="json").json()
    # when
    response = staff.post(f"{API}/allocations/", {"order_ids": ids, "expected": preview["expected"]}, format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["done"], body["already_allocated"], body["refused"]) == (2, 0, 1)
    assert [(r["order_id"], r["outcome"], r["status"]) for r in body["results"]] == [
        (queue[0].pk, "allocated", "allocated"), (queue[1].pk, "partially_allocated", "partially_allocated"),
        (queue[2].pk, "nothing_available", "confirmed")]
    assert all(r["changed_since_preview"] == [] for r in body["results"])
    assert balance_of(shop.wh, shop.soda) == (30, 30)
    # when: again
    again = staff.post(f"{API}/allocations/", {"order_ids": ids}, format="json").json()
    assert (again["done"], again["already_allocated"], again["refused"]) == (0, 2, 1)


def test_the_list_filters_by_order_and_status_and_a_strangers_order_is_a_404(staff, api_as, cast_a, cast_b, shop,
                                                                             queue):
    # given
    staff.post(f"{API}/allocations/", {"order_ids": [o.pk for o in queue]}, format="json")
    staff.post(f"{API}/orders/{queue[1].pk}/deallocate/", {"reason": "reshuffle"}, format="json")
    # when
    everything = staff.get(f"{API}/allocations/")
    active = staff.get(f"{API}/allocations/", {"status": "active"})
    of_order = api_as(cast_a.users[Role.MANUFACTURER_ANALYST]).get(f"{API}/allocations/", {"order": queue[1].pk})
    stranger = api_as(cast_b.users[Role.DISTRIBUTOR_STAFF]).get(f"{API}/allocations/", {"order": queue[0].pk})
    bad = staff.get(f"{API}/allocations/", {"status": "lost"})
    # then
    assert [(a["order"], a["allocated_units"], a["status"]) for a in everything.json()["results"]] == [
        (queue[0].pk, 20, "active"), (queue[1].pk, 10, "released")]
    assert [a["order"] for a in active.json()["results"]] == [queue[0].pk]
    first = everything.json()["results"][0]
    assert (first["sku_code"], first["line_no"], first["policy"]) == ("SODA", 1, "fifo")
    assert of_order.status_code == 200 and [a["status"] for a in of_order.json()["results"]] == ["released"]
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"status"}


def test_a_days_allocation_answers_202_with_a_job_that_allocates_the_queue(staff, shop, queue,
                                                                         django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{API}/allocations/day/", {"date": "2025-06-02", "policy": "fifo"}, format="json")
    # then
    assert response.status_code == 202, response.content
    job = staff.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["kind"], job["status"], job["percent"]) == ("allocation_day", "succeeded", 100)
    assert (job["result"]["allocated"], job["result"]["partially_allocated"], job["result"]["nothing_available"]) == (
        1, 1, 1)
    assert [reload(o).status for o in queue] == [S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.CONFIRMED]


def test_deallocating_over_the_api_returns_the_stock_and_the_order_detail(staff, shop, queue):
    # given
    staff.post(f"{API}/allocations/", {"order_ids": [queue[0].pk]}, format="json")
    # when
    missing = staff.post(f"{API}/orders/{queue[0].pk}/deallocate/", {}, format="json")
    done = staff.post(f"{API}/orders/{queue[0].pk}/deallocate/", {"reason": "outlet asked to wait"}, format="json")
    # then
    assert missing.status_code == 400 and set(missing.json()["error"]["fields"]) == {"reason"}
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert done.json()["events"][-1]["to_status"] == "confirmed"
    assert balance_of(shop.wh, shop.soda) == (30, 0) and allocations_of(queue[0])[0][3] == "released"


def test_bad_input_is_a_400_naming_the_field(staff, shop, queue):
    ids = [queue[0].pk]
    cases = {
        "policy": {"order_ids": ids, "policy": "lottery"},
        "order_ids": {"order_ids": []},
        "expected": {"order_ids": ids, "expected": {"line-1": 3}},
    }
    for field, body in cases.items():
        response = staff.post(f"{API}/allocations/", body, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], (field, response.json())
    both = staff.post(f"{API}/allocations/preview/", {"order_ids": ids, "date": "2025-06-02"}, format="json")
    assert both.status_code == 400 and set(both.json()["error"]["fields"]) == {"order_ids"}
    day = staff.post(f"{API}/allocations/day/", {}, format="json")
    assert day.status_code == 400 and set(day.json()["error"]["fields"]) == {"date"}


def test_roles_analysts_read_only_bookers_and_api_keys_not_at_all(api_as, cast_a, shop, queue):
    ids = [queue[0].pk]
    analyst = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    booker = api_as(cast_a.users[Role.ORDER_BOOKER])
    key = api_as(cast_a.api_key_raw, kind="api_key")
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    assert analyst.get(f"{API}/allocations/").status_code == 200
    assert analyst.post(f"{API}/allocations/", {"order_ids": ids}, format="json").status_code == 403
    assert analyst.post(f"{API}/allocations/preview/", {"order_ids": ids}, format="json").status_code == 403
    assert booker.get(f"{API}/allocations/").status_code == 403
    assert key.post(f"{API}/allocations/", {"order_ids": ids}, format="json").status_code == 403
    assert admin.post(f"{API}/allocations/", {"order_ids": ids}, format="json").json()["done"] == 1
    assert reload(queue[0]).status == S.ALLOCATED


def test_intruders_get_404_or_a_not_found_result_and_never_touch_the_stock(api_as, cast_a, cast_b, dist_a2, shop,
                                                                           queue):
    # given: a sibling distributor's staff and another tenant's staff; a sibling's warehouse
    sibling = api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{dist_a2.code}"])
    stranger = api_as(cast_b.users[Role.DISTRIBUTOR_STAFF])
    sibling_wh = make_warehouse(dist_a2, code="A2-W")
    ids = [o.pk for o in queue]
    # when / then
    for client in (sibling, stranger):
        allocated = client.post(f"{API}/allocations/", {"order_ids": ids}, format="json").json()
        assert {r["code"] for r in allocated["results"]} == {"not_found"}
        preview = client.post(f"{API}/allocations/preview/", {"order_ids": ids}, format="json").json()
        assert {o["outcome"] for o in preview["orders"]} == {"refused"} and preview["outlets"] == []
        assert "SHOP1" not in str(preview)
        response = client.post(f"{API}/orders/{ids[0]}/deallocate/", {"reason": "x"}, format="json")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        day = client.post(f"{API}/allocations/day/", {"date": "2025-06-02", "distributor_id": shop.wh.distributor_id},
                          format="json")
        assert day.status_code == 404
    own = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    foreign_wh = own.post(f"{API}/allocations/", {"order_ids": ids, "warehouse_id": sibling_wh.pk}, format="json")
    assert foreign_wh.status_code == 404
    assert balance_of(shop.wh, shop.soda) == (30, 0) and [reload(o).status for o in queue] == [S.CONFIRMED] * 3


def test_the_manufacturer_allocates_orders_of_several_distributors_each_from_its_default_warehouse(
        api_as, cast_a, dist_a2, shop, queue):
    # given: distributor A2 has 5 soda in its default warehouse, and an order for 8
    a2_wh = make_warehouse(dist_a2, code="A2-DEF", is_default=True)
    receive(a2_wh, shop.soda, 5)
    with tenant_scope(Scope.system(shop.wh.tenant_id)):
        a2_order = confirmed_order(make_outlet(dist_a2, code="A2-SHOP", credit_limit=D("0")), [(shop.soda, 0, 8)])
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    # when
    body = admin.post(f"{API}/allocations/", {"order_ids": [queue[0].pk, a2_order.pk]}, format="json").json()
    # then
    assert [(r["order_id"], r["outcome"]) for r in body["results"]] == [
        (queue[0].pk, "allocated"), (a2_order.pk, "partially_allocated")]
    assert balance_of(a2_wh, shop.soda) == (5, 5) and balance_of(shop.wh, shop.soda) == (30, 20)


def test_the_list_and_the_preview_take_the_same_number_of_queries_for_3_or_6_orders(staff, shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    receive(shop.wh, shop.soda, 100)
    receive(shop.wh, shop.crisps, 100)

    def queries(n: int) -> tuple[int, int]:
        orders = [confirmed_order(shop.outlets[i % 5], [(shop.soda, 0, 2), (shop.crisps, 0, 1)], minute=i)
                  for i in range(n)]
        ids = [o.pk for o in orders]
        with CaptureQueriesContext(connection) as preview:
            assert staff.post(f"{API}/allocations/preview/", {"order_ids": ids}, format="json").status_code == 200
        previewed = len(preview)  # now: the next request clears the log the capture reads from
        staff.post(f"{API}/allocations/", {"order_ids": ids}, format="json")
        with CaptureQueriesContext(connection) as listing:
            page = staff.get(f"{API}/allocations/", {"page_size": 100})
        listed = len(listing)
        assert page.status_code == 200 and len(page.json()["results"]) >= 2 * n
        return previewed, listed

    few, many = queries(3), queries(6)
    assert few == many and few[0] <= 15 and few[1] <= 10, (few, many)
