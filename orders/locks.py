"""Row locks of the orders app. Always taken in this order, so two writers never wait on each other in a cycle:

    the outlet's credit lock -> secondary orders (by pk) -> their lines

The credit lock is the outlet row (FOR NO KEY UPDATE, so the foreign-key checks of orders inserted for the
outlet are not blocked). Every write that can raise an outlet's open exposure takes it first (booking, editing
lines): the credit check reads all the outlet's open orders, so without it two bookings side by side could each
pass alone. It also serialises two pushes of the same order uuid for one outlet. Lines are never locked on their
own: they change only under their order's lock.
"""

from __future__ import annotations

from django.db.models import QuerySet

from catalog.models import Outlet
from dms.core.errors import NotFound
from dms.tenancy.scope import Scope

from .models import PrimaryOrder, SecondaryOrder


def lock_outlet_credit(scope: Scope, outlet_id: int) -> Outlet:
    """Lock the outlet row as its credit lock; an outlet outside the scope is not found."""
    outlet = scope.filter(Outlet.objects.select_for_update(no_key=True, of=("self",))).filter(pk=outlet_id).first()
    if outlet is None:
        raise NotFound("Outlet not found.")
    return outlet


def lock_orders(scope: Scope) -> QuerySet[SecondaryOrder]:
    return scope.filter(SecondaryOrder.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")


def lock_primary_orders(scope: Scope) -> QuerySet[PrimaryOrder]:
    return scope.filter(PrimaryOrder.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")
