"""Every write of the orders app. One module per area; import from here."""

from .booking import (
    APPLIED,
    CONFLICT,
    DUPLICATE,
    Booking,
    BookResult,
    booking_fingerprint,
    order_book,
    order_book_preload,
)
from .common import MAX_LINES, BookedLine
from .primary import (
    LineDecision,
    PrimaryLine,
    primary_order_cancel,
    primary_order_create,
    primary_order_decide,
    primary_order_submit,
    primary_order_update_lines,
)
from .staff import (
    KEEP,
    MAX_BULK,
    BulkResult,
    order_cancel,
    order_cancel_many,
    order_confirm,
    order_confirm_many,
    order_edit,
    order_release_hold,
    order_release_hold_many,
)

__all__ = [
    "APPLIED",
    "CONFLICT",
    "DUPLICATE",
    "KEEP",
    "MAX_BULK",
    "MAX_LINES",
    "BookResult",
    "BookedLine",
    "Booking",
    "BulkResult",
    "LineDecision",
    "PrimaryLine",
    "booking_fingerprint",
    "order_book",
    "order_book_preload",
    "order_cancel",
    "order_cancel_many",
    "order_confirm",
    "order_confirm_many",
    "order_edit",
    "order_release_hold",
    "order_release_hold_many",
    "primary_order_cancel",
    "primary_order_create",
    "primary_order_decide",
    "primary_order_submit",
    "primary_order_update_lines",
]
