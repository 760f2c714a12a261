"""Load forms up to the road: an over-capacity load is refused with its figures, the delivery sequence is the
delivery-trip planner's, the pick list adds up to the invoices in cases and units and loads in reverse delivery
order, loading dispatches the invoiced stock (ledger and balances agree) and moves the orders to loaded; invoices
go on one live load form only; a day's invoices are split across vehicles by a planning job."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from dispatch.enums import LoadFormStatus
from dispatch.models import LoadForm, LoadFormEvent
from dispatch.selectors_loading import load_form_pick_list
from dispatch.services import (
    load_form_cancel,
    load_form_depart,
    load_form_mark_loaded,
    load_forms_plan_start,
    sequencing,
)
from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from inventory.models import Allocation, StockMovement
from inventory.selectors import ledger_mismatches
from orders.models import OrderEvent, SecondaryOrder
from tests.factories.catalog import make_price_list, make_sku
from tests.factories.inventory import balance_of, make_warehouse
from tests.factories.loading import (
    create,
    hours,
    invoiced,
    make_shop,
    make_vehicle,
    reload_load_form,
    set_depot,
    stops,
)

pytestmark = pytest.mark.django_db
D = Decimal


def count_rows(tid: int) -> tuple[int, int, int]:
    with tenant_scope(Scope.system(tid)):
        return LoadForm.objects.count(), StockMovement.objects.count(), OrderEvent.objects.count()


def test_an_over_capacity_load_is_refused_naming_the_figures_and_nothing_is_written(tid, goods, dist_a1, wh, staff,
                                                                                     today):
    # given: 1,000 cases of 1.5 kg and 210 cases of 3.05 kg = 2,140.5 kg in 1,210 cases, on a 2,000 kg, 1,200 case van
    light = make_sku(tid, code="LIGHT", units_per_case=1, weight_kg_per_case=D("1.500"), volume_l_per_case=D("1"))
    heavy = make_sku(tid, code="HEAVY", units_per_case=1, weight_kg_per_case=D("3.050"), volume_l_per_case=D("1"))
    make_price_list(tid, {light: D("1.0000"), heavy: D("2.0000")})
    one = invoiced(make_shop(dist_a1), [(light, 1000)], wh)
    two = invoiced(make_shop(dist_a1), [(heavy, 210)], wh)
    van = make_vehicle(dist_a1, code="VAN-1")
    before = count_rows(tid)
    # when
    with pytest.raises(DomainError) as refused:
        create(staff, van, [one, two], today)
    # then
    error = refused.value
    assert (error.code, error.status_code) == ("over_capacity", 400)
    assert "2,140.5 kg > 2,000 kg capacity" in error.message
    assert "1,210 cases > 1,200 cases capacity" in error.message
    assert "litres" not in error.message  # the volume fits
    assert error.fields["invoice_ids"] == ["2,140.5 kg > 2,000 kg capacity", "1,210 cases > 1,200 cases capacity"]
    assert error.extra["load"] == {"weight_kg": "2140.500", "volume_l": "1210.000", "cases": 1210}
    assert count_rows(tid) == before
    # and one invoice alone fits
    assert create(staff, van, [one], today).total_weight_kg == D("1500.000")


def test_the_sequence_is_the_delivery_trip_planners_with_etas_from_the_outlets_hours(tid, goods, dist_a1, wh, staff,
                                                                                     today):
    # given: the depot, then three outlets east of it in a line, 1, 2 and 3 km away: A closes at 09:30, B at 10:30
    # and C opens at 11:00, so A -> B -> C is the one feasible order; they are invoiced C, A, B
    set_depot(dist_a1, "31.500000", "74.300000")
    shop_a = make_shop(dist_a1, code="A", lat="31.500000", lng="74.310000", opening_hours=hours("08:00", "09:30"))
    shop_b = make_shop(dist_a1, code="B", lat="31.500000", lng="74.320000", opening_hours=hours("08:00", "10:30"))
    shop_c = make_shop(dist_a1, code="C", lat="31.500000", lng="74.330000", opening_hours=hours("11:00", "18:00"))
    inv_c = invoiced(shop_c, [(goods.cola, 2)], wh)
    inv_a = invoiced(shop_a, [(goods.cola, 1)], wh)
    inv_b = invoiced(shop_b, [(goods.chips, 1)], wh)
    inv_b2 = invoiced(shop_b, [(goods.water, 3)], wh)  # a second invoice for B: delivered with the first
    van = make_vehicle(dist_a1, shift_start=time(8, 0), shift_end=time(18, 0))
    # when
    with mock.patch.object(sequencing, "plan_trips", wraps=sequencing.plan_trips) as planner:
        load_form = create(staff, van, [inv_c, inv_a, inv_b2, inv_b], today)
    # then: the planner was asked once, for this vehicle's capacity and shift, with one drop per outlet
    assert planner.call_count == 1
    drops, trucks = planner.call_args.args
    assert sorted(d.id for d in drops) == sorted(str(s.pk) for s in (shop_a, shop_b, shop_c))
    assert [(t.weight_kg, t.volume_l, t.cases, t.shift) for t in trucks] == [(2000.0, 10000.0, 1200, (28800, 64800))]
    assert planner.call_args.kwargs["depot"] == (31.5, 74.3)
    # and the load form follows its route: A, B (both invoices, in number order), C
    assert [s.invoice_id for s in stops(load_form)] == [inv_a.pk, inv_b.pk, inv_b2.pk, inv_c.pk]
    assert [s.sequence for s in stops(load_form)] == [1, 2, 3, 4]
    etas = [s.eta for s in stops(load_form)]
    assert etas[0] is not None and time(8, 0) <= etas[0] <= time(9, 30)
    assert etas[1] == etas[2] and etas[1] is not None and etas[1] <= time(10, 30)  # one drop
    assert etas[3] is not None and etas[3] >= time(11, 0)
    assert load_form.planned_distance_m > 0 and load_form.plan_note == ""
    assert (load_form.number, load_form.status, load_form.invoice_count) == ("LF-000001", "planned", 4)


def test_an_outlet_without_coordinates_goes_last_with_the_reason(tid, goods, dist_a1, wh, staff, today):
    # given
    nowhere = make_outlet_without_point(dist_a1)
    somewhere = make_shop(dist_a1)
    lost = invoiced(nowhere, [(goods.cola, 1)], wh)
    found = invoiced(somewhere, [(goods.cola, 1)], wh)
    # when
    load_form = create(staff, make_vehicle(dist_a1), [lost, found], today)
    # then
    placed = stops(load_form)
    assert [s.invoice_id for s in placed] == [found.pk, lost.pk]
    assert placed[1].eta is None and "no coordinates" in placed[1].plan_note
    assert "outlets' centre" in load_form.plan_note  # the distributor has no coordinates either


def make_outlet_without_point(distributor: Any) -> Any:
    return make_shop(distributor, lat=None, lng=None)


def test_the_pick_list_totals_each_sku_in_cases_and_units_and_loads_in_reverse_delivery_order(tid, goods, dist_a1, wh,
                                                                                              staff, today):
    # given: two outlets on a line from the depot, so the nearer is delivered first
    set_depot(dist_a1, "31.500000", "74.300000")
    near = make_shop(dist_a1, code="NEAR", lat="31.500000", lng="74.310000", opening_hours=hours("08:00", "10:00"))
    far = make_shop(dist_a1, code="FAR", lat="31.500000", lng="74.340000", opening_hours=hours("12:00", "18:00"))
    first = invoiced(far, [(goods.cola, 3, 6), (goods.chips, 1)], wh)  # 42 cola units, 24 chips
    second = invoiced(near, [(goods.cola, 1, 10), (goods.water, 0, 5)], wh)  # 22 cola units, 5 water
    load_form = create(staff, make_vehicle(dist_a1), [first, second], today)
    # when
    with tenant_scope(staff):
        pick = load_form_pick_list(scope=staff, load_form_id=load_form.pk)
    # then: 64 cola units = 5 cases 4 units, 1 case of chips, 5 loose water units
    assert [(p.sku_code, p.qty_units, p.cases, p.units) for p in pick.totals] == [
        ("CHIPS", 24, 1, 0), ("COLA", 64, 5, 4), ("WATER", 5, 0, 5)]
    assert pick.total_units == 93
    # and the far outlet (delivered last) is loaded first
    assert [(s.load_position, s.sequence, s.invoice_id) for s in pick.loading] == [(1, 2, first.pk), (2, 1, second.pk)]
    assert [(p.sku_code, p.cases, p.units) for p in pick.loading[0].lines] == [("CHIPS", 1, 0), ("COLA", 3, 6)]
    assert [(p.sku_code, p.cases, p.units) for p in pick.loading[1].lines] == [("COLA", 1, 10), ("WATER", 0, 5)]
    # and the load form's figures are the invoices': 4 + 1 + 2 + 1 cases (opened cases count), 42/12*6 + 2.5 + ...
    assert (load_form.total_cases, load_form.total_weight_kg) == (8, D("21.000") + D("2.500") + D("11.000")
                                                                  + D("7.500"))
    assert load_form.total_value == first.total + second.total


def test_loading_dispatches_the_invoiced_stock_and_moves_the_orders_to_loaded(tid, goods, dist_a1, wh, staff, today):
    # given
    one = invoiced(make_shop(dist_a1), [(goods.cola, 2), (goods.chips, 1)], wh)
    two = invoiced(make_shop(dist_a1), [(goods.cola, 1, 6)], wh)
    load_form = create(staff, make_vehicle(dist_a1), [one, two], today)
    assert balance_of(wh, goods.cola) == (42, 42) and balance_of(wh, goods.chips) == (24, 24)
    with tenant_scope(staff):
        assert SecondaryOrder.objects.get(pk=one.order_id).status == "invoiced"  # planned: not on the van yet
        # when
        loaded = load_form_mark_loaded(scope=staff, load_form_id=load_form.pk)
        again = load_form_mark_loaded(scope=staff, load_form_id=load_form.pk)
    # then: on hand and reserved both went down by what was invoiced, and the ledger agrees with the balances
    assert (loaded.status, again.status) == ("loaded", "loaded")
    assert balance_of(wh, goods.cola) == (0, 0) and balance_of(wh, goods.chips) == (0, 0)
    with tenant_scope(Scope.system(tid)) as system:
        assert ledger_mismatches(scope=system) == []
        moves = list(StockMovement.objects.filter(reference_type="load_form", reference_id=load_form.pk)
                     .values_list("kind", "sku_id", "qty_units", "on_hand_delta", "reserved_delta"))
        assert sorted(moves) == sorted([("dispatch", goods.cola.pk, -42, -42, -42),
                                        ("dispatch", goods.chips.pk, -24, -24, -24)])
        assert set(Allocation.objects.filter(order_id__in=[one.order_id, two.order_id])
                   .values_list("status", flat=True)) == {"dispatched"}
        assert {o.status for o in SecondaryOrder.objects.filter(pk__in=[one.order_id, two.order_id])} == {"loaded"}
        events = list(OrderEvent.objects.filter(order_id=one.order_id, to_status="loaded").values_list("reason",
                                                                                                       flat=True))
        assert events == [f"loaded on {load_form.number}"]
        assert list(LoadFormEvent.objects.filter(load_form=load_form).values_list("action", "to_status")) == [
            ("create", "planned"), ("transition", "loaded")]
    fresh = reload_load_form(load_form)
    assert (fresh.expected_cash, fresh.version) == (one.total + two.total, 2)
    assert fresh.loaded_at is not None


def test_an_invoice_is_on_one_live_load_form_and_a_vehicle_carries_one_a_day(tid, goods, dist_a1, wh, staff, today):
    # given
    one = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    two = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    van, truck = make_vehicle(dist_a1, code="VAN-A"), make_vehicle(dist_a1, code="TRUCK-B")
    first = create(staff, van, [one], today)
    # when / then: the same invoice on another vehicle
    with pytest.raises(DomainError) as taken:
        create(staff, truck, [two, one], today)
    assert (taken.value.code, taken.value.status_code) == ("not_loadable", 409)
    assert taken.value.fields == {"invoice_ids[1]": [f"{one.number_text} is on {first.number} already."]}
    # and the same vehicle twice on a day
    with pytest.raises(DomainError) as booked:
        create(staff, van, [two], today)
    assert (booked.value.code, booked.value.status_code) == ("vehicle_booked", 409)
    assert create(staff, van, [two], today + timedelta(days=1)).number == "LF-000002"
    # and once cancelled, the invoice is free again
    with tenant_scope(staff):
        cancelled = load_form_cancel(scope=staff, load_form_id=first.pk, reason="van broke down")
    assert cancelled.status == LoadFormStatus.CANCELLED
    assert create(staff, truck, [one], today).number == "LF-000003"


def test_a_load_form_refuses_actions_out_of_order(tid, goods, dist_a1, wh, staff, today):
    # given
    load_form = create(staff, make_vehicle(dist_a1), [invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)], today)
    with tenant_scope(staff):
        # when / then: it cannot leave before it is loaded
        with pytest.raises(DomainError) as early:
            load_form_depart(scope=staff, load_form_id=load_form.pk)
        assert (early.value.code, early.value.status_code) == ("invalid_transition", 409)
        load_form_mark_loaded(scope=staff, load_form_id=load_form.pk)
        # and a loaded one cannot be cancelled
        with pytest.raises(DomainError) as late:
            load_form_cancel(scope=staff, load_form_id=load_form.pk, reason="changed my mind")
        assert (late.value.code, late.value.status_code) == ("wrong_state", 409)
        assert load_form_depart(scope=staff, load_form_id=load_form.pk).status == "out_for_delivery"


def test_an_invoice_that_is_not_issued_or_not_yours_cannot_be_loaded(tid, goods, cast_a, dist_a1, dist_a2, wh, staff,
                                                                     today):
    # given: an invoice of the sibling distributor
    sibling = invoiced(make_shop(dist_a2), [(goods.cola, 1)], make_warehouse(dist_a2))
    mine = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    # when / then: A1's staff cannot name it (it does not exist for them)
    with pytest.raises(DomainError) as unknown:
        create(staff, make_vehicle(dist_a1), [mine, sibling], today)
    assert (unknown.value.status_code, unknown.value.fields) == (400, {"invoice_ids[1]": [f"No invoice {sibling.pk}."]})
    # and a vehicle of the sibling is not found
    with pytest.raises(DomainError) as foreign:
        create(staff, make_vehicle(dist_a2), [mine], today)
    assert foreign.value.status_code == 404


def test_a_planning_job_splits_the_days_invoices_across_vehicles(tid, goods, dist_a1, wh, staff, today,
                                                                 django_capture_on_commit_callbacks):
    # given: five outlets of 100.5 kg each and two 350 kg vans; a sixth outlet has no coordinates
    set_depot(dist_a1, "31.500000", "74.300000")
    shops = [make_shop(dist_a1, code=f"S{i}", lat="31.5", lng=f"74.{31 + i}") for i in range(5)]
    invoices = [invoiced(shop, [(goods.water, 11, 1)], wh) for shop in shops]  # 11 cases + 1 unit: 100.5 kg, 12 cases
    lost = invoiced(make_outlet_without_point(dist_a1), [(goods.cola, 1)], wh)
    vans = [make_vehicle(dist_a1, code=f"VAN-{i}", capacity_weight_kg=D("350")) for i in (1, 2)]
    # when
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(staff):
        job = load_forms_plan_start(scope=staff, date=today, vehicle_ids=[v.pk for v in vans], time_limit=1)
    # then: three drops on one van, two on the other (350 kg each), the unplaceable invoice listed with its reason
    with tenant_scope(Scope.system(tid)):
        job = BackgroundJob.objects.get(pk=job.pk)
        assert job.status == "succeeded", (job.error, job.result)
        forms = list(LoadForm.objects.filter(plan_job_id=job.pk).order_by("pk"))
    assert sorted(lf.invoice_count for lf in forms) == [2, 3]
    assert {lf.vehicle_id for lf in forms} == {v.pk for v in vans}
    assert all(lf.total_weight_kg <= D("350") for lf in forms)
    planned = sorted(s.invoice_id for lf in forms for s in stops(lf))
    assert planned == sorted(i.pk for i in invoices)
    assert job.result["dropped"] == [{"invoice_id": lost.pk, "invoice": lost.number_text,
                                      "outlet": job.result["dropped"][0]["outlet"],
                                      "reason": "the outlet has no coordinates, so the planner cannot place it"}]
    assert sorted(job.result["load_form_ids"]) == [lf.pk for lf in forms]
    # and planning again finds nothing left for those vehicles: the vans are booked for the day
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(staff):
        again = load_forms_plan_start(scope=staff, date=today, vehicle_ids=[v.pk for v in vans], time_limit=1)
    with tenant_scope(Scope.system(tid)):
        again = BackgroundJob.objects.get(pk=again.pk)
    assert again.result["load_form_ids"] == []
    assert [d["invoice_id"] for d in again.result["dropped"]] == [lost.pk]
