"""Delivery sequence of load forms, from the routing package's delivery-trip planner (routing.delivery.plan_trips).

The invoices of one outlet are one drop (the planner's unit): their weights, volumes and cases add up, and they
are delivered together, in invoice-number order. The outlet's opening hours on the delivery day are its windows,
the vehicle's shift its working hours, the distributor's coordinates the depot (the outlets' centre when it has
none), and travel follows the tenant's road factor and speed (pjp.travel). Plain functions over rows already read:
no queries here, so a caller solves with no lock held and no transaction needed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pjp.optimisation.common import day_windows, seconds
from pjp.planning import WEEKDAY_NAMES
from pjp.travel import TravelModel
from routing.backend import Progress
from routing.delivery import Drop, Truck, plan_trips
from routing.model import Solution

from ..models import Vehicle
from ..selectors_loading import InvoiceLoad, Point

SERVICE_FIXED_S = 300  # seconds at an outlet, whatever it receives
SERVICE_PER_CASE_S = 6  # and per case unloaded
NO_POINT = "the outlet has no coordinates, so the planner cannot place it"


@dataclass(frozen=True)
class TripsInput:
    """What the planner is given, and what was left out before it ran (invoice id -> reason)."""

    drops: tuple[Drop, ...]
    trucks: tuple[Truck, ...]
    depot: Point | None
    travel: TravelModel
    by_outlet: dict[int, tuple[InvoiceLoad, ...]]  # outlet id -> its invoices, in invoice-number order
    left_out: dict[int, str] = field(default_factory=dict)
    notes: dict[int, str] = field(default_factory=dict)  # invoice id -> a remark that does not leave it out
    depot_note: str = ""


@dataclass(frozen=True)
class PlannedStop:
    invoice_id: int
    eta_s: int | None  # planned start of service, seconds since midnight
    note: str = ""


@dataclass(frozen=True)
class PlannedTrip:
    vehicle_id: int
    stops: tuple[PlannedStop, ...]
    distance_m: int = 0
    duration_s: int = 0


def truck_of(vehicle: Vehicle) -> Truck:
    return Truck(id=str(vehicle.pk), weight_kg=float(vehicle.capacity_weight_kg),
                 volume_l=float(vehicle.capacity_volume_l), cases=vehicle.capacity_cases,
                 shift=(seconds(vehicle.shift_start), seconds(vehicle.shift_end)))


def _centre(points: Iterable[Point]) -> Point | None:
    points = list(points)
    if not points:
        return None
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def trips_input(*, loads: Iterable[InvoiceLoad], vehicles: Sequence[Vehicle], day: date, depot: Point | None,
                travel: TravelModel, closed_is_dropped: bool) -> TripsInput:
    """The planner's drops (one per outlet) and trucks. An outlet without coordinates is left out; one closed on
    `day` by its opening hours is left out when `closed_is_dropped` (planning a day), else planned as if open and
    noted (a person put its invoice on this vehicle)."""
    by_outlet: dict[int, list[InvoiceLoad]] = defaultdict(list)
    for load in loads:
        by_outlet[load.outlet_id].append(load)
    ordered = {pk: tuple(sorted(group, key=lambda g: g.sort_key)) for pk, group in sorted(by_outlet.items())}
    drops: list[Drop] = []
    left_out: dict[int, str] = {}
    notes: dict[int, str] = {}
    day_name = WEEKDAY_NAMES[day.weekday()]
    for outlet_id, group in ordered.items():
        first = group[0]
        if first.point is None:
            left_out.update(dict.fromkeys((g.invoice_id for g in group), NO_POINT))
            continue
        cases = sum(g.cases for g in group)
        windows = day_windows(first.opening_hours, day.weekday(), SERVICE_FIXED_S + SERVICE_PER_CASE_S * cases)
        if windows == ():
            closed = f"{first.outlet_label} is closed on {day_name}s by its opening hours"
            if closed_is_dropped:
                left_out.update(dict.fromkeys((g.invoice_id for g in group), closed))
                continue
            notes.update(dict.fromkeys((g.invoice_id for g in group), f"{closed}; planned as if open"))
            windows = None
        drops.append(Drop(id=str(outlet_id), point=first.point, weight_kg=float(sum(g.weight_kg for g in group)),
                          volume_l=float(sum(g.volume_l for g in group)), cases=cases, windows=windows or ()))
    depot_note = ""
    if depot is None:
        depot = _centre(d.point for d in drops)
        if depot is not None:
            depot_note = "The distributor has no coordinates: trips start and end at the outlets' centre."
    return TripsInput(drops=tuple(drops), trucks=tuple(truck_of(v) for v in vehicles), depot=depot, travel=travel,
                      by_outlet=ordered, left_out=left_out, notes=notes, depot_note=depot_note)


def solve_trips(inp: TripsInput, *, time_limit: float, seed: int, progress: Progress | None = None) -> Solution:
    """plan_trips on the input (an empty Solution when nothing can be planned)."""
    if not inp.drops or not inp.trucks or inp.depot is None:
        return Solution(routes=())
    return plan_trips(inp.drops, inp.trucks, depot=inp.depot, service_fixed_s=SERVICE_FIXED_S,
                      service_per_case_s=SERVICE_PER_CASE_S, road_factor=inp.travel.road_factor,
                      speed_kmh=inp.travel.speed_kmh, time_limit=time_limit, seed=seed, progress=progress)


def trips_of(inp: TripsInput, solution: Solution) -> tuple[list[PlannedTrip], dict[int, str]]:
    """The planner's routes as trips (each outlet's invoices in invoice-number order at its place), and the invoices
    it could not place, with the reason (left out before it ran, or dropped by it)."""
    trips = []
    for route in solution.routes:
        stops = tuple(PlannedStop(invoice_id=load.invoice_id, eta_s=visit.start, note=inp.notes.get(load.invoice_id,
                                                                                                      ""))
                      for visit in route.visits for load in inp.by_outlet[int(visit.stop_id)])
        trips.append(PlannedTrip(vehicle_id=int(route.vehicle_id), stops=stops, distance_m=int(route.distance),
                                 duration_s=int(route.duration)))
    dropped = dict(inp.left_out)
    for d in solution.dropped:
        dropped.update(dict.fromkeys((g.invoice_id for g in inp.by_outlet[int(d.stop_id)]), d.reason))
    return trips, dropped


def one_vehicle_sequence(inp: TripsInput, solution: Solution) -> PlannedTrip:
    """One vehicle's trip with every invoice on it: the planner's order first, then what it could not place (in
    invoice-number order), each with the reason as its note."""
    trips, dropped = trips_of(inp, solution)
    placed = list(trips[0].stops) if trips else []
    on = {s.invoice_id for s in placed}
    rest = [load for group in inp.by_outlet.values() for load in group if load.invoice_id not in on]
    rest.sort(key=lambda g: g.sort_key)
    tail = [PlannedStop(invoice_id=g.invoice_id, eta_s=None,
                        note=f"not sequenced: {dropped.get(g.invoice_id, 'the planner left it out')}")
            for g in rest]
    vehicle_id = int(inp.trucks[0].id)
    if not trips:
        return PlannedTrip(vehicle_id=vehicle_id, stops=tuple(tail))
    return PlannedTrip(vehicle_id=vehicle_id, stops=tuple(placed + tail), distance_m=trips[0].distance_m,
                       duration_s=trips[0].duration_s)
