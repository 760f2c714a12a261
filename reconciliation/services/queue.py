"""The exception queue: staff and analysts assign, resolve with a note, and re-open. Each change is a transition
with an ExceptionEvent (who, when, from, to, why), under the exception's row lock."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.core.transitions import transition
from dms.tenancy.models import Membership
from dms.tenancy.scope import Scope

from ..enums import OPEN_STATES, ExceptionStatus
from ..models import ExceptionEvent, ReconciliationException

NOTE_MAX = 1000


def _locked(scope: Scope, exception_id: int) -> ReconciliationException:
    exc = (scope.filter(ReconciliationException.objects.filter(pk=exception_id))
           .select_for_update(no_key=True, of=("self",)).first())
    if exc is None:
        raise NotFound("Exception not found.")
    return exc


def _event(scope: Scope, exc: ReconciliationException, *, to: str, reason: str = "", action: str = "transition",
           **detail: object) -> None:
    if exc.status != to:
        transition(exc, to=to, actor=scope.actor, reason=reason[:300], event_model=ExceptionEvent,
                   event_fk="exception", distributor_id=exc.distributor_id, action=action, detail=detail)
    else:
        actor = scope.actor
        ExceptionEvent.objects.create(exception=exc, distributor_id=exc.distributor_id, from_status=exc.status,
                                      to_status=exc.status, action=action, actor_kind=actor.kind, actor_id=actor.id,
                                      actor_label=actor.label[:150], reason=reason[:300], detail=detail)


def _assignable(scope: Scope, exc: ReconciliationException, user_id: int) -> bool:
    """A user may take an exception when an active membership of the tenant covers its distributor."""
    return Membership.objects.filter(
        Q(distributor_id__isnull=True) | Q(distributor_id=exc.distributor_id), user_id=user_id,
        tenant_id=scope.tenant_id, active=True, user__is_active=True).exists()


@transaction.atomic
def exception_assign(*, scope: Scope, exception_id: int, user_id: int | None) -> ReconciliationException:
    """Assign an open or assigned exception to a user of the tenant who can see its distributor (None: back to
    the queue). Assigning it to whom it is assigned already changes nothing."""
    exc = _locked(scope, exception_id)
    if exc.status not in OPEN_STATES:
        raise DomainError("invalid", f"The exception is {exc.get_status_display().lower()}: re-open it first.",
                          fields={"status": ["Not open."]}, status_code=409)
    if user_id is not None and not _assignable(scope, exc, user_id):
        raise DomainError("invalid", "That user cannot see this distributor's exceptions.",
                          fields={"assigned_to": ["Not a user of this distributor."]})
    if exc.assigned_to_id == user_id:
        return exc
    label = "" if user_id is None else (
        get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first() or "")
    exc.assigned_to_id = user_id
    exc.save(update_fields=["assigned_to", "updated_at"])
    to = ExceptionStatus.ASSIGNED if user_id is not None else ExceptionStatus.OPEN
    _event(scope, exc, to=to, action="assign", reason=f"assigned to {label}" if label else "unassigned",
           assigned_to=user_id)
    return exc


@transaction.atomic
def exception_resolve(*, scope: Scope, exception_id: int, note: str) -> ReconciliationException:
    """Open or assigned -> resolved, with the note saying what was done (required). Resolving a resolved
    exception again changes nothing."""
    note = (note or "").strip()
    if not note:
        raise DomainError("invalid", "Say how it was resolved.", fields={"note": ["This field is required."]})
    if len(note) > NOTE_MAX:
        raise DomainError("invalid", f"At most {NOTE_MAX} characters.", fields={"note": [f"At most {NOTE_MAX}."]})
    exc = _locked(scope, exception_id)
    if exc.status == ExceptionStatus.RESOLVED:
        return exc
    if exc.status not in OPEN_STATES:
        raise DomainError("invalid", f"The exception is {exc.get_status_display().lower()}: nothing to resolve.",
                          fields={"status": ["Not open."]}, status_code=409)
    exc.resolution_note, exc.resolved_at = note, timezone.now()
    exc.resolved_by_id = scope.actor.id if scope.actor.kind == "user" else None
    exc.save(update_fields=["resolution_note", "resolved_at", "resolved_by", "updated_at"])
    _event(scope, exc, to=ExceptionStatus.RESOLVED, reason=note, action="resolve")
    return exc


@transaction.atomic
def exception_reopen(*, scope: Scope, exception_id: int, reason: str = "") -> ReconciliationException:
    """Resolved or cleared -> open (the resolution was wrong, or it is worth a look anyway)."""
    exc = _locked(scope, exception_id)
    if exc.status in OPEN_STATES:
        return exc
    exc.resolved_at, exc.resolved_by_id, exc.assigned_to_id = None, None, None
    exc.save(update_fields=["resolved_at", "resolved_by", "assigned_to", "updated_at"])
    _event(scope, exc, to=ExceptionStatus.OPEN, reason=reason or "re-opened", action="reopen")
    return exc
