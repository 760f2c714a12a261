"""Every write of webhooks. Endpoints and the manual retry are in `endpoints`, the delivery engine (deliver,
re-drive, backoff) in `delivery`; import them from here."""

from .delivery import (
    REDRIVE_BATCH,
    USER_AGENT,
    body_of,
    deliver,
    fail_pending_deliveries,
    redrive,
    retry_delay,
    signed_headers,
)
from .endpoints import (
    check_endpoint_url,
    check_event_types,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
    generate_secret,
)

__all__ = [
    "REDRIVE_BATCH", "USER_AGENT", "body_of", "check_endpoint_url", "check_event_types", "deliver",
    "delivery_retry", "endpoint_create", "endpoint_delete", "endpoint_rotate_secret", "endpoint_send_test",
    "endpoint_update", "fail_pending_deliveries", "generate_secret", "redrive", "retry_delay", "signed_headers",
]
