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


class ProposalKind(models.TextChoices):
    SEQUENCE = "sequence", "Sequence a route"
    BUILD_ROUTES = "build_routes", "Build routes"


class ProposalStatus(models.TextChoices):
    READY = "ready", "Ready for review"
    ACCEPTED = "accepted", "Accepted"
    DISCARDED = "discarded", "Discarded"
    STALE = "stale", "Stale (the routes changed since)"
