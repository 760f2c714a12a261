"""Master-data builders. Each runs inside the owning tenant's scope, as production writes do."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from catalog.models import Brand, Outlet, PriceList, PriceListItem, Sku, TaxRate
from dms.tenancy.context import current_scope_or_none, tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope

_seq = itertools.count(1)


def _in_tenant(tenant_id: int):  # type: ignore[no-untyped-def]
    scope = current_scope_or_none()
    if scope is not None and scope.tenant_id == tenant_id:
        from contextlib import nullcontext

        return nullcontext(scope)
    return tenant_scope(Scope.system(tenant_id))


def make_brand(tenant_id: int, **kw: Any) -> Brand:
    n = next(_seq)
    with _in_tenant(tenant_id):
        return Brand.objects.create(**{"code": f"BR{n}", "name": f"Brand {n}", **kw})


def make_tax_rate(tenant_id: int, **kw: Any) -> TaxRate:
    with _in_tenant(tenant_id):
        return TaxRate.objects.create(**{"tax_class": "STD", "name": "Standard", "rate": Decimal("0.1700"),
                                         "valid_from": date(2020, 1, 1), **kw})


def make_sku(tenant_id: int, brand: Brand | None = None, **kw: Any) -> Sku:
    n = next(_seq)
    brand = brand or make_brand(tenant_id)
    with _in_tenant(tenant_id):
        return Sku.objects.create(**{"code": f"SKU{n}", "name": f"Product {n}", "brand": brand, "units_per_case": 12,
                                     "weight_kg_per_case": Decimal("6.000"), "volume_l_per_case": Decimal("8.000"),
                                     "tax_class": "STD", **kw})


def make_outlet(distributor: Distributor, **kw: Any) -> Outlet:
    n = next(_seq)
    with _in_tenant(distributor.tenant_id):
        return Outlet.objects.create(**{"distributor": distributor, "code": f"OUT{n}", "name": f"Outlet {n}",
                                        "lat": Decimal("31.520400"), "lng": Decimal("74.358700"),
                                        "credit_limit": Decimal("50000.00"), **kw})


def make_price_list(tenant_id: int, prices: dict[Sku, Decimal] | None = None, **kw: Any) -> PriceList:
    n = next(_seq)
    with _in_tenant(tenant_id):
        pl = PriceList.objects.create(**{"code": f"PL{n}", "name": f"Price list {n}", "valid_from": date(2020, 1, 1),
                                         **kw})
        for sku, price in (prices or {}).items():
            PriceListItem.objects.create(price_list=pl, sku=sku, case_price=price)
        return pl


@dataclass
class Catalogue:
    cola: Sku  # 12 a case, 1234.5678 a case
    chips: Sku  # 24 a case, 480.0000 a case
    water: Sku  # 6 a case, 99.9900 a case
    price_list: PriceList


def make_catalogue(tenant_id: int, *, taxed: bool = True) -> Catalogue:
    """The tenant's three SKUs of one brand on one price list, taxed at 17 % (`taxed`) from 2020."""
    if taxed:
        make_tax_rate(tenant_id, tax_class="STD", rate=Decimal("0.1700"))
    brand = make_brand(tenant_id)
    cola = make_sku(tenant_id, brand=brand, code="COLA", name="Cola 250ml", units_per_case=12)
    chips = make_sku(tenant_id, brand=brand, code="CHIPS", name="Chips", units_per_case=24)
    water = make_sku(tenant_id, brand=brand, code="WATER", name="Water", units_per_case=6)
    price_list = make_price_list(tenant_id, {cola: Decimal("1234.5678"), chips: Decimal("480.0000"),
                                             water: Decimal("99.9900")})
    return Catalogue(cola, chips, water, price_list)


def make_scheme(tenant_id: int, *, kind: str, slabs: list[tuple[Any, ...]], skus: list[Sku] | None = None,
                brands: list[Brand] | None = None, **kw: Any) -> Any:
    """A scheme with slabs given as (threshold, benefit) or (threshold, benefit, free_sku) tuples."""
    from catalog.models import Scheme, SchemeBrand, SchemeSku, SchemeSlab

    n = next(_seq)
    with _in_tenant(tenant_id):
        scheme = Scheme.objects.create(**{"code": f"SCH{n}", "name": f"Scheme {n}", "kind": kind,
                                          "valid_from": date(2020, 1, 1), **kw})
        for threshold, benefit, *free in slabs:
            SchemeSlab.objects.create(scheme=scheme, threshold=Decimal(threshold), benefit=Decimal(benefit),
                                      free_sku=free[0] if free else None)
        for sku in skus or []:
            SchemeSku.objects.create(scheme=scheme, sku=sku)
        for brand in brands or []:
            SchemeBrand.objects.create(scheme=scheme, brand=brand)
        return scheme
