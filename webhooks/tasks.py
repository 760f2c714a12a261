"""Celery interfaces of webhooks (delivery, re-drive). Filled in by the webhooks work."""

from __future__ import annotations


def enqueue_deliveries(tenant_id: int, delivery_ids: list[int]) -> None:
    """Send each delivery's task to the broker (after the emitting transaction committed)."""
