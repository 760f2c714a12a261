"""Reads of secondary orders, always through the scope. Another distributor's or tenant's order is "not found"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from uuid import UUID

from django.db.models import Count, Prefetch, QuerySet, Sum

from dms.core.errors import NotFound
from dms.core.money import ZERO
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import tenant_zone as tenant_zone  # the orders APIs' and services' name for it

from .enums import OrderStatus
from .models import OrderEvent, SecondaryOrder, SecondaryOrderLine

# Orders that no longer count against an outlet's credit limit.
NOT_OPEN = (OrderStatus.CANCELLED, OrderStatus.CLOSED)


def order_list(*, scope: Scope, distributor_id: int | None = None) -> QuerySet[SecondaryOrder]:
    """Orders newest first, with outlet, booker and `line_count` (one query for any number of orders)."""
    qs = scope.filter(SecondaryOrder.objects.select_related("outlet", "booker")).annotate(line_count=Count("lines"))
    qs = qs.order_by("-booked_at", "id")  # Meta.ordering does not apply to a grouped query
    return qs if distributor_id is None else qs.filter(distributor_id=distributor_id)


def order_get(*, scope: Scope, pk: int) -> SecondaryOrder:
    """An order with its lines (and their SKUs) and its events, oldest first."""
    lines = SecondaryOrderLine.objects.select_related("sku").order_by("line_no")
    events = OrderEvent.objects.order_by("created_at", "id")
    order = (scope.filter(SecondaryOrder.objects.select_related("outlet", "booker"))
             .prefetch_related(Prefetch("lines", queryset=lines), Prefetch("events", queryset=events))
             .filter(pk=pk).first())
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_visible(*, scope: Scope, pk: int) -> SecondaryOrder:
    """The order without its lines and events (a cheap existence check); NotFound outside the scope."""
    order = scope.filter(SecondaryOrder.objects.all()).filter(pk=pk).first()
    if order is None:
        raise NotFound("Order not found.")
    return order


def order_by_uuid(*, scope: Scope, distributor_id: int, uuid: UUID) -> SecondaryOrder | None:
    return scope.filter(SecondaryOrder.objects.filter(distributor_id=distributor_id, uuid=uuid)).first()


def order_line_list(*, scope: Scope, order_id: int) -> QuerySet[SecondaryOrderLine]:
    return scope.filter(SecondaryOrderLine.objects.filter(order_id=order_id)).order_by("line_no")


def order_event_list(*, scope: Scope, order_id: int) -> QuerySet[OrderEvent]:
    return scope.filter(OrderEvent.objects.filter(order_id=order_id)).order_by("created_at", "id")


# From invoicing on, what the outlet owes is its invoices' balance (invoicing.selectors.outlet_receivable). orders
# sits below invoicing, so invoicing registers that source here when the app loads (InvoicingConfig.ready).
INVOICED_OR_LATER = (OrderStatus.INVOICED, OrderStatus.LOADED, OrderStatus.DELIVERED,
                     OrderStatus.PARTIALLY_DELIVERED, OrderStatus.RETURNED)
_receivable: Callable[..., Decimal] | None = None


def set_receivable_source(source: Callable[..., Decimal] | None) -> None:
    global _receivable
    _receivable = source


def outlet_open_total(*, scope: Scope, outlet_id: int, exclude_order_id: int | None = None) -> Decimal:
    """The outlet's credit exposure: its open orders not yet invoiced, plus what it owes on its invoices (open
    balances less money on account). Orders are read first: an invoice issued between the two reads can only
    count an order twice, never miss it."""
    qs = (scope.filter(SecondaryOrder.objects.filter(outlet_id=outlet_id))
          .exclude(status__in=(*NOT_OPEN, *INVOICED_OR_LATER)))
    if exclude_order_id is not None:
        qs = qs.exclude(pk=exclude_order_id)
    orders_total = qs.aggregate(open_total=Sum("total"))["open_total"] or ZERO
    return orders_total + (_receivable(scope=scope, outlet_id=outlet_id) if _receivable is not None else ZERO)
