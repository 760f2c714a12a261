"""The order-booker app's sync bookkeeping: refresh-token sessions, pushed batches (idempotency), the items
each device has sent (by its sequence numbers) and each device's sync health."""

from __future__ import annotations

from django.db import models

from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel


class DeviceSession(DistributorModel):
    """One refresh token of a device. Refreshing rotates it: the old row is marked `rotated_at` and a new row of
    the same `family` is issued. Presenting a rotated token again means it was copied: the whole family is
    revoked (the app must sign in again). Revoking the device ends every session at the next access refresh."""

    device = DistributorForeignKey("tenancy.Device", on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=64, help_text="the refresh token's id claim")
    family = models.UUIDField(help_text="all rotations of one sign-in")
    expires_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["distributor", "jti"], name="devicesession_jti_uniq")]
        indexes = [models.Index(fields=["distributor", "family"], name="devicesession_family")]


class PushBatch(DistributorModel):
    """A push request that was processed, stored with its response under the app's `Idempotency-Key`.

    Written in the same transaction as the push's effects, so a stored response always describes committed
    work, and a push that failed half-way left neither. `fingerprint` is the SHA-256 of the canonical body: the
    same key with another body is refused (422)."""

    device = DistributorForeignKey("tenancy.Device", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    items = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["distributor", "device", "key"], name="pushbatch_key_uniq")]


class SyncItem(DistributorModel):
    """One item a device pushed, by its `device_seq` (strictly increasing per device): the record day close
    compares its counts and sequence numbers against, and where the gaps come from."""

    device = DistributorForeignKey("tenancy.Device", on_delete=models.CASCADE, related_name="+")
    device_seq = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    object_uuid = models.UUIDField()
    result = models.CharField(max_length=20)
    work_date = models.DateField(help_text="the booker's working day the item belongs to (tenant-local)")

    class Meta:
        ordering = ["device", "device_seq"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "device", "device_seq"], name="syncitem_seq_uniq"),
        ]
        indexes = [models.Index(fields=["distributor", "device", "work_date"], name="syncitem_device_day")]


class SyncHealth(DistributorModel):
    """A device's sync record, for distributor staff: last pull and push, what the last day close found."""

    class Status(models.TextChoices):
        OK = "ok", "In sync"
        GAPS = "gaps", "Items missing"
        FAILING = "failing", "Pushes failing"
        NEVER = "never", "Never synced"

    device = DistributorForeignKey("tenancy.Device", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEVER)
    last_pull_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    high_water_seq = models.BigIntegerField(default=0, help_text="highest device_seq received")
    last_day_close_at = models.DateTimeField(null=True, blank=True)
    last_day_close = models.JSONField(default=dict, blank=True,
                                      help_text="the device's counts and what the server held for that day")
    missing_seqs = models.JSONField(default=list, blank=True, help_text="sequence ranges never received")
    rejected_items = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0, help_text="pushes that failed since the last success")
    last_failure = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name_plural = "sync health"
        ordering = ["device"]
        constraints = [models.UniqueConstraint(fields=["distributor", "device"], name="synchealth_one_per_device")]
