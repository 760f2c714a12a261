"""The inventory admin: pages load for distributor staff and show only their warehouses and stock; balances and
movements are read-only; the Adjust stock action asks for a reason and calls stock_adjust."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin import helpers
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import StockBalance, StockMovement, Warehouse
from tests.factories.inventory import balance_of, make_warehouse, receive

pytestmark = pytest.mark.django_db

WAREHOUSES = "/admin/inventory/warehouse/"
BALANCES = "/admin/inventory/stockbalance/"
MOVEMENTS = "/admin/inventory/stockmovement/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def balance_pk(warehouse: Warehouse, sku: Any) -> int:
    with tenant_scope(Scope.system(warehouse.tenant_id)):
        return int(StockBalance.objects.get(warehouse=warehouse, sku=sku).pk)


@pytest.fixture
def stocked(wh, skus, dist_a2):
    sibling = make_warehouse(dist_a2, code="A2-ONLY", name="Sibling store")
    receive(wh, skus.cola, 40, reason="first GRN")
    receive(sibling, skus.cola, 9, reason="sibling GRN")
    return sibling


def test_pages_load_for_staff_and_show_only_their_warehouses(cast_a, wh, skus, stocked):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    for url in (WAREHOUSES, BALANCES, MOVEMENTS, f"{MOVEMENTS}?kind=receipt",
                f"{BALANCES}?warehouse__id__exact={wh.pk}", f"{WAREHOUSES}{wh.pk}/change/",
                f"{BALANCES}{balance_pk(wh, skus.cola)}/change/"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "A2-ONLY" not in body and "Sibling store" not in body and "sibling GRN" not in body, url
    assert "A1-MAIN" in client.get(WAREHOUSES).content.decode()
    assert "first GRN" in client.get(MOVEMENTS).content.decode()
    assert client.get(f"{WAREHOUSES}{stocked.pk}/change/").status_code == 404
    assert client.get(f"{BALANCES}{balance_pk(stocked, skus.cola)}/change/").status_code == 404
    # the manufacturer sees both distributors' stock
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ADMIN).get(WAREHOUSES).content.decode()
    assert "A1-MAIN" in manufacturer and "A2-ONLY" in manufacturer


def test_balances_and_movements_are_read_only(cast_a, wh, skus, stocked):
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    pk = balance_pk(wh, skus.cola)
    assert client.get(f"{BALANCES}add/").status_code == 403
    assert client.get(f"{MOVEMENTS}add/").status_code == 403
    response = client.post(f"{BALANCES}{pk}/change/", {"on_hand": 1000})
    assert response.status_code == 403
    assert balance_of(wh, skus.cola) == (40, 0)


def test_staff_add_a_warehouse_for_their_own_distributor(cast_a, dist_a1):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    response = client.post(f"{WAREHOUSES}add/", {"code": "A1-2ND", "name": "Second", "active": "on"})
    assert response.status_code == 302, response.content[:2000]
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert Warehouse.objects.get(code="A1-2ND").distributor_id == dist_a1.pk


def test_a_second_default_warehouse_is_a_form_error(cast_a, dist_a1):
    make_warehouse(dist_a1, code="A1-DEF", is_default=True)
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    response = client.post(f"{WAREHOUSES}add/", {"code": "A1-DEF", "name": "Again", "active": "on",
                                                 "is_default": "on"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"code", "is_default"}


def test_the_adjust_action_asks_for_a_reason_and_calls_stock_adjust(cast_a, wh, skus, stocked):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    pk = balance_pk(wh, skus.cola)
    post = {"action": "adjust_selected", helpers.ACTION_CHECKBOX_NAME: [pk]}
    page = client.post(BALANCES, post)
    assert page.status_code == 200 and "inventory-adjust-form" in page.content.decode()
    # no reason: the page again with the field error, nothing written
    again = client.post(BALANCES, {**post, "apply_adjust": "yes", "qty_units": "-5", "reason": ""})
    assert again.status_code == 200 and again.context["form"].errors.keys() == {"reason"}
    assert balance_of(wh, skus.cola) == (40, 0)
    done = client.post(BALANCES, {**post, "apply_adjust": "yes", "qty_units": "-5", "reason": "broken bottles"},
                       follow=True)
    assert done.status_code == 200
    assert balance_of(wh, skus.cola) == (35, 0)
    with tenant_scope(Scope.system(wh.tenant_id)):
        last = StockMovement.objects.filter(warehouse=wh).latest("id")
    assert (last.kind, last.qty_units, last.reason, last.actor_kind) == ("adjustment", -5, "broken bottles", "user")
    # too much: the service refuses and says so; nothing written
    refused = client.post(BALANCES, {**post, "apply_adjust": "yes", "qty_units": "-99", "reason": "count"},
                          follow=True)
    assert any("not adjusted" in str(m) for m in refused.context["messages"])
    assert balance_of(wh, skus.cola) == (35, 0)


def test_analysts_cannot_adjust(cast_a, wh, skus, stocked):
    client = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    assert client.get(BALANCES).status_code == 200
    pk = balance_pk(wh, skus.cola)
    client.post(BALANCES, {"action": "adjust_selected", helpers.ACTION_CHECKBOX_NAME: [pk], "apply_adjust": "yes",
                           "qty_units": "5", "reason": "x"})
    assert balance_of(wh, skus.cola) == (40, 0)
