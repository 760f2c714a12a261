from django.db import models


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class VisitStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    CHECKED_IN = "checked_in", "Checked in"
    PRODUCTIVE = "productive", "Productive"
    UNPRODUCTIVE = "unproductive", "Unproductive"
    MISSED = "missed", "Missed"


class UnproductiveReason(models.TextChoices):
    """Why a visit produced no order: the list the app shows (sent in the pull)."""

    SHOP_CLOSED = "shop_closed", "Shop closed"
    OWNER_ABSENT = "owner_absent", "Owner / buyer not available"
    STOCK_SUFFICIENT = "stock_sufficient", "Enough stock on the shelf"
    NO_CASH = "no_cash", "No cash / credit issue"
    REFUSED = "refused", "Refused to order"
    COMPETITOR = "competitor", "Bought from a competitor"
    OTHER = "other", "Other (see note)"


class ProposalKind(models.TextChoices):
    SEQUENCE = "sequence", "Sequence a route"
    BUILD_ROUTES = "build_routes", "Build routes"


class ProposalStatus(models.TextChoices):
    READY = "ready", "Ready for review"
    ACCEPTED = "accepted", "Accepted"
    DISCARDED = "discarded", "Discarded"
    STALE = "stale", "Stale (the routes changed since)"
