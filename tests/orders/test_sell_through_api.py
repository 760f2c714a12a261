"""Sell-through for the manufacturer: secondary sales by local day, week or month, distributor and SKU, exactly
(cancelled orders out, tenant-local dates, net value as a string), the date range rules (400 naming the field),
a fixed query budget, and intruders (distributor users 403, another tenant's distributor 404, its sales never)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from dms.tenancy.enums import Role
from tests.factories.catalog import make_outlet, make_sku

from .test_suggested_order import local, sell, untenanted_queries

pytestmark = pytest.mark.django_db

URL = "/api/v1/manufacturer/sell-through/"
APRIL = {"date_from": "2025-04-01", "date_to": "2025-04-30"}


@pytest.fixture
def sales(cat: Any, outlet: Any, dist_a2: Any, cast_b: Any) -> None:
    a2 = make_outlet(dist_a2, code="A2-SHOP")
    sell(outlet, [(cat.cola, 2, 3, "2000.00", "100.00"), (cat.chips, 1, 0, "480.00", "0.00")],
         local(date(2025, 4, 1), 10))
    # 20:00 UTC on 31 March is 01:00 on 1 April in Karachi: a sale of 1 April
    sell(outlet, [(cat.cola, 1, 0, "1000.00", "50.00")], datetime(2025, 3, 31, 20, 0, tzinfo=UTC))
    # 23:30 on 31 March in Karachi: before the range, though in the same week
    sell(outlet, [(cat.cola, 7, 0, "7000.00", "0.00")], local(date(2025, 3, 31), 23, 30))
    sell(outlet, [(cat.cola, 9, 0, "9000.00", "0.00")], local(date(2025, 4, 1), 15), status="cancelled")
    sell(outlet, [(cat.cola, 4, 0, "4000.00", "0.00")], local(date(2025, 4, 8)), status="delivered")
    sell(a2, [(cat.cola, 5, 0, "5000.00", "10.00")], local(date(2025, 4, 1)))
    b_sku = make_sku(cast_b.tenant.pk, code="B-SKU")
    sell(make_outlet(cast_b.distributors[0]), [(b_sku, 3, 0, "300.00", "0.00")], local(date(2025, 4, 1)))


def rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.content
    return [(r["period"], r["distributor_code"], r["sku_code"], r["cases"], r["units"], r["total_units"],
             r["net_value"], r["order_count"]) for r in response.json()["results"]]


@pytest.fixture
def erp(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.api_key_raw, kind="api_key")


def test_daily_sell_through_is_exact_and_leaves_cancelled_orders_out(erp, sales):
    # when
    response = erp.get(URL, APRIL)
    # then
    assert rows(response) == [
        ("2025-04-01", "A1", "CHIPS", 1, 0, 24, "480.00", 1),
        ("2025-04-01", "A1", "COLA", 3, 3, 39, "2850.00", 2),
        ("2025-04-01", "A2", "COLA", 5, 0, 60, "4990.00", 1),
        ("2025-04-08", "A1", "COLA", 4, 0, 48, "4000.00", 1),
    ]
    body = response.json()
    assert (body["basis"], body["group_by"], body["count"], body["date_from"]) == ("booked", "day", 4, "2025-04-01")


def test_weeks_are_labelled_by_their_monday_and_months_by_their_first_day(erp, sales):
    assert rows(erp.get(URL, {**APRIL, "group_by": "week"})) == [
        ("2025-03-31", "A1", "CHIPS", 1, 0, 24, "480.00", 1),
        ("2025-03-31", "A1", "COLA", 3, 3, 39, "2850.00", 2),
        ("2025-03-31", "A2", "COLA", 5, 0, 60, "4990.00", 1),
        ("2025-04-07", "A1", "COLA", 4, 0, 48, "4000.00", 1),
    ]
    assert rows(erp.get(URL, {**APRIL, "group_by": "month"})) == [
        ("2025-04-01", "A1", "CHIPS", 1, 0, 24, "480.00", 1),
        ("2025-04-01", "A1", "COLA", 7, 3, 87, "6850.00", 3),
        ("2025-04-01", "A2", "COLA", 5, 0, 60, "4990.00", 1),
    ]


def test_the_filters_narrow_by_distributor_and_sku(erp, cast_a, cat, sales):
    assert rows(erp.get(URL, {**APRIL, "distributor": cast_a.distributors[1].pk})) == [
        ("2025-04-01", "A2", "COLA", 5, 0, 60, "4990.00", 1)]
    assert rows(erp.get(URL, {**APRIL, "sku": cat.chips.pk})) == [
        ("2025-04-01", "A1", "CHIPS", 1, 0, 24, "480.00", 1)]
    assert rows(erp.get(URL, {"date_from": "2025-03-31", "date_to": "2025-03-31"})) == [
        ("2025-03-31", "A1", "COLA", 7, 0, 84, "7000.00", 1)]


@pytest.mark.parametrize(("params", "field"), [
    ({"date_from": "2025-04-10", "date_to": "2025-04-09"}, "date_to"),
    ({"date_from": "2025-01-01", "date_to": "2025-04-03"}, "date_to"),  # 93 days
    ({"date_to": "2025-04-03"}, "date_from"),
    ({"date_from": "2025-04-01"}, "date_to"),
    ({**APRIL, "group_by": "year"}, "group_by"),
])
def test_a_bad_range_or_grouping_is_a_400_naming_the_field(erp, params, field):
    response = erp.get(URL, params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_every_query_names_its_tenant(erp, cat, sales):
    assert untenanted_queries(erp, URL, {**APRIL, "sku": cat.cola.pk, "group_by": "week"}) == []


def test_92_days_are_allowed(erp, sales):
    assert len(rows(erp.get(URL, {"date_from": "2025-01-08", "date_to": "2025-04-09"}))) == 5


def test_distributor_users_get_403_and_manufacturer_users_200(api_as, cast_a, sales):
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF):
        response = api_as(cast_a.users[role]).get(URL, APRIL)
        assert response.status_code == 403 and "COLA" not in response.content.decode()
    for role in (Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST):
        assert len(rows(api_as(cast_a.users[role]).get(URL, APRIL))) == 4


def test_another_tenant_sees_only_its_own_sales_and_gets_404_for_ours(api_as, cast_a, cast_b, cat, sales):
    theirs = api_as(cast_b.api_key_raw, kind="api_key")
    assert rows(theirs.get(URL, APRIL)) == [("2025-04-01", "B1", "B-SKU", 3, 0, 36, "300.00", 1)]
    assert theirs.get(URL, {**APRIL, "distributor": cast_a.distributors[0].pk}).status_code == 404
    assert theirs.get(URL, {**APRIL, "sku": cat.cola.pk}).status_code == 404


def test_the_query_count_does_not_grow_with_the_rows(erp, cast_a, cat, outlet, django_assert_max_num_queries):
    # given: 20 SKUs sold on 5 days
    skus = [make_sku(cast_a.tenant.pk, brand=cat.cola.brand, code=f"BULK{i:02d}") for i in range(20)]
    for day in range(1, 6):
        sell(outlet, [(sku, 1, 0) for sku in skus], local(date(2025, 4, day)))
    # when / then: the key's check (a transaction of its own), then the tenant's zone, the count and the page
    with django_assert_max_num_queries(13):
        response = erp.get(URL, {**APRIL, "page_size": 500})
    assert len(rows(response)) == 100
