"""Abstract model bases with no domain (the tenancy bases live in dms.tenancy.models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models


def status_field(choices: Sequence[tuple[str, Any]]) -> models.CharField:
    """An event's from_status or to_status: one of its document's statuses, blank for an action that changes none."""
    return models.CharField(max_length=20, choices=choices, blank=True)


class TransitionEvent(models.Model):
    """The audit row of a stateful document: a status change (written by core.transitions.transition) or another
    action (an edit, a delivery), who, when, why. A concrete event adds its tenancy base, the foreign key to its
    document and the statuses:

        class LoadFormEvent(DistributorModel, TransitionEvent):
            load_form = DistributorForeignKey(LoadForm, on_delete=models.CASCADE, related_name="events")
            from_status = status_field(LoadFormStatus.choices)
            to_status = status_field(LoadFormStatus.choices)
    """

    action = models.CharField(max_length=30, default="transition")
    actor_kind = models.CharField(max_length=10)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
