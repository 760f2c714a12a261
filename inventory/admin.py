"""The inventory admin: warehouses (distributor editors keep them), stock balances and the movement history
(read-only: stock changes only through the services), and an "Adjust stock" action on balances that asks for the
signed quantity and the reason on an intermediate page and calls stock_adjust for each selected balance. Stock
norms (cover days, safety and minimum order per SKU, read by the suggested primary order) are edited in the list.
Allocations (stock reserved per secondary order line, with why the line got what it got) are read-only: they are
made and released from Orders -> Secondary orders (inventory.allocation).

Querysets come from the scoped managers, so another tenant's or distributor's rows are a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from dms.core.errors import DomainError
from dms.tenancy.admin_base import DISTRIBUTOR_EDITORS, DistributorOwnedAdmin, request_role
from dms.tenancy.scope import Scope

from .models import Allocation, StockBalance, StockMovement, StockNorm, Warehouse
from .services import stock_adjust

MAX_ADJUST = 50  # balances adjusted by one action


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


class WarehouseForm(forms.ModelForm):
    """Checks the unique code and the single default here: for a distributor user the distributor is not on the
    form, so Django's own constraint validation would skip them and the insert would fail instead."""

    scope_distributor_id: ClassVar[int | None] = None

    class Meta:
        model = Warehouse
        fields = ["distributor", "code", "name", "active", "is_default"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        distributor = data.get("distributor")
        distributor_id = (distributor.pk if distributor is not None else None) or self.instance.distributor_id \
            or self.scope_distributor_id
        if distributor_id is None:
            return data
        others = Warehouse.objects.filter(distributor_id=distributor_id).exclude(pk=self.instance.pk)
        if data.get("code") and others.filter(code=data["code"]).exists():
            self.add_error("code", "This distributor has a warehouse with this code already.")
        if data.get("is_default") and others.filter(is_default=True).exists():
            self.add_error("is_default", "This distributor has a default warehouse already; unset it there first.")
        return data


@admin.register(Warehouse)
class WarehouseAdmin(DistributorOwnedAdmin):
    form = WarehouseForm
    list_display = ["code", "name", "active", "is_default"]
    list_filter = ["active", "is_default"]
    search_fields = ["code", "name"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"scope_distributor_id": _scope(request).single_distributor_id})


class StockNormForm(forms.ModelForm):
    """Checks one norm per distributor and SKU here, for the reason WarehouseForm gives."""

    scope_distributor_id: ClassVar[int | None] = None

    class Meta:
        model = StockNorm
        fields = ["distributor", "sku", "target_cover_days", "safety_cases", "min_order_cases"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        distributor = data.get("distributor")
        distributor_id = (distributor.pk if distributor is not None else None) or self.instance.distributor_id \
            or self.scope_distributor_id
        sku = data.get("sku")
        if distributor_id is not None and sku is not None and StockNorm.objects.filter(
                distributor_id=distributor_id, sku_id=sku.pk).exclude(pk=self.instance.pk).exists():
            self.add_error("sku", "This distributor has a norm for this SKU already; change that one.")
        return data


@admin.register(StockNorm)
class StockNormAdmin(DistributorOwnedAdmin):
    """Norms per SKU, edited in the list. A SKU without a norm is planned with DEFAULT_COVER_DAYS, no safety
    stock and no minimum order; deleting a norm returns the SKU to those defaults."""

    form = StockNormForm
    list_display = ["sku", "target_cover_days", "safety_cases", "min_order_cases", "updated_at"]
    list_editable = ["target_cover_days", "safety_cases", "min_order_cases"]
    list_select_related = ["sku"]
    search_fields = ["sku__code", "sku__name"]
    autocomplete_fields = ["sku"]
    ordering = ["distributor__code", "sku__code"]
    delete_roles = DISTRIBUTOR_EDITORS

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"scope_distributor_id": _scope(request).single_distributor_id})


class AdjustForm(forms.Form):
    qty_units = forms.IntegerField(label="Units", help_text="added to on hand; negative lowers it")
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))

    def clean_qty_units(self) -> int:
        qty: int = self.cleaned_data["qty_units"]
        if qty == 0:
            raise forms.ValidationError("An adjustment is not 0.")
        return qty


@admin.register(StockBalance)
class StockBalanceAdmin(DistributorOwnedAdmin):
    """Read-only: balances move only through the stock services (here: the Adjust stock action)."""

    edit_roles = frozenset()
    list_display = ["sku", "warehouse", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["warehouse"]
    search_fields = ["sku__code", "sku__name", "warehouse__code"]
    list_select_related = ["sku", "warehouse"]
    readonly_fields = ["warehouse", "sku", "on_hand", "reserved", "available", "version", "updated_at"]
    exclude = ["distributor"]
    actions = ["adjust_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("reserved"))

    @admin.display(description="available", ordering="available_units")
    def available(self, obj: StockBalance) -> int:
        return getattr(obj, "available_units", obj.available)

    def has_adjust_permission(self, request: HttpRequest) -> bool:
        return request_role(request) in DISTRIBUTOR_EDITORS

    @admin.action(description="Adjust stock…", permissions=["adjust"])
    def adjust_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        balances = list(queryset.select_related("sku", "warehouse").order_by("warehouse_id", "sku_id")[:MAX_ADJUST + 1])
        if len(balances) > MAX_ADJUST:
            self.message_user(request, f"Adjust at most {MAX_ADJUST} balances at once.", messages.ERROR)
            return None
        form = AdjustForm(request.POST if "apply_adjust" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._adjust(request, balances, form.cleaned_data["qty_units"], form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "Adjust stock", "form": form,
            "balances": balances, "action": "adjust_selected", "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/inventory/stockbalance/adjust.html", context)

    def _adjust(self, request: HttpRequest, balances: list[StockBalance], qty: int, reason: str) -> None:
        done = 0
        for balance in balances:
            try:
                stock_adjust(scope=_scope(request), warehouse_id=balance.warehouse_id, sku_id=balance.sku_id,
                             qty_units=qty, reason=reason)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{balance.sku} in {balance.warehouse}: not adjusted. {exc.message}",
                                  messages.ERROR)
        if done:
            self.message_user(request, f"{done} balance{'s' if done != 1 else ''} adjusted by {qty:+d} units.",
                              messages.SUCCESS)


@admin.register(StockMovement)
class StockMovementAdmin(DistributorOwnedAdmin):
    """The ledger, read-only: movements are never changed or deleted."""

    edit_roles = frozenset()
    list_display = ["created_at", "kind", "sku", "warehouse", "qty_units", "on_hand_delta", "reserved_delta",
                    "reference", "reason", "actor_label"]
    list_filter = ["kind", "warehouse", ("sku", admin.RelatedOnlyFieldListFilter),  # type: ignore[list-item]
                   ("created_at", admin.DateFieldListFilter)]
    search_fields = ["sku__code", "sku__name", "reason", "reference_type", "batch"]
    list_select_related = ["sku", "warehouse"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "warehouse", "sku", "kind", "qty_units", "on_hand_delta", "reserved_delta",
                       "reason", "reference_type", "reference_id", "batch", "expiry", "actor_kind", "actor_id",
                       "actor_label"]
    exclude = ["distributor"]

    @admin.display(description="reference")
    def reference(self, obj: StockMovement) -> str:
        return f"{obj.reference_type} {obj.reference_id or ''}".strip()


@admin.register(Allocation)
class AllocationAdmin(DistributorOwnedAdmin):
    """Read-only: allocations are made by orders_allocate and released by order_deallocate."""

    edit_roles = frozenset()
    list_display = ["created_at", "order_label", "line_no", "sku", "warehouse", "requested_units", "allocated_units",
                    "policy", "status", "explanation"]
    list_filter = ["status", "policy", "warehouse", ("created_at", admin.DateFieldListFilter)]  # type: ignore[list-item]
    search_fields = ["sku__code", "sku__name", "order__uuid", "order__outlet__code", "explanation"]
    list_select_related = ["sku", "warehouse", "order", "order__outlet", "order_line"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "order", "order_line", "warehouse", "sku", "requested_units",
                       "allocated_units", "policy", "explanation", "status", "run_id"]
    exclude = ["distributor"]

    @admin.display(description="order", ordering="order_id")
    def order_label(self, obj: Allocation) -> str:
        return f"{str(obj.order.uuid)[:8]} ({obj.order.outlet.code})"

    @admin.display(description="line", ordering="order_line__line_no")
    def line_no(self, obj: Allocation) -> int:
        return obj.order_line.line_no
