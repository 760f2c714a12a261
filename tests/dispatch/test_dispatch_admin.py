"""The dispatch admin: the DA list and its read-only document page, the "Record receipt" form (prefilled as received
in full, refusals shown as form errors with nothing saved), GRN pages; a sibling's DA is a 404 and analysts only
read."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dispatch.enums import AdviceStatus
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.models import StockBalance
from orders.enums import PrimaryOrderStatus as Status
from tests.factories.dispatch import batches_of, issue, make_approved_order, receive
from tests.factories.inventory import make_warehouse

from .conftest import PARTIAL_LINES, counts, order_state, reload

pytestmark = pytest.mark.django_db
ADVICES = "/admin/dispatch/dispatchadvice/"
RECEIPTS = "/admin/dispatch/goodsreceipt/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def receipt_post(advice: Any, rows: list[tuple[int, int, int]], **header: Any) -> dict[str, Any]:
    """The receipt form's POST: (received, short, damaged) per batch, in the form's order."""
    batches = batches_of(advice)
    data: dict[str, Any] = {"lines-TOTAL_FORMS": len(batches), "lines-INITIAL_FORMS": len(batches),
                            "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
                            "received_on": header.get("received_on", "2025-06-03"),
                            "warehouse": header.get("warehouse", ""), "note": header.get("note", "")}
    for i, (b, (received, short, damaged)) in enumerate(zip(batches, rows, strict=True)):
        data.update({f"lines-{i}-batch_id": b.pk, f"lines-{i}-received_cases": received,
                     f"lines-{i}-short_cases": short, f"lines-{i}-damaged_cases": damaged, f"lines-{i}-note": ""})
    return data


def test_staff_see_the_list_and_the_document_with_lines_batches_and_links(cast_a, cat, order, advice):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    listed = client.get(ADVICES)
    assert listed.status_code == 200
    assert "DA-000001" in listed.content.decode() and "Record receipt" in listed.content.decode()
    page = client.get(f"{ADVICES}{advice.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    for text in ("DA-000001", "ERP-DN-1", "PO-000001", "B1", "B2", "COLA", f"/admin/orders/primaryorder/{order.pk}/",
                 f"{ADVICES}{advice.pk}/receipt/"):
        assert text in body, text
    assert client.get(f"{ADVICES}?status__exact=issued").status_code == 200
    assert client.get(f"{ADVICES}?dispatched_on__gte=2025-06-01").status_code == 200


def test_the_receipt_form_is_prefilled_and_records_the_grn(tid, cast_a, cat, order, advice, dist_a1):
    # given
    store = make_warehouse(dist_a1, code="A1-COLD", name="Cold store")
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    url = f"{ADVICES}{advice.pk}/receipt/"
    form = client.get(url)
    assert form.status_code == 200
    html = form.content.decode()
    assert 'name="lines-0-received_cases" value="5"' in html and 'name="lines-1-received_cases" value="2"' in html
    assert "A1-COLD" in html
    # when
    response = client.post(url, receipt_post(advice, [(4, 1, 0), (2, 0, 0), (5, 0, 0)], warehouse=store.pk))
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    assert reload(advice).status == AdviceStatus.RECEIVED
    assert order_state(order)[0] == Status.RECEIVED
    with tenant_scope(Scope.system(tid)):
        assert dict(StockBalance.objects.filter(warehouse=store).values_list("sku_id", "on_hand")) == {
            cat.cola.pk: 72, cat.chips.pk: 120}
    grn_page = client.get(response["Location"])
    assert grn_page.status_code == 200 and "GRN-000001" in grn_page.content.decode()
    assert "DA-000001" in client.get(RECEIPTS).content.decode()
    # the DA page now links the GRN, and the form sends you back
    assert "GRN-000001" in client.get(f"{ADVICES}{advice.pk}/change/").content.decode()
    assert client.get(url).status_code == 302


def test_figures_that_do_not_add_up_are_form_errors_and_nothing_is_saved(tid, cast_a, advice):
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    before = counts(tid)
    response = client.post(f"{ADVICES}{advice.pk}/receipt/", receipt_post(advice, [(5, 0, 0), (1, 0, 0), (5, 0, 0)],
                                                                          received_on="2025-06-01"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "add up to 1, but 2 cases" in body
    assert "The goods were dispatched on 2025-06-02" in body
    assert counts(tid) == before and reload(advice).status == AdviceStatus.ISSUED


def test_a_siblings_advice_is_a_404_and_an_analyst_may_not_record(tid, cast_a, cat, advice, dist_a2):
    sibling = issue(make_approved_order(dist_a2, [(cat.cola, 8, 8)]), PARTIAL_LINES[:1], reference="A2-1").advice
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    assert staff.get(f"{ADVICES}{sibling.pk}/change/").status_code == 404
    assert staff.get(f"{ADVICES}{sibling.pk}/receipt/").status_code == 404
    assert "A2-1" not in staff.get(ADVICES).content.decode()
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    listed = analyst.get(ADVICES).content.decode()
    assert "A2-1" in listed and "Record receipt" not in listed
    assert analyst.get(f"{ADVICES}{advice.pk}/change/").status_code == 200
    assert analyst.get(f"{ADVICES}{advice.pk}/receipt/").status_code == 403
    assert staff.get(f"{ADVICES}add/").status_code == 403
    assert staff.post(f"{ADVICES}{advice.pk}/change/", {"reference": "hijacked"}).status_code == 403
    assert reload(advice).reference == "ERP-DN-1"


def test_grn_pages_render_for_the_manufacturer(cast_a, advice):
    grn = receive(advice)
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    listed = client.get(RECEIPTS)
    page = client.get(f"{RECEIPTS}{grn.pk}/change/")
    assert listed.status_code == 200 and "GRN-000001" in listed.content.decode()
    assert page.status_code == 200 and "DA-000001" in page.content.decode() and "B2" in page.content.decode()
    advices = client.get(ADVICES, {"distributor__id__exact": advice.distributor_id})
    assert advices.status_code == 200 and "GRN-000001" in advices.content.decode()
