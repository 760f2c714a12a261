"""The `data` of the dispatch webhooks: dispatch_advice.issued and goods_receipt.recorded.

Built from the rows just written (passed in, not read back), so a payload costs no queries beyond the
distributor's code. Money and dates are strings; money is never a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder

from .models import DispatchAdvice, DispatchAdviceLine, DispatchBatch, GoodsReceipt, GoodsReceiptLine


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _distributor_code(scope: Scope, distributor_id: int) -> str | None:
    return (Distributor.objects.filter(tenant_id=scope.tenant_id, pk=distributor_id)
            .values_list("code", flat=True).first())


def _header(scope: Scope, advice: DispatchAdvice, order: PrimaryOrder) -> dict[str, Any]:
    return {"order_id": order.pk, "order_number": order.number, "distributor_id": advice.distributor_id,
            "distributor_code": _distributor_code(scope, advice.distributor_id)}


def advice_payload(*, scope: Scope, advice: DispatchAdvice, order: PrimaryOrder, lines: Sequence[DispatchAdviceLine],
                   batches: Sequence[DispatchBatch], sku_codes: dict[int, str]) -> dict[str, Any]:
    by_line: dict[int, list[DispatchBatch]] = {}
    for b in batches:
        by_line.setdefault(b.line_id, []).append(b)
    return {
        "id": advice.pk, "number": advice.number, "reference": advice.reference, "status": str(advice.status),
        **_header(scope, advice, order),
        "dispatched_on": _day(advice.dispatched_on), "expected_on": _day(advice.expected_on),
        "vehicle": advice.vehicle, "transporter": advice.transporter, "note": advice.note,
        "currency": advice.currency, "total_ordered_cases": advice.total_ordered_cases,
        "total_approved_cases": advice.total_approved_cases, "total_dispatched_cases": advice.total_dispatched_cases,
        "dispatched_value": str(advice.dispatched_value),
        "lines": [
            {"line_no": line.line_no, "sku_id": line.sku_id, "sku_code": sku_codes.get(line.sku_id),
             "ordered_cases": line.ordered_cases, "approved_cases": line.approved_cases,
             "dispatched_cases": line.dispatched_cases, "case_price": str(line.case_price),
             "dispatched_value": str(line.dispatched_value),
             "batches": [{"id": b.pk, "batch": b.batch, "expiry": _day(b.expiry),
                          "manufactured_on": _day(b.manufactured_on), "cases": b.cases}
                         for b in by_line.get(line.pk, [])]}
            for line in lines
        ],
    }


def receipt_payload(*, scope: Scope, receipt: GoodsReceipt, advice: DispatchAdvice, order: PrimaryOrder,
                    lines: Sequence[GoodsReceiptLine], line_numbers: dict[int, int], sku_codes: dict[int, str],
                    warehouse_code: str) -> dict[str, Any]:
    return {
        "id": receipt.pk, "number": receipt.number, "advice_id": advice.pk, "advice_number": advice.number,
        "advice_reference": advice.reference, **_header(scope, advice, order),
        "warehouse_id": receipt.warehouse_id, "warehouse_code": warehouse_code,
        "received_on": _day(receipt.received_on), "note": receipt.note,
        "total_dispatched_cases": receipt.total_dispatched_cases,
        "total_received_cases": receipt.total_received_cases, "total_short_cases": receipt.total_short_cases,
        "total_damaged_cases": receipt.total_damaged_cases, "received_value": str(receipt.received_value),
        "lines": [
            {"line_no": line_numbers[line.advice_line_id], "sku_id": line.sku_id,
             "sku_code": sku_codes.get(line.sku_id), "dispatch_batch_id": line.dispatch_batch_id,
             "batch": line.batch, "expiry": _day(line.expiry), "dispatched_cases": line.dispatched_cases,
             "received_cases": line.received_cases, "short_cases": line.short_cases,
             "damaged_cases": line.damaged_cases, "received_units": line.received_units, "note": line.note}
            for line in lines
        ],
    }
