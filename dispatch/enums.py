from django.db import models


class AdviceStatus(models.TextChoices):
    ISSUED = "issued", "Issued (in transit)"
    RECEIVED = "received", "Received (GRN recorded)"
