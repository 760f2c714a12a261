"""The primary-order admin's "New order from suggestion": the page lists the suggested lines with their reasons and
editable cases, and staff turn it into a draft; manufacturer users look but do not order; another tenant's
distributor is a 404; an order's page links its Dispatch Advice and Goods Receipt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from dispatch.models import GoodsReceipt
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from tests.factories.catalog import make_sku
from tests.factories.inventory import make_warehouse

from .test_suggested_order import dispatch, local, primary, sell, today

pytestmark = pytest.mark.django_db

LIST = "/admin/orders/primaryorder/"
PAGE = "/admin/orders/primaryorder/suggestion/"
COLA_REASON = ("sold 1 case/day over 28 days; 14 days of cover = 14 cases; 0 on hand, 0 in transit, 0 on order "
               "\u2192 14 cases")


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


@pytest.fixture
def sold(tid: int, cat: Any, outlet: Any) -> Any:
    """28 cases of cola sold over the window (1 a day, no norm: 14 days of cover); JUICE sold but unpriced."""
    juice = make_sku(tid, brand=cat.cola.brand, code="JUICE", units_per_case=12)
    sell(outlet, [(cat.cola, 28, 0), (juice, 2, 0)], local(today() - timedelta(days=3)))
    return juice


def orders_of(tenant_id: int) -> list[PrimaryOrder]:
    with tenant_scope(Scope.system(tenant_id)):
        return list(PrimaryOrder.objects.order_by("id"))


def test_staff_draft_an_order_from_the_suggestion_with_changed_cases(cast_a, cat, sold):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # given: the changelist offers the suggestion
    assert f'href="{PAGE}" id="order-from-suggestion"' in client.get(LIST).content.decode()
    page = client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert COLA_REASON in html and "no primary price, cannot be ordered" in html
    assert f'name="cases_{cat.cola.pk}" value="14"' in html and f'name="cases_{sold.pk}"' not in html
    # when: cola lowered to 10
    response = client.post(PAGE, {f"cases_{cat.cola.pk}": "10", "note": "via the admin"})
    # then: a draft, and its page
    [order] = orders_of(cast_a.tenant.pk)
    assert response.status_code == 302 and response["Location"] == f"{LIST}{order.pk}/change/"
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert list(PrimaryOrderLine.objects.filter(order=order).values_list("sku_id", "ordered_cases")) == [
            (cat.cola.pk, 10)]
        event = PrimaryOrderEvent.objects.get(order=order, action="suggested")
    assert (order.status, order.note, order.created_by_id) == (
        "draft", "via the admin", cast_a.users[Role.DISTRIBUTOR_STAFF].pk)
    assert [(x["sku_code"], x["suggested_cases"], x["ordered_cases"]) for x in event.detail["lines"]] == [
        ("COLA", 14, 10), ("JUICE", 0, 0)]
    landed = client.get(response["Location"]).content.decode()
    assert "drafted from the suggestion" in landed and "none yet" in landed


def test_zero_cases_everywhere_is_refused_on_the_page_and_drafts_nothing(cast_a, cat, sold):
    response = client_for(cast_a, Role.DISTRIBUTOR_ADMIN).post(PAGE, {f"cases_{cat.cola.pk}": "0"})
    assert response.status_code == 200 and "Nothing to order" in response.content.decode()
    assert orders_of(cast_a.tenant.pk) == []


def test_manufacturer_users_pick_a_distributor_and_look_but_do_not_order(cast_a, cat, sold):
    a1 = cast_a.distributors[0].pk
    for role in (Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST):
        client = client_for(cast_a, role)
        picker = client.get(PAGE).content.decode()
        assert 'name="distributor"' in picker and COLA_REASON not in picker
        shown = client.get(PAGE, {"distributor": a1}).content.decode()
        assert COLA_REASON in shown and "Create the draft" not in shown
        assert client.post(PAGE, {"distributor": a1, f"cases_{cat.cola.pk}": "5"}).status_code == 403
    assert orders_of(cast_a.tenant.pk) == []


def test_another_tenants_distributor_is_a_404(cast_a, cast_b, sold):
    response = client_for(cast_b, Role.MANUFACTURER_ADMIN).get(PAGE, {"distributor": cast_a.distributors[0].pk})
    assert response.status_code == 404 and "COLA" not in response.content.decode()


def test_an_order_page_links_its_dispatch_advice_and_goods_receipt(cast_a, cat, dist_a1):
    # given: a dispatched order whose goods were received
    order = primary(dist_a1, [(cat.cola, 5)], "received", approved={cat.cola: 5})
    advice = dispatch(order, {cat.cola: 5}, status="received")
    warehouse = make_warehouse(dist_a1)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        receipt = GoodsReceipt.objects.create(distributor=dist_a1, advice=advice, number="GRN-000042",
                                              warehouse=warehouse, received_on=today(), actor_kind="system")
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{LIST}{order.pk}/change/").content.decode()
    # then: both named, linked once the dispatch admin is registered
    assert f"{advice.number} (received" in html and "GRN-000042" in html and "none yet" not in html
    for name, pk in (("admin:dispatch_dispatchadvice_change", advice.pk),
                     ("admin:dispatch_goodsreceipt_change", receipt.pk)):
        try:
            url = reverse(name, args=[pk])
        except NoReverseMatch:
            continue
        assert f'href="{url}"' in html


# --- stock norms (inventory admin): what the suggestion plans with ------------------------------------------

NORMS = "/admin/inventory/stocknorm/"


def test_staff_add_a_norm_once_edit_it_in_the_list_and_the_suggestion_follows(cast_a, cat, sold, dist_a1):
    from inventory.models import StockNorm

    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # given: a norm for cola, added once (a second one for the same SKU is refused on the field)
    fields = {"sku": cat.cola.pk, "target_cover_days": 21, "safety_cases": 2, "min_order_cases": 0}
    assert client.post(f"{NORMS}add/", fields).status_code == 302
    again = client.post(f"{NORMS}add/", fields)
    assert again.status_code == 200 and "has a norm for this SKU already" in again.content.decode()
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        norm = StockNorm.objects.get()
    assert (norm.distributor_id, norm.sku_id, norm.target_cover_days, norm.safety_cases) == (dist_a1.pk, cat.cola.pk,
                                                                                            21, 2)
    # when: the cover is changed to 7 days in the list
    edited = client.post(NORMS, {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": norm.pk,
                                 "form-0-target_cover_days": "7", "form-0-safety_cases": "2",
                                 "form-0-min_order_cases": "0", "_save": "Save"})
    # then: 1 case a day x 7 days + 2 safety = 9 cases
    assert edited.status_code == 302
    assert ("sold 1 case/day over 28 days; 7 days of cover + 2 safety = 9 cases; 0 on hand, 0 in transit, 0 on order "
            "\u2192 9 cases") in client.get(PAGE).content.decode()
    # and a sibling distributor's staff do not see the norm; 0 days of cover is refused
    assert "COLA" in client.get(NORMS).content.decode()
    assert "COLA" not in client_for(cast_a, f"{Role.DISTRIBUTOR_STAFF}@A2").get(NORMS).content.decode()
    zero = client.post(f"{NORMS}{norm.pk}/change/", {**fields, "target_cover_days": 0})
    assert zero.status_code == 200 and "errornote" in zero.content.decode()
