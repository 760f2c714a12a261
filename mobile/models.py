"""The order-booker app's sync bookkeeping: refresh-token sessions, pushed batches (idempotency), the items
each device has sent (by its sequence numbers) and each device's sync health."""

from __future__ import annotations

from django.db import models

from dms.tenancy.fields import DistributorForeignKey
from dms.tenancy.models import DistributorModel, TenantModel


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


class DayClose(DistributorModel):
    """What a device said about one working day when it closed it: the sequence range it used and its counts per
    kind. One row per device and day (a repeated day close updates it), kept so the nightly reconciliation can
    compare every device's account with what the server holds, not only the last one SyncHealth shows."""

    device = DistributorForeignKey("tenancy.Device", on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="the booker's working day closed (tenant-local)")
    first_device_seq = models.BigIntegerField()
    last_device_seq = models.BigIntegerField()
    device_counts = models.JSONField(default=dict, blank=True, help_text="items per kind the app says it sent")
    reported_at = models.DateTimeField(help_text="when the app last closed this day")

    class Meta:
        verbose_name = "day close"
        ordering = ["-date", "device"]
        constraints = [
            models.UniqueConstraint(fields=["distributor", "device", "date"], name="dayclose_device_date_uniq"),
        ]
        # The reconciliation reads a tenant's day closes of one date.
        indexes = [models.Index(fields=["tenant", "date"], name="dayclose_tenant_date")]

    def __str__(self) -> str:
        return f"day close of device {self.device_id} on {self.date.isoformat()}"


class SyncClock(TenantModel):
    """The change-feed counter of one tenant (`distributor_key` 0: tenant master data) or one of its distributors.

    Writers take `last_seq + 1` once per transaction (database triggers, mobile.changes) and hold the row lock to
    commit, so seq order is commit order: every seq up to a committed `last_seq` is committed, and a pull reading
    `seq > cursor` never skips a slow writer. Changes with `seq <= pruned_below` may have been deleted: a cursor
    behind that mark is expired (410) and the app pulls everything again."""

    distributor_key = models.BigIntegerField(help_text="the distributor's id; 0 for the tenant-level clock")
    last_seq = models.BigIntegerField(default=0)
    pruned_below = models.BigIntegerField(default=0, help_text="changes up to this seq may have been pruned")

    class Meta:
        ordering = ["distributor_key"]
        constraints = [models.UniqueConstraint(fields=["tenant", "distributor_key"], name="syncclock_one_per_key")]


class SyncChange(TenantModel):
    """"Object `object_id` of `entity` may have changed" at `seq` of the (tenant, distributor_key) clock.

    Written only by the database triggers (every write path is captured); the pull re-reads the object through
    the device's visibility and sends it as upserted or deleted. Pruned after SYNC_CHANGE_RETENTION_DAYS."""

    distributor_key = models.BigIntegerField()
    seq = models.BigIntegerField()
    entity = models.CharField(max_length=20)
    object_id = models.BigIntegerField()

    class Meta:
        ordering = ["distributor_key", "seq", "id"]
        # The feed reads (tenant, key) in (seq, id) order, so a page can resume inside one huge transaction.
        indexes = [models.Index(fields=["tenant", "distributor_key", "seq", "id"], name="syncchange_feed")]
