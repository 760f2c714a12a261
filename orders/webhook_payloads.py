"""The `data` of the primary-order webhooks (webhooks.enums.EventType.PRIMARY_ORDER_*).

One builder for every primary-order event, so a receiver sees the same shape whatever happened: the order, its
distributor, its status and totals, and every line with its ordered and approved cases and values. Money and
dates are strings (webhooks.events.emit serialises them as they will be sent; money is never a float).
"""

from __future__ import annotations

from typing import Any

from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

from .models import PrimaryOrder, PrimaryOrderLine


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def primary_order_payload(*, scope: Scope, order: PrimaryOrder, reason: str = "") -> dict[str, Any]:
    """The order as the manufacturer's systems receive it. Two queries (the distributor, the lines with SKUs)."""
    distributor_code = (Distributor.objects.filter(tenant_id=scope.tenant_id, pk=order.distributor_id)
                        .values_list("code", flat=True).first())
    lines = (scope.filter(PrimaryOrderLine.objects.filter(order_id=order.pk)).select_related("sku")
             .order_by("line_no"))
    data: dict[str, Any] = {
        "id": order.pk,
        "number": order.number,
        "distributor_id": order.distributor_id,
        "distributor_code": distributor_code,
        "status": str(order.status),
        "currency": order.currency,
        "requested_delivery_date": _text(order.requested_delivery_date),
        "submitted_at": order.submitted_at.isoformat() if order.submitted_at else None,
        "decided_at": order.decided_at.isoformat() if order.decided_at else None,
        "total_ordered": str(order.total_ordered),
        "total_approved": str(order.total_approved),
        "lines": [
            {"line_no": line.line_no, "sku_id": line.sku_id, "sku_code": line.sku.code,
             "ordered_cases": line.ordered_cases, "approved_cases": line.approved_cases,
             "case_price": str(line.case_price), "ordered_value": str(line.ordered_value),
             "approved_value": _text(line.approved_value), "decision_note": line.decision_note}
            for line in lines
        ],
    }
    if reason:
        data["reason"] = reason
    return data
