"""Row locks of the invoicing app. Always taken in this order (after the order's own lock, orders.locks), so two
writers never wait on each other in a cycle:

    the outlet's credit lock -> secondary orders -> invoices (by pk) -> stock balances -> number series

Invoices are locked FOR NO KEY UPDATE: the credit notes, payment allocations and lines that point at one are not
blocked by it. A number series row is locked last and held until the document's transaction ends, so the number
and the document commit or roll back together (that is what makes the numbers gap-free), and no other lock is
waited for while holding it.
"""

from __future__ import annotations

from django.db.models import QuerySet

from dms.tenancy.scope import Scope

from .models import Invoice, NumberSeries


def lock_invoices(scope: Scope) -> QuerySet[Invoice]:
    return scope.filter(Invoice.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")


def lock_number_series(scope: Scope) -> QuerySet[NumberSeries]:
    return scope.filter(NumberSeries.objects.select_for_update(no_key=True, of=("self",)))
