"""Planning a day's load forms as a background job on the `optimisation` queue: the invoices waiting for delivery
are split across the chosen vehicles by the delivery-trip planner (capacity in weight, volume and cases, outlet
hours, the vehicles' shifts) and written as planned load forms, one per vehicle used, each in its delivery
sequence. Invoices it cannot place are listed in the job's result with the planner's reason; nothing is written
for them.

    job = load_forms_plan_start(scope=scope, date=day, vehicle_ids=[3, 4])   # every waiting invoice of the day
    job = load_forms_plan_start(scope=scope, date=day, vehicle_ids=[3], invoice_ids=[...])
    # job.result, once it succeeded: {"load_forms": [{"id", "number", "vehicle", "invoices"}], "dropped":
    #   [{"invoice_id", "invoice", "outlet", "reason"}], "load_form_ids": [...]}

The job reads in one tenant transaction, searches with none open, and writes in a second one under the job's row
lock and the distributor's lock, checking every invoice and vehicle again (another load form may have taken them
meanwhile: they are listed as dropped). A job that already wrote its load forms (a redelivered task) returns them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.jobs import Progress, job_create, job_run
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from pjp.optimisation.common import check_time_limit, solver_progress, step
from pjp.travel import travel_model
from routing.model import Solution

from .. import selectors_loading as sel
from ..errors import DispatchError
from ..locks import lock_distributor
from ..models import LoadForm, Vehicle
from .common import LOADERS, add_error, is_count, raise_field_errors, require_role
from .loading import Load, capacity_problems, check_invoice_ids, not_loadable, write_load_form
from .sequencing import PlannedTrip, TripsInput, solve_trips, trips_input, trips_of

logger = logging.getLogger(__name__)

LOAD_FORMS_PLAN_KIND = "load_forms_plan"
MIN_SECONDS, MAX_SECONDS = 1.0, 120.0
MAX_VEHICLES = 50
MAX_PLAN_INVOICES = 2_000  # a distributor's day, several times over


def _vehicles(scope: Scope, vehicle_ids: Any, errors: dict[str, list[str]]) -> list[Vehicle]:
    if not isinstance(vehicle_ids, list | tuple) or not vehicle_ids:
        add_error(errors, "vehicle_ids", "Choose at least one vehicle.")
        return []
    if len(vehicle_ids) > MAX_VEHICLES:
        add_error(errors, "vehicle_ids", f"At most {MAX_VEHICLES} vehicles.")
        return []
    found = {v.pk: v for v in sel.vehicle_list(scope=scope).filter(
        pk__in=[pk for pk in vehicle_ids if is_count(pk, 1)])}
    out: list[Vehicle] = []
    for i, pk in enumerate(vehicle_ids):
        vehicle = found.get(pk) if is_count(pk, 1) else None
        if vehicle is None:
            add_error(errors, f"vehicle_ids[{i}]", f"No vehicle {pk}.")
        elif not vehicle.active:
            add_error(errors, f"vehicle_ids[{i}]", f"{vehicle.code} is inactive.")
        elif vehicle in out:
            add_error(errors, f"vehicle_ids[{i}]", f"{vehicle.code} is chosen twice.")
        else:
            out.append(vehicle)
    if len({v.distributor_id for v in out}) > 1:
        add_error(errors, "vehicle_ids", "The vehicles belong to different distributors: plan one distributor at a "
                                         "time.")
    return out


def load_forms_plan_start(*, scope: Scope, date: date, vehicle_ids: Sequence[int],
                          invoice_ids: Sequence[int] | None = None, time_limit: float = 5.0,
                          seed: int = 0) -> BackgroundJob:
    """Queue the planning of `date`'s load forms on the vehicles (all of one distributor): `invoice_ids`, or when
    None every invoice waiting for that day (selectors_loading.plannable_invoice_ids). The task runs on the
    `optimisation` queue once the caller's transaction commits; the job's result lists the load forms written and
    the invoices dropped with the planner's reason. Not idempotent: every call is a new job (a second plan of the
    same invoices finds them taken and lists them as dropped)."""
    require_role(scope, LOADERS, "Only the distributor (or the manufacturer's admin) plans load forms.")
    errors: dict[str, list[str]] = {}
    vehicles = _vehicles(scope, list(vehicle_ids) if isinstance(vehicle_ids, list | tuple) else vehicle_ids, errors)
    ids: list[int] | None = None
    if invoice_ids is not None:
        ids = check_invoice_ids(list(invoice_ids) if isinstance(invoice_ids, list | tuple) else invoice_ids, errors,
                                limit=MAX_PLAN_INVOICES)
    raise_field_errors(errors, "The plan has problems: see the fields.")
    time_limit = check_time_limit(time_limit, low=MIN_SECONDS, high=MAX_SECONDS)
    distributor_id = vehicles[0].distributor_id
    if ids is None:
        ids = sel.plannable_invoice_ids(scope=scope, distributor_id=distributor_id, day=date)[:MAX_PLAN_INVOICES]
        if not ids:
            raise DomainError(DispatchError.INVALID, f"No invoice is waiting for a load form on {date}.",
                              fields={"invoice_ids": ["Nothing to plan."]})
    else:
        known = sel.invoice_loads(scope=scope, invoice_ids=ids)
        for i, pk in enumerate(ids):
            if pk not in known:
                add_error(errors, f"invoice_ids[{i}]", f"No invoice {pk}.")
        raise_field_errors(errors, "Some invoices do not exist: see the fields.")
    from ..tasks import load_forms_plan_task  # the tasks import the services: avoid the cycle

    return job_create(scope=scope, kind=LOAD_FORMS_PLAN_KIND, task=load_forms_plan_task, params={
        "distributor_id": distributor_id, "date": date.isoformat(), "vehicle_ids": [v.pk for v in vehicles],
        "invoice_ids": ids, "time_limit": time_limit, "seed": int(seed)})


@dataclass(frozen=True)
class _PlanState:
    day: date
    vehicles: list[Vehicle]
    loads: dict[int, sel.InvoiceLoad]
    refused: dict[int, str]  # invoice id -> why it was not planned (not loadable when read)
    inp: TripsInput


def _read(scope: Scope, job: BackgroundJob, progress: Progress | None) -> _PlanState:
    p = job.params
    day = date.fromisoformat(p["date"])
    step(progress, 1, "reading the invoices and vehicles")
    vehicles = list(sel.vehicle_list(scope=scope).filter(pk__in=p["vehicle_ids"], active=True).order_by("pk"))
    loads = sel.invoice_loads(scope=scope, invoice_ids=p["invoice_ids"])
    on_load_form = sel.live_stops_of_invoices(scope=scope, invoice_ids=loads)
    refused: dict[int, str] = {}
    if vehicles:
        for pk, load in loads.items():
            why = not_loadable(load, day, vehicles[0], on_load_form)
            if why:
                refused[pk] = why
    busy = {v.pk for v in vehicles if sel.live_load_form_of_vehicle(scope=scope, vehicle_id=v.pk, day=day)}
    vehicles = [v for v in vehicles if v.pk not in busy]
    candidates = [g for pk, g in loads.items() if pk not in refused]
    inp = trips_input(loads=candidates, vehicles=vehicles, day=day,
                      depot=sel.distributor_point(scope=scope, distributor_id=int(p["distributor_id"])),
                      travel=travel_model(scope=scope), closed_is_dropped=True)
    step(progress, 4, f"{len(inp.drops)} outlets, {len(candidates)} invoices, {len(vehicles)} vehicles")
    return _PlanState(day=day, vehicles=vehicles, loads=loads, refused=refused, inp=inp)


def _search(state: _PlanState, job: BackgroundJob, progress: Progress | None) -> Solution:
    p = job.params
    solution = solve_trips(state.inp, time_limit=float(p["time_limit"]), seed=int(p["seed"]),
                           progress=solver_progress(progress))
    logger.info("load forms of %s: %s outlets on %s vehicles in %.2f s (%s), %s dropped", state.day,
                len(state.inp.drops), len(state.inp.trucks), solution.runtime, solution.solver, len(solution.dropped))
    return solution


def _dropped_entry(load: sel.InvoiceLoad | None, invoice_id: int, reason: str) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "invoice": load.number_text if load else str(invoice_id),
            "outlet": load.outlet_label if load else "", "reason": reason}


def _write(scope: Scope, job: BackgroundJob, state: _PlanState, solution: Solution,
           progress: Progress | None) -> dict[str, Any]:
    """The load forms of the plan, each trip checked again under the distributor's lock."""
    step(progress, 97, "writing the load forms")
    trips, dropped = trips_of(state.inp, solution)
    dropped.update(state.refused)
    lock_distributor(scope, int(job.params["distributor_id"]))
    vehicles = {v.pk: v for v in state.vehicles}
    written: list[LoadForm] = []
    on_load_form = sel.live_stops_of_invoices(scope=scope, invoice_ids=state.loads)
    fresh = sel.invoice_loads(scope=scope, invoice_ids=state.loads)
    for trip in trips:
        vehicle = vehicles[trip.vehicle_id]
        taken = sel.live_load_form_of_vehicle(scope=scope, vehicle_id=vehicle.pk, day=state.day)
        keep = []
        for stop in trip.stops:
            load = fresh.get(stop.invoice_id)
            why = (f"{vehicle.code} got {taken.number} for the day meanwhile" if taken is not None else
                   not_loadable(load, state.day, vehicle, on_load_form) if load is not None else "it no longer exists")
            if why:
                dropped[stop.invoice_id] = why
            else:
                keep.append(stop)
        if not keep:
            continue
        kept = PlannedTrip(vehicle_id=trip.vehicle_id, stops=tuple(keep), distance_m=trip.distance_m,
                           duration_s=trip.duration_s)
        if capacity_problems(vehicle, Load.of([fresh[s.invoice_id] for s in keep])):  # the figures moved meanwhile
            dropped.update(dict.fromkeys((s.invoice_id for s in keep), f"{vehicle.code}'s load changed meanwhile"))
            continue
        written.append(write_load_form(scope, vehicle=vehicle, day=state.day, trip=kept, loads=fresh,
                                       plan_note=state.inp.depot_note, plan_job_id=job.pk))
    placed = {s.invoice_id for lf_trip in trips for s in lf_trip.stops}
    nobody = ("every chosen vehicle has a load form on that day already" if not state.vehicles else
              "no chosen vehicle could take it")
    for pk in state.loads:
        if pk not in placed and pk not in dropped:
            dropped[pk] = nobody
    return {
        "load_form_ids": [lf.pk for lf in written],
        "load_forms": [{"id": lf.pk, "number": lf.number, "vehicle": vehicles[lf.vehicle_id].code,
                        "invoices": lf.invoice_count} for lf in written],
        "dropped": [_dropped_entry(state.loads.get(pk), pk, reason) for pk, reason in sorted(dropped.items())],
    }


def _existing(scope: Scope, job: BackgroundJob) -> dict[str, Any] | None:
    found = list(scope.filter(LoadForm.objects.filter(plan_job_id=job.pk)).select_related("vehicle").order_by("pk"))
    if not found:
        return None
    return {"load_form_ids": [lf.pk for lf in found],
            "load_forms": [{"id": lf.pk, "number": lf.number, "vehicle": lf.vehicle.code,
                            "invoices": lf.invoice_count} for lf in found],
            "dropped": (job.result or {}).get("dropped", [])}


def load_forms_plan_job(scope: Scope, job: BackgroundJob, progress: Progress) -> dict[str, Any]:
    """job_run's work (transactional=False): read in one tenant transaction, search with none open, write in a
    second one under the job's row lock. A job whose load forms exist already returns them."""
    with tenant_scope(scope):
        done = _existing(scope, job)
        state = _read(scope, job, progress) if done is None else None
    if done is not None or state is None:
        return done or {}
    solution = _search(state, job, progress)
    with tenant_scope(scope):
        BackgroundJob.objects.select_for_update().filter(pk=job.pk).first()
        done = _existing(scope, job)
        if done is not None:
            return done
        return _write(scope, job, state, solution, progress)


def load_forms_plan_run(*, tenant_id: int, job_id: int) -> str:
    """The task's body: run the job (safe to run again for the same job)."""
    return job_run(tenant_id=tenant_id, job_id=job_id, work=load_forms_plan_job, transactional=False)
