from enum import StrEnum


class OrderError(StrEnum):
    INVALID = "invalid"
    CREDIT_LIMIT = "credit_limit"
    ON_HOLD = "on_hold"
    NOT_BOOKED = "not_booked"
    STALE_VERSION = "stale_version"
