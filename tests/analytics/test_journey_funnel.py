"""analytics.journeys.outlet_funnel on a day carried through the real services, each step at a chosen instant (the
clock is set with mock, so every stored time is one written below): visits reported by the booker, orders booked,
confirmed, allocated and invoiced, a load form out with deliveries and a return, cash on the round and a payment at
the counter two days later. Stage counts and hours are worked out by hand from those instants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest

from analytics.journeys import outlet_funnel
from catalog.models import Outlet
from dispatch.services import cash_record, delivery_record, load_form_create, load_form_depart, load_form_mark_loaded
from dms.core.errors import NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from inventory.allocation import orders_allocate
from inventory.services import default_warehouse, stock_receive
from invoicing.models import Invoice
from invoicing.services import invoice_issue, payment_record
from orders.services import order_cancel, order_confirm
from pjp.models import DailyJourney, Route, Visit
from pjp.services.journeys import journey_build
from pjp.services.visits import VisitReport, visit_report
from tests.analytics.journey_setup import local
from tests.factories.loading import loading_catalogue, make_shop, make_vehicle
from tests.factories.orders import make_order
from tests.factories.pjp import MON, make_plan, make_route, staff_scope

D = Decimal
DAY = date(2025, 6, 2)  # a Monday in the factories' price and tax validity, in the past
NEXT = DAY + timedelta(days=1)


@contextmanager
def at(when: datetime) -> Iterator[Scope]:
    """The tenant's system scope with the clock at `when`."""
    with mock.patch("django.utils.timezone.now", return_value=when), tenant_scope(Scope.system(TENANT[0])) as s:
        yield s


TENANT: list[int] = [0]


@dataclass
class FunnelDay:
    shops: dict[str, Outlet]
    route: Route
    journey: DailyJourney


def funnel_day(cast: Any) -> FunnelDay:
    """Planned FP, FQ, FR on the booker's route; FU visited unplanned; FS ordered at the counter (local times):
        FP  checked in 09:00, ordered 09:30 (naming the visit), invoiced 14:00, delivered next day 10:00, paid in
            cash 10:30 on the round                                  -> paid
        FQ  checked in 10:00, ordered 11:00 (not naming the visit: matched by booker, outlet and day), invoiced
            16:00, returned next day 11:00                           -> invoiced
        FR  never visited                                            -> planned
        FU  visited 11:00 unplanned, its order cancelled             -> visited
        FS  no visit; ordered 11:00, invoiced 15:00, delivered next day 12:00, half paid then, the rest at the
            counter on day 3 at 09:00                                -> paid"""
    tid, d1 = cast.tenant.pk, cast.distributors[0]
    TENANT[0] = tid
    booker = cast.users[Role.ORDER_BOOKER]
    goods = loading_catalogue(tid)
    shops = {code: make_shop(d1, code=code, name=f"Shop {code}") for code in ("FP", "FQ", "FR", "FS", "FU")}
    with at(local(DAY, 7, 0)) as scope:
        warehouse = default_warehouse(scope=scope, distributor_id=d1.pk)
        stock_receive(scope=scope, warehouse_id=warehouse.pk, lines=[(goods.cola.pk, 120)], reason="opening")
    with at(local(DAY, 7, 0)):
        route = make_route(d1, [shops["FP"], shops["FQ"], shops["FR"]])
        make_plan(d1, booker, [(1, MON, route)], anchor=DAY, effective_from=DAY)
    with at(local(DAY, 7, 0)) as scope:
        (journey,) = journey_build(scope=scope, distributor_id=d1.pk, day=DAY)
        planned = {v.outlet_id: v.pk for v in Visit.objects.filter(journey=journey)}

    def report(code: str, came: datetime, left: datetime, outcome: str, reason: str = "") -> None:
        shop = shops[code]
        result = visit_report(scope=scope, booker_id=booker.pk, report=VisitReport(
            uuid=uuid.uuid4(), outlet_id=shop.pk, date=DAY, checked_in_at=came, checked_out_at=left,
            visit_id=planned.get(shop.pk), outcome=outcome, reason=reason))
        assert result.outcome == "applied", result

    with at(local(DAY, 12, 0)) as scope:
        report("FP", local(DAY, 9, 0), local(DAY, 9, 40), "productive")
        report("FQ", local(DAY, 10, 0), local(DAY, 11, 10), "productive")
        report("FU", local(DAY, 11, 0), local(DAY, 11, 10), "unproductive", "stock_sufficient")
        visit_p = planned[shops["FP"].pk]
    with at(local(DAY, 12, 0)) as scope:
        cola = [(goods.cola, 1)]
        orders = {
            "FP": make_order(shops["FP"], cola, booked_at=local(DAY, 9, 30), booker_id=booker.pk, visit_id=visit_p),
            "FQ": make_order(shops["FQ"], cola, booked_at=local(DAY, 11, 0), booker_id=booker.pk),
            "FU": make_order(shops["FU"], cola, booked_at=local(DAY, 11, 5), booker_id=booker.pk),
            "FS": make_order(shops["FS"], cola, booked_at=local(DAY, 11, 0)),
        }
    with at(local(DAY, 13, 0)) as scope:
        order_cancel(scope=scope, order_id=orders["FU"].pk, reason="shop changed its mind")
        for code in ("FP", "FQ", "FS"):
            order_confirm(scope=scope, order_id=orders[code].pk)
        results = orders_allocate(scope=scope, order_ids=[orders[c].pk for c in ("FP", "FQ", "FS")],
                                  warehouse_id=warehouse.pk)
        assert all(r.outcome == "allocated" for r in results), results
    invoices: dict[str, Invoice] = {}
    for code, hour in (("FP", 14), ("FS", 15), ("FQ", 16)):
        with at(local(DAY, hour, 0)) as scope:
            invoices[code] = invoice_issue(scope=scope, order_id=orders[code].pk)

    vehicle = make_vehicle(cast.distributors[0])
    with at(local(DAY, 18, 0)) as scope:
        load_form = load_form_create(scope=scope, date=NEXT, vehicle_id=vehicle.pk,
                                     delivery_man_id=cast.users[Role.DELIVERY_MAN].pk,
                                     invoice_ids=[invoices[c].pk for c in ("FP", "FQ", "FS")])
    with at(local(NEXT, 8, 0)) as scope:
        load_form_mark_loaded(scope=scope, load_form_id=load_form.pk)
        load_form_depart(scope=scope, load_form_id=load_form.pk)
    with at(local(NEXT, 10, 0)) as scope:
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["FP"].pk, outcome="delivered")
    with at(local(NEXT, 10, 30)) as scope:
        cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=shops["FP"].pk, amount=D("1404.00"),
                    method="cash", idempotency_key="funnel-fp")
    with at(local(NEXT, 11, 0)) as scope:
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["FQ"].pk, outcome="returned",
                        return_reason="shop closed")
    with at(local(NEXT, 12, 0)) as scope:
        delivery_record(scope=scope, load_form_id=load_form.pk, invoice_id=invoices["FS"].pk, outcome="delivered")
        cash_record(scope=scope, load_form_id=load_form.pk, outlet_id=shops["FS"].pk, amount=D("702.00"),
                    method="cash", idempotency_key="funnel-fs-1")
    with at(local(DAY + timedelta(days=3), 9, 0)) as scope:
        payment_record(scope=scope, outlet_id=shops["FS"].pk, amount=D("702.00"), method="cash",
                       received_on=DAY + timedelta(days=3), idempotency_key="funnel-fs-2")
        paid = dict(Invoice.objects.filter(pk__in=[i.pk for i in invoices.values()]).values_list(
            "outlet__code", "payment_status"))
    assert paid == {"FP": "paid", "FQ": "paid", "FS": "paid"}  # FQ: its credit note settles it, but never delivered
    return FunnelDay(shops, route, journey)


def funnel(tenant_id: int, scope: Scope | None = None, **filters: Any) -> Any:
    with tenant_scope(scope or Scope.system(tenant_id)) as current:
        return outlet_funnel(scope=current, **{"date_from": DAY, "date_to": DAY, **filters})


def stages(result: Any) -> list[tuple[Any, ...]]:
    return [(s.stage, s.entered, s.reached, s.stopped, s.timed, s.median_hours, s.p90_hours) for s in result.stages]


def test_the_funnel_of_a_day_carried_through_to_payment(cast_a: Any) -> None:
    # given
    day = funnel_day(cast_a)
    # when
    result = funnel(cast_a.tenant.pk, distributor_id=cast_a.distributors[0].pk)
    # then: five calls: FP FQ FR planned, FU added, FS ordered at the counter
    assert result.calls == 5
    assert stages(result) == [
        ("planned", 3, 3, 1, 0, None, None),  # FR stops here
        ("visited", 1, 3, 1, 0, None, None),  # FU stops here (its order was cancelled)
        # check-in to order: FP 0.5 h, FQ 1.0 h; FS has no check-in. p90 = 0.5 + 0.9 x 0.5
        ("ordered", 1, 3, 0, 2, D("0.75"), D("0.95")),
        # order to invoice: FS 4.0, FP 4.5, FQ 5.0; FQ stops here (returned). p90 = 4.5 + 0.8 x 0.5
        ("invoiced", 0, 3, 1, 3, D("4.50"), D("4.90")),
        # invoice to delivery: FP 20 h (14:00 -> 10:00), FS 21 h (15:00 -> 12:00)
        ("delivered", 0, 2, 0, 2, D("20.50"), D("20.90")),
        # delivery to full payment: FP 0.5 h, FS 45 h (12:00 -> day 3 09:00). p90 = 0.5 + 0.9 x 44.5
        ("paid", 0, 2, 2, 2, D("22.75"), D("40.55")),
    ]
    assert result.outlets_listed and not result.outlets_truncated
    assert [(o.outlet_code, o.calls, o.stopped_planned, o.stopped_visited, o.stopped_ordered, o.stopped_invoiced,
             o.stopped_delivered, o.stopped_paid) for o in result.outlets] == [
        ("FP", 1, 0, 0, 0, 0, 0, 1), ("FQ", 1, 0, 0, 0, 1, 0, 0), ("FR", 1, 1, 0, 0, 0, 0, 0),
        ("FS", 1, 0, 0, 0, 0, 0, 1), ("FU", 1, 0, 1, 0, 0, 0, 0)]

    # a route keeps its journeys' calls (FU was visited on it) and the counter orders of its outlets (FS is not one)
    on_route = funnel(cast_a.tenant.pk, route_id=day.route.pk)
    assert (on_route.calls, [s.reached for s in on_route.stages]) == (4, [3, 3, 2, 2, 1, 1])
    # one outlet
    shop_s = funnel(cast_a.tenant.pk, outlet_id=day.shops["FS"].pk)
    assert (shop_s.calls, [s.stopped for s in shop_s.stages]) == (1, [0, 0, 0, 0, 0, 1])
    assert [o.outlet_code for o in shop_s.outlets] == ["FS"]
    # the whole tenant, not narrowed: the same stages, no per-outlet rows
    tenant_wide = funnel(cast_a.tenant.pk)
    assert stages(tenant_wide) == stages(result)
    assert (tenant_wide.outlets_listed, tenant_wide.outlets) == (False, ())
    # another period: nothing
    empty = funnel(cast_a.tenant.pk, date_from=NEXT, date_to=NEXT + timedelta(days=5))
    assert empty.calls == 0
    assert stages(empty)[3] == ("invoiced", 0, 0, 0, 0, None, None)


def test_the_funnel_keeps_to_the_scope(cast_a: Any, cast_b: Any) -> None:
    day = funnel_day(cast_a)
    sibling = staff_scope(cast_a.distributors[1])
    own = staff_scope(cast_a.distributors[0])
    # a distributor user's scope narrows by itself: per-outlet rows without a filter
    mine = funnel(cast_a.tenant.pk, scope=own)
    assert (mine.calls, mine.outlets_listed, len(mine.outlets)) == (5, True, 5)
    assert funnel(cast_a.tenant.pk, scope=sibling).calls == 0
    for filters in ({"outlet_id": day.shops["FP"].pk}, {"route_id": day.route.pk},
                    {"distributor_id": cast_a.distributors[0].pk}):
        with pytest.raises(NotFound):
            funnel(cast_a.tenant.pk, scope=sibling, **filters)
        with pytest.raises(NotFound):
            funnel(cast_b.tenant.pk, **filters)
