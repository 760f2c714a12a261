"""The nightly reconciliation's records: one run per tenant and business date, and the exceptions it found.

An exception is identified by (distributor, check_code, key): the key names the mismatch (``order:42:booked``,
``journey:7``), so finding it again on a later night or in a second run updates the row (last seen, figures)
instead of adding one. Staff work the queue: assign, resolve with a note. A mismatch a later pass no longer finds
is cleared by the run, and re-opened if it comes back.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dms.core.models import TransitionEvent, status_field
from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel, TenantModel

from .enums import ExceptionStatus, RunStatus, RunTrigger


class ReconciliationRun(TenantModel):
    """The reconciliation of one tenant's business date. Re-running the date reuses the row (attempts counts the
    tries); each check commits on its own and is listed in checks_done, so a run that died resumes where it
    stopped."""

    business_date = models.DateField(help_text="the tenant-local business date reconciled")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.BEAT)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker claimed the run")
    started_at = models.DateTimeField(null=True, blank=True, help_text="when the last attempt started")
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True, help_text="time spent in the checks")
    lease_until = models.DateTimeField(null=True, blank=True,
                                       help_text="a running run whose lease passed is picked up again")
    checks_done = models.JSONField(default=list, blank=True, help_text="codes of the checks committed, in order")
    counts = models.JSONField(default=dict, blank=True,
                              help_text="per check: found, new, cleared, ms (and what it changed, e.g. missed)")
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "business_date"], name="reconrun_date_uniq")]
        indexes = [models.Index(fields=["status", "lease_until"], name="reconrun_lease")]
        ordering = ["-business_date"]

    def __str__(self) -> str:
        return f"Reconciliation of {self.business_date.isoformat()}"


class ReconciliationException(DistributorModel):
    """A mismatch found by a check, with the records involved; a queue item for staff."""

    check_code = models.CharField(max_length=40, help_text="the check that found it (reconciliation.checks)")
    key = models.CharField(max_length=200, help_text="what the mismatch is about, unique per check")
    business_date = models.DateField(help_text="the business date of the run that first found it")
    first_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="+")
    first_seen_on = models.DateField()
    last_seen_on = models.DateField()
    last_pass = models.UUIDField(help_text="the check execution that last found it")
    subject_type = models.CharField(max_length=30, help_text='the main record: "order", "invoice", "device", ...')
    subject_id = models.BigIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500)
    records = models.JSONField(default=list, blank=True,
                               help_text='the records involved: [{"type": "invoice", "id": 12, "ref": "INV-..."}]')
    detail = models.JSONField(default=dict, blank=True, help_text="the figures compared")
    status = models.CharField(max_length=10, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=1000, blank=True)

    S = ExceptionStatus
    # Staff assign, unassign (back to open), resolve and re-open; the run clears and re-opens (services/run.py).
    TRANSITIONS = {
        S.OPEN: {S.ASSIGNED, S.RESOLVED, S.CLEARED},
        S.ASSIGNED: {S.OPEN, S.RESOLVED, S.CLEARED},
        S.RESOLVED: {S.OPEN},
        S.CLEARED: {S.OPEN},
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "distributor", "check_code", "key"], name="reconexc_key_uniq"),
            models.CheckConstraint(condition=~Q(status="resolved") | ~Q(resolution_note=""),
                                   name="reconexc_resolved_has_note"),
        ]
        indexes = [
            models.Index(fields=["tenant", "check_code", "status"], name="reconexc_check"),
            models.Index(fields=["distributor", "status", "business_date"], name="reconexc_queue"),
        ]
        ordering = ["-business_date", "check_code", "id"]

    def __str__(self) -> str:
        return f"{self.check_code}: {self.message[:80]}"


class ExceptionEvent(DistributorModel, TransitionEvent):
    """Audit of the queue: assigned, resolved, cleared, re-opened; who, when, why."""

    exception = DistributorForeignKey(ReconciliationException, on_delete=models.CASCADE, related_name="events")
    from_status = status_field(ExceptionStatus.choices)
    to_status = status_field(ExceptionStatus.choices)

    class Meta:
        ordering = ["exception", "created_at", "id"]


class LedgerCheckpoint(DistributorModel):
    """A distributor's stock ledger summed up to a movement id: where the nightly stock check (checks/money.py,
    stock_ledger) starts, so that it reads the movements written since instead of the whole ledger each night.

    The sums are the check's control totals (on hand and reserved deltas under its two weightings of warehouse and
    SKU); `weights` names that weighting, and a checkpoint of another one counts as none (it is rebuilt). Moved
    forward by the check's prepare step only (never by operational code), to movements older than
    RECONCILIATION_LEDGER_SETTLED_MINUTES: a movement id is taken when its transaction inserts it, so one taken
    earlier may still commit after a later one; by then it has. A tenant's checkpoints share one upto_movement_id."""

    upto_movement_id = models.BigIntegerField(default=0, help_text="the movements with ids up to this are summed")
    movements = models.BigIntegerField(default=0)
    on_hand_1 = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    on_hand_2 = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    reserved_1 = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    reserved_2 = models.DecimalField(max_digits=40, decimal_places=0, default=0)
    weights = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor"], name="ledgercheckpoint_uniq")]

    def __str__(self) -> str:
        return f"Ledger of distributor {self.distributor_id} up to movement {self.upto_movement_id}"
