"""Row locks of the dispatch app, always taken in this order, so two writers never wait on each other in a cycle:

    the distributor row (to number a DA or a GRN) -> the dispatch advice -> the primary order -> stock balances

Issuing a DA takes the distributor, then the order (the DA does not exist yet); recording a GRN takes the
distributor, the DA, the order (through orders.services.primary_order_mark_received) and the balances of every SKU
received, all at once and sorted before the first stock movement: stock_receive is called once per (batch,
expiry) group, and locking each group's SKUs as it comes would take them out of (warehouse, sku) order.
The distributor lock is FOR NO KEY UPDATE, like the one orders takes to number primary orders, so inserts that
reference the distributor are not blocked by it.

Load forms (the outbound side) follow the same rule, extended by the order invoicing takes its locks in:

    the distributor row (to number a load form and to check an invoice is on no other live one) -> the load form
    -> the outlet's credit lock (payments) -> secondary orders -> invoices -> stock balances -> number series

A load form's planning never holds a lock while the solver runs: it reads, solves, then locks and checks again.
Every later action on a load form (loading, a delivery, a collection, the settlement) takes the load form's row
first, so two of them on one load form take turns; the other apps' services they call take their locks in their
own documented order, which is the tail of the chain above.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from dms.core.errors import NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from inventory.locks import lock_balances
from inventory.models import Warehouse
from orders.locks import lock_primary_orders
from orders.models import PrimaryOrder

from .models import DispatchAdvice, LoadForm


def lock_distributor(scope: Scope, distributor_id: int) -> None:
    """The numbering lock of a distributor's DAs and GRNs (and its primary orders)."""
    if not scope.can_access_distributor(distributor_id):
        raise NotFound("Distributor not found.")
    found = (Distributor.objects.select_for_update(no_key=True, of=("self",))
             .filter(tenant_id=scope.tenant_id, pk=distributor_id).values_list("pk", flat=True).first())
    if found is None:
        raise NotFound("Distributor not found.")


def lock_advices(scope: Scope) -> QuerySet[DispatchAdvice]:
    return scope.filter(DispatchAdvice.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")


def lock_order(scope: Scope, order_id: int) -> PrimaryOrder:
    """The primary order, locked (orders.locks), before the DA is planned from its lines and status."""
    order = lock_primary_orders(scope).filter(pk=order_id).first()
    if order is None:
        raise NotFound("Primary order not found.")
    return order


def lock_receipt_stock(scope: Scope, warehouse: Warehouse, sku_ids: Iterable[int]) -> None:
    """Every balance a receipt will raise, created where missing and locked in (warehouse, sku) order."""
    lock_balances(scope, warehouse, sku_ids)


def lock_load_forms(scope: Scope) -> QuerySet[LoadForm]:
    return scope.filter(LoadForm.objects.select_for_update(no_key=True, of=("self",))).order_by("pk")


def lock_load_form(scope: Scope, load_form_id: int) -> LoadForm:
    """The load form, locked; one outside the scope is not found."""
    load_form = lock_load_forms(scope).filter(pk=load_form_id).first()
    if load_form is None:
        raise NotFound("Load form not found.")
    return load_form
