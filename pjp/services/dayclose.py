"""The day close of the visit machine (DESIGN §3: planned -> missed at day close), for a whole date at once."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.scope import Scope

from ..enums import VisitStatus
from ..errors import PjpError
from ..models import DailyJourney, Visit, VisitEvent
from .common import tenant_policy

DAY_CLOSED = "day closed with no visit"

# One statement: find the date's planned visits, lock them by pk (locks.py's order: visits by pk), move the ones
# still planned to missed, and write each one's VisitEvent with what core.transitions.transition writes. A visit
# checked in by a late sync while we wait for its lock is re-read under the lock (READ COMMITTED) and left alone.
# The search reads the tenant's journeys of the date by (tenant, date) and probes each for its planned visits in
# the partial index visit_unvisited (OFFSET 0 keeps it a probe per journey, not a scan of every planned visit of the
# days ahead), then locks and updates what it found by primary key (ANY(ARRAY(..)): whatever the planner estimates):
# it reads only what it changes, on a day where every visit was made nothing.
CLOSE = """
WITH candidates AS MATERIALIZED (
    SELECT p.id FROM {journey} j
    CROSS JOIN LATERAL (
        SELECT v.id FROM {visit} v
        WHERE v.distributor_id = j.distributor_id AND v.journey_id = j.id AND v.status = %(planned)s
        OFFSET 0
    ) p
    WHERE j.tenant_id = %(tenant_id)s AND j.date = %(date)s {distributors}
),
target AS (
    SELECT v.id FROM {visit} v
    WHERE v.id = ANY(ARRAY(SELECT c.id FROM candidates c)) AND v.tenant_id = %(tenant_id)s AND v.status = %(planned)s
    ORDER BY v.id
    FOR NO KEY UPDATE OF v
),
missed AS (
    UPDATE {visit} v SET status = %(missed)s, updated_at = %(now)s
    WHERE v.id = ANY(ARRAY(SELECT t.id FROM target t)) AND v.status = %(planned)s
    RETURNING v.tenant_id, v.distributor_id, v.id
)
INSERT INTO {event} (tenant_id, distributor_id, visit_id, from_status, to_status, actor_kind, actor_id,
                     actor_label, reason, created_at, updated_at)
SELECT m.tenant_id, m.distributor_id, m.id, %(planned)s, %(missed)s, %(actor_kind)s, %(actor_id)s,
       %(actor_label)s, %(reason)s, %(now)s, %(now)s
FROM missed m
"""


def _table(model: Any) -> str:
    return f'"{model._meta.db_table}"'


@transaction.atomic
def visits_close_day(*, scope: Scope, date: date) -> int:
    """Planned -> missed for every visit of `date` (tenant-local) still planned, in the scope's distributors, each
    with its VisitEvent (actor: the scope's, reason DAY_CLOSED). Returns how many were marked.

    Set-based (one statement, whatever the day's size). Idempotent: closing a closed day marks nothing. A date that
    has not come yet is refused, like visit_mark_missed. Takes the visits' row locks, by pk."""
    if date > tenant_policy(scope).today():
        raise DomainError(PjpError.FUTURE_VISIT, f"{date.isoformat()} has not come yet: its visits cannot be missed.",
                          fields={"date": ["The day has not come."]})
    params: dict[str, Any] = {
        "tenant_id": scope.tenant_id, "date": date, "planned": VisitStatus.PLANNED.value,
        "missed": VisitStatus.MISSED.value, "now": timezone.now(), "actor_kind": scope.actor.kind,
        "actor_id": scope.actor.id, "actor_label": scope.actor.label[:150], "reason": DAY_CLOSED}
    distributors = ""
    if scope.distributor_ids is not None:
        distributors = "AND j.distributor_id = ANY(%(distributor_ids)s)"
        params["distributor_ids"] = sorted(scope.distributor_ids)
    sql = CLOSE.format(visit=_table(Visit), journey=_table(DailyJourney), event=_table(VisitEvent),
                       distributors=distributors)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
