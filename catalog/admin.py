from __future__ import annotations

from django.contrib import admin

from dms.tenancy.admin_base import DistributorOwnedAdmin, OptionalDistributorAdmin, TenantAdmin

from .models import (
    Brand,
    Outlet,
    PriceList,
    PriceListItem,
    Scheme,
    SchemeBrand,
    SchemeSku,
    SchemeSlab,
    Sku,
    TaxRate,
)


@admin.register(Brand)
class BrandAdmin(TenantAdmin):
    list_display = ["code", "name", "active"]
    search_fields = ["code", "name"]


@admin.register(Sku)
class SkuAdmin(TenantAdmin):
    list_display = ["code", "name", "brand", "pack_size", "units_per_case", "tax_class", "active"]
    list_filter = ["active", "brand", "tax_class"]
    search_fields = ["code", "name"]
    list_select_related = ["brand"]


@admin.register(Outlet)
class OutletAdmin(DistributorOwnedAdmin):
    list_display = ["code", "name", "channel", "address", "credit_limit", "active"]
    list_filter = ["channel", "active"]
    search_fields = ["code", "name", "address"]


@admin.register(TaxRate)
class TaxRateAdmin(TenantAdmin):
    list_display = ["tax_class", "name", "rate", "valid_from", "valid_to"]


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 0
    autocomplete_fields = ["sku"]


@admin.register(PriceList)
class PriceListAdmin(OptionalDistributorAdmin):
    list_display = ["code", "name", "distributor", "channel", "valid_from", "valid_to", "active"]
    list_filter = ["active", "channel"]
    search_fields = ["code", "name"]
    inlines = [PriceListItemInline]


class SchemeSlabInline(admin.TabularInline):
    model = SchemeSlab
    extra = 0


class SchemeSkuInline(admin.TabularInline):
    model = SchemeSku
    extra = 0
    autocomplete_fields = ["sku"]


class SchemeBrandInline(admin.TabularInline):
    model = SchemeBrand
    extra = 0


@admin.register(Scheme)
class SchemeAdmin(OptionalDistributorAdmin):
    list_display = ["code", "name", "kind", "basis", "valid_from", "valid_to", "priority", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    inlines = [SchemeSlabInline, SchemeSkuInline, SchemeBrandInline]
