from django.db import models


class EventType(models.TextChoices):
    """What a manufacturer can subscribe to. The name is the Standard Webhooks `type` of the payload."""

    PRIMARY_ORDER_SUBMITTED = "primary_order.submitted", "Primary order submitted"
    PRIMARY_ORDER_CANCELLED = "primary_order.cancelled", "Primary order cancelled"
    PRIMARY_ORDER_DECIDED = "primary_order.decided", "Primary order approved or rejected"
    PRIMARY_ORDER_CLOSED = "primary_order.closed", "Primary order closed"
    DISPATCH_ADVICE_ISSUED = "dispatch_advice.issued", "Dispatch advice issued"
    GOODS_RECEIVED = "goods_receipt.recorded", "Goods received (GRN recorded)"
    # Sent only by "send a test event" to the one endpoint asked; never emitted, never subscribed to.
    ENDPOINT_TEST = "webhook.test", "Test event"


def subscribable_event_types() -> list[str]:
    """The values an endpoint may list in `event_types` (every EventType except the test event)."""
    return [value for value in EventType.values if value != EventType.ENDPOINT_TEST]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its next attempt (the first, or a retry)
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # gave up: attempts exhausted or the endpoint was disabled
