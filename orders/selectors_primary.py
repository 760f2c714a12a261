"""Reads of primary orders, always through the scope: another distributor's or tenant's order is "not found".

Primary prices: a primary order has no outlet, so the secondary pricing engine (channels, schemes, outlet
taxes) does not apply. A line is valued at the plain case price of the tenant's price lists valid on the day,
active, with no channel, either tenant-wide or narrowed to the ordering distributor; the distributor's own list
wins over a tenant-wide one, then the latest `valid_from`, then the newest list. No schemes, no tax: the
manufacturer's invoice (not modelled yet) carries those.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet

from catalog.models import PriceListItem, Sku
from dms.core.errors import NotFound
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine


def primary_order_list(*, scope: Scope) -> QuerySet[PrimaryOrder]:
    """Orders with their distributor and `line_count`, newest first (one query for any number of orders)."""
    qs = scope.filter(PrimaryOrder.objects.select_related("distributor")).annotate(line_count=Count("lines"))
    return qs.order_by("-created_at", "-id")


def primary_order_get(*, scope: Scope, pk: int) -> PrimaryOrder:
    """An order with its lines (and their SKUs) and its events, oldest first."""
    lines = PrimaryOrderLine.objects.select_related("sku").order_by("line_no")
    events = PrimaryOrderEvent.objects.order_by("created_at", "id")
    order = (scope.filter(PrimaryOrder.objects.select_related("distributor"))
             .prefetch_related(Prefetch("lines", queryset=lines), Prefetch("events", queryset=events))
             .filter(pk=pk).first())
    if order is None:
        raise NotFound("Primary order not found.")
    return order


def primary_order_visible(*, scope: Scope, pk: int) -> PrimaryOrder:
    """The order without lines or events (a cheap existence check); NotFound outside the scope."""
    order = scope.filter(PrimaryOrder.objects.all()).filter(pk=pk).first()
    if order is None:
        raise NotFound("Primary order not found.")
    return order


def primary_order_line_list(*, scope: Scope, order_id: int) -> QuerySet[PrimaryOrderLine]:
    return scope.filter(PrimaryOrderLine.objects.filter(order_id=order_id)).order_by("line_no")


def distributor_in_scope(*, scope: Scope, distributor_id: int) -> Distributor | None:
    if not scope.can_access_distributor(distributor_id):
        return None
    return Distributor.objects.filter(tenant_id=scope.tenant_id, pk=distributor_id).first()


def active_skus(*, scope: Scope, sku_ids: Collection[int]) -> dict[int, Sku]:
    return {s.pk: s for s in Sku.objects.filter(tenant_id=scope.tenant_id, pk__in=sku_ids, active=True)}


def primary_case_prices(*, scope: Scope, distributor_id: int, sku_ids: Collection[int],
                        on_date: date) -> dict[int, Decimal]:
    """The case price of each SKU for the distributor on the date (see the module docstring); unpriced SKUs are
    left out. One query."""
    rows = (PriceListItem.objects
            .filter(tenant_id=scope.tenant_id, sku_id__in=sku_ids, price_list__active=True,
                    price_list__channel="", price_list__valid_from__lte=on_date)
            .filter(Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=on_date))
            .filter(Q(price_list__distributor__isnull=True) | Q(price_list__distributor_id=distributor_id))
            .values_list("sku_id", "case_price", "price_list__distributor_id", "price_list__valid_from",
                         "price_list_id"))
    best: dict[int, tuple[tuple[bool, date, int], Decimal]] = {}
    for sku_id, price, list_distributor, valid_from, list_id in rows:
        rank = (list_distributor is not None, valid_from, list_id)
        if sku_id not in best or rank > best[sku_id][0]:
            best[sku_id] = (rank, price)
    return {sku_id: price for sku_id, (_rank, price) in best.items()}


def primary_order_list_submitted(*, scope: Scope, statuses: Collection[str] = (), distributor_id: int | None = None,
                                 submitted_from: datetime | None = None,
                                 submitted_before: datetime | None = None) -> QuerySet[PrimaryOrder]:
    """The manufacturer's queue: orders that were submitted (drafts are the distributor's own business), in
    submission order (submitted_at, id), the cursor pagination's order."""
    qs = scope.filter(PrimaryOrder.objects.select_related("distributor")).filter(submitted_at__isnull=False)
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if submitted_from is not None:
        qs = qs.filter(submitted_at__gte=submitted_from)
    if submitted_before is not None:
        qs = qs.filter(submitted_at__lt=submitted_before)
    return qs.annotate(line_count=Count("lines")).order_by("submitted_at", "id")


def primary_order_get_submitted(*, scope: Scope, pk: int) -> PrimaryOrder:
    """primary_order_get for the manufacturer: a draft (never submitted) is "not found" too."""
    order = primary_order_get(scope=scope, pk=pk)
    if order.submitted_at is None:
        raise NotFound("Primary order not found.")
    return order
