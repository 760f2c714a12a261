"""Visit state transitions (DESIGN §3): planned -> checked_in -> productive | unproductive; planned -> missed."""

from __future__ import annotations

from django.db import transaction

from dms.core.errors import DomainError, NotFound
from dms.core.transitions import transition
from dms.tenancy.scope import Scope

from ..enums import VisitStatus
from ..errors import PjpError
from ..locks import lock_visits
from ..models import Visit, VisitEvent
from .common import tenant_policy


@transaction.atomic
def visit_mark_missed(*, scope: Scope, visit_id: int, reason: str = "") -> Visit:
    """Planned -> missed (the day closed without a check-in). Idempotent: a missed visit stays as it is.

    A visit of a day that has not come yet (tenant-local) cannot be missed. Takes the visit's lock.
    """
    visit = lock_visits(scope).select_related("journey").filter(pk=visit_id).first()
    if visit is None:
        raise NotFound("Visit not found.")
    if visit.status == VisitStatus.MISSED:
        return visit
    if visit.status == VisitStatus.PLANNED and visit.journey.date > tenant_policy(scope).today():
        raise DomainError(PjpError.FUTURE_VISIT,
                          f"The visit is planned for {visit.journey.date.isoformat()}; it cannot be missed before "
                          "its day.", fields={"status": ["The visit's day has not come."]})
    transition(visit, to=VisitStatus.MISSED, actor=scope.actor, reason=reason, event_model=VisitEvent,
               event_fk="visit", distributor_id=visit.distributor_id)
    return visit
