"""Secondary orders, booked through orders.services.order_book in the owning tenant's scope, as the app's push does."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from catalog.models import Outlet, Sku
from dms.tenancy.context import current_scope_or_none, tenant_scope
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder, SecondaryOrder
from orders.services import BookedLine, Booking, BookResult, order_book
from tests.factories.catalog import _in_tenant

# A booking time inside the factories' price lists and tax rates (valid from 2020), in the past.
BOOKED_AT = datetime(2025, 6, 2, 6, 30, tzinfo=UTC)

LineSpec = BookedLine | tuple[Sku, int] | tuple[Sku, int, int] | tuple[Sku, int, int, Decimal]


def booked_line(spec: LineSpec) -> BookedLine:
    """(sku, cases[, units[, device case price]]) or a BookedLine."""
    if isinstance(spec, BookedLine):
        return spec
    rest: list[Any] = list(spec[2:])
    units = rest[0] if len(rest) > 0 else 0
    price = rest[1] if len(rest) > 1 else None
    return BookedLine(sku_id=spec[0].pk, cases=spec[1], units=units, device_case_price=price)


def booking_for(outlet: Outlet, lines: Sequence[LineSpec], **kw: Any) -> Booking:
    fields: dict[str, Any] = {"uuid": uuid_lib.uuid4(), "outlet_id": outlet.pk, "booked_at": BOOKED_AT,
                              "lines": tuple(booked_line(s) for s in lines), **kw}
    return Booking(**fields)


def book(outlet: Outlet, lines: Sequence[LineSpec], *, scope: Scope | None = None, **kw: Any) -> BookResult:
    """Book (or re-send, with the same `uuid`) an order for `outlet`: in `scope` (entered unless a tenant scope is
    current already), else in the tenant's system scope."""
    if scope is not None and current_scope_or_none() is None:
        with tenant_scope(scope):
            return order_book(scope=scope, booking=booking_for(outlet, lines, **kw))
    with _in_tenant(outlet.tenant_id) as current:
        return order_book(scope=scope or current, booking=booking_for(outlet, lines, **kw))


def make_order(outlet: Outlet, lines: Sequence[LineSpec], **kw: Any) -> SecondaryOrder:
    result = book(outlet, lines, **kw)
    assert result.outcome == "applied", result
    return result.order


# --- primary orders ----------------------------------------------------------------------------------------------

def make_primary_order(distributor: Any, lines: Sequence[tuple[Sku, int]], *, submit: bool = False,
                       note: str = "") -> PrimaryOrder:
    """A primary order of `distributor` (a draft, or submitted), created through the services in the tenant's
    system scope; its SKUs need a price valid today."""
    from orders.services import PrimaryLine, primary_order_create, primary_order_submit

    with _in_tenant(distributor.tenant_id) as scope:
        order = primary_order_create(scope=scope, distributor_id=distributor.pk, note=note,
                                     lines=[PrimaryLine(sku_id=sku.pk, cases=cases) for sku, cases in lines])
        if submit:
            order = primary_order_submit(scope=scope, order_id=order.pk)
        return order
