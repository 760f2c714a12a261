from enum import StrEnum


class InvoicingError(StrEnum):
    INVALID = "invalid"
    NOT_ALLOCATED = "not_allocated"
    NOTHING_ALLOCATED = "nothing_allocated"
    CREDIT_EXCEEDS_INVOICE = "credit_exceeds_invoice"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
