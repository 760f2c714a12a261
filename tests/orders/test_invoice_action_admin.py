"""Orders -> Secondary orders "Invoice selected orders" (invoicing.admin_actions, attached by InvoicingConfig.ready):
each selected order invoiced on its own through invoice_issue_many, with a summary and a message per order (its new
invoice, the one it had already, or why it was refused); offered after "Allocate selected…" to those who invoice;
another distributor's order is never touched."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from invoicing.models import Invoice
from orders.enums import OrderStatus as S
from orders.models import SecondaryOrder
from tests.factories.catalog import make_outlet
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order, issue
from tests.factories.loading import loading_catalogue
from tests.factories.orders import make_order

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/secondaryorder/"
D = Decimal


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def label(order: SecondaryOrder) -> str:
    with tenant_scope(Scope.system(order.tenant_id)):
        code = SecondaryOrder.objects.select_related("outlet").get(pk=order.pk).outlet.code
    return f"Order {str(order.uuid)[:8]} ({code})"


def invoice_selected(orders: list[SecondaryOrder]) -> dict[str, Any]:
    return {"action": "invoice_selected", "_selected_action": [o.pk for o in orders], "index": "0"}


def state(orders: list[SecondaryOrder]) -> list[tuple[str, str | None]]:
    """Each order's status and its invoice's number (None: not invoiced)."""
    with tenant_scope(Scope.system(orders[0].tenant_id)):
        numbers = dict(Invoice.objects.filter(order_id__in=[o.pk for o in orders]).values_list("order_id",
                                                                                               "number_text"))
        status = dict(SecondaryOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "status"))
    return [(status[o.pk], numbers.get(o.pk)) for o in orders]


@pytest.fixture
def orders(cast_a: Any, dist_a1: Any) -> list[SecondaryOrder]:
    """A1's orders: allocated in full, partially allocated, booked (not invoiceable), and invoiced already."""
    cat = loading_catalogue(cast_a.tenant.pk)
    wh = make_warehouse(dist_a1, code="A1-MAIN", name="A1 main")
    shops = [make_outlet(dist_a1, code=f"SHOP{i}", name=f"Shop {i}") for i in range(4)]
    full = make_order(shops[0], [(cat.cola, 2)])
    allocate_order(full, wh, reserve=True)
    part = make_order(shops[1], [(cat.cola, 1), (cat.chips, 1)])
    allocate_order(part, wh, units={2: 12}, reserve=True)  # 12 of the 24 chips
    booked = make_order(shops[2], [(cat.water, 1)])
    done = make_order(shops[3], [(cat.water, 2)])
    allocate_order(done, wh, reserve=True)
    issue(done)
    return [full, part, booked, done]


def test_staff_invoice_the_selected_orders_with_a_message_per_order(cast_a, orders):
    # given
    full, part, booked, done = orders
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    response = staff.post(ORDERS, invoice_selected(orders), follow=True)
    # then: the two allocated orders are invoiced, numbered after the one issued before; the others are not
    assert response.status_code == 200
    first = state([done])[0][1]
    assert first is not None
    series = first.rsplit("/", 1)[0]  # INV/<distributor>/<fiscal year>
    assert state(orders) == [(S.INVOICED, f"{series}/000002"), (S.INVOICED, f"{series}/000003"), (S.BOOKED, None),
                             (S.INVOICED, f"{series}/000001")]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        totals = dict(Invoice.objects.values_list("order_id", "total"))
    # cola 1,200.00 a case + 17 %; half a case of chips at 480.00 a case + 17 %
    assert (totals[full.pk], totals[part.pk]) == (D("2808.00"), D("1404.00") + D("280.80"))
    assert messages_of(response) == [
        "Invoicing of 4 orders: 2 invoiced, 1 invoiced already, 1 not invoiced.",
        f"{label(full)}: invoiced, {series}/000002 for 2808.00 PKR.",
        f"{label(part)}: invoiced, {series}/000003 for 1684.80 PKR.",
        f"{label(booked)}: not invoiced. The order is booked: only an allocated or partially allocated order can be "
        "invoiced.",
        f"{label(done)}: invoiced already, {series}/000001.",
    ]
    # when: again, nothing new
    again = staff.post(ORDERS, invoice_selected([full, part]), follow=True)
    assert messages_of(again)[0] == "Invoicing of 2 orders: 2 invoiced already."
    assert state(orders)[:2] == [(S.INVOICED, f"{series}/000002"), (S.INVOICED, f"{series}/000003")]


def test_the_action_follows_allocate_and_only_distributor_staff_and_admins_may_run_it(cast_a, orders):
    full = orders[0]
    # the action is offered after "Allocate selected…"
    page = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(ORDERS)
    names = [name for name, _label in page.context["action_form"].fields["action"].choices]
    assert names[names.index("allocate_selected") + 1] == "invoice_selected"
    # an analyst is not offered it; nor is a manufacturer admin (who allocates): invoices are the distributor's
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST).get(ORDERS)
    assert analyst.status_code == 200 and analyst.context["action_form"] is None  # no action at all
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    offered = [name for name, _label in manufacturer.get(ORDERS).context["action_form"].fields["action"].choices]
    assert "allocate_selected" in offered and "invoice_selected" not in offered
    # posting it anyway is refused by Django ("No action selected") and invoices nothing
    refused = manufacturer.post(ORDERS, invoice_selected([full]), follow=True)
    assert refused.status_code == 200
    assert state([full]) == [(S.ALLOCATED, None)]


def test_a_sibling_distributors_staff_cannot_invoice_another_distributors_order(cast_a, orders):
    # when: A2's staff post A1's order ids
    sibling = client_for(cast_a, f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}")
    response = sibling.post(ORDERS, invoice_selected(orders[:2]), follow=True)
    # then: the scoped queryset has none of them; nothing is invoiced
    assert response.status_code == 200
    assert messages_of(response) == ["None of the selected orders was found: nothing was invoiced."]
    assert state(orders[:2]) == [(S.ALLOCATED, None), (S.PARTIALLY_ALLOCATED, None)]
