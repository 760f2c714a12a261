from enum import StrEnum


class WebhookError(StrEnum):
    URL_REFUSED = "url_refused"  # not http(s), not resolvable, or a private/loopback/link-local/... address
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    ENDPOINT_DISABLED = "endpoint_disabled"
    DELIVERY_NOT_FAILED = "delivery_not_failed"
