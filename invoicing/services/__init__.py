"""Every write of the invoicing app. One module per document; import from here."""

from .batch import BATCH_KIND, invoice_batch_job, invoice_batch_start
from .credit_notes import CREDIT_NOTE_SERIES, RESTOCK, CreditLine, credit_note_issue
from .delivery import invoice_record_delivery
from .invoices import (
    INVOICE_SERIES,
    INVOICEABLE,
    MAX_ORDERS,
    IssueResult,
    invoice_issue,
    invoice_issue_chunk,
    invoice_issue_many,
    invoice_issue_one,
)
from .numbers import fiscal_year_of, number_take, number_text
from .payments import payment_record, settle_status

__all__ = [
    "BATCH_KIND",
    "CREDIT_NOTE_SERIES",
    "INVOICEABLE",
    "INVOICE_SERIES",
    "MAX_ORDERS",
    "RESTOCK",
    "CreditLine",
    "IssueResult",
    "credit_note_issue",
    "fiscal_year_of",
    "invoice_batch_job",
    "invoice_batch_start",
    "invoice_issue",
    "invoice_record_delivery",
    "invoice_issue_chunk",
    "invoice_issue_many",
    "invoice_issue_one",
    "number_take",
    "number_text",
    "payment_record",
    "settle_status",
]
