"""The order-to-cash day driven through the admin in headless Chromium, as distributor staff: the orders the app
pushed are confirmed, allocated (the plan with its fill rates first; biscuits are short), invoiced, planned onto a
load form, loaded and sent out; on the settlement screen one shop takes everything, one keeps part (broken bottles
come back) and pays nothing yet, one is closed. "Save and settle" is refused with the shortfall listed; the cash is
collected, counted, and the load form settles. The database then agrees with every figure."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dispatch.models import LoadForm
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import StockBalance
from inventory.selectors import ledger_mismatches
from inventory.services import default_warehouse, stock_receive
from invoicing.models import CreditNote, Invoice
from orders.models import SecondaryOrder
from tests.browser.test_admin_browser import log_in
from tests.factories.loading import make_vehicle
from tests.mobile.sync_setup import ago, order_item, visit_item, working_day

pytestmark = pytest.mark.browser

D = Decimal


def run_action(page: Any, base: str, action: str) -> None:
    """On the orders changelist: select every order, choose the action, press Go and wait for the answer."""
    page.goto(f"{base}/admin/orders/secondaryorder/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", action)
    with page.expect_navigation():
        page.click("button[name=index]")


def messages(page: Any) -> str:
    return str(page.inner_text("ul.messagelist"))


def submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_staff_take_a_day_from_booked_orders_to_a_settled_load_form(live_server, cast_a, page):
    # given: three shops booked in the app (biscuits: 48 units asked, 36 in stock), the stock received, one van
    base, tid = live_server.url, cast_a.tenant.pk
    day = working_day(cast_a, outlets=3)
    cola, biscuits = day.skus  # 1,200.00 and 850.50 a case of 12, 17 % tax
    with tenant_scope(Scope.system(tid)) as system:
        warehouse = default_warehouse(scope=system, distributor_id=cast_a.distributors[0].pk)
        stock_receive(scope=system, warehouse_id=warehouse.pk, lines=[(cola.pk, 120), (biscuits.pk, 36)],
                      reason="morning GRN")
    make_vehicle(cast_a.distributors[0], code="VAN-1")
    booked = [[{"sku_id": cola.pk, "cases": 2}, {"sku_id": biscuits.pk, "cases": 1}],
              [{"sku_id": cola.pk, "cases": 3}, {"sku_id": biscuits.pk, "cases": 2}],
              [{"sku_id": cola.pk, "cases": 1}, {"sku_id": biscuits.pk, "cases": 1}]]
    items: list[dict[str, Any]] = []
    for i, lines in enumerate(booked):
        visit = visit_item(day, i, 2 * i + 1)
        items += [visit, order_item(day, i, 2 * i + 2, lines=lines, visit_uuid=visit["uuid"],
                                    booked_at=ago(day, 100 - i))]  # booked in shop order: first come, first served
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {cast_a.device_token}")
    pushed = app.post(reverse("mobile-push"), {"items": items}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert [r["status"] for r in pushed.json()["results"]] == ["applied"] * 6
    order_ids = [r["server"]["order_id"] for r in pushed.json()["results"][1::2]]
    log_in(page, base, cast_a.users[Role.DISTRIBUTOR_STAFF].username)

    # confirm
    run_action(page, base, "confirm_selected")
    assert "3 orders confirmed" in messages(page)

    # allocate: the plan first, with the fill rate each shop would get; then allocate what was shown
    run_action(page, base, "allocate_selected")
    outlets = page.locator("#allocation-outlets")
    assert [outlets.locator("tr", has_text=f"Shop {i}").locator("td.fill-units").inner_text()
            for i in range(3)] == ["100%", "100%", "50%"]
    submit(page, "#orders-allocate-form input[name=apply_allocation]")
    assert "Allocation of 3 orders: 2 allocated, 1 partially allocated." in messages(page)

    # invoice
    run_action(page, base, "invoice_selected")
    assert "Invoicing of 3 orders: 3 invoiced." in messages(page)

    # build the day's load form: Dispatch -> Load forms -> Build load forms, every invoice and the van ticked
    page.goto(f"{base}/admin/")
    page.get_by_role("link", name="Load forms", exact=True).click()
    page.wait_for_url(f"{base}/admin/dispatch/loadform/")
    page.click("#build-load-forms")
    page.wait_for_url(f"{base}/admin/dispatch/loadform/build/")
    assert "3 invoices waiting" in page.inner_text("#content-main")
    page.get_by_label("Time limit").fill("1")
    submit(page, "#load-forms-build-form input[name=_plan]")
    page.wait_for_selector("#planned-load-forms")  # the job page refreshes itself until the planner is done
    assert "Every invoice was planned." in page.inner_text("#dropped-invoices")
    page.locator("#planned-load-forms a").first.click()
    page.wait_for_selector("input[name=_loaded]")

    # load it, send it out, open the settlement screen
    submit(page, "input[name=_loaded]")
    assert "is loaded" in messages(page)
    submit(page, "input[name=_depart]")
    assert "is out for delivery" in messages(page)
    page.click("#settle-link")
    page.wait_for_selector("#settle-form")

    # settle: shop 0 takes all and pays in full; shop 1 refuses 6 broken bottles and pays nothing yet; shop 2 is
    # closed and its goods go back on the shelf
    with tenant_scope(Scope.system(tid)):
        invoices = {i.order_id: i for i in Invoice.objects.all()}
    totals = [invoices[pk].total for pk in order_ids]
    rows = page.locator("#settle-invoices tbody tr")
    shop0, shop1, shop2 = (rows.filter(has_text=f"Shop {i}") for i in range(3))
    shop0.locator("select[name$='-outcome']").select_option("delivered")
    shop1.locator("select[name$='-outcome']").select_option("partially_delivered")
    shop1.locator("input[name^='line-']").first.fill("30")  # cola: 30 of 36 units
    shop1.locator("input[name$='-reason']").fill("6 bottles broken")
    shop1.locator("select[name$='-restock']").select_option("damaged")
    shop2.locator("select[name$='-outcome']").select_option("returned")
    shop2.locator("input[name$='-reason']").fill("shop closed")
    shop2.locator("select[name$='-restock']").select_option("saleable")
    page.locator("#settle-collections tr", has_text="Shop 0").locator("input[name^='cash-']").fill(str(totals[0]))
    page.get_by_label("Cash counted").fill(str(totals[0]))
    submit(page, "#settle-form input[name=_settle]")

    # then: refused, shop 1's due listed as short; the outcomes and the cash are kept
    differences = page.locator("#settle-differences")
    assert differences.locator("li").count() == 1
    with tenant_scope(Scope.system(tid)):
        credited = {i.order_id: i.credited_amount for i in Invoice.objects.all()}
    due1 = totals[1] - credited[order_ids[1]]
    short = differences.locator("li[data-kind=collection_short]").inner_text()
    assert short == f"Collected {totals[0]:,.2f} of {totals[0] + due1:,.2f} expected: {due1:,.2f} short."
    with tenant_scope(Scope.system(tid)):
        assert LoadForm.objects.get().status == "out_for_delivery"

    # when: shop 1's cash comes in and everything is counted
    page.locator("#settle-collections tr", has_text="Shop 1").locator("input[name^='cash-']").fill(str(due1))
    page.get_by_label("Cash counted").fill(str(totals[0] + due1))
    submit(page, "#settle-form input[name=_settle]")

    # then: settled
    assert "is settled" in messages(page)
    assert "Settled" in page.locator("#content-main h2").first.inner_text()
    with tenant_scope(Scope.system(tid)) as system:
        load_form = LoadForm.objects.get()
        assert (load_form.status, load_form.expected_cash, load_form.collected_cash, load_form.counted_cash) == (
            "settled", totals[0] + due1, totals[0] + due1, totals[0] + due1)
        orders = dict(SecondaryOrder.objects.values_list("pk", "status"))
        assert [orders[pk] for pk in order_ids] == ["delivered", "partially_delivered", "returned"]
        fresh = {i.order_id: i for i in Invoice.objects.all()}
        assert [(fresh[pk].status, fresh[pk].payment_status) for pk in order_ids] == [
            ("delivered", "paid"), ("partially_delivered", "paid"), ("returned", "paid")]
        # shop 2 had cola only (biscuits were short: first come, first served)
        assert totals == [D("2808.00") + D("995.09"), D("4212.00") + D("1990.17"), D("1404.00")]
        notes = sorted((n.invoice.order_id, n.reason, n.restock, n.total)
                       for n in CreditNote.objects.select_related("invoice"))
        assert notes == sorted([(order_ids[1], "damage", "damaged", D("702.00")),
                                (order_ids[2], "return", "saleable", totals[2])])
        balances = {b.sku_id: (b.on_hand, b.reserved) for b in StockBalance.objects.all()}
        # cola: 120 received, 24 + 30 delivered, 6 broken written off (shop 2's 12 came back); biscuits all delivered
        assert balances == {cola.pk: (120 - 24 - 30 - 6, 0), biscuits.pk: (0, 0)}
        assert ledger_mismatches(scope=system) == []
