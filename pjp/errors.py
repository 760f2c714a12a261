from enum import StrEnum


class PjpError(StrEnum):
    INVALID = "invalid"
    DUPLICATE_CODE = "duplicate_code"
    STALE_VERSION = "stale_version"
    INVALID_OUTLET = "invalid_outlet"
    DUPLICATE_OUTLET = "duplicate_outlet"
    INVALID_WEEKS = "invalid_weeks"
    ROUTE_IN_USE = "route_in_use"
    ANCHOR_NOT_MONDAY = "anchor_not_monday"
    NOT_A_BOOKER = "not_a_booker"
    INVALID_SLOT = "invalid_slot"
    BOOKER_DOUBLE_BOOKED = "booker_double_booked"
    OUTLET_OVERLAP = "outlet_overlap"
    START_IN_PAST = "start_in_past"
    VERSION_CONFLICT = "version_conflict"
    FUTURE_VISIT = "future_visit"
    NOT_YOUR_VISIT = "not_your_visit"
    NO_JOURNEY = "no_journey"
    VISIT_CLOSED = "visit_closed"
