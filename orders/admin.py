"""The orders admin: secondary orders with their priced lines and their events.

Every write goes through a service under request.scope: a booked order's note, delivery date and lines are saved
by one order_edit call with the version the page was loaded with (a newer version is refused, nothing saved);
the bulk actions call order_confirm_many, order_cancel_many and order_release_hold and report each order's
outcome. Cancelling and releasing a hold ask for a reason on an intermediate page, because both are decisions
someone must be able to explain later (the reason goes into the order's event). Querysets come from the scoped
managers, so another tenant's or distributor's order is a 404. Analysts read; distributor editors act.

"Allocate selected…" shows the plan first (inventory.allocation.allocation_plan: the fill rate each outlet would get,
each line's proposed units and why) with a choice of policy and warehouse; "Allocate" commits it with
orders_allocate, passing the units shown so that a change of stock in between is reported per order. "Deallocate
selected…" releases allocated orders' stock (with a reason), after which they can be cancelled or allocated again.

"Invoice selected orders" is listed here too, but it is invoicing's (invoicing/admin_actions.py, attached to this
admin by InvoicingConfig.ready): orders sits below invoicing and does not import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from dms.core.errors import DomainError
from dms.tenancy.admin_base import (
    DISTRIBUTOR_EDITORS,
    DistributorOwnedAdmin,
    RoleInline,
    ServiceRefused,
    VersionedChangeForm,
    request_role,
)
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import membership_list
from inventory import allocation
from inventory.allocation.policy import FIFO, POLICIES
from inventory.models import Warehouse
from inventory.selectors import warehouse_list

from .enums import OrderStatus
from .errors import OrderError
from .models import OrderEvent, SecondaryOrder, SecondaryOrderLine
from .services import (
    KEEP,
    BookedLine,
    BulkResult,
    order_cancel_many,
    order_confirm_many,
    order_deallocate_many,
    order_edit,
    order_release_hold_many,
)

REFUSED = "_orders_refused"  # request attribute: a service's refusal, shown on the re-rendered change form
MAX_MESSAGES = 20  # per-order failure messages shown after a bulk action; the rest are counted


def _scope(request: HttpRequest) -> Scope:
    return request.scope  # type: ignore[attr-defined,no-any-return]


def _editable(request: HttpRequest, obj: SecondaryOrder | None) -> bool:
    return request_role(request) in DISTRIBUTOR_EDITORS and (obj is None or obj.status in SecondaryOrder.EDITABLE)


def _label(order: SecondaryOrder) -> str:
    return f"Order {str(order.uuid)[:8]} ({order.outlet.code})"


def _problems(error: DomainError) -> list[tuple[str, str]]:
    return [(name, str(p)) for name, problems in (error.fields or {}).items()
            for p in (problems if isinstance(problems, list) else [problems])]


# --- list filters (bookers are users, a global table: listed through the scope's memberships) ----------------

class BookerFilter(admin.SimpleListFilter):
    title = "order-booker"
    parameter_name = "booker"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, str]]:
        rows = membership_list(scope=_scope(request)).filter(role=Role.ORDER_BOOKER).order_by("user__username")
        return [(m.user_id, f"{m.user.get_username()} ({m.distributor.code})")  # type: ignore[union-attr]
                for m in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(booker_id=value) if value and value.isdigit() else queryset


# --- inlines ---------------------------------------------------------------------------------------------------



class OrderLineForm(forms.ModelForm):
    class Meta:
        model = SecondaryOrderLine
        fields = ["sku", "cases", "units"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.is_free:
            # free goods are the pricing engine's: they follow from the booked lines
            for field in self.fields.values():
                field.disabled = True


class OrderLineFormSet(BaseInlineFormSet):
    """The inline's booked rows become the `lines` of one order_edit call (SecondaryOrderAdmin.save_related)."""

    refused: ClassVar[DomainError | None] = None

    def kept(self) -> list[forms.Form]:
        """The booked rows to keep, in line order; free-goods rows and deleted rows are left out."""
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            deleted = self.can_delete and self._should_delete_form(form)  # type: ignore[attr-defined]
            if data and data.get("sku") is not None and not deleted and not form.instance.is_free:
                rows.append(form)
        return rows

    def booked_lines(self) -> list[BookedLine]:
        return [BookedLine(sku_id=f.cleaned_data["sku"].pk, cases=f.cleaned_data.get("cases") or 0,
                           units=f.cleaned_data.get("units") or 0) for f in self.kept()]

    def clean(self) -> None:
        super().clean()
        if self.refused is None:
            return
        rows = self.kept()
        unplaced = []
        for name, problem in _problems(self.refused):
            index = _line_index(name)
            if index is not None and index < len(rows):
                rows[index].add_error(None, problem)
            elif name.startswith("lines"):
                unplaced.append(problem)
        if unplaced:
            raise forms.ValidationError(unplaced)


def _line_index(name: str) -> int | None:
    if name.startswith("lines[") and "]" in name:
        number = name[len("lines["):name.index("]")]
        return int(number) if number.isdigit() else None
    return None


class OrderLineInline(RoleInline):
    model = SecondaryOrderLine
    form = OrderLineForm
    formset = OrderLineFormSet
    extra = 0
    ordering = ["line_no"]
    autocomplete_fields = ["sku"]
    fields = ["line_no", "sku", "cases", "units", "qty_units", "case_price", "gross", "discount", "tax_rate", "tax",
              "total", "is_free", "device_case_price"]
    readonly_fields = ["line_no", "qty_units", "case_price", "gross", "discount", "tax_rate", "tax", "total",
                       "is_free", "device_case_price"]
    verbose_name = "line"
    verbose_name_plural = "lines (priced by the pricing engine on save; free goods follow from the booked lines)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("sku")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and _editable(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and _editable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and _editable(request, obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        refused: ServiceRefused | None = getattr(request, REFUSED, None)
        if refused is not None:
            formset = type(formset.__name__, (formset,), {"refused": refused.error})
        return formset


class OrderEventInline(RoleInline):
    model = OrderEvent
    extra = 0
    ordering = ["created_at", "id"]
    fields = ["created_at", "action", "from_status", "to_status", "actor_label", "reason", "detail"]
    readonly_fields = ["created_at", "action", "from_status", "to_status", "actor_label", "reason", "detail"]
    verbose_name_plural = "events"


# --- the order ---------------------------------------------------------------------------------------------------

class OrderForm(forms.ModelForm):
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    refused: ClassVar[DomainError | None] = None

    class Meta:
        model = SecondaryOrder
        fields = ["note", "delivery_date"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.refused is not None:
            placed = False
            for name, problem in _problems(self.refused):
                if name in self.fields:
                    self.add_error(name, problem)
                    placed = True
            if not placed:
                self.add_error(None, self.refused.message)
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class AllocateForm(forms.Form):
    policy = forms.ChoiceField(choices=list(POLICIES.items()), initial=FIFO, widget=forms.RadioSelect,
                               help_text="Under a shortage, first come serves orders in booking order; fair share "
                                         "gives every order the same part of a short SKU.")
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), required=False,
                                       empty_label="Each distributor's default warehouse")

    def __init__(self, *args: Any, scope: Scope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = warehouse_list(scope=scope).filter(active=True)  # type: ignore[attr-defined]


EXPECTED_PREFIX = "expected-"  # hidden inputs of the allocation page: the units each line was shown


@admin.register(SecondaryOrder)
class SecondaryOrderAdmin(VersionedChangeForm, DistributorOwnedAdmin):
    stale_code = OrderError.STALE_VERSION
    refused_attr = REFUSED
    form = OrderForm
    list_display = ["order", "booked", "outlet", "booker", "status", "total", "hold", "price_flag", "version"]
    list_filter = ["status", "hold", "price_flag", ("booked_at", admin.DateFieldListFilter),  # type: ignore[list-item]
                   BookerFilter]
    search_fields = ["outlet__code", "outlet__name", "uuid"]
    list_select_related = ["outlet", "booker"]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["confirm_selected", "cancel_selected", "release_hold_selected", "allocate_selected",
               "deallocate_selected"]
    readonly_fields = ["uuid", "distributor", "outlet", "booker", "device", "visit", "source", "status", "booked",
                       "currency", "gross", "discount", "tax", "total", "device_total", "price_flag", "hold",
                       "hold_reason", "version"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(tenant_time_zone=F("tenant__time_zone"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are booked in the app (or over the API), not typed in here

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # a change of a booked order only; the actions are offered on the changelist (obj None)
        return super().has_change_permission(request, obj) and (obj is None or obj.status in SecondaryOrder.EDITABLE)

    @admin.display(description="order", ordering="uuid")
    def order(self, obj: SecondaryOrder) -> str:
        return str(obj.uuid)[:8]

    @admin.display(description="booked at", ordering="booked_at")
    def booked(self, obj: SecondaryOrder) -> str:
        tz = ZoneInfo(getattr(obj, "tenant_time_zone", None) or "UTC")
        return obj.booked_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main: list[Any] = ["uuid", "outlet", "booker", "source", "status", "booked", "version"]
        if _scope(request).single_distributor_id is None:
            main.insert(0, "distributor")
        delivery: list[Any] = ["delivery_date", "note"]
        if obj is not None and self.has_change_permission(request, obj):
            delivery.append("loaded_version")
        return [
            (None, {"fields": main}),
            ("Delivery", {"fields": delivery}),
            ("Money", {"fields": ["currency", ("gross", "discount", "tax", "total"), "device_total", "price_flag"]}),
            ("Credit", {"fields": ["hold", "hold_reason"]}),
            ("Booked on", {"fields": ["device", "visit"], "classes": ["collapse"]}),
        ]

    # --- the change view: one order_edit call with the version the page was loaded with (VersionedChangeForm)
    def stale_message(self, obj: Any, loaded: str) -> str:
        return (f"{_label(obj)} changed since you opened it (version {loaded}, now {obj.version}): nothing was "
                "saved. The page shows the current order; make your change again.")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing here: the whole edit is one order_edit call in save_related, once the lines are known."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        lines = None
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if isinstance(formset, OrderLineFormSet) and formset.has_changed():
                lines = formset.booked_lines()
        changed = set(form.changed_data)
        if lines is None and not changed & {"note", "delivery_date"}:
            return
        order = form.instance
        try:
            edited = order_edit(
                scope=_scope(request), order_id=order.pk,
                version=form.cleaned_data.get("loaded_version") or order.version, lines=lines,
                note=form.cleaned_data["note"] if "note" in changed else None,
                delivery_date=form.cleaned_data["delivery_date"] if "delivery_date" in changed else KEEP,
                reason="edited in the admin")
        except DomainError as exc:
            if exc.status_code == 404:
                raise Http404(exc.message) from exc
            if exc.status_code == 403:
                raise PermissionDenied(exc.message) from exc
            raise ServiceRefused(exc) from exc
        if edited.version != order.version:
            self.message_user(request, f"{_label(edited)} saved and priced: total {edited.total} {edited.currency}, "
                              f"version {edited.version}.", messages.SUCCESS)
        form.instance = edited

    def construct_change_message(self, request: HttpRequest, form: Any, formsets: Any, add: bool = False) -> Any:
        message = super().construct_change_message(request, form, formsets, add)
        if any(isinstance(f, OrderLineFormSet) and f.has_changed() for f in formsets):
            message.append({"changed": {"fields": ["lines"]}})
        return message

    # --- bulk actions ---------------------------------------------------------------------------------------------
    @admin.action(description="Confirm selected orders", permissions=["change"])
    def confirm_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        labels = self._labels(queryset)
        self._run(request, lambda: order_confirm_many(scope=_scope(request), order_ids=list(labels)), labels,
                  "confirmed")

    @admin.action(description="Cancel selected orders…", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, action="cancel_selected", title="Cancel orders", button="Cancel these orders",
            intro="Cancelled orders no longer count against their outlets' credit. Booked and confirmed orders can "
                  "be cancelled; the reason is kept in each order's events.",
            run=lambda ids, reason: order_cancel_many(scope=_scope(request), order_ids=ids, reason=reason),
            done="cancelled")

    @admin.action(description="Release credit hold…", permissions=["change"])
    def release_hold_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, action="release_hold_selected", title="Release credit holds",
            button="Release the holds",
            intro="A released order can be confirmed although it is over its outlet's credit limit. Say why; the "
                  "reason is kept in each order's events.",
            run=lambda ids, reason: order_release_hold_many(scope=_scope(request), order_ids=ids, reason=reason),
            done="released from hold")

    @admin.action(description="Deallocate selected orders…", permissions=["change"])
    def deallocate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        return self._with_reason(
            request, queryset, action="deallocate_selected", title="Deallocate orders",
            button="Deallocate these orders",
            intro="The stock reserved for these allocated orders goes back to the warehouse, and the orders return "
                  "to confirmed: then they can be cancelled or allocated again. The reason is kept in each order's "
                  "events and on the stock movements.",
            run=lambda ids, reason: order_deallocate_many(scope=_scope(request), order_ids=ids, reason=reason),
            done="deallocated")

    @admin.action(description="Allocate selected orders…", permissions=["change"])
    def allocate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        """The plan for the chosen policy and warehouse; "Allocate" commits the plan that was shown (a change of
        choice shows the new plan first)."""
        scope = _scope(request)
        labels = self._labels(queryset)
        if len(labels) > allocation.MAX_ORDERS:
            self.message_user(request, f"Allocate at most {allocation.MAX_ORDERS} orders at once.", messages.ERROR)
            return None
        asked = "apply_allocation" in request.POST or "show_plan" in request.POST
        form = AllocateForm(request.POST if asked else None, scope=scope)
        policy, warehouse = FIFO, None
        if form.is_bound and form.is_valid():
            policy, warehouse = form.cleaned_data["policy"], form.cleaned_data["warehouse"]
        warehouse_id = warehouse.pk if warehouse is not None else None
        shown = (request.POST.get("planned_policy") == policy
                 and request.POST.get("planned_warehouse", "") == str(warehouse_id or ""))
        if form.is_bound and form.is_valid() and "apply_allocation" in request.POST and shown:
            shown_units = {key[len(EXPECTED_PREFIX):]: request.POST.get(key, "") for key in request.POST
                           if key.startswith(EXPECTED_PREFIX)}
            expected = {int(k): int(v) for k, v in shown_units.items() if k.isdigit() and v.isdigit()}
            try:
                results = allocation.orders_allocate(scope=scope, order_ids=list(labels), warehouse_id=warehouse_id,
                                                     policy=policy, expected=expected)
            except DomainError as exc:
                self.message_user(request, f"Nothing was allocated: {exc.message}", messages.ERROR)
                return None
            self._report_allocation(request, results, labels)
            return None
        try:
            plan = allocation.allocation_plan(scope=scope, order_ids=list(labels), warehouse_id=warehouse_id,
                                              policy=policy)
        except DomainError as exc:
            self.message_user(request, f"No plan could be made: {exc.message}", messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": "Allocate orders", "form": form,
            "plan": plan, "rows": [(labels.get(o.order_id, f"Order {o.order_id}"), o,
                                    allocation.OUTCOME_LABELS[o.outcome]) for o in plan.orders],
            "policy": policy, "policy_label": POLICIES[policy], "warehouse": warehouse,
            "planned_warehouse": warehouse_id or "", "choice_changed": "apply_allocation" in request.POST,
            "ids": list(labels), "action": "allocate_selected", "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "expected_prefix": EXPECTED_PREFIX,
        }
        return TemplateResponse(request, "admin/orders/secondaryorder/allocate.html", context)

    def _report_allocation(self, request: HttpRequest, results: list[allocation.AllocationResult],
                           labels: dict[int, str]) -> None:
        counts = {outcome: sum(1 for r in results if r.outcome == outcome) for outcome in allocation.OUTCOMES}
        summary = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in counts.items() if n)
        self.message_user(request, f"Allocation of {len(results)} order{'s' if len(results) != 1 else ''}: "
                          f"{summary}.", messages.SUCCESS if counts[allocation.ALLOCATED] + counts[allocation.PARTIAL]
                          else messages.WARNING)
        level = {allocation.ALLOCATED: messages.SUCCESS, allocation.PARTIAL: messages.WARNING,
                 allocation.ALREADY: messages.INFO, allocation.NOTHING: messages.WARNING}
        for result in results[:MAX_MESSAGES]:
            what = "not allocated" if result.outcome == allocation.REFUSED else result.outcome.replace("_", " ")
            self.message_user(request, f"{labels.get(result.order_id, result.order_id)}: {what}. {result.message}",
                              level.get(result.outcome, messages.ERROR))
        if len(results) > MAX_MESSAGES:
            self.message_user(request, f"{len(results) - MAX_MESSAGES} more orders: see each order's events.",
                              messages.INFO)

    def _labels(self, queryset: QuerySet[Any]) -> dict[int, str]:
        return {order.pk: _label(order) for order in queryset.select_related("outlet").order_by("pk")}

    def _with_reason(self, request: HttpRequest, queryset: QuerySet[Any], *, action: str, title: str, button: str,
                     intro: str, run: Callable[[list[int], str], list[BulkResult]],
                     done: str) -> HttpResponse | None:
        """The intermediate page asking for the reason; on its submit, run the action and report per order."""
        labels = self._labels(queryset)
        form = ReasonForm(request.POST if "apply_reason" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._run(request, lambda: run(list(labels), form.cleaned_data["reason"]), labels, done)
            return None
        context = {
            **self.admin_site.each_context(request), "opts": self.opts, "title": title, "intro": intro,
            "button": button, "form": form, "action": action, "labels": labels.values(), "ids": list(labels),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/secondaryorder/reason.html", context)

    def _run(self, request: HttpRequest, act: Callable[[], list[BulkResult]], labels: dict[int, str],
             done: str) -> None:
        """Run a bulk service and report per order; a refusal of the whole batch (too many orders) is a message."""
        try:
            results = act()
        except DomainError as exc:
            self.message_user(request, f"Nothing was {done}: {exc.message}", messages.ERROR)
            return
        self._report(request, results, labels, done)

    def _report(self, request: HttpRequest, results: list[BulkResult], labels: dict[int, str], done: str) -> None:
        succeeded = [r for r in results if r.ok]
        failed = [r for r in results if not r.ok]
        if succeeded:
            self.message_user(request, f"{len(succeeded)} order{'s' if len(succeeded) != 1 else ''} {done}.",
                              messages.SUCCESS)
        for result in failed[:MAX_MESSAGES]:
            self.message_user(request, f"{labels.get(result.order_id, result.order_id)}: not {done}. "
                              f"{result.message}", messages.ERROR)
        if len(failed) > MAX_MESSAGES:
            self.message_user(request, f"{len(failed) - MAX_MESSAGES} more orders were not {done}.", messages.ERROR)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        if obj is not None and obj.hold:
            context["subtitle"] = format_html("On credit hold: {}", obj.hold_reason)
        elif obj is not None and obj.status != OrderStatus.BOOKED:
            context["subtitle"] = f"{obj.get_status_display()}: the order can no longer be edited."
        return super().render_change_form(request, context, add, change, form_url, obj)
from . import admin_primary  # noqa: E402,F401  (the primary-order admin registers itself)
