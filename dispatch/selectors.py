"""Reads of dispatch advices and goods receipts, always through the scope: another distributor's or tenant's DA or
GRN is "not found". Lists are one query for any number of rows (the receipt of a DA and the per-line receipt
figures are subqueries, not queries per row)."""

from __future__ import annotations

from datetime import date

from django.db.models import IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum

from dms.core.errors import NotFound
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder
from orders.selectors_primary import primary_order_visible

from .models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine

RECEIPT_FIGURES = ("received_cases", "short_cases", "damaged_cases")


def primary_order_for_dispatch(*, scope: Scope, pk: int) -> PrimaryOrder:
    """The order a DA would answer (no lines): submitted at some time; a draft is "not found" to the manufacturer,
    as in its primary-order queue."""
    order = primary_order_visible(scope=scope, pk=pk)
    if order.submitted_at is None:
        raise NotFound("Primary order not found.")
    return order


def with_receipt(qs: QuerySet[DispatchAdvice]) -> QuerySet[DispatchAdvice]:
    """`qs` with each DA's goods receipt as `receipt_id` and `receipt_number` (None while in transit)."""
    receipts = GoodsReceipt.objects.filter(advice_id=OuterRef("pk")).order_by("pk")
    return qs.annotate(receipt_id=Subquery(receipts.values("pk")[:1]),
                       receipt_number=Subquery(receipts.values("number")[:1]))


def advice_list(*, scope: Scope, statuses: list[str] | None = None, distributor_id: int | None = None,
                dispatched_from: date | None = None, dispatched_to: date | None = None,
                order_id: int | None = None) -> QuerySet[DispatchAdvice]:
    """DAs with their distributor, order and receipt (id, number), newest first; the date range is inclusive."""
    qs = scope.filter(DispatchAdvice.objects.select_related("distributor", "order"))
    if statuses:
        qs = qs.filter(status__in=statuses)
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if dispatched_from is not None:
        qs = qs.filter(dispatched_on__gte=dispatched_from)
    if dispatched_to is not None:
        qs = qs.filter(dispatched_on__lte=dispatched_to)
    if order_id is not None:
        qs = qs.filter(order_id=order_id)
    return with_receipt(qs).order_by("-created_at", "-id")


def advice_visible(*, scope: Scope, pk: int) -> DispatchAdvice:
    """The DA without lines (a cheap existence check); NotFound outside the scope."""
    advice = scope.filter(DispatchAdvice.objects.all()).filter(pk=pk).first()
    if advice is None:
        raise NotFound("Dispatch advice not found.")
    return advice


def _figure(model_filter: dict[str, OuterRef], field: str) -> Subquery:
    rows = GoodsReceiptLine.objects.filter(**model_filter).order_by().values(*model_filter)
    return Subquery(rows.annotate(total=Sum(field)).values("total")[:1], output_field=IntegerField())


def _lines() -> QuerySet[DispatchAdviceLine]:
    batches = DispatchBatch.objects.annotate(
        **{f: _figure({"dispatch_batch_id": OuterRef("pk")}, f) for f in RECEIPT_FIGURES}).order_by(
        "expiry", "batch", "id")
    return (DispatchAdviceLine.objects.select_related("sku")
            .annotate(**{f: _figure({"advice_line_id": OuterRef("pk")}, f) for f in RECEIPT_FIGURES})
            .prefetch_related(Prefetch("batches", queryset=batches)).order_by("line_no"))


def advice_line_list(*, scope: Scope, advice_id: int | None = None) -> QuerySet[DispatchAdviceLine]:
    """DA lines (a DA's, when `advice_id` is given) in line order with their SKU, their batches, and (once
    received) per line and per batch the cases received, short and damaged; None before the receipt."""
    qs = scope.filter(_lines())
    return qs if advice_id is None else qs.filter(advice_id=advice_id)


def advice_get(*, scope: Scope, pk: int) -> DispatchAdvice:
    """A DA with its distributor, order, receipt (receipt_id, receipt_number) and its lines as advice_line_list
    gives them (three queries: the DA, its lines, their batches)."""
    advice = (with_receipt(scope.filter(DispatchAdvice.objects.select_related("distributor", "order")))
              .prefetch_related(Prefetch("lines", queryset=_lines())).filter(pk=pk).first())
    if advice is None:
        raise NotFound("Dispatch advice not found.")
    return advice


def advice_by_reference(*, scope: Scope, distributor_id: int, reference: str) -> DispatchAdvice | None:
    return scope.filter(DispatchAdvice.objects.filter(distributor_id=distributor_id, reference=reference)).first()


def advice_for_order(*, scope: Scope, order_id: int) -> DispatchAdvice | None:
    return scope.filter(DispatchAdvice.objects.filter(order_id=order_id)).order_by("pk").first()


def advice_batches(*, scope: Scope, advice_id: int) -> list[DispatchBatch]:
    """Every batch of a DA with its line and SKU, in line then batch order (the order a receipt lists them)."""
    return list(scope.filter(DispatchBatch.objects.filter(line__advice_id=advice_id))
                .select_related("line", "line__sku").order_by("line__line_no", "expiry", "batch", "id"))


def receipt_list(*, scope: Scope, distributor_id: int | None = None, received_from: date | None = None,
                 received_to: date | None = None, advice_id: int | None = None) -> QuerySet[GoodsReceipt]:
    """GRNs with their DA, order, distributor and warehouse, newest first; the date range is inclusive."""
    qs = scope.filter(GoodsReceipt.objects.select_related("advice", "advice__order", "distributor", "warehouse"))
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    if received_from is not None:
        qs = qs.filter(received_on__gte=received_from)
    if received_to is not None:
        qs = qs.filter(received_on__lte=received_to)
    if advice_id is not None:
        qs = qs.filter(advice_id=advice_id)
    return qs.order_by("-created_at", "-id")


def receipt_get(*, scope: Scope, pk: int) -> GoodsReceipt:
    """A GRN with its DA, order, warehouse and lines (with their DA line and SKU), in DA line order."""
    lines = GoodsReceiptLine.objects.select_related("advice_line", "sku").order_by("advice_line__line_no", "id")
    receipt = (scope.filter(GoodsReceipt.objects.select_related("advice", "advice__order", "distributor",
                                                                 "warehouse"))
               .prefetch_related(Prefetch("lines", queryset=lines)).filter(pk=pk).first())
    if receipt is None:
        raise NotFound("Goods receipt not found.")
    return receipt


def receipt_for_advice(*, scope: Scope, advice_id: int) -> GoodsReceipt | None:
    return scope.filter(GoodsReceipt.objects.filter(advice_id=advice_id)).order_by("pk").first()
