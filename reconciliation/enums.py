"""Reconciliation states and codes."""

from __future__ import annotations

from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RunTrigger(models.TextChoices):
    BEAT = "beat", "Nightly schedule"
    MANUAL = "manual", "Run by hand (admin or API)"
    COMMAND = "command", "Management command"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    RESOLVED = "resolved", "Resolved"
    CLEARED = "cleared", "Cleared (no longer found)"


OPEN_STATES = (ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED)


class CheckScope(models.TextChoices):
    """What a check looks at. A `day` check finds mismatches of the business date (a missed visit of that day); a
    `state` check finds mismatches of the present state whatever the date (a stock balance off its ledger, an order
    stuck in its state). Exceptions a pass no longer finds are cleared: a day check clears only its date's."""

    DAY = "day", "The business date"
    STATE = "state", "The present state"
