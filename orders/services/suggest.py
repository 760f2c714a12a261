"""The suggested primary order: how many cases of each SKU a distributor should order from the manufacturer now,
and why, and a draft made from it.

For each active SKU the distributor sold in the window, holds, or has a StockNorm for:

    average daily sales = units sold over the window / window days          (secondary orders, booked basis)
    target              = average daily sales x cover days + safety cases    (StockNorm, or DEFAULT_COVER_DAYS)
    covered             = available + in transit + on order
    suggested cases     = ceil((target - covered) / units per case), never below 0,
                          raised to the norm's min_order_cases when above 0

- The window is the `window_days` whole tenant-local days before `on_date` (today by default): today is still
  being booked and would pull the average down.
- Available is on hand less reserved, over all the distributor's warehouses: reserved units are promised to
  secondary orders already booked (and counted in the sales), so they cannot cover the days ahead.
- In transit: cases dispatched under a Dispatch Advice not yet received. On order: the approved (else ordered)
  cases of primary orders submitted, approved or partially approved and not dispatched. Drafts are not counted.
- Only a SKU with a price on a primary price list valid on the day can be ordered; any other is listed with
  `suggested_cases` 0 and a reason that starts "no primary price" (`needed_cases` still says what it lacks).

The decision is integer arithmetic on units (exact); the rates shown are Decimals, never floats. A handful of
queries whatever the number of SKUs. Lines come in SKU code order.

`primary_order_create_suggested` drafts an order from it through primary_order_create and keeps the suggestion
behind every line (numbers and reason) in a "suggested" PrimaryOrderEvent of the new order, and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.core.money import QTY, div, money, mul
from dms.tenancy.scope import Scope
from inventory.models import DEFAULT_COVER_DAYS, SALES_WINDOW_DAYS
from inventory.selectors import stock_norm_by_sku, stock_position_by_sku

from .. import selectors, selectors_primary, selectors_suggest
from ..errors import OrderError
from ..models import PrimaryOrder, PrimaryOrderEvent
from .common import raise_field_errors
from .primary import PrimaryLine, primary_order_create

MAX_WINDOW_DAYS = 366
NO_PRICE = "no primary price"
SUGGESTED_ACTION = "suggested"
_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class SuggestedLine:
    """One SKU of the suggestion, with every number behind it (units unless named cases)."""

    sku_id: int
    sku_code: str
    sku_name: str
    units_per_case: int
    window_days: int
    sold_units: int
    avg_daily_units: Decimal  # to 0.001
    avg_daily_cases: Decimal  # to 0.001
    cover_days: int
    safety_cases: int
    min_order_cases: int
    has_norm: bool
    target_units: Decimal  # to 0.001
    on_hand_units: int
    reserved_units: int
    available_units: int
    in_transit_cases: int
    on_order_cases: int
    needed_cases: int  # what the numbers call for, priced or not
    suggested_cases: int  # needed_cases when the SKU can be ordered, else 0
    case_price: Decimal | None  # None: no primary price on the day
    suggested_value: Decimal | None
    reason: str

    @property
    def orderable(self) -> bool:
        return self.case_price is not None


@dataclass(frozen=True)
class SuggestedDraft:
    order: PrimaryOrder
    suggestion: list[SuggestedLine]


def _fmt(value: Decimal) -> str:
    """12, 3.2, 44.8: one decimal, none when whole; "under 0.1" rather than a 0 that is not one."""
    rounded = value.quantize(_TENTH, rounding=ROUND_HALF_UP)
    if value > 0 and rounded == 0:
        return "under 0.1"
    text = format(rounded, "f")
    return text[:-2] if text.endswith(".0") else text


def _cases(value: Decimal | int) -> str:
    text = _fmt(Decimal(value))
    return f"{text} case" if text == "1" else f"{text} cases"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _resolve_distributor(scope: Scope, distributor_id: int | None) -> int:
    """The distributor planned for: a distributor user's own when None. Outside the scope it is "not found"."""
    resolved = distributor_id if distributor_id is not None else scope.single_distributor_id
    if resolved is None:
        raise_field_errors({"distributor_id": ["Say which distributor to plan for."]}, "")
    assert resolved is not None
    if selectors_primary.distributor_in_scope(scope=scope, distributor_id=resolved) is None:
        raise NotFound("Distributor not found.")
    return resolved


def _check_window(window_days: int) -> None:
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise_field_errors({"window_days": [f"Average over 1 to {MAX_WINDOW_DAYS} days."]}, "")


def _reason(*, u: int, window: int, sold: int, cover: int, safety: int, target_units: Decimal, on_hand: int,
            reserved: int, transit: int, on_order: int, raw: int, needed: int, priced: bool) -> str:
    avg_cases = div(sold, window * u)
    safety_text = f" + {safety} safety" if safety else ""
    stock = f"{_fmt(div(on_hand - reserved, u))} on hand"
    if reserved:
        stock += f" ({_fmt(div(on_hand, u))} less {_fmt(div(reserved, u))} reserved)"
    if needed == 0:
        outcome = "nothing to order"
    elif needed != raw:
        outcome = f"{_cases(raw)}, raised to the minimum order of {_cases(needed)}"
    else:
        outcome = _cases(needed)
    text = (f"sold {_cases(avg_cases)}/day over {window} days; {cover} days of cover{safety_text} = "
            f"{_cases(div(target_units, u))}; {stock}, {transit} in transit, {on_order} on order \u2192 {outcome}")
    return text if priced else f"{NO_PRICE}, cannot be ordered ({text})"


def primary_order_suggest(*, scope: Scope, distributor_id: int | None, on_date: date | None = None,
                          window_days: int = SALES_WINDOW_DAYS) -> list[SuggestedLine]:
    """The suggested order of `distributor_id` (a distributor user's own when None) as of `on_date` (today,
    tenant-local), one line per active SKU sold in the window, held, or with a norm, in SKU code order. A read:
    writes nothing, takes no lock. Another tenant's or distributor's distributor is NotFound."""
    _check_window(window_days)
    return _suggest(scope, _resolve_distributor(scope, distributor_id), on_date, window_days)


def _suggest(scope: Scope, did: int, on_date: date | None, window_days: int) -> list[SuggestedLine]:
    tz = selectors.tenant_zone(scope=scope)
    day = on_date or timezone.now().astimezone(tz).date()
    start, end = selectors_suggest.local_days_bounds(day - timedelta(days=window_days), day - timedelta(days=1), tz)

    sold = selectors_suggest.sales_units_by_sku(scope=scope, distributor_id=did, start=start, end=end)
    stock = stock_position_by_sku(scope=scope, distributor_id=did)
    norms = stock_norm_by_sku(scope=scope, distributor_id=did)
    transit = selectors_suggest.in_transit_cases_by_sku(scope=scope, distributor_id=did)
    on_order = selectors_suggest.on_order_cases_by_sku(scope=scope, distributor_id=did)
    held = {sku_id for sku_id, position in stock.items() if position.on_hand > 0}
    skus = selectors_primary.active_skus(scope=scope, sku_ids=set(sold) | held | set(norms))
    prices = selectors_primary.primary_case_prices(scope=scope, distributor_id=did, sku_ids=list(skus), on_date=day)

    lines = []
    for sku in sorted(skus.values(), key=lambda s: (s.code, s.pk)):
        u, n = sku.units_per_case, sold.get(sku.pk, 0)
        norm = norms.get(sku.pk)
        cover = norm.target_cover_days if norm else DEFAULT_COVER_DAYS
        safety = norm.safety_cases if norm else 0
        minimum = norm.min_order_cases if norm else 0
        position = stock.get(sku.pk)
        on_hand, reserved = (position.on_hand, position.reserved) if position else (0, 0)
        in_transit, ordered = transit.get(sku.pk, 0), on_order.get(sku.pk, 0)
        # Units times the window's days, all integers, so the ceiling is exact: no rate is rounded first.
        wanted = n * cover + safety * u * window_days
        shortfall = wanted - (on_hand - reserved + (in_transit + ordered) * u) * window_days
        raw = _ceil_div(shortfall, window_days * u) if shortfall > 0 else 0
        needed = max(raw, minimum) if raw > 0 else 0
        price = prices.get(sku.pk)
        target_units = div(wanted, window_days)
        suggested = needed if price is not None else 0
        lines.append(SuggestedLine(
            sku_id=sku.pk, sku_code=sku.code, sku_name=sku.name, units_per_case=u, window_days=window_days,
            sold_units=n, avg_daily_units=div(n, window_days).quantize(QTY, rounding=ROUND_HALF_UP),
            avg_daily_cases=div(n, window_days * u).quantize(QTY, rounding=ROUND_HALF_UP), cover_days=cover,
            safety_cases=safety, min_order_cases=minimum, has_norm=norm is not None,
            target_units=target_units.quantize(QTY, rounding=ROUND_HALF_UP), on_hand_units=on_hand,
            reserved_units=reserved, available_units=on_hand - reserved, in_transit_cases=in_transit,
            on_order_cases=ordered, needed_cases=needed, suggested_cases=suggested, case_price=price,
            suggested_value=money(mul(price, suggested)) if price is not None else None,
            reason=_reason(u=u, window=window_days, sold=n, cover=cover, safety=safety, target_units=target_units,
                           on_hand=on_hand, reserved=reserved, transit=in_transit, on_order=ordered, raw=raw,
                           needed=needed, priced=price is not None)))
    return lines


def _event_line(line: SuggestedLine, ordered: int) -> dict[str, Any]:
    keep = ("sku_id", "sku_code", "sold_units", "avg_daily_units", "cover_days", "safety_cases", "min_order_cases",
            "available_units", "in_transit_cases", "on_order_cases", "suggested_cases", "reason")
    data = asdict(line)
    return {**{k: str(data[k]) if isinstance(data[k], Decimal) else data[k] for k in keep}, "ordered_cases": ordered}


@transaction.atomic
def primary_order_create_suggested(*, scope: Scope, distributor_id: int | None,
                                   cases: Mapping[int, int] | None = None, note: str = "",
                                   requested_delivery_date: date | None = None,
                                   window_days: int = SALES_WINDOW_DAYS) -> SuggestedDraft:
    """A new draft of today's suggested order (primary_order_create values it at today's prices). `cases` changes
    the suggested cases of a SKU (0 leaves it out; a SKU outside the suggestion may be added). The suggestion
    behind each SKU is kept in a "suggested" PrimaryOrderEvent of the draft and returned with it. Nothing to order
    is a 400 on `lines`; so is a suggestion longer than an order may be (MAX_LINES). Not idempotent: each call is a
    new draft. Takes the distributor's lock (to number it)."""
    _check_window(window_days)
    did = _resolve_distributor(scope, distributor_id)
    suggestion = _suggest(scope, did, None, window_days)
    chosen = {line.sku_id: line.suggested_cases for line in suggestion if line.suggested_cases > 0}
    errors: dict[str, list[str]] = {}
    for sku_id, n in (cases or {}).items():
        if n < 0:
            errors.setdefault(f"cases[{sku_id}]", []).append("Order 0 cases or more.")
        elif n == 0:
            chosen.pop(sku_id, None)
        else:
            chosen[sku_id] = n
    raise_field_errors(errors, "The quantities have problems: see the fields.")
    if not chosen:
        message = "Nothing to order: the suggestion is empty and no cases were given."
        raise DomainError(OrderError.INVALID, message, fields={"lines": [message]})
    position = {line.sku_id: i for i, line in enumerate(suggestion)}
    ordered = sorted(chosen, key=lambda sku_id: (position.get(sku_id, len(position)), sku_id))
    order = primary_order_create(scope=scope, distributor_id=did, note=note,
                                 requested_delivery_date=requested_delivery_date,
                                 lines=[PrimaryLine(sku_id=sku_id, cases=chosen[sku_id]) for sku_id in ordered])
    actor = scope.actor
    PrimaryOrderEvent.objects.create(
        order=order, distributor_id=order.distributor_id, action=SUGGESTED_ACTION, actor_kind=actor.kind,
        actor_id=actor.id, actor_label=actor.label[:150], reason="drafted from the suggested order",
        detail={"window_days": window_days,
                "lines": [_event_line(line, chosen.get(line.sku_id, 0)) for line in suggestion],
                "added": [{"sku_id": sku_id, "ordered_cases": chosen[sku_id]} for sku_id in ordered
                          if sku_id not in position]})
    return SuggestedDraft(order=order, suggestion=suggestion)
