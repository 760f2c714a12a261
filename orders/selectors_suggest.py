"""Reads for stock planning: secondary sales per SKU (the suggested primary order, the manufacturer's sell-through)
and primary orders still on their way (in transit under a Dispatch Advice, or submitted/approved and not dispatched).

Sales count on the booked basis: every secondary order that is not cancelled, on the tenant-local date it was
booked (`booked_at` in the tenant's time zone); callers pass the UTC bounds of the local days. Each read is one
aggregate query, whatever the number of SKUs, orders or lines.

Dispatch Advices are read through `PrimaryOrder.dispatch_advices` (the dispatch app imports orders, not the
other way round); `IN_TRANSIT` is dispatch's AdviceStatus.ISSUED.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DateField, F, QuerySet, Sum
from django.db.models.functions import Coalesce, Trunc

from dms.tenancy.scope import Scope

from .enums import OrderStatus, PrimaryOrderStatus
from .models import PrimaryOrder, PrimaryOrderLine, SecondaryOrderLine

IN_TRANSIT = "issued"  # dispatch.enums.AdviceStatus.ISSUED: dispatched, not yet received
# Orders the manufacturer has (or is deciding) and has not dispatched: their cases are on their way in time.
PIPELINE = (PrimaryOrderStatus.SUBMITTED, PrimaryOrderStatus.APPROVED, PrimaryOrderStatus.PARTIALLY_APPROVED)
GROUP_BY = {"day": "day", "week": "week", "month": "month"}


def local_day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a tenant-local day starts (DST-safe: midnight local, converted)."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def local_days_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering the local days first..last inclusive."""
    return local_day_start(first, tz), local_day_start(last + timedelta(days=1), tz)


def _booked_lines(scope: Scope, start: datetime, end: datetime) -> QuerySet[SecondaryOrderLine]:
    return (scope.filter(SecondaryOrderLine.objects.filter(order__booked_at__gte=start, order__booked_at__lt=end))
            .exclude(order__status=OrderStatus.CANCELLED))


def sales_units_by_sku(*, scope: Scope, distributor_id: int, start: datetime, end: datetime) -> dict[int, int]:
    """sku_id -> units sold (cases x units per case + units, free goods included: they leave the stock too) by the
    distributor's orders booked in [start, end) and not cancelled. One query."""
    rows = (_booked_lines(scope, start, end).filter(distributor_id=distributor_id).values("sku_id")
            .annotate(sold=Sum("qty_units")).order_by("sku_id"))
    return {row["sku_id"]: int(row["sold"]) for row in rows}


def in_transit_cases_by_sku(*, scope: Scope, distributor_id: int) -> dict[int, int]:
    """sku_id -> cases dispatched to the distributor under Dispatch Advices not yet received. One query (a primary
    order has at most one Dispatch Advice, so the join never counts a line twice)."""
    rows = (scope.filter(PrimaryOrder.objects.filter(distributor_id=distributor_id,
                                                     dispatch_advices__status=IN_TRANSIT))
            .values(sku_id=F("dispatch_advices__lines__sku_id"))
            .annotate(cases=Sum("dispatch_advices__lines__dispatched_cases")).order_by("sku_id"))
    return {row["sku_id"]: int(row["cases"]) for row in rows if row["sku_id"] is not None}


def on_order_cases_by_sku(*, scope: Scope, distributor_id: int) -> dict[int, int]:
    """sku_id -> cases on the distributor's primary orders in the pipeline with no Dispatch Advice yet: the
    approved cases once decided, the ordered cases while submitted. Drafts are not on order. One query."""
    rows = (scope.filter(PrimaryOrderLine.objects.filter(distributor_id=distributor_id, order__status__in=PIPELINE,
                                                         order__dispatch_advices__isnull=True))
            .values("sku_id").annotate(cases=Sum(Coalesce("approved_cases", "ordered_cases"))).order_by("sku_id"))
    return {row["sku_id"]: int(row["cases"]) for row in rows}


def sell_through(*, scope: Scope, start: datetime, end: datetime, tz: ZoneInfo, group_by: str = "day",
                 distributor_id: int | None = None, sku_id: int | None = None) -> QuerySet[Any]:
    """Secondary sales booked in [start, end) and not cancelled, one row per period (the local day, the Monday of
    the week or the first of the month, in `tz`), distributor and SKU: cases and units as booked, total units,
    net value (gross less discount, before tax) and the number of orders. One aggregate query, ordered by period,
    distributor code and SKU code (a stable order for page pagination)."""
    period = Trunc("order__booked_at", GROUP_BY[group_by], output_field=DateField(), tzinfo=tz)
    qs = _booked_lines(scope, start, end)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    return (qs.values("distributor_id", "sku_id", period=period, distributor_code=F("distributor__code"),
                      sku_code=F("sku__code"))
            .annotate(cases=Sum("cases"), units=Sum("units"), total_units=Sum("qty_units"),
                      net_value=Sum(F("gross") - F("discount")), order_count=Count("order_id", distinct=True))
            .order_by("period", "distributor_code", "sku_code"))
