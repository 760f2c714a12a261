from django.db import models


class MovementKind(models.TextChoices):
    """DESIGN §4: the kinds of stock movement. Each moves on-hand and reserved in a fixed way (services.EFFECTS)."""

    RECEIPT = "receipt", "Receipt"
    ALLOCATION = "allocation", "Allocation"
    RELEASE = "release", "Release"
    DISPATCH = "dispatch", "Dispatch"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Adjustment"
