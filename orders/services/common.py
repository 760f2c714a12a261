"""What the order services share: the tenant's order policy, line validation, pricing through the catalogue's
engine, storing priced lines, the credit check and the event row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from catalog.models import Outlet
from catalog.pricing import LineInput, PricedOrder, price_lines
from dms.core.bulk import insert_rows
from dms.core.errors import DomainError
from dms.core.memo import memoized
from dms.core.money import money
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Actor, Scope

from .. import selectors
from ..errors import OrderError
from ..models import OrderEvent, SecondaryOrder, SecondaryOrderLine

MAX_LINES = 200
PRICE_PLACES = Decimal("0.0001")  # SecondaryOrderLine.device_case_price: 4 decimals, like case_price
MAX_AMOUNT = Decimal(10) ** 14  # 18 digits with 4 decimals
CREDIT_OFF, CREDIT_HOLD, CREDIT_REFUSE = "off", "hold", "refuse"


@dataclass(frozen=True)
class BookedLine:
    """One SKU as booked: whole cases plus loose units, and the case price the app showed, if sent."""

    sku_id: int
    cases: int
    units: int = 0
    device_case_price: Decimal | None = None


@dataclass(frozen=True)
class OrderPolicy:
    """The tenant's clock and credit policy (TenantSettings.credit_check), read once per service call."""

    tz: ZoneInfo
    credit_check: str

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def order_policy(scope: Scope) -> OrderPolicy:
    def read() -> OrderPolicy:
        settings = TenantSettings.objects.filter(tenant_id=scope.tenant_id).first()
        # every tenant gets settings at creation; the model default stands in otherwise
        check = settings.credit_check if settings is not None else TenantSettings().credit_check
        return OrderPolicy(tz=selectors.tenant_zone(scope=scope), credit_check=check)

    return memoized(("order_policy", scope.tenant_id), read)


def add_error(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def raise_field_errors(errors: Mapping[str, list[str]], message: str, code: str = OrderError.INVALID) -> None:
    """A 400 naming every bad field; with a single one, its own message is the error's message."""
    if errors:
        raise DomainError(code, message if len(errors) > 1 else next(iter(errors.values()))[0], fields=dict(errors))


def device_price(value: Decimal | int | str) -> Decimal:
    """A device case price as stored (4 decimals, half up). Raises ValueError when it is not a price."""
    if isinstance(value, float | bool):
        raise ValueError(value)  # a float has already lost the cents
    try:
        price = Decimal(value)
        if not price.is_finite() or price < 0 or price >= MAX_AMOUNT:
            raise ValueError(value)
        return price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(value) from exc


def device_amount(value: Decimal | int | str) -> Decimal:
    """A device total as stored: rounded to the cent by the one rounding rule. ValueError when not an amount."""
    try:
        amount = money(value)
        if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
            raise ValueError(value)
        return amount
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(value) from exc


def line_errors(lines: Sequence[BookedLine]) -> dict[str, list[str]]:
    """What the pricing engine does not check: the number of lines, one line per SKU, the device prices.
    (The engine names unknown or inactive SKUs, unpriced SKUs and bad quantities itself.)"""
    errors: dict[str, list[str]] = {}
    if not lines:
        add_error(errors, "lines", "Book at least one line.")
    elif len(lines) > MAX_LINES:
        add_error(errors, "lines", f"An order has at most {MAX_LINES} lines; this one has {len(lines)}.")
    first_at: dict[Any, int] = {}
    for i, line in enumerate(lines):
        if line.sku_id in first_at:
            add_error(errors, f"lines[{i}].sku_id", f"SKU {line.sku_id} is already on lines[{first_at[line.sku_id]}]; "
                                                    "book each SKU on one line.")
        else:
            first_at[line.sku_id] = i
        if line.device_case_price is not None:
            try:
                device_price(line.device_case_price)
            except ValueError:
                add_error(errors, f"lines[{i}].device_case_price", "A case price is an amount of 0 or more.")
    return errors


def price_order(*, scope: Scope, outlet: Outlet, lines: Sequence[BookedLine], on_date: date,
                errors: dict[str, list[str]]) -> PricedOrder:
    """Price `lines` with the catalogue's engine. Its line errors join `errors` (fields `lines[<i>].<name>`), and
    every error is raised at once; the code is the engine's when only it found problems."""
    code: str = OrderError.INVALID
    priced: PricedOrder | None = None
    if lines and len(lines) <= MAX_LINES:
        try:
            priced = price_lines(scope=scope, outlet=outlet, on_date=on_date,
                                 lines=[LineInput(sku_id=b.sku_id, cases=b.cases, units=b.units) for b in lines])
        except DomainError as exc:
            if not exc.fields or exc.status_code != 400:
                raise
            if not errors:
                code = exc.code
            for field, messages in exc.fields.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    add_error(errors, field, str(message))
    raise_field_errors(errors, "The order has problems: see the fields.", code)
    assert priced is not None  # no errors means the engine priced it
    return priced


def price_differences(priced: PricedOrder, lines: Sequence[BookedLine], device_total: Decimal | None) -> dict[str, Any]:
    """Where the app showed other prices than the server's ({} when none): the event detail behind price_flag."""
    out: dict[str, Any] = {}
    lines_out = []
    for i, booked in enumerate(lines):
        if booked.device_case_price is None:
            continue
        shown, server = device_price(booked.device_case_price), priced.lines[i].case_price
        if shown != server:
            lines_out.append({"line_no": i + 1, "sku_id": booked.sku_id, "device_case_price": str(shown),
                              "case_price": str(server)})
    if lines_out:
        out["lines"] = lines_out
    if device_total is not None and device_amount(device_total) != priced.total:
        out["total"] = {"device_total": str(device_amount(device_total)), "total": str(priced.total)}
    return out


def store_lines(order: SecondaryOrder, priced: PricedOrder, lines: Sequence[BookedLine]) -> None:
    """Insert the priced lines of `order` (free goods as their own is_free lines), numbered from 1.

    Each booked line keeps the case price the app showed for it. The caller removed any previous lines.
    """
    rows = []
    for line_no, p in enumerate(priced.lines, start=1):
        shown = lines[p.index].device_case_price if not p.is_free and p.index < len(lines) else None
        rows.append({
            "tenant_id": order.tenant_id, "distributor_id": order.distributor_id, "order_id": order.pk,
            "line_no": line_no, "sku_id": p.sku_id, "cases": p.cases, "units": p.units, "qty_units": p.qty_units,
            "case_price": p.case_price, "gross": p.gross, "discount": p.discount, "tax_rate": p.tax_rate,
            "tax": p.tax, "total": p.total, "is_free": p.is_free, "scheme_ids": list(p.scheme_ids),
            "device_case_price": None if shown is None else device_price(shown)})
    insert_rows(SecondaryOrderLine, rows)  # the push's hot path: a plain INSERT of rows built and checked here


def set_totals(order: SecondaryOrder, priced: PricedOrder) -> None:
    order.currency = priced.currency
    order.gross, order.discount, order.tax, order.total = priced.gross, priced.discount, priced.tax, priced.total


def credit_check(*, scope: Scope, policy: OrderPolicy, outlet: Outlet, total: Decimal, currency: str,
                 exclude_order_id: int | None = None) -> str:
    """The hold reason when the outlet's exposure (its other open orders + `total`) is over its credit limit,
    else "". Under the "refuse" policy that is a DomainError on `outlet_id` instead. A limit of 0 means none
    is set. The caller holds the outlet's credit lock (locks.lock_outlet_credit)."""
    if policy.credit_check == CREDIT_OFF or outlet.credit_limit <= 0:
        return ""
    open_total = selectors.outlet_open_total(scope=scope, outlet_id=outlet.pk, exclude_order_id=exclude_order_id)
    exposure = open_total + total
    if exposure <= outlet.credit_limit:
        return ""
    text = (f"Outlet {outlet.code}: open orders {open_total} + this order {total} = {exposure} {currency}, over its "
            f"credit limit of {outlet.credit_limit} {currency}.")
    if policy.credit_check == CREDIT_REFUSE:
        raise DomainError(OrderError.CREDIT_LIMIT, f"{text} The order is refused.", fields={"outlet_id": [text]})
    return text[:300]


def record(order: SecondaryOrder, *, action: str, actor: Actor, reason: str = "", detail: dict[str, Any] | None = None,
           from_status: str = "", to_status: str = "") -> None:
    """An event that is not a status change (booked, edited, hold released); transitions write theirs through
    dms.core.transitions.transition. A plain INSERT: every booking of the day-end push writes one."""
    insert_rows(OrderEvent, [{
        "tenant_id": order.tenant_id, "distributor_id": order.distributor_id, "order_id": order.pk, "action": action,
        "from_status": from_status, "to_status": to_status, "actor_kind": actor.kind, "actor_id": actor.id,
        "actor_label": actor.label[:150], "reason": reason[:300], "detail": detail or {}}])
