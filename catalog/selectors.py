"""Reads of master data, always through the scope."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from dms.tenancy.scope import Scope

from .models import Brand, Outlet, PriceList, PriceListItem, Scheme, Sku, TaxRate


def brand_list(*, scope: Scope) -> QuerySet[Brand]:
    return Brand.objects.filter(tenant_id=scope.tenant_id)


def sku_list(*, scope: Scope) -> QuerySet[Sku]:
    return Sku.objects.filter(tenant_id=scope.tenant_id).select_related("brand")


def outlet_list(*, scope: Scope) -> QuerySet[Outlet]:
    return scope.filter(Outlet.objects.all())


def price_list_list(*, scope: Scope) -> QuerySet[PriceList]:
    items = PriceListItem.objects.select_related("sku").order_by("sku__code")
    return scope.filter_optional_distributor(PriceList.objects.all()).prefetch_related(
        Prefetch("items", queryset=items))


def tax_rate_list(*, scope: Scope) -> QuerySet[TaxRate]:
    return TaxRate.objects.filter(tenant_id=scope.tenant_id)


def scheme_list(*, scope: Scope) -> QuerySet[Scheme]:
    return scope.filter_optional_distributor(Scheme.objects.all()).prefetch_related(
        "slabs", "sku_rules", "brand_rules")
