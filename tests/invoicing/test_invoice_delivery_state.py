"""An invoice's delivery state moves once, issued -> delivered | partially_delivered | returned, through one
service with an audit event; its figures stay as issued."""

from __future__ import annotations

import pytest

from dms.core.errors import InvalidTransition
from invoicing.models import InvoiceEvent
from invoicing.services import invoice_record_delivery
from tests.factories.invoicing import issue, reload_invoice

from .conftest import in_a

pytestmark = pytest.mark.django_db


def test_a_delivery_moves_the_state_once_with_an_event_and_nothing_else(tid, allocated):
    # given
    invoice = issue(allocated)
    # when
    with in_a(tid) as scope:
        moved = invoice_record_delivery(scope=scope, invoice_id=invoice.pk, status="partially_delivered",
                                        reason="LF-000001: 6 bottles broken", detail={"load_form_id": 1})
    # then
    after = reload_invoice(invoice)
    assert (moved.status, after.status, after.version) == ("partially_delivered", "partially_delivered",
                                                            invoice.version + 1)
    assert (after.total, after.number_text) == (invoice.total, invoice.number_text)
    with in_a(tid):
        [event] = InvoiceEvent.objects.filter(invoice_id=invoice.pk)
    assert (event.from_status, event.to_status, event.reason, event.detail) == (
        "issued", "partially_delivered", "LF-000001: 6 bottles broken", {"load_form_id": 1})
    # when: a second outcome
    with in_a(tid) as scope, pytest.raises(InvalidTransition):
        invoice_record_delivery(scope=scope, invoice_id=invoice.pk, status="returned")
    # then: unchanged
    assert reload_invoice(invoice).status == "partially_delivered"
