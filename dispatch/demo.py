"""Demo history of the primary side for one distributor, played through the real services (seed_demo):

- an opening delivery approved, dispatched and received in full (closed), which is the distributor's stock;
- a delivery received with one case short and one damaged (received: a claim to settle);
- an order partially approved and dispatched (in transit);
- an order submitted and waiting for the manufacturer;
- stock norms for the best-selling SKUs, so "New order from suggestion" has something to say;
- two delivery vehicles, a van and a truck, for the load forms.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.scope import Actor, Scope
from inventory.models import StockNorm
from orders.services import LineDecision, PrimaryLine, primary_order_create, primary_order_decide, primary_order_submit

from .models import Vehicle
from .services import AdviceLineInput, BatchInput, ReceiptLineInput, advice_issue, receipt_record


def erp_scope(tenant_id: int, key_id: int) -> Scope:
    """The manufacturer's ERP as its API key acts (the role that decides orders and issues DAs)."""
    return Scope(tenant_id=tenant_id, distributor_ids=None,
                 actor=Actor(kind=ActorKind.API_KEY, id=key_id, role=Role.MANUFACTURER_SYSTEM, label="api-key:demo"))


def _order(scope: Scope, distributor_id: int, lines: Sequence[tuple[int, int]], note: str) -> int:
    order = primary_order_create(scope=scope, distributor_id=distributor_id, note=note,
                                 lines=[PrimaryLine(sku_id=sku_id, cases=cases) for sku_id, cases in lines])
    primary_order_submit(scope=scope, order_id=order.pk)
    return order.pk


def _dispatch(erp: Scope, order_id: int, approved: dict[int, int], *, reference: str, on: date,
              rng: random.Random) -> int:
    primary_order_decide(scope=erp, order_id=order_id,
                         decisions=[LineDecision(sku_id=s, approved_cases=c) for s, c in approved.items()])
    lines = []
    for sku_id, cases in approved.items():
        if cases == 0:
            continue
        expiry = on + timedelta(days=rng.randrange(180, 540))
        first = cases // 2 if cases > 1 and rng.random() < 0.4 else cases
        lot = rng.randrange(1_000, 9_000) * 10  # two batches of a line are consecutive lots, never the same code
        batches = [BatchInput(batch=f"L{lot}", expiry=expiry, cases=first)]
        if first < cases:
            batches.append(BatchInput(batch=f"L{lot + 1}", expiry=expiry + timedelta(days=30), cases=cases - first))
        lines.append(AdviceLineInput(sku_id=sku_id, batches=batches))
    return advice_issue(scope=erp, order_id=order_id, reference=reference, dispatched_on=on, lines=lines,
                        vehicle=f"TRK-{rng.randrange(100, 999)}").advice.pk


def seed_primary_history(*, scope: Scope, erp: Scope, distributor_id: int, sku_ids: Sequence[int], today: date,
                         seed: int) -> dict[str, int]:
    rng = random.Random(f"{seed}:{distributor_id}:primary")
    skus = list(sku_ids)
    code = f"D{distributor_id}"
    # the opening delivery: every SKU, received in full
    opening = {s: rng.randrange(20, 90) for s in skus}
    order_id = _order(scope, distributor_id, list(opening.items()), "opening stock")
    advice_id = _dispatch(erp, order_id, opening, reference=f"SAP-{code}-001", on=today - timedelta(days=9), rng=rng)
    receipt_record(scope=scope, advice_id=advice_id, received_on=today - timedelta(days=7),
                   lines=_received_in_full(scope, advice_id))
    # a delivery with one case short and one damaged
    topup = {s: rng.randrange(5, 30) for s in rng.sample(skus, min(10, len(skus)))}
    order_id = _order(scope, distributor_id, list(topup.items()), "weekly top-up")
    advice_id = _dispatch(erp, order_id, topup, reference=f"SAP-{code}-002", on=today - timedelta(days=3), rng=rng)
    lines = _received_in_full(scope, advice_id)
    lines[0] = ReceiptLineInput(batch_id=lines[0].batch_id, received_cases=lines[0].received_cases - 1, short_cases=1)
    lines[1] = ReceiptLineInput(batch_id=lines[1].batch_id, received_cases=lines[1].received_cases - 1,
                                damaged_cases=1, note="carton crushed in transit")
    receipt_record(scope=scope, advice_id=advice_id, received_on=today - timedelta(days=1), lines=lines)
    # in transit: partially approved, dispatched yesterday
    asked = {s: rng.randrange(10, 40) for s in rng.sample(skus, min(12, len(skus)))}
    order_id = _order(scope, distributor_id, list(asked.items()), "promotion build-up")
    approved = {s: (c if i % 4 else c // 2) for i, (s, c) in enumerate(asked.items())}
    _dispatch(erp, order_id, approved, reference=f"SAP-{code}-003", on=today - timedelta(days=1), rng=rng)
    # waiting for the manufacturer
    _order(scope, distributor_id, [(s, rng.randrange(5, 25)) for s in rng.sample(skus, min(8, len(skus)))],
           "regular order")
    StockNorm.objects.bulk_create([
        StockNorm(tenant_id=scope.tenant_id, distributor_id=distributor_id, sku_id=s,
                  target_cover_days=rng.choice((10, 14, 21)), safety_cases=rng.randrange(0, 4))
        for s in skus[:15]])
    Vehicle.objects.bulk_create([
        Vehicle(tenant_id=scope.tenant_id, distributor_id=distributor_id, code="VAN-1", registration=f"{code}-VAN1",
                capacity_weight_kg=Decimal("1500"), capacity_volume_l=Decimal("9000"), capacity_cases=300),
        Vehicle(tenant_id=scope.tenant_id, distributor_id=distributor_id, code="TRUCK-1", registration=f"{code}-TRK1",
                capacity_weight_kg=Decimal("6000"), capacity_volume_l=Decimal("30000"), capacity_cases=1200)])
    return {"primary_orders": 4, "dispatch_advices": 3, "goods_receipts": 2, "vehicles": 2}


def _received_in_full(scope: Scope, advice_id: int) -> list[ReceiptLineInput]:
    from .models import DispatchBatch

    batches = scope.filter(DispatchBatch.objects.filter(line__advice_id=advice_id)).order_by("line__line_no", "pk")
    return [ReceiptLineInput(batch_id=b.pk, received_cases=b.cases) for b in batches]
