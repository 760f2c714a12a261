"""Outbound webhooks (transactional outbox).

A change that others must hear of calls `webhooks.events.emit` inside its own transaction: that writes one
OutboxEvent and one WebhookDelivery per active endpoint subscribed to the event's type, so the event commits or
rolls back with the change and is never lost. Celery delivers each WebhookDelivery (signed in the Standard Webhooks
format with the endpoint's secret), retries with backoff and jitter, and logs every try as a WebhookAttempt; a beat
task re-drives deliveries whose enqueue was lost (a worker or web process dying after the commit). An endpoint
that keeps failing is disabled.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from dms.tenancy.models import TenantModel

from .enums import DeliveryStatus, EventType


class WebhookEndpoint(TenantModel):
    """A manufacturer's receiving URL and the event types it wants (empty list: every type)."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True, help_text="EventType values; empty means all")
    secret = models.CharField(max_length=100, help_text='Standard Webhooks signing secret, "whsec_<base64>"')
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="deliveries given up in a row; reset by a success")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.event_types or event_type in self.event_types)


class OutboxEvent(TenantModel):
    """One event, written in the transaction of the change it reports. `msg_id` is the Standard Webhooks
    `webhook-id`: every delivery and retry of the event carries it, so receivers can drop duplicates."""

    msg_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    distributor_id = models.BigIntegerField(null=True, blank=True, help_text="the distributor it concerns, if any")
    payload = models.JSONField(help_text='the body sent: {"type", "timestamp", "data"}')

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "msg_id"], name="outboxevent_msg_id_uniq")]
        indexes = [models.Index(fields=["tenant", "event_type", "created_at"], name="outboxevent_type")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.msg_id}"


class WebhookDelivery(TenantModel):
    """One event to one endpoint. `lease_until` is set while a worker is sending it; a lease that runs out (the
    worker died) makes it due again."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["tenant", "event", "endpoint"], name="webhookdelivery_once")]
        indexes = [models.Index(fields=["next_attempt_at"], condition=Q(status=DeliveryStatus.PENDING),
                                name="webhookdelivery_due")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(TenantModel):
    """The delivery log: one row per HTTP try."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "delivery", "number"], name="webhookattempt_number_uniq"),
        ]
