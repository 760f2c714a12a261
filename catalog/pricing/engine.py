"""The one pricing engine: the mobile catalogue, order booking and invoicing all price through here
(DESIGN §4), so the price an outlet was shown is the price it is invoiced.

`price_lines()` fetches the facts (resolve.py, a constant number of queries) and applies the pure rules
(core.py, whose docstring states them). Rounding is dms.core.money's one rule: half up, per line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from catalog.models import Outlet
from dms.core.errors import NotFound
from dms.tenancy.scope import Scope

from .core import LineInput, OutletFacts, PricedOrder, compute
from .resolve import load_facts


def price_lines(*, scope: Scope, outlet: Outlet, lines: Sequence[LineInput], on_date: date) -> PricedOrder:
    """Price `lines` for `outlet` as of `on_date`. Read-only; call it inside tenant_scope.

    Raises DomainError (catalog.errors.CatalogError codes, fields `lines[<i>].sku_id|cases|units`) when a
    line names an unknown or inactive SKU, an invalid quantity, or a SKU no visible price list prices.
    An outlet outside the scope is NotFound, like any object of another tenant or distributor.
    """
    if outlet.tenant_id != scope.tenant_id or not scope.can_access_distributor(outlet.distributor_id):
        raise NotFound("Outlet not found.")
    lines = tuple(lines)
    facts = load_facts(scope=scope, outlet=outlet, sku_ids={line.sku_id for line in lines}, on_date=on_date)
    return compute(outlet=OutletFacts(distributor_id=outlet.distributor_id, channel=outlet.channel),
                   lines=lines, on_date=on_date, facts=facts)
