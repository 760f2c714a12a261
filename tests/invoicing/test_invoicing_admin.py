"""The invoicing admin: read-only documents with their lines, credit notes and payments, "Print PDF", the credit
note form, batch invoicing with its progress page, payment entry and the outlet balance page; staff see only their
distributor's documents, manufacturers read all, analysts cannot act."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob
from invoicing.models import CreditNote, Invoice, Payment
from tests.factories.catalog import make_outlet
from tests.factories.inventory import make_warehouse
from tests.factories.invoicing import allocate_order, invoice_lines, issue, reload_invoice
from tests.factories.orders import make_order

from .conftest import ISSUE_AT, in_a
from .pdf_text import pdf_text

pytestmark = pytest.mark.django_db
D = Decimal
INVOICES = "/admin/invoicing/invoice/"
NOTES = "/admin/invoicing/creditnote/"
PAYMENTS = "/admin/invoicing/payment/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


@pytest.fixture
def invoice(allocated: Any) -> Invoice:
    return issue(allocated, at=ISSUE_AT)


@pytest.fixture
def sibling_invoice(dist_a2: Any, cat: Any) -> Invoice:
    order = make_order(make_outlet(dist_a2, code="A2-SHOP", name="Sibling shop"), [(cat.water, 1)])
    allocate_order(order, make_warehouse(dist_a2))
    return issue(order, at=ISSUE_AT)


def test_staff_read_their_invoices_as_documents_and_not_a_siblings(cast_a, invoice, sibling_invoice, outlet):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # given: a credit note and a payment on the invoice
    credit = staff.post(f"{INVOICES}{invoice.pk}/credit-note/", {"reason": "return", "restock": "",
                                                                 f"qty_{invoice_lines(invoice)[0].pk}": "6"})
    assert credit.status_code == 302
    assert staff.post(f"{PAYMENTS}record/", {"outlet_code": "A1-SHOP", "amount": "100.00", "method": "cash",
                                             "received_on": "2025-09-02", "idempotency_key": "adm-1"}
                      ).status_code == 302
    # when
    listing = staff.get(INVOICES).content.decode()
    page = staff.get(f"{INVOICES}{invoice.pk}/change/")
    # then
    assert invoice.number_text in listing and "Sibling shop" not in listing
    assert page.status_code == 200
    body = page.content.decode()
    assert "COLA" in body and "CN/" in body and "100.00" in body
    assert f"{INVOICES}{invoice.pk}/pdf/" in body and f"{INVOICES}{invoice.pk}/credit-note/" in body
    assert 'name="_save"' not in body  # documents are read-only
    for url in (f"{INVOICES}{sibling_invoice.pk}/change/", f"{INVOICES}{sibling_invoice.pk}/pdf/",
                f"{INVOICES}{sibling_invoice.pk}/credit-note/", f"{INVOICES}{invoice.pk}/delete/"):
        assert staff.get(url).status_code in (403, 404), url
    assert staff.get(f"{INVOICES}{sibling_invoice.pk}/pdf/").status_code == 404
    for url in (NOTES, PAYMENTS, "/admin/invoicing/numberseries/"):
        assert staff.get(url).status_code == 200, url
    # the manufacturer reads both distributors' invoices but cannot credit them
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    both = manufacturer.get(INVOICES).content.decode()
    assert invoice.number_text in both and "Sibling shop" in both
    assert manufacturer.get(f"{INVOICES}{invoice.pk}/credit-note/").status_code == 403


def test_print_pdf_is_a_pdf_of_the_invoice_and_of_the_credit_note(cast_a, invoice):
    staff = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    response = staff.get(f"{INVOICES}{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(response.streaming_content))
    assert invoice.number_text in text and f"{invoice.total:,.2f}" in text
    everything = {f"qty_{ln.pk}": ln.qty_units for ln in invoice_lines(invoice)}
    staff.post(f"{INVOICES}{invoice.pk}/credit-note/", {"reason": "cancellation", **everything})
    with in_a(invoice.tenant_id):
        note = CreditNote.objects.get()
    assert note.total == invoice.total
    response = staff.get(f"{NOTES}{note.pk}/pdf/")
    assert note.number_text in pdf_text(b"".join(response.streaming_content))
    assert f"{NOTES}{note.pk}/pdf/" in staff.get(f"{NOTES}{note.pk}/change/").content.decode()


def test_the_credit_note_form_shows_what_is_left_and_refuses_more(cast_a, invoice, tid):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    cola, chips = invoice_lines(invoice)
    url = f"{INVOICES}{invoice.pk}/credit-note/"
    # when: 40 of the 42 cola units credited, the form shows 2 left
    assert staff.post(url, {"reason": "return", f"qty_{cola.pk}": "40"}).status_code == 302
    page = staff.get(url).content.decode()
    assert 'max="2"' in page and 'max="48"' in page
    # more than is left, nothing at all: the form says so and nothing is written
    too_much = staff.post(url, {"reason": "return", f"qty_{cola.pk}": "3"})
    nothing = staff.post(url, {"reason": "return"})
    assert too_much.status_code == nothing.status_code == 200
    assert "less than or equal to 2" in too_much.content.decode()
    assert "Enter the units to credit on at least one line." in nothing.content.decode()
    with in_a(tid):
        [note] = CreditNote.objects.all()
    assert reload_invoice(invoice).credited_amount == note.total
    # an analyst may not even open it
    assert client_for(cast_a, Role.MANUFACTURER_ANALYST).get(url).status_code == 403


def test_the_batch_page_starts_the_job_and_shows_its_progress_then_its_result(
        cast_a, allocated, tid, django_capture_on_commit_callbacks):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    assert "Invoice a day" in staff.get(INVOICES).content.decode()
    assert staff.get(f"{INVOICES}batch/").status_code == 200
    # when: the page starts the job without running it yet
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = staff.post(f"{INVOICES}batch/", {"date": "2025-06-02"})
    assert started.status_code == 302 and len(queued) == 1
    waiting = staff.get(started["Location"]).content.decode()
    # then: it shows progress and refreshes itself
    assert 'http-equiv="refresh"' in waiting and "job-progress" in waiting
    # when: the worker runs it
    queued[0]()
    done = staff.get(started["Location"]).content.decode()
    # then
    assert 'http-equiv="refresh"' not in done and "1 invoiced" in done
    with in_a(tid):
        invoice = Invoice.objects.get(order_id=allocated.pk)
        assert BackgroundJob.objects.get().status == "succeeded"
    assert invoice.number_text in done
    # managers and analysts may not start batches; another distributor's job is not found
    assert client_for(cast_a, Role.MANUFACTURER_ADMIN).get(f"{INVOICES}batch/").status_code == 403
    sibling = client_for(cast_a, "distributor_staff@A2")
    assert sibling.get(started["Location"]).status_code == 404


def test_a_payment_entered_twice_is_recorded_once(cast_a, invoice, tid):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    page = staff.get(f"{PAYMENTS}record/").content.decode()
    assert 'name="idempotency_key"' in page
    form = {"outlet_code": "A1-SHOP", "amount": "500.00", "method": "cheque", "received_on": "2025-09-02",
            "reference": "CHQ-1", "idempotency_key": "form-key-1"}
    first = staff.post(f"{PAYMENTS}record/", form)
    second = staff.post(f"{PAYMENTS}record/", form)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    unknown = staff.post(f"{PAYMENTS}record/", {**form, "outlet_code": "NOPE", "idempotency_key": "k2"})
    assert "No outlet of yours has this code." in unknown.content.decode()
    with in_a(tid):
        assert Payment.objects.count() == 1
    assert reload_invoice(invoice).paid_amount == D("500.00")
    assert "CHQ-1" in staff.get(first["Location"]).content.decode()
    assert client_for(cast_a, Role.MANUFACTURER_ANALYST).get(f"{PAYMENTS}record/").status_code == 403


def test_the_outlet_balance_page_ages_the_outlets_invoices(cast_a, invoice, sibling_invoice):
    staff = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    page = staff.get(f"{INVOICES}balance/?outlet_code=A1-SHOP&on_date=2025-11-15").content.decode()
    assert "A1-SHOP Corner shop" in page and invoice.number_text in page
    assert f'id="balance-receivable"><strong>{invoice.total}</strong>' in page
    # a sibling's outlet code is unknown to this distributor's staff, known to the manufacturer
    assert "No outlet of yours" in staff.get(f"{INVOICES}balance/?outlet_code=A2-SHOP").content.decode()
    manufacturer = client_for(cast_a, Role.MANUFACTURER_ANALYST).get(f"{INVOICES}balance/?outlet_code=A2-SHOP")
    assert sibling_invoice.number_text in manufacturer.content.decode()
