"""The allocation in the admin: Orders -> Secondary orders "Allocate selected orders…" shows the plan (fill rate per
outlet, each line's proposed units and why) for a policy and a warehouse, then allocates with a message per order;
"Deallocate selected orders…" asks for a reason; Inventory -> Allocations is a read-only, scoped list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.enums import Role
from orders.enums import OrderStatus as S
from tests.factories.catalog import make_outlet
from tests.factories.inventory import allocations_of, balance_of, confirmed_order, make_warehouse, receive

from .conftest import events_of, reload

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/secondaryorder/"
ALLOCATIONS = "/admin/inventory/allocation/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def label(order: Any) -> str:
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from orders.models import SecondaryOrder

    with tenant_scope(Scope.system(order.tenant_id)):
        outlet = SecondaryOrder.objects.select_related("outlet").get(pk=order.pk).outlet
    return f"Order {str(order.uuid)[:8]} ({outlet.code})"


@pytest.fixture
def staff(cast_a: Any) -> Client:
    return client_for(cast_a, Role.DISTRIBUTOR_STAFF)


@pytest.fixture
def queue(shop: Any) -> list[Any]:
    receive(shop.wh, shop.soda, 30)
    return [confirmed_order(shop.outlets[i], [(shop.soda, 0, n)], minute=i) for i, n in enumerate((20, 20, 10))]


def selected(orders: list[Any]) -> dict[str, Any]:
    return {"action": "allocate_selected", "_selected_action": [o.pk for o in orders]}


def test_allocate_selected_shows_the_plan_first_and_allocates_nothing(staff, shop, queue):
    # when
    page = staff.post(ORDERS, {**selected(queue), "index": "0"})
    # then: first come by default
    assert page.status_code == 200
    html = page.content.decode()
    assert "orders-allocate-form" in html and 'id="allocation-outlets"' in html
    plan = page.context["plan"]
    assert [(f.outlet_code, f.unit_fill_pct) for f in plan.outlets] == [("SHOP1", "100"), ("SHOP2", "50"),
                                                                         ("SHOP3", "0")]
    assert "the last 10 left after earlier orders" in html and label(queue[0]) in html
    assert [reload(o).status for o in queue] == [S.CONFIRMED] * 3 and balance_of(shop.wh, shop.soda) == (30, 0)


def test_choosing_fair_share_shows_its_plan_and_allocate_commits_what_was_shown(staff, shop, queue):
    # given: the fair-share plan is shown
    shown = staff.post(ORDERS, {**selected(queue), "show_plan": "1", "policy": "fair_share", "warehouse": "",
                                "planned_policy": "fifo", "planned_warehouse": ""})
    plan = shown.context["plan"]
    assert [f.unit_fill_pct for f in plan.outlets] == ["60", "60", "60"]
    assert "each order gets 60%" in shown.content.decode()
    expected = {f"expected-{line_id}": str(units) for line_id, units in plan.proposed().items()}
    # when
    done = staff.post(ORDERS, {**selected(queue), "apply_allocation": "1", "policy": "fair_share", "warehouse": "",
                               "planned_policy": "fair_share", "planned_warehouse": "", **expected}, follow=True)
    # then: a message per order
    assert messages_of(done) == [
        "Allocation of 3 orders: 3 partially allocated.",
        f"{label(queue[0])}: partially allocated. 12 of 20 units (60%).",
        f"{label(queue[1])}: partially allocated. 12 of 20 units (60%).",
        f"{label(queue[2])}: partially allocated. 6 of 10 units (60%)."]
    assert [reload(o).status for o in queue] == [S.PARTIALLY_ALLOCATED] * 3
    assert events_of(queue[0])[-1].detail["policy"] == "fair_share"
    assert balance_of(shop.wh, shop.soda) == (30, 30)


def test_allocate_after_changing_the_choice_shows_the_new_plan_instead(staff, shop, queue):
    # when: the page showed first come, the user picks fair share and presses Allocate
    response = staff.post(ORDERS, {**selected(queue), "apply_allocation": "1", "policy": "fair_share",
                                   "warehouse": "", "planned_policy": "fifo", "planned_warehouse": ""})
    # then
    assert response.status_code == 200 and response.context["choice_changed"]
    assert response.context["plan"].policy == "fair_share"
    assert [reload(o).status for o in queue] == [S.CONFIRMED] * 3


def test_allocating_from_a_chosen_warehouse_and_reporting_stock_that_changed(staff, shop, queue, dist_a1):
    # given: a second warehouse with 15 soda; the page showed 15 for the first order, then 5 were taken
    other = make_warehouse(dist_a1, code="A1-BACK", name="Back store")
    receive(other, shop.soda, 15)
    page = staff.post(ORDERS, {**selected(queue[:1]), "show_plan": "1", "policy": "fifo", "warehouse": other.pk,
                               "planned_policy": "fifo", "planned_warehouse": ""})
    [order_plan] = page.context["plan"].orders
    assert order_plan.lines[0].proposed_units == 15 and order_plan.warehouse_id == other.pk
    from tests.factories.inventory import allocate as reserve

    reserve(other, shop.soda, 5)
    # when
    done = staff.post(ORDERS, {**selected(queue[:1]), "apply_allocation": "1", "policy": "fifo",
                               "warehouse": other.pk, "planned_policy": "fifo", "planned_warehouse": str(other.pk),
                               f"expected-{order_plan.lines[0].line_id}": "15"}, follow=True)
    # then
    assert messages_of(done)[1] == (f"{label(queue[0])}: partially allocated. 10 of 20 units (50%). Stock changed "
                                    "since the preview: 1 line differ.")
    assert balance_of(other, shop.soda) == (15, 15) and balance_of(shop.wh, shop.soda) == (30, 0)


def test_deallocate_selected_asks_for_a_reason_then_returns_the_stock(staff, shop, queue):
    # given
    staff.post(ORDERS, {**selected(queue[:2]), "apply_allocation": "1", "policy": "fifo", "warehouse": "",
                        "planned_policy": "fifo", "planned_warehouse": ""})
    assert balance_of(shop.wh, shop.soda) == (30, 30)
    chosen = {"action": "deallocate_selected", "_selected_action": [queue[0].pk, queue[2].pk]}
    # when
    page = staff.post(ORDERS, {**chosen, "index": "0"})
    done = staff.post(ORDERS, {**chosen, "apply_reason": "yes", "reason": "truck broke down"}, follow=True)
    # then
    assert page.status_code == 200 and "orders-reason-form" in page.content.decode()
    assert messages_of(done) == ["2 orders deallocated."]  # the confirmed one stays as it is
    assert reload(queue[0]).status == S.CONFIRMED and allocations_of(queue[0])[0][3] == "released"
    assert balance_of(shop.wh, shop.soda) == (30, 10)


def test_an_analyst_has_neither_action_and_the_allocations_list_is_read_only(cast_a, shop, queue):
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    listed = analyst.get(ORDERS)
    acted = analyst.post(ORDERS, {**selected(queue), "index": "0"})
    assert listed.status_code == 200 and listed.context["action_form"] is None
    assert acted.status_code in (200, 302) and [reload(o).status for o in queue] == [S.CONFIRMED] * 3
    assert analyst.get(ALLOCATIONS).status_code == 200
    assert analyst.get(f"{ALLOCATIONS}add/").status_code == 403


def test_the_allocations_list_shows_the_distributors_allocations_only(cast_a, staff, shop, queue, dist_a2):
    # given: A1's order allocated, and an A2 order allocated by the manufacturer
    a2_wh = make_warehouse(dist_a2, code="A2-DEF", is_default=True)
    receive(a2_wh, shop.soda, 5)
    a2_order = confirmed_order(make_outlet(dist_a2, code="A2-SHOP", credit_limit=Decimal("0")), [(shop.soda, 0, 3)])
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    manufacturer.post(ORDERS, {**selected([queue[0], a2_order]), "apply_allocation": "1", "policy": "fifo",
                               "warehouse": "", "planned_policy": "fifo", "planned_warehouse": ""})
    # when
    own = staff.get(ALLOCATIONS)
    everything = manufacturer.get(ALLOCATIONS)
    # then
    assert own.status_code == 200 and "SHOP1" in own.content.decode() and "A2-SHOP" not in own.content.decode()
    assert "A2-SHOP" in everything.content.decode()
    change = staff.get(f"{ALLOCATIONS}{_allocation_id(a2_order)}/change/")
    assert change.status_code == 404
    mine = staff.get(f"{ALLOCATIONS}{_allocation_id(queue[0])}/change/")
    assert mine.status_code == 200 and 'name="_save"' not in mine.content.decode()


def _allocation_id(order: Any) -> int:
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from inventory.models import Allocation

    with tenant_scope(Scope.system(order.tenant_id)):
        return int(Allocation.objects.get(order_id=order.pk).pk)
