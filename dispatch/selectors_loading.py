"""Reads of vehicles and load forms, always through the scope: another distributor's or tenant's vehicle or load form
is "not found", and a delivery man sees only the load forms he drives.

Load forms read the invoicing app's documents (invoices and their lines, the payments collected on a round) with
plain scoped queries: they are the load's content, and one query for any number of invoices keeps planning a day's
load cheap. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum

from catalog.models import Outlet
from dms.core.errors import NotFound
from dms.core.money import QTY, ZERO, div, mul
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import membership_list
from invoicing.enums import InvoiceStatus
from invoicing.models import Invoice, InvoiceLine, Payment
from orders.enums import OrderStatus

from .enums import CollectionMethod, DeliveryOutcome, LoadFormStatus
from .models import DeliveryLine, LoadForm, LoadFormEvent, LoadFormInvoice, Vehicle
from .pdf import DocumentStop, LoadFormDocument

Point = tuple[float, float]


def weight(value: Decimal) -> Decimal:
    """A weight or volume to the gram / millilitre (half up), as stored."""
    return value.quantize(QTY, rounding=ROUND_HALF_UP)


def cases_of(qty_units: int, units_per_case: int) -> int:
    """Cases a line takes on the vehicle: an opened case counts as a case."""
    return -(-qty_units // units_per_case)


# --- vehicles --------------------------------------------------------------------------------------------------

def vehicle_list(*, scope: Scope, distributor_id: int | None = None, active: bool | None = None) -> QuerySet[Vehicle]:
    qs = scope.filter(Vehicle.objects.select_related("distributor")).order_by("distributor_id", "code")
    if distributor_id is not None:
        qs = qs.filter(distributor_id=distributor_id)
    return qs if active is None else qs.filter(active=active)


def vehicle_get(*, scope: Scope, pk: int) -> Vehicle:
    vehicle = scope.filter(Vehicle.objects.select_related("distributor")).filter(pk=pk).first()
    if vehicle is None:
        raise NotFound("Vehicle not found.")
    return vehicle


def delivery_men(*, scope: Scope, distributor_id: int) -> QuerySet[Any]:
    """The distributor's active delivery men (their users), by username."""
    from django.contrib.auth import get_user_model

    ids = membership_list(scope=scope).filter(distributor_id=distributor_id, role=Role.DELIVERY_MAN,
                                              active=True).values("user_id")
    return get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username")


def is_delivery_man(*, scope: Scope, distributor_id: int, user_id: int) -> bool:
    return delivery_men(scope=scope, distributor_id=distributor_id).filter(pk=user_id).exists()


# --- load forms ------------------------------------------------------------------------------------------------

def _visible(scope: Scope, qs: QuerySet[LoadForm]) -> QuerySet[LoadForm]:
    """The scope's load forms; a delivery man's own only."""
    qs = scope.filter(qs)
    return qs.filter(delivery_man_id=scope.actor.id) if scope.role == Role.DELIVERY_MAN else qs


def load_form_list(*, scope: Scope, distributor_id: int | None = None, date_from: date | None = None,
                   date_to: date | None = None, statuses: Collection[str] = (), vehicle_id: int | None = None,
                   ) -> QuerySet[LoadForm]:
    """Load forms with their vehicle and delivery man, newest day first; the date range is inclusive."""
    qs = _visible(scope, LoadForm.objects.select_related("vehicle", "delivery_man", "distributor"))
    filters = {"distributor_id": distributor_id, "date__gte": date_from, "date__lte": date_to,
               "vehicle_id": vehicle_id}
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return qs.order_by("-date", "-id")


def load_form_visible(*, scope: Scope, pk: int) -> LoadForm:
    """The load form without its stops (a cheap existence check); NotFound outside the scope."""
    load_form = _visible(scope, LoadForm.objects.all()).filter(pk=pk).first()
    if load_form is None:
        raise NotFound("Load form not found.")
    return load_form


def _stops() -> QuerySet[LoadFormInvoice]:
    lines = DeliveryLine.objects.select_related("sku", "invoice_line").order_by("invoice_line__line_no")
    return (LoadFormInvoice.objects.select_related("invoice", "outlet", "credit_note")
            .prefetch_related(Prefetch("lines", queryset=lines)).order_by("sequence"))


def load_form_get(*, scope: Scope, pk: int) -> LoadForm:
    """A load form with its vehicle, delivery man and stops (invoice, outlet, credit note, delivery lines) in
    delivery sequence, and its events: four queries."""
    load_form = (_visible(scope, LoadForm.objects.select_related("vehicle", "delivery_man", "distributor"))
                 .prefetch_related(Prefetch("stops", queryset=_stops()),
                                   Prefetch("events", queryset=LoadFormEvent.objects.order_by("created_at", "id")))
                 .filter(pk=pk).first())
    if load_form is None:
        raise NotFound("Load form not found.")
    return load_form


def stops_of(*, scope: Scope, load_form_id: int) -> list[LoadFormInvoice]:
    """A load form's stops in delivery sequence (no lines)."""
    return list(scope.filter(LoadFormInvoice.objects.filter(load_form_id=load_form_id))
                .select_related("invoice", "outlet").order_by("sequence"))


def live_stops_of_invoices(*, scope: Scope, invoice_ids: Iterable[int]) -> dict[int, str]:
    """invoice id -> the number of the live load form it is on, for those of `invoice_ids` on one."""
    rows = scope.filter(LoadFormInvoice.objects.filter(invoice_id__in=list(invoice_ids), live=True)).values_list(
        "invoice_id", "load_form__number")
    return dict(rows)


def live_load_form_of_vehicle(*, scope: Scope, vehicle_id: int, day: date) -> LoadForm | None:
    return scope.filter(LoadForm.objects.filter(vehicle_id=vehicle_id, date=day)).exclude(
        status=LoadFormStatus.CANCELLED).first()


# --- what is loaded ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceLoad:
    """One issued invoice as a load: where it goes, what it weighs, fills and counts, what it is worth."""

    invoice_id: int
    distributor_id: int
    number_text: str
    invoice_date: date
    sort_key: tuple[int, int, int]  # (fiscal year, number, id): the order of invoices of one outlet
    status: str
    order_id: int
    order_status: str
    outlet_id: int
    outlet_code: str
    outlet_name: str
    point: Point | None
    opening_hours: dict[str, Any]
    weight_kg: Decimal
    volume_l: Decimal
    cases: int
    amount: Decimal
    credited: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return max(ZERO, self.amount - self.credited - self.paid)

    @property
    def outlet_label(self) -> str:
        return f"{self.outlet_code} {self.outlet_name}"


def invoice_loads(*, scope: Scope, invoice_ids: Iterable[int]) -> dict[int, InvoiceLoad]:
    """The scope's invoices among `invoice_ids` as loads, by id (two queries: invoices, lines). An id outside the
    scope is simply missing."""
    ids = sorted(set(invoice_ids))
    invoices = list(scope.filter(Invoice.objects.filter(pk__in=ids)).select_related("outlet", "order"))
    totals: dict[int, list[Any]] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    lines = scope.filter(InvoiceLine.objects.filter(invoice_id__in=[i.pk for i in invoices])).values_list(
        "invoice_id", "qty_units", "sku__units_per_case", "sku__weight_kg_per_case", "sku__volume_l_per_case")
    for invoice_id, qty, per_case, kg, litres in lines:
        entry = totals[invoice_id]
        entry[0] += div(mul(qty, kg), per_case)
        entry[1] += div(mul(qty, litres), per_case)
        entry[2] += cases_of(qty, per_case)
    out = {}
    for inv in invoices:
        kg, litres, cases = totals[inv.pk]
        outlet = inv.outlet
        point = None if outlet.lat is None or outlet.lng is None else (float(outlet.lat), float(outlet.lng))
        out[inv.pk] = InvoiceLoad(
            invoice_id=inv.pk, distributor_id=inv.distributor_id, number_text=inv.number_text,
            invoice_date=inv.invoice_date, sort_key=(inv.fiscal_year, inv.number, inv.pk), status=inv.status,
            order_id=inv.order_id, order_status=inv.order.status, outlet_id=outlet.pk, outlet_code=outlet.code,
            outlet_name=outlet.name, point=point, opening_hours=outlet.opening_hours or {}, weight_kg=weight(kg),
            volume_l=weight(litres), cases=cases, amount=inv.total, credited=inv.credited_amount,
            paid=inv.paid_amount)
    return out


def plannable_invoice_ids(*, scope: Scope, distributor_id: int, day: date) -> list[int]:
    """The distributor's invoices waiting for a load form on `day`: issued, their order invoiced, on no live load
    form, and either for delivery that day (the order's delivery date) or, with no delivery date, invoiced on or
    before it. Oldest invoice first."""
    taken = LoadFormInvoice.objects.filter(live=True).values("invoice_id")
    qs = scope.filter(Invoice.objects.filter(distributor_id=distributor_id, status=InvoiceStatus.ISSUED,
                                             order__status=OrderStatus.INVOICED))
    qs = qs.filter(Q(order__delivery_date=day) | Q(order__delivery_date__isnull=True, invoice_date__lte=day))
    return list(qs.exclude(pk__in=taken).order_by("invoice_date", "fiscal_year", "number", "pk")
                .values_list("pk", flat=True))


def distributor_point(*, scope: Scope, distributor_id: int) -> Point | None:
    row = Distributor.objects.filter(tenant_id=scope.tenant_id, pk=distributor_id).values_list("lat", "lng").first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1])


def invoice_lines_of(*, scope: Scope, invoice_id: int) -> list[InvoiceLine]:
    """An invoice's lines with their SKUs, in line order."""
    return list(scope.filter(InvoiceLine.objects.filter(invoice_id=invoice_id)).select_related("sku")
                .order_by("line_no"))


# --- the pick list ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PickLine:
    sku_id: int
    sku_code: str
    sku_name: str
    units_per_case: int
    qty_units: int

    @property
    def cases(self) -> int:
        return self.qty_units // self.units_per_case

    @property
    def units(self) -> int:
        return self.qty_units % self.units_per_case


@dataclass(frozen=True)
class LoadingStop:
    """One invoice's goods, in loading order: what goes into the vehicle first is delivered last."""

    load_position: int  # 1 = loaded first
    sequence: int  # its delivery sequence
    invoice_id: int
    invoice_number: str
    outlet_code: str
    outlet_name: str
    lines: tuple[PickLine, ...]


@dataclass(frozen=True)
class PickList:
    load_form_id: int
    number: str
    totals: tuple[PickLine, ...]  # per SKU, by SKU code: what to pick from the warehouse
    loading: tuple[LoadingStop, ...] = field(default_factory=tuple)  # reverse delivery order

    @property
    def total_units(self) -> int:
        return sum(p.qty_units for p in self.totals)


def load_form_pick_list(*, scope: Scope, load_form_id: int) -> PickList:
    """The SKUs to pick for a load form, in cases and loose units (totals per SKU), and the order to load them in:
    its invoices in reverse delivery sequence, each with its lines merged per SKU. Three queries."""
    load_form = load_form_visible(scope=scope, pk=load_form_id)
    stops = list(scope.filter(LoadFormInvoice.objects.filter(load_form_id=load_form.pk))
                 .select_related("invoice", "outlet").order_by("-sequence"))
    rows = scope.filter(InvoiceLine.objects.filter(invoice_id__in=[s.invoice_id for s in stops])).values_list(
        "invoice_id", "sku_id", "sku__code", "sku__name", "sku__units_per_case", "qty_units")
    per_stop: dict[int, dict[int, list[Any]]] = defaultdict(dict)
    totals: dict[int, list[Any]] = {}
    for invoice_id, sku_id, code, name, per_case, qty in rows:
        for bucket in (per_stop[invoice_id], totals):
            entry = bucket.setdefault(sku_id, [code, name, per_case, 0])
            entry[3] += qty

    def lines(bucket: dict[int, list[Any]]) -> tuple[PickLine, ...]:
        return tuple(PickLine(sku_id, code, name, per_case, qty)
                     for sku_id, (code, name, per_case, qty) in sorted(bucket.items(), key=lambda kv: kv[1][0]))

    loading = tuple(LoadingStop(load_position=i, sequence=s.sequence, invoice_id=s.invoice_id,
                                invoice_number=s.invoice.number_text, outlet_code=s.outlet.code,
                                outlet_name=s.outlet.name, lines=lines(per_stop[s.invoice_id]))
                    for i, s in enumerate(stops, start=1))
    return PickList(load_form_id=load_form.pk, number=load_form.number, totals=lines(totals), loading=loading)


# --- money collected --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutletCash:
    outlet_id: int
    outlet_label: str
    expected: Decimal
    collected: Decimal


@dataclass(frozen=True)
class CashFigures:
    """What a round should bring back (`expected`: per stop its due at loading less its return's credit note,
    invoices left on account excluded), what was recorded as collected (per method) and per outlet."""

    expected: Decimal
    collected: dict[str, Decimal]
    outlets: tuple[OutletCash, ...]

    @property
    def collected_total(self) -> Decimal:
        return sum(self.collected.values(), ZERO)


def stop_expected(stop: LoadFormInvoice) -> Decimal:
    """What the round should collect for one invoice: its due at loading less the credit note of what came back."""
    return max(ZERO, stop.due - stop.credited)


def collections_of(*, scope: Scope, load_form_id: int) -> QuerySet[Payment]:
    """The payments recorded on a load form's round (invoicing.Payment.load_form_id), oldest first."""
    return scope.filter(Payment.objects.filter(load_form_id=load_form_id)).select_related("outlet").order_by("pk")


def cash_figures(*, scope: Scope, load_form: LoadForm, on_account: Collection[int] = ()) -> CashFigures:
    """The load form's money: expected overall and per outlet, collected per method and per outlet. `on_account`:
    invoice ids whose due the distributor leaves on the outlet's account (not expected from the round)."""
    stops = [s for s in stops_of(scope=scope, load_form_id=load_form.pk) if s.live]
    expected: dict[int, Decimal] = defaultdict(lambda: ZERO)
    labels: dict[int, str] = {}
    for stop in stops:
        labels[stop.outlet_id] = f"{stop.outlet.code} {stop.outlet.name}"
        left_on_account = stop.invoice_id in on_account or stop.on_account
        expected[stop.outlet_id] += ZERO if left_on_account else stop_expected(stop)
    by_method = {m: ZERO for m in CollectionMethod.values}
    by_outlet: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = collections_of(scope=scope, load_form_id=load_form.pk).values("outlet_id", "method").annotate(
        amount=Sum("amount"))
    for row in rows:
        by_method[row["method"]] = by_method.get(row["method"], ZERO) + row["amount"]
        by_outlet[row["outlet_id"]] += row["amount"]
    outlets = tuple(OutletCash(outlet_id=pk, outlet_label=labels.get(pk, str(pk)), expected=expected[pk],
                               collected=by_outlet[pk]) for pk in sorted(set(expected) | set(by_outlet)))
    return CashFigures(expected=sum(expected.values(), ZERO), collected=by_method, outlets=outlets)


def pending_stops(stops: Iterable[LoadFormInvoice]) -> list[LoadFormInvoice]:
    return [s for s in stops if s.live and s.outcome == DeliveryOutcome.PENDING]


def outlets_on(*, scope: Scope, load_form_id: int) -> dict[int, Outlet]:
    ids = scope.filter(LoadFormInvoice.objects.filter(load_form_id=load_form_id, live=True)).values("outlet_id")
    return {o.pk: o for o in scope.filter(Outlet.objects.filter(pk__in=ids))}


# --- the printable document ------------------------------------------------------------------------------------

def load_form_document(*, scope: Scope, pk: int) -> LoadFormDocument:
    """What the PDF of a load form prints, read now (inside the caller's transaction) as plain data."""
    load_form = load_form_get(scope=scope, pk=pk)
    pick = load_form_pick_list(scope=scope, load_form_id=load_form.pk)
    stops = [s for s in load_form.stops.all() if s.live]
    man = load_form.delivery_man
    currency = Tenant.objects.filter(pk=scope.tenant_id).values_list("currency", flat=True).first() or ""
    vehicle = load_form.vehicle
    return LoadFormDocument(
        number=load_form.number, date=load_form.date, status=load_form.get_status_display(),
        distributor=f"{load_form.distributor.code} {load_form.distributor.name}",
        vehicle=f"{vehicle.code} ({vehicle.registration})",
        delivery_man=(man.get_full_name() or man.get_username()) if man is not None else "", currency=currency,
        total_weight_kg=load_form.total_weight_kg, total_volume_l=load_form.total_volume_l,
        total_cases=load_form.total_cases, total_value=load_form.total_value,
        stops=tuple(DocumentStop(sequence=s.sequence, eta=s.eta, outlet_code=s.outlet.code, outlet_name=s.outlet.name,
                                 address=s.outlet.address, invoice_number=s.invoice.number_text, amount=s.amount,
                                 cases=s.cases, weight_kg=s.weight_kg, note=s.plan_note) for s in stops),
        picks=pick.totals, loading=pick.loading,
        notes=tuple(n for n in (load_form.note, load_form.plan_note) if n))
