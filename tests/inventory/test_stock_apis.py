"""The stock read APIs: the manufacturer's view of every distributor's balances and ledger (API key, admins,
analysts; distributor users 403), the distributor's own view at /api/v1/inventory/stock/, cursor pagination, a
fixed query budget, and intruders (a sibling distributor, another tenant: 404 or nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Sku
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from tests.factories.catalog import make_brand, make_sku
from tests.factories.inventory import allocate, make_warehouse, receive
from tests.orders.test_suggested_order import untenanted_queries

pytestmark = pytest.mark.django_db

STOCK = "/api/v1/manufacturer/stock/"
MOVEMENTS = "/api/v1/manufacturer/stock/movements/"
OWN = "/api/v1/inventory/stock/"


@pytest.fixture
def sibling_wh(dist_a2: Distributor) -> Warehouse:
    return make_warehouse(dist_a2, code="A2-MAIN", name="A2 main")


@pytest.fixture
def stock(skus: Any, wh: Warehouse, sibling_wh: Warehouse, cast_b: Any) -> Warehouse:
    """A1: 30 cola (6 reserved) and 24 chips; A2: 10 cola; tenant B: 99 of its own SKU."""
    receive(wh, skus.cola, 30)
    allocate(wh, skus.cola, 6)
    receive(wh, skus.chips, 24)
    receive(sibling_wh, skus.cola, 10)
    b_sku = make_sku(cast_b.tenant.pk, code="B-SKU")
    receive(make_warehouse(cast_b.distributors[0], code="B-WH"), b_sku, 99)
    return wh


def rows(response: Any) -> list[tuple[str, str, int, int, int]]:
    assert response.status_code == 200, response.content
    return [(r["warehouse_code"], r["sku_code"], r["on_hand_units"], r["reserved_units"], r["available_units"])
            for r in response.json()["results"]]


def test_an_api_key_reads_every_distributors_stock_in_units_and_cases(api_as, cast_a, stock):
    # when
    response = api_as(cast_a.api_key_raw, kind="api_key").get(STOCK)
    # then: tenant A only, both distributors, by id
    assert rows(response) == [("A1-MAIN", "COLA", 30, 6, 24), ("A1-MAIN", "CHIPS", 24, 0, 24),
                              ("A2-MAIN", "COLA", 10, 0, 10)]
    cola = response.json()["results"][0]
    assert (cola["on_hand_cases"], cola["reserved_cases"], cola["available_cases"]) == ("2.500", "0.500", "2.000")
    assert (cola["distributor_code"], cola["units_per_case"]) == ("A1", 12) and cola["updated_at"]


def test_the_filters_narrow_by_distributor_warehouse_and_sku(api_as, cast_a, skus, stock, sibling_wh):
    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    assert rows(client.get(STOCK, {"distributor": cast_a.distributors[1].pk})) == [("A2-MAIN", "COLA", 10, 0, 10)]
    assert rows(client.get(STOCK, {"warehouse": sibling_wh.pk})) == [("A2-MAIN", "COLA", 10, 0, 10)]
    assert rows(client.get(STOCK, {"sku": skus.chips.pk})) == [("A1-MAIN", "CHIPS", 24, 0, 24)]


def test_naming_another_tenants_distributor_warehouse_or_sku_is_a_404(api_as, cast_a, cast_b, stock):
    client = api_as(cast_a.api_key_raw, kind="api_key")
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        b_wh = Warehouse.objects.get(code="B-WH")
        b_sku = Sku.objects.get(code="B-SKU")
    for params in ({"distributor": cast_b.distributors[0].pk}, {"warehouse": b_wh.pk}, {"sku": b_sku.pk}):
        for url in (STOCK, MOVEMENTS):
            response = client.get(url, params)
            assert response.status_code == 404, (url, params)
            assert "B-WH" not in response.content.decode()


def test_another_tenants_key_sees_only_its_own_stock(api_as, cast_b, stock):
    assert rows(api_as(cast_b.api_key_raw, kind="api_key").get(STOCK)) == [("B-WH", "B-SKU", 99, 0, 99)]


def test_distributor_users_are_refused_the_manufacturer_routes(api_as, cast_a, stock):
    for role in (Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF):
        client = api_as(cast_a.users[role])
        for url in (STOCK, MOVEMENTS):
            response = client.get(url)
            assert response.status_code == 403, (role, url)
            assert response.json()["error"]["code"] == "permission_denied"


def test_a_distributor_user_sees_only_its_own_stock_and_a_sibling_is_a_404(api_as, cast_a, stock, sibling_wh):
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    assert rows(staff.get(OWN)) == [("A1-MAIN", "COLA", 30, 6, 24), ("A1-MAIN", "CHIPS", 24, 0, 24)]
    assert staff.get(OWN, {"distributor": cast_a.distributors[1].pk}).status_code == 404
    assert staff.get(OWN, {"warehouse": sibling_wh.pk}).status_code == 404
    sibling = api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"])
    assert rows(sibling.get(OWN)) == [("A2-MAIN", "COLA", 10, 0, 10)]
    assert api_as(cast_a.users[Role.ORDER_BOOKER]).get(OWN).status_code == 403


def test_the_ledger_pages_by_id_and_since_keeps_the_later_movements(api_as, cast_a, skus, wh, stock):
    # given: three more movements after `since`
    since = timezone.now()
    receive(wh, skus.chips, 1)
    receive(wh, skus.chips, 2)
    receive(wh, skus.cola, 3)
    client = api_as(cast_a.api_key_raw, kind="api_key")
    # when: every page of two, following `next`
    seen, url, params = [], MOVEMENTS, {"page_size": 2}
    while url:
        page = client.get(url, params)
        assert page.status_code == 200, page.content
        seen += page.json()["results"]
        url, params = page.json()["next"], {}
    # then: tenant A's seven movements, each once, by id
    ids = [m["id"] for m in seen]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 7
    assert [(m["kind"], m["sku_code"], m["qty_units"], m["reserved_delta"]) for m in seen[:2]] == [
        ("receipt", "COLA", 30, 0), ("allocation", "COLA", 6, 6)]
    later = client.get(MOVEMENTS, {"since": since.isoformat(), "distributor": cast_a.distributors[0].pk})
    assert [m["qty_units"] for m in later.json()["results"]] == [1, 2, 3]
    assert [m["qty_units"] for m in client.get(MOVEMENTS, {"since": since.isoformat(),
                                                           "sku": skus.cola.pk}).json()["results"]] == [3]


def test_every_query_names_its_tenant(api_as, cast_a, skus, wh, stock):
    staff, erp = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]), api_as(cast_a.api_key_raw, kind="api_key")
    filters = {"warehouse": wh.pk, "sku": skus.cola.pk}
    assert untenanted_queries(staff, OWN, filters) == []
    assert untenanted_queries(erp, STOCK, {**filters, "distributor": cast_a.distributors[0].pk}) == []
    assert untenanted_queries(erp, MOVEMENTS, {**filters, "since": "2020-01-01T00:00:00Z"}) == []


def test_the_stock_list_takes_the_same_queries_for_many_balances(api_as, cast_a, wh, django_assert_max_num_queries):
    brand = make_brand(cast_a.tenant.pk)
    client = api_as(cast_a.api_key_raw, kind="api_key")

    def grow_and_count(n: int) -> int:
        for _ in range(n):
            receive(wh, make_sku(cast_a.tenant.pk, brand=brand), 5)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(STOCK, {"page_size": 100}).status_code == 200
        return len(ctx.captured_queries)

    # given / when: 2 balances, then 32
    few = grow_and_count(2)
    with django_assert_max_num_queries(11):  # the key's check (a transaction of its own), then one page of rows
        response = client.get(STOCK, {"page_size": 100})
    assert len(response.json()["results"]) == 2
    many = grow_and_count(30)
    # then
    assert many == few
