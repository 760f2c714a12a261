"""An invoice's delivery state (DESIGN §3: issued -> delivered | partially_delivered | returned), set by the
settlement of the load form that carried it. Only the state moves: the figures of an issued invoice never change
(corrections for what came back are credit notes, issued before this is called)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F

from dms.core.errors import NotFound
from dms.core.transitions import transition
from dms.tenancy.scope import Scope

from ..locks import lock_invoices
from ..models import Invoice, InvoiceEvent


@transaction.atomic
def invoice_record_delivery(*, scope: Scope, invoice_id: int, status: str, reason: str = "",
                            detail: dict[str, Any] | None = None) -> Invoice:
    """Issued -> `status` under the invoice's lock, with an InvoiceEvent (who, when, why). Any other move is an
    InvalidTransition (409). Callers holding the invoice's lock already may call it: it is the same row lock."""
    invoice = lock_invoices(scope).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("Invoice not found.")
    transition(invoice, to=status, actor=scope.actor, reason=reason[:300], event_model=InvoiceEvent,
               event_fk="invoice", distributor_id=invoice.distributor_id, detail=detail or {})
    Invoice.objects.filter(pk=invoice.pk).update(version=F("version") + 1)
    invoice.refresh_from_db(fields=["version"])
    return invoice
