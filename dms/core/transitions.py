"""The one helper every state transition goes through: checks the source state, saves, writes the event."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from .errors import InvalidTransition


def transition(obj: Any, *, to: str, actor: Any, reason: str = "", event_model: type[models.Model],
               event_fk: str, status_field: str = "status", **event_fields: Any) -> Any:
    """Move `obj` to state `to` if `type(obj).TRANSITIONS` allows it, and record who, when, from, to, why.

    The caller holds the row lock (see the app's locks.py) and runs inside a transaction.
    """
    current = getattr(obj, status_field)
    allowed = type(obj).TRANSITIONS.get(current, set())
    if to not in allowed:
        raise InvalidTransition(type(obj).__name__, str(current), str(to))
    setattr(obj, status_field, to)
    fields = [status_field, *(["updated_at"] if hasattr(obj, "updated_at") else [])]
    if hasattr(obj, f"{status_field}_changed_at"):  # documents that record when they entered their state
        setattr(obj, f"{status_field}_changed_at", timezone.now())
        fields.append(f"{status_field}_changed_at")
    obj.save(update_fields=fields)
    event_model._default_manager.create(
        **{event_fk: obj},
        from_status=current,
        to_status=to,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_label=actor.label,
        reason=reason,
        **event_fields,
    )
    return obj
