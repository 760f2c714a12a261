from django.db import models


class AdviceStatus(models.TextChoices):
    ISSUED = "issued", "Issued (in transit)"
    RECEIVED = "received", "Received (GRN recorded)"


class LoadFormStatus(models.TextChoices):
    """DESIGN §3: planned -> loaded -> out_for_delivery -> settled; a planned load form may be cancelled (its
    invoices go back to the pool for another load form)."""

    PLANNED = "planned", "Planned"
    LOADED = "loaded", "Loaded"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    SETTLED = "settled", "Settled"
    CANCELLED = "cancelled", "Cancelled"


class DeliveryOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
    RETURNED = "returned", "Returned"


class Restock(models.TextChoices):
    """What happens to goods that come back on the van (invoicing.services.credit_note_issue's `restock`)."""

    SALEABLE = "saleable", "Back into stock (saleable)"
    DAMAGED = "damaged", "Damaged (returned and written off)"
    NONE = "none", "Not back (no stock movement)"


class CollectionMethod(models.TextChoices):
    """What a delivery man collects on a round (invoicing's PaymentMethod, without bank transfers)."""

    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
