"""An issued invoice, its lines, its credit notes and their lines cannot be changed or deleted by any path: ORM
save, queryset update and delete, raw SQL. Only an invoice's state and collection columns move."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.services import credit_note_issue
from tests.factories.invoicing import issue

from .conftest import ISSUE_AT, in_a

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def documents(allocated, tid):
    """(invoice, its first line, a credit note of one cola unit, its line)."""
    invoice = issue(allocated, at=ISSUE_AT)
    with in_a(tid) as scope:
        line = InvoiceLine.objects.filter(invoice=invoice).order_by("line_no").first()
        note = credit_note_issue(scope=scope, invoice_id=invoice.pk, reason="return", lines=[(line.pk, 1)])
        return invoice, line, note, CreditNoteLine.objects.get(credit_note=note)


def refused(action) -> str:  # type: ignore[no-untyped-def]
    """Run `action` in a savepoint; the IntegrityError's message (the test fails if none is raised)."""
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        action()
    return str(caught.value)


def test_no_path_changes_an_issued_invoice(documents, tid):
    invoice = documents[0]
    with in_a(tid):
        obj = Invoice.objects.get(pk=invoice.pk)
        obj.total = D("0.00")
        assert "only status, payment_status" in refused(obj.save)
        assert "issued document" in refused(lambda: Invoice.objects.filter(pk=invoice.pk).update(total=D("1.00")))
        assert "issued document" in refused(
            lambda: Invoice.objects.filter(pk=invoice.pk).update(number_text="INV/2025/999999"))
        assert "issued document" in refused(lambda: connection.cursor().execute(
            "UPDATE invoicing_invoice SET total = 0 WHERE id = %s", [invoice.pk]))
        assert "issued document" in refused(lambda: connection.cursor().execute(
            "UPDATE invoicing_invoice SET invoice_date = invoice_date - 1 WHERE id = %s", [invoice.pk]))
        # then nothing moved
        fresh = Invoice.objects.get(pk=invoice.pk)
    assert (fresh.total, fresh.number_text, fresh.invoice_date) == (invoice.total, invoice.number_text,
                                                                     invoice.invoice_date)


def test_no_path_deletes_an_issued_invoice(documents, tid):
    invoice = documents[0]
    with in_a(tid):
        refused(Invoice.objects.get(pk=invoice.pk).delete)  # PROTECTed by its lines (ProtectedError)
        refused(lambda: Invoice.objects.filter(pk=invoice.pk).delete())
        message = refused(lambda: connection.cursor().execute("DELETE FROM invoicing_invoice WHERE id = %s",
                                                              [invoice.pk]))
        assert "cannot be deleted" in message  # the trigger, before any foreign key is looked at
        assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_no_path_changes_or_deletes_an_invoice_line(documents, tid):
    _invoice, line, _note, _note_line = documents
    with in_a(tid):
        obj = InvoiceLine.objects.get(pk=line.pk)
        obj.qty_units = 1
        assert "only nothing may change" in refused(obj.save)
        refused(lambda: InvoiceLine.objects.filter(pk=line.pk).update(total=D("0.00")))
        refused(lambda: connection.cursor().execute(
            "UPDATE invoicing_invoiceline SET case_price = 1 WHERE id = %s", [line.pk]))
        refused(InvoiceLine.objects.get(pk=line.pk).delete)
        refused(lambda: InvoiceLine.objects.filter(pk=line.pk).delete())
        assert "cannot be deleted" in refused(lambda: connection.cursor().execute(
            "DELETE FROM invoicing_invoiceline WHERE id = %s", [line.pk]))
        assert InvoiceLine.objects.get(pk=line.pk).total == line.total


def test_no_path_changes_or_deletes_a_credit_note_or_its_lines(documents, tid):
    _invoice, _line, note, note_line = documents
    with in_a(tid):
        obj = CreditNote.objects.get(pk=note.pk)
        obj.reason_text = "edited"
        refused(obj.save)
        refused(lambda: CreditNote.objects.filter(pk=note.pk).update(total=D("0.01")))
        refused(lambda: connection.cursor().execute("UPDATE invoicing_creditnote SET total = 5 WHERE id = %s",
                                                    [note.pk]))
        refused(lambda: CreditNote.objects.filter(pk=note.pk).delete())
        refused(lambda: connection.cursor().execute("DELETE FROM invoicing_creditnote WHERE id = %s", [note.pk]))
        refused(lambda: CreditNoteLine.objects.filter(pk=note_line.pk).update(qty_units=2))
        refused(lambda: connection.cursor().execute("UPDATE invoicing_creditnoteline SET total = 0 WHERE id = %s",
                                                    [note_line.pk]))
        refused(lambda: CreditNoteLine.objects.filter(pk=note_line.pk).delete())
        assert (CreditNote.objects.get(pk=note.pk).total, CreditNoteLine.objects.get(pk=note_line.pk).qty_units) == (
            note.total, 1)


def test_state_and_collection_columns_still_move(documents, tid):
    invoice = documents[0]
    with in_a(tid):
        # when: delivery and payment state move, by queryset update and by raw SQL
        Invoice.objects.filter(pk=invoice.pk).update(status="delivered", payment_status="partially_paid",
                                                     paid_amount=D("100.00"), version=F("version") + 1)
        connection.cursor().execute("UPDATE invoicing_invoice SET credited_amount = credited_amount + 1 "
                                    "WHERE id = %s", [invoice.pk])
        # and a save() that changes only those columns
        obj = Invoice.objects.get(pk=invoice.pk)
        obj.status = "returned"
        obj.save()
        fresh = Invoice.objects.get(pk=invoice.pk)
    # then
    assert (fresh.status, fresh.payment_status, fresh.paid_amount) == ("returned", "partially_paid", D("100.00"))
    assert fresh.credited_amount == invoice.credited_amount + documents[2].total + 1
    assert fresh.total == invoice.total and fresh.version == invoice.version + 2
