"""Row locks of the pjp app. Always taken in this order, so two writers never wait on each other in a cycle:

    distributor planning lock -> the booker's Pjp versions (by pk) -> routes (by pk) -> journeys -> visits (by pk)

The planning lock is the distributor row (FOR NO KEY UPDATE, so foreign-key checks of inserts that point at
the distributor are not blocked). Every write that can change which outlet is visited on which day takes
it first: publishing a plan, changing a route's stops, building journeys. The overlap rule reads all the
distributor's plans at once, so without it two plans published side by side could each pass alone.
"""

from __future__ import annotations

from django.db.models import QuerySet

from dms.core.errors import NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .models import Pjp, Route, Visit


def lock_distributor_plans(scope: Scope, distributor_id: int) -> Distributor:
    """Lock the distributor row as the planning lock; a distributor outside the scope is not found."""
    if not scope.can_access_distributor(distributor_id):
        raise NotFound("Distributor not found.")
    distributor = (Distributor.objects.select_for_update(no_key=True, of=("self",))
                   .filter(tenant_id=scope.tenant_id, pk=distributor_id).first())
    if distributor is None:
        raise NotFound("Distributor not found.")
    return distributor


def lock_pjps(scope: Scope, *, for_delete: bool = False) -> QuerySet[Pjp]:
    """`for_delete`: a plain FOR UPDATE, needed when a version that has not started is replaced (deleted)."""
    return scope.filter(Pjp.objects.select_for_update(no_key=not for_delete, of=("self",))).order_by("pk")


def lock_routes(scope: Scope) -> QuerySet[Route]:
    return scope.filter(Route.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")


def lock_visits(scope: Scope) -> QuerySet[Visit]:
    return scope.filter(Visit.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")
