from django.db import models


class OrderStatus(models.TextChoices):
    """DESIGN §3, secondary order."""

    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    ALLOCATED = "allocated", "Allocated"
    PARTIALLY_ALLOCATED = "partially_allocated", "Partially allocated"
    INVOICED = "invoiced", "Invoiced"
    LOADED = "loaded", "Loaded"
    DELIVERED = "delivered", "Delivered"
    PARTIALLY_DELIVERED = "partially_delivered", "Partially delivered"
    RETURNED = "returned", "Returned"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class OrderSource(models.TextChoices):
    MOBILE = "mobile", "Order-booker app"
    ADMIN = "admin", "Admin"
    API = "api", "API"


class HoldKind(models.TextChoices):
    NONE = "", "Not held"
    CREDIT = "credit", "Over the outlet's credit limit"


class PrimaryOrderStatus(models.TextChoices):
    """DESIGN §3, primary order (distributor -> manufacturer)."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    PARTIALLY_APPROVED = "partially_approved", "Partially approved"
    REJECTED = "rejected", "Rejected"
    DISPATCHED = "dispatched", "Dispatched"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"
