"""Vehicles and load forms up to the road: create (one vehicle, sequenced by the delivery-trip planner), cancel,
assign a delivery man, load (the invoiced stock leaves the warehouse) and depart. See dispatch.services."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.core.money import ZERO
from dms.core.transitions import transition
from dms.tenancy.scope import Scope
from inventory.models import Allocation, AllocationStatus
from inventory.services import stock_dispatch
from invoicing.enums import InvoiceStatus
from invoicing.models import Invoice
from orders.enums import OrderStatus
from orders.locks import lock_orders
from orders.models import OrderEvent
from pjp.travel import travel_model

from .. import selectors_loading as sel
from ..enums import LoadFormStatus
from ..errors import DispatchError
from ..locks import lock_distributor, lock_load_form
from ..models import LoadForm, LoadFormEvent, LoadFormInvoice, Vehicle
from .common import LF_PREFIX, LOADERS, actor_fields, add_error, is_count, next_number, raise_field_errors, require_role
from .sequencing import PlannedTrip, one_vehicle_sequence, solve_trips, trips_input

logger = logging.getLogger(__name__)

MAX_INVOICES = 300  # on one load form: far above a vehicle's day
SEQUENCE_SECONDS = 1.0  # the planner's time on one vehicle's invoices (load_form_create)
SEQUENCE_SEED = 0
REASON_MAX = LoadFormEvent._meta.get_field("reason").max_length or 300
NOTE_MAX = LoadForm._meta.get_field("note").max_length or 300
CODE_MAX = Vehicle._meta.get_field("code").max_length or 30


# --- figures and messages ---------------------------------------------------------------------------------------

def figure(value: Decimal | int) -> str:
    """2140.500 -> "2,140.5", 2000 -> "2,000": thousands separated, no trailing zeros."""
    text = f"{Decimal(value):,.3f}".rstrip("0").rstrip(".")
    return text


@dataclass(frozen=True)
class Load:
    weight_kg: Decimal
    volume_l: Decimal
    cases: int
    value: Decimal

    @classmethod
    def of(cls, loads: Sequence[sel.InvoiceLoad]) -> Load:
        return cls(weight_kg=sum((g.weight_kg for g in loads), Decimal(0)),
                   volume_l=sum((g.volume_l for g in loads), Decimal(0)), cases=sum(g.cases for g in loads),
                   value=sum((g.amount for g in loads), ZERO))


def capacity_problems(vehicle: Vehicle, load: Load) -> list[str]:
    """A sentence per dimension the load exceeds the vehicle in."""
    out = []
    if load.weight_kg > vehicle.capacity_weight_kg:
        out.append(f"{figure(load.weight_kg)} kg > {figure(vehicle.capacity_weight_kg)} kg capacity")
    if load.volume_l > vehicle.capacity_volume_l:
        out.append(f"{figure(load.volume_l)} litres > {figure(vehicle.capacity_volume_l)} litres capacity")
    if load.cases > vehicle.capacity_cases:
        out.append(f"{figure(load.cases)} cases > {figure(vehicle.capacity_cases)} cases capacity")
    return out


def check_capacity(vehicle: Vehicle, load: Load) -> None:
    problems = capacity_problems(vehicle, load)
    if problems:
        raise DomainError(DispatchError.OVER_CAPACITY, f"The load is over the capacity of {vehicle.code}: "
                          f"{'; '.join(problems)}.", fields={"invoice_ids": problems},
                          extra={"load": {"weight_kg": str(load.weight_kg), "volume_l": str(load.volume_l),
                                          "cases": load.cases},
                                 "capacity": {"weight_kg": str(vehicle.capacity_weight_kg),
                                              "volume_l": str(vehicle.capacity_volume_l),
                                              "cases": vehicle.capacity_cases}})


def not_loadable(load: sel.InvoiceLoad, day: date, vehicle: Vehicle, on_load_form: dict[int, str]) -> str:
    """Why an invoice cannot go on a load form of `vehicle` on `day` ("" when it can)."""
    if load.distributor_id != vehicle.distributor_id:
        return f"{load.number_text} is another distributor's invoice than {vehicle.code}'s."
    if load.status != InvoiceStatus.ISSUED:
        return f"{load.number_text} is {load.status.replace('_', ' ')}: only issued invoices are loaded."
    if load.invoice_id in on_load_form:
        return f"{load.number_text} is on {on_load_form[load.invoice_id]} already."
    if load.order_status != OrderStatus.INVOICED:
        return f"The order of {load.number_text} is {load.order_status.replace('_', ' ')}, not invoiced."
    if load.credited >= load.amount:
        return f"{load.number_text} is credited in full: there is nothing to deliver."
    if load.invoice_date > day:
        return f"{load.number_text} is dated {load.invoice_date}, after the delivery day {day}."
    return ""


def check_invoice_ids(invoice_ids: Any, errors: dict[str, list[str]], limit: int = MAX_INVOICES) -> list[int]:
    if not isinstance(invoice_ids, list | tuple) or not invoice_ids:
        add_error(errors, "invoice_ids", "Give at least one invoice.")
        return []
    if len(invoice_ids) > limit:
        add_error(errors, "invoice_ids", f"At most {limit} invoices at once.")
        return []
    seen: dict[int, int] = {}
    for i, pk in enumerate(invoice_ids):
        if not is_count(pk, 1):
            add_error(errors, f"invoice_ids[{i}]", "An invoice id is a positive integer.")
        elif pk in seen:
            add_error(errors, f"invoice_ids[{i}]", f"Invoice {pk} is already at invoice_ids[{seen[pk]}].")
        else:
            seen[pk] = i
    return list(seen)


def _delivery_man(scope: Scope, distributor_id: int, user_id: Any, errors: dict[str, list[str]]) -> None:
    if user_id is None:
        return
    if not is_count(user_id, 1) or not sel.is_delivery_man(scope=scope, distributor_id=distributor_id,
                                                           user_id=user_id):
        add_error(errors, "delivery_man_id", f"User {user_id} is not an active delivery man of the distributor.")


# --- vehicles ---------------------------------------------------------------------------------------------------

VEHICLE_FIELDS = ("code", "registration", "capacity_weight_kg", "capacity_volume_l", "capacity_cases", "shift_start",
                  "shift_end", "active")


def _vehicle_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("code", "registration"):
        text = str(values.get(name) or "").strip()
        if not text or len(text) > CODE_MAX:
            add_error(errors, name, f"1 to {CODE_MAX} characters.")
        values[name] = text
    for name in ("capacity_weight_kg", "capacity_volume_l"):
        raw = values.get(name)
        try:
            amount = Decimal(str(raw)) if not isinstance(raw, float | bool) else Decimal("NaN")
        except (InvalidOperation, ValueError):
            amount = Decimal("NaN")
        if not amount.is_finite() or amount <= 0 or amount >= 10**9 or amount != round(amount, 3):
            add_error(errors, name, "More than 0, at most three decimals.")
        else:
            values[name] = amount
    if not is_count(values.get("capacity_cases"), 1):
        add_error(errors, "capacity_cases", "A whole number of cases, 1 or more.")
    start, end = values.get("shift_start"), values.get("shift_end")
    if isinstance(start, time) and isinstance(end, time) and end <= start:
        add_error(errors, "shift_end", "The shift ends after it starts.")
    return errors


@transaction.atomic
def vehicle_create(*, scope: Scope, distributor_id: int | None, code: str, registration: str,
                   capacity_weight_kg: Decimal | str, capacity_volume_l: Decimal | str, capacity_cases: int,
                   shift_start: time = time(8, 0), shift_end: time = time(20, 0), active: bool = True) -> Vehicle:
    """A vehicle of the distributor (the caller's own when it has one). Code and registration are unique per
    distributor (400 naming the field). Not idempotent (a second call with the same code is refused). Takes the
    distributor's lock, so two vehicles with one code cannot slip in side by side."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) keeps vehicles.")
    distributor_id = distributor_id or scope.single_distributor_id
    if distributor_id is None or not scope.can_access_distributor(distributor_id):
        raise DomainError(DispatchError.INVALID, "Name the distributor.", fields={"distributor_id": ["Required."]})
    lock_distributor(scope, distributor_id)
    values = {"code": code, "registration": registration, "capacity_weight_kg": capacity_weight_kg,
              "capacity_volume_l": capacity_volume_l, "capacity_cases": capacity_cases, "shift_start": shift_start,
              "shift_end": shift_end, "active": active}
    errors = _vehicle_errors(values)
    _unique_vehicle(scope, distributor_id, values, None, errors)
    raise_field_errors(errors, "The vehicle has problems: see the fields.")
    return Vehicle.objects.create(distributor_id=distributor_id, **values)


def _unique_vehicle(scope: Scope, distributor_id: int, values: dict[str, Any], pk: int | None,
                    errors: dict[str, list[str]]) -> None:
    for name in ("code", "registration"):
        taken = sel.vehicle_list(scope=scope, distributor_id=distributor_id).filter(**{f"{name}__iexact": values[name]})
        if pk is not None:
            taken = taken.exclude(pk=pk)
        if values[name] and taken.exists():
            add_error(errors, name, f"The distributor has a vehicle with {name} {values[name]} already.")


@transaction.atomic
def vehicle_update(*, scope: Scope, vehicle_id: int, **changes: Any) -> Vehicle:
    """Change a vehicle's fields (those given). Capacities apply to load forms made from now on. Idempotent. Takes
    the distributor's lock, then the vehicle."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) keeps vehicles.")
    found = sel.vehicle_get(scope=scope, pk=vehicle_id)
    lock_distributor(scope, found.distributor_id)
    vehicle = sel.vehicle_list(scope=scope).select_for_update(no_key=True, of=("self",)).get(pk=found.pk)
    unknown = sorted(set(changes) - set(VEHICLE_FIELDS))
    if unknown:
        raise DomainError(DispatchError.INVALID, f"Unknown field {unknown[0]}.", fields={unknown[0]: ["Unknown."]})
    values = {name: changes.get(name, getattr(vehicle, name)) for name in VEHICLE_FIELDS}
    errors = _vehicle_errors(values)
    _unique_vehicle(scope, vehicle.distributor_id, values, vehicle.pk, errors)
    raise_field_errors(errors, "The vehicle has problems: see the fields.")
    for name, value in values.items():
        setattr(vehicle, name, bool(value) if name == "active" else value)
    vehicle.save()
    return vehicle


# --- creating a load form ---------------------------------------------------------------------------------------

def _eta(seconds_since_midnight: int | None) -> time | None:
    if seconds_since_midnight is None:
        return None
    s = max(0, min(int(seconds_since_midnight), 86_399))
    return time(s // 3600, s % 3600 // 60)


def _event(load_form: LoadForm, scope: Scope, *, action: str, reason: str = "", detail: dict[str, Any] | None = None,
           from_status: str = "", to_status: str = "") -> None:
    actor = scope.actor
    LoadFormEvent.objects.create(distributor_id=load_form.distributor_id, load_form=load_form,
                                 from_status=from_status, to_status=to_status, action=action, actor_kind=actor.kind,
                                 actor_id=actor.id, actor_label=actor.label[:150], reason=reason[:REASON_MAX],
                                 detail=detail or {})


def move(scope: Scope, load_form: LoadForm, to: str, reason: str = "", detail: dict[str, Any] | None = None,
         extra_fields: Sequence[str] = ()) -> LoadForm:
    """A load form's transition with its event; `extra_fields` changed on it are saved with it."""
    load_form.version += 1
    transition(load_form, to=to, actor=scope.actor, reason=reason[:REASON_MAX], event_model=LoadFormEvent,
               event_fk="load_form", distributor_id=load_form.distributor_id, detail=detail or {})
    LoadForm.objects.filter(pk=load_form.pk).update(version=load_form.version,
                                                    **{f: getattr(load_form, f) for f in extra_fields})
    return load_form


def write_load_form(scope: Scope, *, vehicle: Vehicle, day: date, trip: PlannedTrip,
                    loads: dict[int, sel.InvoiceLoad], delivery_man_id: int | None = None, note: str = "",
                    plan_note: str = "", plan_job_id: int | None = None) -> LoadForm:
    """A planned load form of the trip's invoices in its order. The caller holds the distributor's lock and has
    checked every invoice (loadable, on no live load form) and the vehicle (free that day, not over capacity)."""
    stops = [loads[s.invoice_id] for s in trip.stops]
    load = Load.of(stops)
    load_form = LoadForm.objects.create(
        distributor_id=vehicle.distributor_id, number=next_number(scope, LoadForm, vehicle.distributor_id, LF_PREFIX),
        date=day, vehicle=vehicle, delivery_man_id=delivery_man_id, note=note, invoice_count=len(stops),
        total_weight_kg=load.weight_kg, total_volume_l=load.volume_l, total_cases=load.cases, total_value=load.value,
        expected_cash=sum((g.due for g in stops), ZERO), planned_distance_m=trip.distance_m,
        planned_duration_s=trip.duration_s, plan_note=plan_note[:500], plan_job_id=plan_job_id, **actor_fields(scope))
    LoadFormInvoice.objects.bulk_create([
        LoadFormInvoice(tenant_id=scope.tenant_id, distributor_id=vehicle.distributor_id, load_form=load_form,
                        invoice_id=g.invoice_id, outlet_id=g.outlet_id, order_id=g.order_id, sequence=i,
                        eta=_eta(s.eta_s), plan_note=s.note[:300], weight_kg=g.weight_kg, volume_l=g.volume_l,
                        cases=g.cases, amount=g.amount, due=g.due)
        for i, (s, g) in enumerate(zip(trip.stops, stops, strict=True), start=1)])
    _event(load_form, scope, action="create", to_status=LoadFormStatus.PLANNED,
           reason=f"{len(stops)} invoices on {vehicle.code} for {day}",
           detail={"invoices": [g.number_text for g in stops], "plan_job_id": plan_job_id})
    return load_form


def _loads_for(scope: Scope, vehicle: Vehicle, day: date, ids: list[int]) -> dict[int, sel.InvoiceLoad]:
    """The invoices as loads, each checked loadable on the vehicle's load form of `day` (400 for an id outside the
    scope, 409 naming every invoice that cannot be loaded)."""
    loads = sel.invoice_loads(scope=scope, invoice_ids=ids)
    errors: dict[str, list[str]] = {}
    for i, pk in enumerate(ids):
        if pk not in loads:
            add_error(errors, f"invoice_ids[{i}]", f"No invoice {pk}.")
    raise_field_errors(errors, "Some invoices do not exist: see the fields.")
    on_load_form = sel.live_stops_of_invoices(scope=scope, invoice_ids=ids)
    for i, pk in enumerate(ids):
        why = not_loadable(loads[pk], day, vehicle, on_load_form)
        if why:
            add_error(errors, f"invoice_ids[{i}]", why)
    if errors:
        raise DomainError(DispatchError.NOT_LOADABLE, next(iter(errors.values()))[0] if len(errors) == 1 else
                          "Some invoices cannot be loaded: see the fields.", fields=errors, status_code=409)
    return loads


def _check_vehicle_free(scope: Scope, vehicle: Vehicle, day: date) -> None:
    taken = sel.live_load_form_of_vehicle(scope=scope, vehicle_id=vehicle.pk, day=day)
    if taken is not None:
        raise DomainError(DispatchError.VEHICLE_BOOKED, f"{vehicle.code} has {taken.number} on {day} already: a "
                          "vehicle carries one load form a day.", fields={"vehicle_id": [f"Booked ({taken.number})."]},
                          status_code=409)


@transaction.atomic
def load_form_create(*, scope: Scope, date: date, vehicle_id: int, invoice_ids: Sequence[int],
                     delivery_man_id: int | None = None, note: str = "") -> LoadForm:
    """A planned load form of `invoice_ids` on the vehicle for `date`, its invoices in the delivery sequence of the
    delivery-trip planner (routing.delivery.plan_trips, SEQUENCE_SECONDS, seed SEQUENCE_SEED); invoices it cannot
    place in the vehicle's shift and their outlets' hours go last, with the reason as their note.

    Refused, writing nothing: an over-capacity load (400 over_capacity naming the figures, "2,140.5 kg > 2,000 kg
    capacity"), an invoice that is not issued, whose order is not invoiced, that is on another live load form or
    is another distributor's (409 not_loadable naming each), a vehicle that has a live load form that day (409
    vehicle_booked), an inactive vehicle or someone who is not the distributor's delivery man (400). The orders
    move to `loaded` when the load form is loaded, not now: a planned load form may still be cancelled.

    Not idempotent (every call is a new load form, so a retry is refused as "on LF-… already"). The planner runs
    with no lock held; then the distributor's lock (numbering, and the one-live-load-form checks) is taken and the
    checks run again."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) makes load forms.")
    errors: dict[str, list[str]] = {}
    ids = check_invoice_ids(list(invoice_ids) if isinstance(invoice_ids, list | tuple) else invoice_ids, errors)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        add_error(errors, "note", f"At most {NOTE_MAX} characters.")
    raise_field_errors(errors, "The load form has problems: see the fields.")
    vehicle = sel.vehicle_get(scope=scope, pk=vehicle_id) if is_count(vehicle_id, 1) else None
    if vehicle is None:
        raise NotFound("Vehicle not found.")
    if not vehicle.active:
        add_error(errors, "vehicle_id", f"{vehicle.code} is inactive.")
    _delivery_man(scope, vehicle.distributor_id, delivery_man_id, errors)
    raise_field_errors(errors, "The load form has problems: see the fields.")
    loads = _loads_for(scope, vehicle, date, ids)
    check_capacity(vehicle, Load.of(list(loads.values())))
    _check_vehicle_free(scope, vehicle, date)

    inp = trips_input(loads=loads.values(), vehicles=[vehicle], day=date,
                      depot=sel.distributor_point(scope=scope, distributor_id=vehicle.distributor_id),
                      travel=travel_model(scope=scope), closed_is_dropped=False)
    trip = one_vehicle_sequence(inp, solve_trips(inp, time_limit=SEQUENCE_SECONDS, seed=SEQUENCE_SEED))

    lock_distributor(scope, vehicle.distributor_id)
    _check_vehicle_free(scope, vehicle, date)
    loads = _loads_for(scope, vehicle, date, ids)
    try:
        with transaction.atomic():
            return write_load_form(scope, vehicle=vehicle, day=date, trip=trip, loads=loads,
                                   delivery_man_id=delivery_man_id, note=note, plan_note=inp.depot_note)
    except IntegrityError as exc:  # the partial unique constraints: a writer that skipped the distributor lock
        raise DomainError(DispatchError.NOT_LOADABLE, "An invoice or the vehicle was taken by another load form "
                          "meanwhile; try again.", status_code=409) from exc


# --- cancel, assign, load, depart -------------------------------------------------------------------------------

def _locked(scope: Scope, load_form_id: int) -> LoadForm:
    if not is_count(load_form_id, 1):
        raise NotFound("Load form not found.")
    sel.load_form_visible(scope=scope, pk=load_form_id)
    return lock_load_form(scope, load_form_id)


def wrong_state(load_form: LoadForm, action: str) -> DomainError:
    return DomainError(DispatchError.WRONG_STATE, f"{load_form.number} is {load_form.get_status_display().lower()}: "
                       f"it cannot be {action}.", fields={"status": [f"The load form is {load_form.status}."]},
                       status_code=409)


@transaction.atomic
def load_form_cancel(*, scope: Scope, load_form_id: int, reason: str) -> LoadForm:
    """Planned -> cancelled, with the reason (required): its invoices are free for another load form. Idempotent:
    cancelling a cancelled load form is a no-op; a loaded one cannot be cancelled (409). Takes the load form."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) cancels load forms.")
    load_form = _locked(scope, load_form_id)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(DispatchError.INVALID, "Say why the load form is cancelled.",
                          fields={"reason": ["Required."]})
    if load_form.status == LoadFormStatus.CANCELLED:
        return load_form
    if load_form.status != LoadFormStatus.PLANNED:
        raise wrong_state(load_form, "cancelled once loaded")
    LoadFormInvoice.objects.filter(load_form_id=load_form.pk).update(live=False, updated_at=timezone.now())
    return move(scope, load_form, LoadFormStatus.CANCELLED, reason)


@transaction.atomic
def load_form_assign(*, scope: Scope, load_form_id: int, delivery_man_id: int | None) -> LoadForm:
    """Name (or clear, with None) the delivery man of a load form that has not left yet. Idempotent."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) assigns delivery men.")
    load_form = _locked(scope, load_form_id)
    if load_form.delivery_man_id == delivery_man_id:
        return load_form
    if load_form.status not in (LoadFormStatus.PLANNED, LoadFormStatus.LOADED):
        raise wrong_state(load_form, "given another delivery man")
    errors: dict[str, list[str]] = {}
    _delivery_man(scope, load_form.distributor_id, delivery_man_id, errors)
    raise_field_errors(errors, "The delivery man is not valid.")
    before = load_form.delivery_man_id
    load_form.delivery_man_id = delivery_man_id
    load_form.version += 1
    LoadForm.objects.filter(pk=load_form.pk).update(delivery_man_id=delivery_man_id, version=F("version") + 1,
                                                    updated_at=timezone.now())
    _event(load_form, scope, action="assign", detail={"from": before, "to": delivery_man_id})
    return load_form


def _dispatch_stock(scope: Scope, load_form: LoadForm, order_ids: list[int]) -> list[dict[str, Any]]:
    """The orders' invoiced allocations leave their warehouses (one stock_dispatch per warehouse, in warehouse
    order, so balances are locked in (warehouse, sku) order) and become dispatched."""
    allocations = list(Allocation.objects.filter(order_id__in=order_ids, status=AllocationStatus.INVOICED)
                       .order_by("warehouse_id", "sku_id", "pk"))
    per_warehouse: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for a in allocations:
        if a.allocated_units:
            per_warehouse[a.warehouse_id][a.sku_id] += a.allocated_units
    vehicle_code = Vehicle.objects.filter(pk=load_form.vehicle_id).values_list("code", flat=True).first()
    for warehouse_id, skus in sorted(per_warehouse.items()):
        stock_dispatch(scope=scope, warehouse_id=warehouse_id, lines=sorted(skus.items()),
                       reference=("load_form", load_form.pk), reason=f"{load_form.number} loaded on {vehicle_code}")
    # Allocations are inventory's rows, but their life ends here (as invoicing marks them invoiced): a
    # compare-and-set, so a second loading of the same orders finds nothing to dispatch.
    Allocation.objects.filter(pk__in=[a.pk for a in allocations], status=AllocationStatus.INVOICED).update(
        status=AllocationStatus.DISPATCHED, updated_at=timezone.now())
    return [{"warehouse_id": w, "sku_id": s, "units": u} for w, skus in sorted(per_warehouse.items())
            for s, u in sorted(skus.items())]


@transaction.atomic
def load_form_mark_loaded(*, scope: Scope, load_form_id: int, reason: str = "") -> LoadForm:
    """Planned -> loaded: the stock invoiced to its orders leaves the warehouse (DISPATCH movements: on hand and
    reserved go down; the allocations become dispatched), every order moves invoiced -> loaded (an OrderEvent
    naming the load form) and each invoice's due (total less credited and paid) is taken as what the round should
    collect. Refused (409, nothing written) when an invoice is no longer issued or its order no longer invoiced.
    Idempotent: loading a loaded load form is a no-op. Locks: the load form, its orders, then stock balances."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) loads vehicles.")
    load_form = _locked(scope, load_form_id)
    if load_form.status == LoadFormStatus.LOADED:
        return load_form
    if load_form.status != LoadFormStatus.PLANNED:
        raise InvalidTransition("LoadForm", load_form.status, LoadFormStatus.LOADED)
    stops = sel.stops_of(scope=scope, load_form_id=load_form.pk)
    orders = {o.pk: o for o in lock_orders(scope).filter(pk__in=[s.order_id for s in stops])}
    invoices = {i.pk: i for i in scope.filter(Invoice.objects.filter(pk__in=[s.invoice_id for s in stops]))}
    errors: dict[str, list[str]] = {}
    for stop in stops:
        invoice, order = invoices[stop.invoice_id], orders[stop.order_id]
        if invoice.status != InvoiceStatus.ISSUED:
            add_error(errors, "invoices", f"{invoice.number_text} is {invoice.status}, not issued.")
        elif order.status != OrderStatus.INVOICED:
            add_error(errors, "invoices", f"The order of {invoice.number_text} is {order.status}, not invoiced.")
    if errors:
        raise DomainError(DispatchError.NOT_LOADABLE, errors["invoices"][0], fields=errors, status_code=409)
    now = timezone.now()
    for stop in stops:
        invoice = invoices[stop.invoice_id]
        due = max(ZERO, invoice.total - invoice.credited_amount - invoice.paid_amount)
        if due != stop.due:
            LoadFormInvoice.objects.filter(pk=stop.pk).update(due=due, updated_at=now)
            stop.due = due
        transition(orders[stop.order_id], to=OrderStatus.LOADED, actor=scope.actor,
                   reason=f"loaded on {load_form.number}"[:REASON_MAX], event_model=OrderEvent, event_fk="order",
                   distributor_id=load_form.distributor_id,
                   detail={"load_form_id": load_form.pk, "load_form": load_form.number, "invoice": stop.invoice_id})
    dispatched = _dispatch_stock(scope, load_form, sorted(orders))
    load_form.loaded_at = now
    load_form.expected_cash = sum((s.due for s in stops), ZERO)
    return move(scope, load_form, LoadFormStatus.LOADED, reason or "loaded", {"dispatched": dispatched},
                extra_fields=("loaded_at", "expected_cash"))


@transaction.atomic
def load_form_depart(*, scope: Scope, load_form_id: int, reason: str = "") -> LoadForm:
    """Loaded -> out_for_delivery: the vehicle has left; deliveries and collections can be recorded. Idempotent:
    departing a load form that is out for delivery is a no-op. Takes the load form."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) sends vehicles out.")
    load_form = _locked(scope, load_form_id)
    if load_form.status == LoadFormStatus.OUT_FOR_DELIVERY:
        return load_form
    if load_form.status != LoadFormStatus.LOADED:
        raise InvalidTransition("LoadForm", load_form.status, LoadFormStatus.OUT_FOR_DELIVERY)
    load_form.departed_at = timezone.now()
    return move(scope, load_form, LoadFormStatus.OUT_FOR_DELIVERY, reason or "departed", extra_fields=("departed_at",))
