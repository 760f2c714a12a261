"""A full day over HTTP: booked -> confirmed -> allocated -> invoiced -> loaded -> delivered with one return and a
short cash collection -> settled with the differences listed.

Each party uses its own door: the booker's app pushes visits and orders with its device token; the manufacturer's
ERP answers the morning's primary order over its API key (the stock arrives by a GRN); distributor staff confirm,
allocate (one SKU short, shared fairly), invoice, make the load form, load it and send it out over their session;
the delivery man records what happened at each outlet and the cash he took. The settlement is refused while the
cash is short and miscounted, listing exactly those two differences; once the missing cash is recorded and the
count is right it settles, and every figure reconciles to the cent: invoices and their lines, credit notes and
what came back, payments, outlet balances, order and invoice states, the stock and its ledger.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from dms.core.money import div, money, mul
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.selectors import ledger_mismatches
from tests.mobile.sync_setup import Day, order_item, visit_item, working_day

pytestmark = pytest.mark.django_db

D = Decimal
DISPATCH = "/api/v1/dispatch"
INVOICING = "/api/v1/invoicing"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def receive_by_grn(staff: Any, erp: Any, day: Day, cases: dict[Any, int]) -> None:
    """The morning's stock: a primary order for `cases` (sku -> cases), approved and dispatched in full by the ERP
    and received in full into the distributor's default warehouse."""
    lines = [{"sku_id": sku.pk, "cases": n} for sku, n in cases.items()]
    order = ok(staff.post("/api/v1/orders/primary/", {"lines": lines}, format="json"), 201)
    ok(staff.post(f"/api/v1/orders/primary/{order['id']}/submit/", {}, format="json"))
    ok(erp.post(f"/api/v1/manufacturer/primary-orders/{order['id']}/decision/",
                {"decisions": [{"sku_id": sku.pk, "approved_cases": n} for sku, n in cases.items()]}, format="json"))
    expiry = day.today.replace(year=day.today.year + 1).isoformat()
    advice = ok(erp.post(f"/api/v1/manufacturer/primary-orders/{order['id']}/dispatch-advice/", {
        "reference": "SAP-DA-1", "dispatched_on": day.today.isoformat(), "vehicle": "LES-77",
        "lines": [{"sku_id": sku.pk, "batches": [{"batch": f"B{i}", "expiry": expiry, "cases": n}]}
                  for i, (sku, n) in enumerate(cases.items())]}, format="json"), 201)
    advice = ok(staff.get(f"{DISPATCH}/advices/{advice['id']}/"))
    ok(staff.post(f"{DISPATCH}/advices/{advice['id']}/receipt/", {"lines": [
        {"batch_id": b["id"], "received_cases": b["cases"]} for line in advice["lines"] for b in line["batches"]]},
        format="json"), 201)


def on_hand(staff: Any, sku: Any) -> tuple[int, int]:
    """(on hand, reserved) units of the SKU over the stock API, summed over the distributor's warehouses."""
    rows = ok(staff.get("/api/v1/inventory/stock/", {"sku": sku.pk}))["results"]
    return sum(r["on_hand_units"] for r in rows), sum(r["reserved_units"] for r in rows)


def test_a_day_from_booking_to_settlement_reconciles_to_the_cent(cast_a, api_as):
    # given: four shops on today's journey; cola at 1,200.00 and biscuits at 850.50 a case of 12, 17 % tax
    day = working_day(cast_a, outlets=4)
    cola, biscuits = day.skus
    shops = day.outlets
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    erp = api_as(cast_a.api_key_raw, kind="api_key")
    driver = api_as(cast_a.users[Role.DELIVERY_MAN])
    app = api_as(cast_a.device_token, kind="device")

    # the morning's GRN: 10 cases of cola (120 units), 5 of biscuits (60 units)
    receive_by_grn(staff, erp, day, {cola: 10, biscuits: 5})
    assert (on_hand(staff, cola), on_hand(staff, biscuits)) == ((120, 0), (60, 0))

    # booked: the app pushes a visit and an order per shop; biscuits are asked for 78 units, 18 more than there are
    booked = {0: [{"sku_id": cola.pk, "cases": 2}, {"sku_id": biscuits.pk, "cases": 1, "units": 6}],
              1: [{"sku_id": cola.pk, "cases": 3}, {"sku_id": biscuits.pk, "cases": 2}],
              2: [{"sku_id": cola.pk, "cases": 1}],
              3: [{"sku_id": biscuits.pk, "cases": 3}]}
    items: list[dict[str, Any]] = []
    for i, lines in booked.items():
        visit = visit_item(day, i, 2 * i + 1)
        items += [visit, order_item(day, i, 2 * i + 2, lines=lines, visit_uuid=visit["uuid"])]
    pushed = ok(app.post(reverse("mobile-push"), {"items": items}, format="json",
                         HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())))
    assert [r["status"] for r in pushed["results"]] == ["applied"] * 8
    order_ids = [r["server"]["order_id"] for r in pushed["results"][1::2]]
    listed = ok(staff.get("/api/v1/orders/", {"status": "booked"}))["results"]
    assert sorted(o["id"] for o in listed) == sorted(order_ids)

    # confirmed by staff
    confirmed = ok(staff.post("/api/v1/orders/bulk/confirm/", {"ids": order_ids}, format="json"))
    assert (confirmed["done"], confirmed["refused"]) == (4, 0)
    assert [(r["id"], r["status"]) for r in confirmed["results"]] == [(pk, "confirmed") for pk in order_ids]

    # allocated: the preview shares the short biscuits fairly (60 of 78 units), then the plan shown is committed
    preview = ok(staff.post("/api/v1/inventory/allocations/preview/", {"order_ids": order_ids,
                                                                      "policy": "fair_share"}, format="json"))
    fill = [(o["outlet_code"], o["requested_units"], o["proposed_units"], o["unit_fill_pct"])
            for o in preview["outlets"]]
    assert fill == [("SHOP0", 42, 38, "90.5"), ("SHOP1", 60, 54, "90"), ("SHOP2", 12, 12, "100"),
                    ("SHOP3", 36, 28, "77.8")]
    assert preview["orders"][3]["lines"][0]["explanation"] == (
        "28 of 36 units: SKU short (60 available for 78 asked), each order gets 76.9%, plus 1 unit of the remainder")
    assert (preview["total"]["requested_units"], preview["total"]["proposed_units"]) == (150, 132)
    allocated = ok(staff.post("/api/v1/inventory/allocations/", {"order_ids": order_ids, "policy": "fair_share",
                                                                 "expected": preview["expected"]}, format="json"))
    assert [(r["order_id"], r["status"], r["changed_since_preview"]) for r in allocated["results"]] == [
        (order_ids[0], "partially_allocated", []), (order_ids[1], "partially_allocated", []),
        (order_ids[2], "allocated", []), (order_ids[3], "partially_allocated", [])]
    assert (on_hand(staff, cola), on_hand(staff, biscuits)) == ((120, 72), (60, 60))

    # invoiced: what was allocated, priced as booked
    issued = ok(staff.post(f"{INVOICING}/invoices/", {"order_ids": order_ids}, format="json"))
    assert (issued["invoiced"], issued["already_invoiced"], issued["refused"]) == (4, 0, 0)
    invoice_ids = [r["invoice"]["id"] for r in issued["results"]]
    invoices = [ok(staff.get(f"{INVOICING}/invoices/{pk}/")) for pk in invoice_ids]
    for invoice in invoices:  # every total is the sum of its rounded lines
        for name in ("gross", "discount", "tax", "total"):
            assert D(invoice[name]) == sum(D(line[name]) for line in invoice["lines"]), (invoice["number_text"], name)
    units = [[(line["sku"], line["qty_units"]) for line in invoice["lines"]] for invoice in invoices]
    assert units == [[(cola.pk, 24), (biscuits.pk, 14)], [(cola.pk, 36), (biscuits.pk, 18)], [(cola.pk, 12)],
                     [(biscuits.pk, 28)]]
    totals = [D(invoice["total"]) for invoice in invoices]
    # cola 1,200.00 a case of 12, biscuits 850.50 a case of 12 (70.875 a unit), 17 % tax, rounded per line
    assert totals == [D("2808.00") + D("1160.93"), D("4212.00") + D("1492.63"), D("1404.00"), D("2321.87")]

    # loaded: a van with room for the day, a load form of the four invoices for the delivery man
    van = ok(staff.post(f"{DISPATCH}/vehicles/", {"code": "VAN-1", "registration": "LES-1001",
                                                  "capacity_weight_kg": "1000", "capacity_volume_l": "5000",
                                                  "capacity_cases": 100}, format="json"), 201)
    load_form = ok(staff.post(f"{DISPATCH}/load-forms/", {
        "date": day.today.isoformat(), "vehicle_id": van["id"], "invoice_ids": invoice_ids,
        "delivery_man_id": cast_a.users[Role.DELIVERY_MAN].pk}, format="json"), 201)
    lf = f"{DISPATCH}/load-forms/{load_form['id']}"
    assert (load_form["status"], load_form["invoice_count"], D(load_form["total_value"])) == (
        "planned", 4, sum(totals))
    pick = ok(staff.get(f"{lf}/pick-list/"))
    assert sorted((p["sku_id"], p["qty_units"]) for p in pick["totals"]) == sorted([(cola.pk, 72), (biscuits.pk, 60)])
    assert ok(staff.post(f"{lf}/loaded/", {}, format="json"))["status"] == "loaded"
    assert (on_hand(staff, cola), on_hand(staff, biscuits)) == ((48, 0), (0, 0))  # on the van now
    assert ok(staff.post(f"{lf}/depart/", {}, format="json"))["status"] == "out_for_delivery"
    assert ok(staff.get(f"/api/v1/orders/{order_ids[0]}/"))["status"] == "loaded"

    # delivered: shop 0 in full; shop 1 refuses 6 broken bottles of cola (written off); shop 2 is closed, its
    # goods come back saleable; shop 3 in full
    cola_1 = next(line for line in invoices[1]["lines"] if line["sku"] == cola.pk)
    recorded = [
        {"invoice_id": invoice_ids[0], "outcome": "delivered"},
        {"invoice_id": invoice_ids[1], "outcome": "partially_delivered", "restock": "damaged",
         "lines": [{"invoice_line_id": cola_1["id"], "delivered_units": 30}], "return_reason": "6 bottles broken"},
        {"invoice_id": invoice_ids[2], "outcome": "returned", "restock": "saleable", "return_reason": "shop closed"},
        {"invoice_id": invoice_ids[3], "outcome": "delivered"},
    ]
    stops = [ok(driver.post(f"{lf}/deliveries/", body, format="json")) for body in recorded]
    assert [s["outcome"] for s in stops] == ["delivered", "partially_delivered", "returned", "delivered"]
    # the credit notes are worth exactly what came back: 6 of 36 cola units pro rata per line, and all of shop 2's
    net, tax = D(cola_1["gross"]) - D(cola_1["discount"]), D(cola_1["tax"])
    broken = money(div(mul(net, 6), 36)) + money(div(mul(tax, 6), 36))
    assert broken == D("702.00")
    assert [D(s["credited"]) for s in stops] == [D("0.00"), broken, totals[2], D("0.00")]
    dues = [totals[0], totals[1] - broken, D("0.00"), totals[3]]

    # and collects cash: everything due, but 500.00 short at shop 3
    for shop, due in zip(shops, dues, strict=True):
        if due:
            amount = due - D("500.00") if shop is shops[3] else due
            ok(driver.post(f"{lf}/cash/", {"outlet_id": shop.pk, "amount": str(amount), "method": "cash"},
                           format="json", HTTP_IDEMPOTENCY_KEY=f"round-{shop.code}"), 201)
    expected = sum(dues)
    recorded_cash = expected - D("500.00")

    # when: staff settle with the cash handed in, miscounted by 50.00
    refused = staff.post(f"{lf}/settle/", {"counted_cash": str(recorded_cash - D("50.00"))}, format="json")
    # then: refused, the two differences listed, nothing written
    assert refused.status_code == 409, refused.content
    error = refused.json()["error"]
    assert error["code"] == "not_settled"
    assert error["differences"] == [
        {"kind": "collection_short", "expected": str(expected), "collected": str(recorded_cash),
         "difference": "-500.00",
         "outlets": [{"outlet_id": shops[3].pk, "outlet": "SHOP3 Shop 3", "expected": str(dues[3]),
                      "collected": str(dues[3] - D("500.00"))}],
         "message": f"Collected {recorded_cash:,.2f} of {expected:,.2f} expected: 500.00 short."},
        {"kind": "count", "method": "cash", "collected": str(recorded_cash), "counted": str(recorded_cash - 50),
         "difference": "-50.00",
         "message": f"Cash counted {recorded_cash - 50:,.2f} but {recorded_cash:,.2f} was recorded as collected: "
                    "50.00 short."}]
    assert ok(staff.get(f"{lf}/"))["status"] == "out_for_delivery"

    # when: the driver hands over shop 3's missing 500.00, it is recorded, and the cash is counted again
    ok(driver.post(f"{lf}/cash/", {"outlet_id": shops[3].pk, "amount": "500.00", "method": "cash"}, format="json",
                   HTTP_IDEMPOTENCY_KEY="round-SHOP3-late"), 201)
    settled = ok(staff.post(f"{lf}/settle/", {"counted_cash": str(expected)}, format="json"))

    # then: settled, its figures the sum of the round
    assert settled["status"] == "settled"
    assert [D(settled[f]) for f in ("expected_cash", "collected_cash", "counted_cash", "collected_cheques")] == [
        expected, expected, expected, D("0.00")]
    # the orders and invoices in their final states, every invoice paid or credited in full
    assert [ok(staff.get(f"/api/v1/orders/{pk}/"))["status"] for pk in order_ids] == [
        "delivered", "partially_delivered", "returned", "delivered"]
    final = [ok(staff.get(f"{INVOICING}/invoices/{pk}/")) for pk in invoice_ids]
    assert [(i["status"], i["payment_status"]) for i in final] == [
        ("delivered", "paid"), ("partially_delivered", "paid"), ("returned", "paid"), ("delivered", "paid")]
    assert [(D(i["total"]), D(i["credited_amount"]), D(i["paid_amount"]), D(i["balance"])) for i in final] == [
        (totals[0], 0, dues[0], 0), (totals[1], broken, dues[1], 0), (totals[2], totals[2], 0, 0),
        (totals[3], 0, dues[3], 0)]
    assert [[p["amount"] for p in i["payments"]] for i in final] == [
        [str(dues[0])], [str(dues[1])], [], [str(dues[3] - 500), "500.00"]]
    notes = ok(staff.get(f"{INVOICING}/credit-notes/"))["results"]
    assert sorted((n["invoice"], n["reason"], n["restock"], D(n["total"])) for n in notes) == sorted([
        (invoice_ids[1], "damage", "damaged", broken), (invoice_ids[2], "return", "saleable", totals[2])])
    # each outlet's balance: invoiced - credited - paid, nothing left to collect
    for shop, total, invoice in zip(shops, totals, final, strict=True):
        balance = ok(staff.get(f"{INVOICING}/outlets/{shop.pk}/balance/"))
        assert (D(balance["invoiced"]), D(balance["credited"]), D(balance["payments"])) == (
            total, D(invoice["credited_amount"]), D(invoice["paid_amount"])), shop.code
        assert D(balance["receivable"]) == total - D(invoice["credited_amount"]) - D(invoice["paid_amount"]) == 0
        assert (balance["open_invoices"], D(balance["on_account"])) == ([], 0)
    # the stock: received - delivered - written off; shop 2's cola back on the shelf, nothing reserved
    assert on_hand(staff, cola) == (120 - (24 + 30) - 6, 0) == (60, 0)
    assert on_hand(staff, biscuits) == (60 - (14 + 18 + 28), 0) == (0, 0)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as system:
        assert ledger_mismatches(scope=system) == []
