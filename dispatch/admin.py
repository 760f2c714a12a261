"""The dispatch admin: dispatch advices (DA) and goods receipts (GRN) of primary orders.

Both are read-only documents: the manufacturer issues DAs over its API, and a GRN is written once, by
receipt_record. The DA page shows every order line (ordered, approved, dispatched), its batches, the totals and
links to the primary order and the GRN; while the goods are in transit, distributor editors (and the
manufacturer's admin) open "Record receipt" from it: one row per batch, prefilled as received in full, and a
warehouse. The form calls receipt_record under request.scope; its refusals come back as form errors and nothing is
saved. Querysets come from the scoped managers, so another tenant's or distributor's DA or GRN is a 404.

Vehicles and load forms (the outbound side) have their own module, dispatch.admin_loading, registered from here.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    DISTRIBUTOR_EDITORS,
    DistributorOwnedAdmin,
    RoleInline,
    request_role,
)
from dms.tenancy.scope import Scope
from inventory.models import Warehouse
from inventory.selectors import warehouse_list

from . import selectors
from .enums import AdviceStatus
from .models import DispatchAdvice, DispatchAdviceLine, GoodsReceipt, GoodsReceiptLine
from .services import ReceiptLineInput, receipt_record
from .services.common import tenant_today

RECEIPT_TEMPLATE = "admin/dispatch/dispatchadvice/receipt.html"
NARROW = {"style": "width: 6em"}


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _may_receive(request: HttpRequest) -> bool:
    return request_role(request) in DISTRIBUTOR_EDITORS




class ReadOnlyDocumentAdmin(DistributorOwnedAdmin):
    """A document written by a service: listed and shown, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- dispatch advices ------------------------------------------------------------------------------------------

class DispatchAdviceLineInline(RoleInline):
    model = DispatchAdviceLine
    fields = readonly_fields = ("line_no", "sku", "ordered_cases", "approved_cases", "dispatched_cases", "case_price",
                                "dispatched_value", "batch_detail", "received", "short", "damaged")
    verbose_name = "line"
    verbose_name_plural = "lines (cases ordered, approved, dispatched; once received, what arrived)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.advice_line_list(scope=_scope(request))

    @admin.display(description="batches")
    def batch_detail(self, obj: DispatchAdviceLine) -> str:
        return format_html_join(
            "", "<div>{}{}: {} cases</div>",
            ((b.batch or "(no batch)", f", expires {b.expiry}" if b.expiry else "", b.cases)
             for b in obj.batches.all())) or "-"

    @admin.display(description="received")
    def received(self, obj: Any) -> Any:
        return obj.received_cases if obj.received_cases is not None else "-"

    @admin.display(description="short")
    def short(self, obj: Any) -> Any:
        return obj.short_cases if obj.short_cases is not None else "-"

    @admin.display(description="damaged")
    def damaged(self, obj: Any) -> Any:
        return obj.damaged_cases if obj.damaged_cases is not None else "-"


@admin.register(DispatchAdvice)
class DispatchAdviceAdmin(ReadOnlyDocumentAdmin):
    list_display = ["number", "reference", "order_link", "status", "dispatched_on", "expected_on",
                    "total_approved_cases", "total_dispatched_cases", "dispatched_value", "currency", "receipt_link"]
    # editors get the receipt column with a "Record receipt" button while the goods are in transit
    RECEIPT_COLUMNS = {"receipt_link": "receipt_or_record"}
    list_filter = ["status", ("dispatched_on", admin.DateFieldListFilter),  # type: ignore[list-item]
                   ("expected_on", admin.DateFieldListFilter)]
    search_fields = ["number", "reference", "order__number", "vehicle", "transporter"]
    list_select_related = ["order", "distributor"]
    date_hierarchy = "dispatched_on"
    inlines = [DispatchAdviceLineInline]
    fields = readonly_fields = [  # type: ignore[assignment]
        "number", "reference", "status", "distributor", "order_link", "receipt_link", "dispatched_on", "expected_on",
        "vehicle", "transporter", "note", "currency", "total_ordered_cases", "total_approved_cases",
        "total_dispatched_cases", "dispatched_value", "actor_label", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return selectors.with_receipt(super().get_queryset(request))

    def _for_editors(self, request: HttpRequest, names: Any) -> list[str]:
        names = list(names)
        return [self.RECEIPT_COLUMNS.get(n, n) for n in names] if _may_receive(request) else names

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._for_editors(request, super().get_list_display(request))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._for_editors(request, super().get_fields(request, obj))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._for_editors(request, super().get_readonly_fields(request, obj))

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        scope = getattr(request, "scope", None)
        if scope is not None and scope.single_distributor_id is None:
            filters.insert(1, ("distributor", admin.RelatedOnlyFieldListFilter))
        return filters

    @admin.display(description="primary order", ordering="order__number")
    def order_link(self, obj: DispatchAdvice) -> str:
        url = reverse("admin:orders_primaryorder_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="goods receipt")
    def receipt_link(self, obj: Any) -> str:
        if getattr(obj, "receipt_id", None):
            url = reverse("admin:dispatch_goodsreceipt_change", args=[obj.receipt_id])
            return format_html('<a href="{}">{}</a>', url, obj.receipt_number)
        return "in transit" if obj.status == AdviceStatus.ISSUED else "-"

    @admin.display(description="goods receipt")
    def receipt_or_record(self, obj: Any) -> str:
        if obj.status == AdviceStatus.ISSUED and not getattr(obj, "receipt_id", None):
            url = reverse("admin:dispatch_dispatchadvice_receipt", args=[obj.pk])
            return format_html('<a class="button" href="{}">Record receipt</a>', url)
        return self.receipt_link(obj)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [path("<path:object_id>/receipt/", wrap(self.receipt_view), name="dispatch_dispatchadvice_receipt"),
                *super().get_urls()]

    def receipt_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Record the GRN of a DA in transit through receipt_record; a refusal is shown on the form."""
        if not _may_receive(request):
            raise PermissionDenied
        advice = self.get_object(request, object_id)
        if advice is None:
            raise Http404
        if advice.status != AdviceStatus.ISSUED:
            self.message_user(request, f"{advice.number} was received already.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:dispatch_dispatchadvice_change", args=[advice.pk]))
        scope = _scope(request)
        batches = selectors.advice_batches(scope=scope, advice_id=advice.pk)
        warehouses = warehouse_list(scope=scope, distributor_id=advice.distributor_id).filter(active=True)
        data = request.POST if request.method == "POST" else None
        header = ReceiptForm(data, warehouses=warehouses, initial={"received_on": tenant_today(scope)})
        formset = ReceiptLineFormSet(data, prefix="lines", initial=[
            {"batch_id": b.pk, "received_cases": b.cases, "short_cases": 0, "damaged_cases": 0} for b in batches])
        if data is not None and header.is_valid() and formset.is_valid():
            receipt = self._record(request, advice, header, formset)
            if receipt is not None:
                self.message_user(request, f"{receipt.number} recorded: {receipt.total_received_cases} cases into "
                                           f"{receipt.warehouse.code}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:dispatch_goodsreceipt_change", args=[receipt.pk]))
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": f"Record receipt of {advice.number}",
            "advice": advice, "header": header, "formset": formset, "rows": list(zip(batches, formset.forms,
                                                                                     strict=True)),
        }
        return TemplateResponse(request, RECEIPT_TEMPLATE, context)

    def _record(self, request: HttpRequest, advice: DispatchAdvice, header: ReceiptForm,
                formset: Any) -> GoodsReceipt | None:
        warehouse = header.cleaned_data["warehouse"]
        try:
            return receipt_record(
                scope=_scope(request), advice_id=advice.pk, received_on=header.cleaned_data["received_on"],
                warehouse_id=warehouse.pk if warehouse is not None else None, note=header.cleaned_data["note"],
                lines=[ReceiptLineInput(batch_id=row["batch_id"], received_cases=row["received_cases"],
                                        short_cases=row["short_cases"], damaged_cases=row["damaged_cases"],
                                        note=row["note"]) for row in formset.cleaned_data])
        except DomainError as exc:
            if exc.status_code == 404:
                raise Http404(exc.message) from exc
            if exc.status_code == 403:
                raise PermissionDenied(exc.message) from exc
            _place_errors(exc, header, formset)
            return None


# --- the receipt form ------------------------------------------------------------------------------------------

class ReceiptForm(forms.Form):
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), required=False,
                                       empty_label="The default warehouse",
                                       help_text="where the good cases go into stock")
    received_on = forms.DateField(help_text="the day the goods arrived")
    note = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args: Any, warehouses: QuerySet[Warehouse], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouses  # type: ignore[attr-defined]


class ReceiptLineForm(forms.Form):
    batch_id = forms.IntegerField(widget=forms.HiddenInput)
    received_cases = forms.IntegerField(min_value=0, label="received", widget=forms.NumberInput(attrs=NARROW))
    short_cases = forms.IntegerField(min_value=0, label="short", widget=forms.NumberInput(attrs=NARROW))
    damaged_cases = forms.IntegerField(min_value=0, label="damaged", widget=forms.NumberInput(attrs=NARROW))
    note = forms.CharField(required=False, max_length=300)


ReceiptLineFormSet = formset_factory(ReceiptLineForm, extra=0)
HEADER_FIELDS = {"warehouse_id": "warehouse", "received_on": "received_on", "note": "note"}


def _place_errors(exc: DomainError, header: ReceiptForm, formset: Any) -> None:
    """A service's field errors on the form: `lines[i].<field>` on the i-th row (the rows are sent in order),
    header fields on the header, the rest (`lines`, `status`) above the form."""
    placed = False
    for name, problems in (exc.fields or {}).items():
        for problem in problems if isinstance(problems, list) else [problems]:
            match = re.match(r"^lines\[(\d+)\](?:\.(\w+))?$", name)
            if match and int(match.group(1)) < len(formset.forms):
                form = formset.forms[int(match.group(1))]
                field = match.group(2) if match.group(2) in form.fields else None
                form.add_error(field, str(problem))
            elif name in HEADER_FIELDS:
                header.add_error(HEADER_FIELDS[name], str(problem))
            else:
                header.add_error(None, str(problem))
            placed = True
    if not placed:
        header.add_error(None, exc.message)


# --- goods receipts --------------------------------------------------------------------------------------------

class GoodsReceiptLineInline(RoleInline):
    model = GoodsReceiptLine
    fields = readonly_fields = ("line_no", "sku", "batch", "expiry", "dispatched_cases", "received_cases",
                                "short_cases", "damaged_cases", "received_units", "note")
    verbose_name = "line"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("advice_line", "sku").order_by("advice_line__line_no",
                                                                                            "id")

    @admin.display(description="line")
    def line_no(self, obj: GoodsReceiptLine) -> int:
        return obj.advice_line.line_no


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(ReadOnlyDocumentAdmin):
    list_display = ["number", "advice_link", "order_number", "warehouse", "received_on", "total_dispatched_cases",
                    "total_received_cases", "total_short_cases", "total_damaged_cases", "received_value"]
    list_filter = [("received_on", admin.DateFieldListFilter),  # type: ignore[list-item]
                   ("warehouse", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "advice__number", "advice__reference", "advice__order__number"]
    list_select_related = ["advice", "advice__order", "warehouse", "distributor"]
    date_hierarchy = "received_on"
    inlines = [GoodsReceiptLineInline]
    fields = readonly_fields = [  # type: ignore[assignment]
        "number", "distributor", "advice_link", "order_link", "warehouse", "received_on", "note", "received_by",
        "total_dispatched_cases", "total_received_cases", "total_short_cases", "total_damaged_cases",
        "received_value", "actor_label", "created_at"]

    @admin.display(description="dispatch advice", ordering="advice__number")
    def advice_link(self, obj: GoodsReceipt) -> str:
        url = reverse("admin:dispatch_dispatchadvice_change", args=[obj.advice_id])
        return format_html('<a href="{}">{}</a>', url, obj.advice.number)

    @admin.display(description="primary order", ordering="advice__order__number")
    def order_number(self, obj: GoodsReceipt) -> str:
        return obj.advice.order.number

    @admin.display(description="primary order")
    def order_link(self, obj: GoodsReceipt) -> str:
        url = reverse("admin:orders_primaryorder_change", args=[obj.advice.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.advice.order.number)


# Vehicles and load forms register from their own module.
from . import admin_loading  # noqa: E402, F401
