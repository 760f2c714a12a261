"""Orders booked by the app, reviewed and confirmed by distributor staff in a real browser; sync health shown."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from orders.enums import OrderStatus
from orders.models import OrderEvent, SecondaryOrder
from tests.browser.test_admin_browser import log_in
from tests.mobile.sync_setup import order_item, visit_item, working_day

pytestmark = pytest.mark.browser


def test_staff_confirm_the_orders_a_booker_pushed(live_server, cast_a, page):
    # given: the booker's app pushed a visit and two orders (one with prices the app showed wrong)
    day = working_day(cast_a)
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {cast_a.device_token}")
    visit = visit_item(day, 0, 1)
    items = [visit, order_item(day, 0, 2, visit_uuid=visit["uuid"]),
             order_item(day, 1, 3, lines=[{"sku_id": day.skus[0].pk, "cases": 3, "case_price": "999.00"}])]
    pushed = app.post(reverse("mobile-push"), {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert [r["status"] for r in pushed.json()["results"]] == ["applied"] * 3

    # when: distributor staff open the order queue
    log_in(page, live_server.url, cast_a.users[Role.DISTRIBUTOR_STAFF].username)
    page.goto(f"{live_server.url}/admin/orders/secondaryorder/")
    listed = page.inner_text("#result_list")
    # then: both orders are there, booked
    assert listed.count("Booked") == 2 and "Shop 0" in listed and "Shop 1" in listed

    # when: they select all and run "Confirm selected orders"
    page.check("#action-toggle")
    page.select_option("select[name=action]", "confirm_selected")
    page.click("button[name=index]")
    page.wait_for_load_state()

    # then: the page says so and both orders are confirmed, each with its audit event
    assert "2 orders confirmed" in page.inner_text("ul.messagelist")
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        orders = list(SecondaryOrder.objects.all())
        assert {o.status for o in orders} == {OrderStatus.CONFIRMED}
        assert OrderEvent.objects.filter(to_status=OrderStatus.CONFIRMED).count() == 2
        assert sum(o.price_flag for o in orders) == 1

    # and the device's sync health lists its last push
    page.goto(f"{live_server.url}/admin/mobile/synchealth/")
    health = page.inner_text("#result_list")
    assert cast_a.device.name in health or cast_a.device.identifier in health
    assert "In sync" in health
