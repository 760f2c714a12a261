"""The invoicing API: distributor staff issue, manufacturers and API keys read, a sibling distributor or another
tenant gets 404; invoices, credit notes and payments over HTTP; PDFs that are valid and print the figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.enums import SchemeKind, SlabBasis
from catalog.models import PriceListItem
from dms.tenancy.context import current_scope_or_none, tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from invoicing import pdf as invoicing_pdf
from invoicing.models import Invoice
from orders.models import SecondaryOrder
from tests.factories.catalog import make_brand, make_outlet, make_scheme, make_sku
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order, invoice_lines, issue, mark_invoicing
from tests.factories.orders import make_order

from .conftest import ISSUE_AT, in_a
from .pdf_text import pdf_text

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/invoicing"


@pytest.fixture
def staff(cast_a: Any, api_as: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


@pytest.fixture
def invoice(allocated: Any) -> Invoice:
    return issue(allocated, at=ISSUE_AT)


@pytest.fixture
def sibling_invoice(dist_a2: Any, cat: Any) -> Invoice:
    order = make_order(make_outlet(dist_a2, code="A2-SHOP", name="Sibling shop"), [(cat.water, 1)])
    allocate_order(order, make_warehouse(dist_a2))
    return issue(order, at=ISSUE_AT)


def test_staff_invoice_orders_with_a_result_per_order(staff, outlet, cat, wh, allocated, tid):
    # given: an allocated order, an invoiced one, a booked one, and an id nobody has
    done = make_order(outlet, [(cat.water, 1)])
    allocate_order(done, wh)
    before = issue(done, at=ISSUE_AT)
    booked = make_order(outlet, [(cat.water, 2)])
    # when
    response = staff.post(f"{API}/invoices/", {"order_ids": [allocated.pk, done.pk, booked.pk, 999_999]},
                          format="json")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["invoiced"], body["already_invoiced"], body["refused"]) == (1, 1, 2)
    results = body["results"]
    assert [(r["order_id"], r["ok"], r["created"], r["code"]) for r in results] == [
        (allocated.pk, True, True, ""), (done.pk, True, False, ""), (booked.pk, False, False, "not_allocated"),
        (999_999, False, False, "not_found")]
    assert results[1]["invoice"]["number_text"] == before.number_text
    assert results[0]["invoice"]["total"] == str(allocated.total)  # money is a string


def test_readers_read_and_may_not_write(cast_a, api_as, invoice, allocated):
    for principal, kind in ((cast_a.users[Role.MANUFACTURER_ADMIN], "user"),
                            (cast_a.users[Role.MANUFACTURER_ANALYST], "user"), (cast_a.api_key_raw, "api_key")):
        client = api_as(principal, kind=kind)
        assert client.get(f"{API}/invoices/").json()["count"] == 1
        assert client.get(f"{API}/invoices/{invoice.pk}/").status_code == 200
        for url, body in ((f"{API}/invoices/", {"order_ids": [allocated.pk]}),
                          (f"{API}/invoices/batch/", {}), (f"{API}/payments/", {}), (f"{API}/credit-notes/", {})):
            response = client.post(url, body, format="json")
            assert response.status_code == 403, (url, response.status_code)
            assert "error" in response.json()
    # order-bookers and delivery men have no business here
    assert api_as(cast_a.users[Role.ORDER_BOOKER]).get(f"{API}/invoices/").status_code == 403


def test_a_sibling_distributor_or_another_tenant_gets_404(cast_a, cast_b, api_as, staff, invoice, sibling_invoice):
    other = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    for client, inv in ((staff, sibling_invoice), (other, invoice), (other, sibling_invoice)):
        for suffix in ("", "pdf/"):
            response = client.get(f"{API}/invoices/{inv.pk}/{suffix}")
            assert response.status_code == 404, (suffix, response.status_code)
            assert response.json()["error"]["code"] == "not_found"
        assert client.get(f"{API}/outlets/{inv.outlet_id}/balance/").status_code == 404
    assert [i["id"] for i in staff.get(f"{API}/invoices/").json()["results"]] == [invoice.pk]
    assert other.get(f"{API}/invoices/").json()["count"] == 0
    # the sibling's invoice named in a body is not found either
    line = invoice_lines(sibling_invoice)[0]
    response = staff.post(f"{API}/credit-notes/", {"invoice_id": sibling_invoice.pk, "reason": "return",
                                                   "lines": [{"invoice_line_id": line.pk, "qty_units": 1}]},
                          format="json")
    assert response.status_code == 404
    assert staff.post(f"{API}/payments/", {"outlet_id": sibling_invoice.outlet_id, "amount": "1.00", "method": "cash",
                                           "received_on": "2025-09-02", "idempotency_key": "x"},
                      format="json").status_code == 404


def count_queries(client: Any, url: str) -> tuple[int, int]:
    """(queries, results) of one GET."""
    with CaptureQueriesContext(connection) as queries:
        results = len(client.get(url).json()["results"])
    return len(queries), results


def test_the_list_filters_and_costs_the_same_queries_for_any_length(staff, outlet, cat, wh, invoice):
    # given: one invoice (the allocated fixture's), then two more and a payment of the first
    staff.get(f"{API}/invoices/")  # warm the session
    one = count_queries(staff, f"{API}/invoices/")
    for n in (1, 2):
        order = make_order(outlet, [(cat.water, n)])
        allocate_order(order, wh)
        issue(order, at=ISSUE_AT)
    staff.post(f"{API}/payments/", {"outlet_id": outlet.pk, "amount": str(invoice.total), "method": "cash",
                                    "received_on": "2025-09-02", "idempotency_key": "pay-1"}, format="json")
    # when / then: the same queries for three invoices as for one
    three = count_queries(staff, f"{API}/invoices/")
    assert (one[1], three[1]) == (1, 3) and one[0] == three[0]
    assert [i["id"] for i in staff.get(f"{API}/invoices/?payment_status=paid").json()["results"]] == [invoice.pk]
    assert staff.get(f"{API}/invoices/?payment_status=unpaid").json()["count"] == 2
    assert staff.get(f"{API}/invoices/?date=2025-09-01").json()["count"] == 3
    assert staff.get(f"{API}/invoices/?date_from=2025-09-02").json()["count"] == 0
    assert staff.get(f"{API}/invoices/?outlet={outlet.pk}&status=issued").json()["count"] == 3
    assert staff.get(f"{API}/invoices/?status=bogus").status_code == 400


def test_credit_notes_over_http(staff, invoice, tid):
    cola, chips = invoice_lines(invoice)
    url = f"{API}/credit-notes/"
    # when: a return of 6 cola units back into stock
    created = staff.post(url, {"invoice_id": invoice.pk, "reason": "return", "restock": "saleable",
                               "lines": [{"invoice_line_id": cola.pk, "qty_units": 6}]}, format="json")
    # then
    assert created.status_code == 201, created.content
    note = created.json()
    assert (note["invoice_number"], note["restock"], note["lines"][0]["qty_units"]) == (
        invoice.number_text, "saleable", 6)
    too_much = staff.post(url, {"invoice_id": invoice.pk, "reason": "return",
                                "lines": [{"invoice_line_id": cola.pk, "qty_units": 37}]}, format="json")
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "credit_exceeds_invoice"
    assert list(too_much.json()["error"]["fields"]) == ["lines[0].qty_units"]
    assert staff.get(f"{url}{note['id']}/").json()["total"] == note["total"]
    assert [n["id"] for n in staff.get(f"{url}?invoice={invoice.pk}").json()["results"]] == [note["id"]]
    detail = staff.get(f"{API}/invoices/{invoice.pk}/").json()
    assert detail["credited_amount"] == note["total"] and detail["credit_notes"][0]["id"] == note["id"]
    assert len(detail["lines"]) == 2 and detail["lines"][1]["id"] == chips.pk


def test_payments_over_http_are_idempotent(staff, outlet, invoice):
    url = f"{API}/payments/"
    body = {"outlet_id": outlet.pk, "amount": "1000.00", "method": "cheque", "received_on": "2025-09-03",
            "reference": "CHQ-77", "idempotency_key": "6f1c-pay"}
    first = staff.post(url, body, format="json")
    again = staff.post(url, body, format="json")
    other = staff.post(url, {**body, "amount": "999.00"}, format="json")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    payment = first.json()
    assert payment["allocations"] == [{"invoice": invoice.pk, "invoice_number": invoice.number_text,
                                       "amount": "1000.00"}]
    assert staff.get(f"{url}{payment['id']}/").json()["reference"] == "CHQ-77"
    assert staff.get(f"{url}?outlet={outlet.pk}").json()["count"] == 1
    detail = staff.get(f"{API}/invoices/{invoice.pk}/").json()
    assert (detail["paid_amount"], detail["payment_status"]) == ("1000.00", "partially_paid")
    assert detail["balance"] == str(invoice.total - D("1000.00"))


def test_the_outlet_balance_over_http(staff, outlet, invoice):
    response = staff.get(f"{API}/outlets/{outlet.pk}/balance/?on_date=2025-11-15")
    assert response.status_code == 200
    body = response.json()
    assert body["open_total"] == body["receivable"] == str(invoice.total)
    assert body["ageing"] == [{"bucket": "0-30", "amount": "0.00"}, {"bucket": "31-60", "amount": "0.00"},
                              {"bucket": "61-90", "amount": str(invoice.total)}, {"bucket": "90+", "amount": "0.00"}]
    assert body["open_invoices"][0]["age_days"] == (date(2025, 11, 15) - date(2025, 9, 1)).days == 75


def test_a_batch_over_http_answers_202_and_its_job_invoices_the_day(staff, allocated, tid,
                                                                    django_capture_on_commit_callbacks):
    # when: the request commits; its queued task runs (eager Celery, in-process)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{API}/invoices/batch/", {"date": "2025-06-02"}, format="json")
    # then
    assert response.status_code == 202, response.content
    job = staff.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["status"], job["percent"], job["result"]["invoiced"]) == ("succeeded", 100, 1)
    with in_a(tid):
        assert Invoice.objects.get().order_id == allocated.pk


# --- PDFs ----------------------------------------------------------------------------------------------------------

def test_the_invoice_pdf_is_a_pdf_printing_the_number_lines_and_total(staff, outlet, cat, wh, tid, monkeypatch):
    # given: an order with free goods whose cola price rose after booking
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, basis=SlabBasis.QUANTITY, skus=[cat.cola],
                slabs=[("10", "1", cat.water)])
    order = make_order(outlet, [(cat.cola, 10)])
    allocate_order(order, wh)
    with in_a(tid):
        PriceListItem.objects.filter(sku=cat.cola).update(case_price=D("1300.0000"))
    invoice = issue(order, at=ISSUE_AT)
    # and a renderer that notes whether it runs inside the request's tenant transaction
    seen: list[Any] = []
    real = invoicing_pdf.render
    monkeypatch.setattr(invoicing_pdf, "render", lambda doc: seen.append(current_scope_or_none()) or real(doc))
    # when
    response = staff.get(f"{API}/invoices/{invoice.pk}/pdf/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{invoice.number_text.replace("/", "-")}.pdf"'
    text = pdf_text(response.content)
    assert f"INVOICE {invoice.number_text}" in text
    assert f"{invoice.total:,.2f}" in text and "Total PKR" in text
    assert "Corner shop (A1-SHOP)" in text and "COLA" in text and "Water (FREE)" in text
    assert "Line 1 (COLA): booked at 1234.57 a case, invoiced at 1300.00 (prices changed after booking)." in text
    assert f"Booked total {order.total:.2f} PKR; invoiced total {invoice.total:.2f} PKR." in text
    assert seen == [None]  # drawn after the transaction (and the tenant context) ended


def test_an_invoice_billed_as_booked_has_no_booked_vs_invoiced_note(staff, invoice):
    text = pdf_text(staff.get(f"{API}/invoices/{invoice.pk}/pdf/").content)
    assert invoice.number_text in text and "Booked total" not in text and "booked at" not in text


def test_the_credit_note_pdf_prints_its_number_invoice_and_reason(staff, invoice, cast_b, api_as):
    cola, _chips = invoice_lines(invoice)
    note = staff.post(f"{API}/credit-notes/", {"invoice_id": invoice.pk, "reason": "damage", "reason_text":
                                               "crushed in the van", "lines": [{"invoice_line_id": cola.pk,
                                                                                "qty_units": 12}]},
                      format="json").json()
    response = staff.get(f"{API}/credit-notes/{note['id']}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert f"CREDIT NOTE {note['number_text']}" in text and f"Invoice: {invoice.number_text}" in text
    assert "Reason: Damaged goods - crushed in the van" in text and f"{D(note['total']):,.2f}" in text
    assert api_as(cast_b.users[Role.MANUFACTURER_ADMIN]).get(
        f"{API}/credit-notes/{note['id']}/pdf/").status_code == 404


def test_the_isolation_matrix_documents_are_seen_by_their_owner_only(cast_a, cast_b, api_as, cat):
    # given: the documents tests/factories/invoicing.mark_invoicing makes for the isolation matrix, in tenant B
    b1, tid_b = cast_b.distributors[0], cast_b.tenant.pk
    outlet_b = make_outlet(b1, code="VICTIMB-OUT")
    sku_b = make_sku(tid_b, brand=make_brand(tid_b))
    with tenant_scope(Scope.system(tid_b)):
        order = SecondaryOrder.objects.create(
            distributor=b1, uuid=uuid.uuid4(), outlet=outlet_b, booked_at=datetime(2030, 1, 7, 5, tzinfo=UTC),
            currency="PKR", gross=D("10.00"), discount=D("0.00"), tax=D("0.00"), total=D("10.00"),
            fingerprint="0" * 64)
        docs = mark_invoicing(b1, "VICTIMB", order, sku_b)
    owner, intruder = api_as(cast_b.users[Role.MANUFACTURER_ADMIN]), api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    urls = [f"{API}/invoices/{docs['invoice'].pk}/", f"{API}/invoices/{docs['invoice'].pk}/pdf/",
            f"{API}/credit-notes/{docs['credit_note'].pk}/", f"{API}/credit-notes/{docs['credit_note'].pk}/pdf/",
            f"{API}/payments/{docs['payment'].pk}/", f"{API}/outlets/{outlet_b.pk}/balance/"]
    # when / then
    for url in urls:
        assert owner.get(url).status_code == 200, url
        response = intruder.get(url)
        assert response.status_code == 404 and "VICTIMB" not in response.content.decode(), url
    for url in (f"{API}/invoices/", f"{API}/credit-notes/", f"{API}/payments/"):
        assert "VICTIMB" in owner.get(url).content.decode() and "VICTIMB" not in intruder.get(url).content.decode()
