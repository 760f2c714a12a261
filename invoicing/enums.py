from django.db import models


class InvoiceStatus(models.TextChoices):
    """DESIGN §3, invoice delivery state (payment has its own field)."""

    ISSUED = "issued", "Issued"
    DELIVERED = "delivered", "Delivered"
    PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
    RETURNED = "returned", "Returned"


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"


class DocumentKind(models.TextChoices):
    """What a number series numbers."""

    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class CreditReason(models.TextChoices):
    RETURN = "return", "Goods returned"
    DAMAGE = "damage", "Damaged goods"
    SHORT_DELIVERY = "short_delivery", "Short delivery"
    CANCELLATION = "cancellation", "Cancellation"
    PRICE = "price", "Price correction"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    TRANSFER = "transfer", "Bank transfer"
