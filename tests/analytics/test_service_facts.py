"""analytics.builders.facts_refresh on service_day (tests/analytics/service_setup.py): the ServiceDayFact,
BrandDayFact and receivables columns equal the figures worked out by hand from the scenario; the due date follows the
delivery date, else the booking date + delivery_due_days; the service of an order follows its booking call; a
refresh twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from analytics.models import BrandDayFact, DistributorDayFact, ServiceDayFact
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from orders.models import SecondaryOrder
from tests.analytics.service_setup import service_day
from tests.analytics.test_facts import FACT_MODELS, booker_day, refresh, rows, without
from tests.factories.invoicing import allocate_order, issue

D = Decimal
SERVICE = ("orders_invoiced", "orders_filled", "order_lines_invoiced", "lines_filled", "orders_due", "orders_on_time",
           "orders_in_full", "orders_otif")


def service(tid: int, day: Any, **filters: Any) -> list[tuple[Any, ...]]:
    """(booker, route, the eight counts) of the date's ServiceDayFact rows."""
    return [(r["booker_id"], r["route_id"], *(r[k] for k in SERVICE))
            for r in rows(tid, ServiceDayFact, day, **filters)]


def test_service_day_facts_by_hand(cast_a: Any) -> None:
    day = service_day(cast_a)
    tid, d1 = cast_a.tenant.pk, cast_a.distributors[0]
    counts = {back: refresh(tid, day.day(back)) for back in (2, 1, 0)}
    assert [c["service"] for c in counts.values()] == [0, 1, 1]

    # T-1: C invoiced (1 line, in full); C due (booked T-2), delivered on T: late, but in full (as of today)
    assert service(tid, day.day(1)) == [(None, None, 1, 1, 1, 1, 1, 0, 1, 0)]
    # T: A, B, D invoiced: B short (juice 18 of 24), so 2 of 3 orders and 3 of 4 lines filled. Due: A (its delivery
    # date), B and D (booked T-1); G was cancelled. All three delivered on T's load form: on time; in full only A
    # (B short, D 6 back), so one OTIF.
    assert service(tid, day.today) == [(None, None, 3, 2, 4, 3, 3, 3, 1, 1)]
    assert rows(tid, ServiceDayFact, day.day(2)) == []  # nothing invoiced, nothing due (A is due T, not T-1)

    fizz, grove = day.brands["Fizz"].pk, day.brands["Grove"].pk
    zero: dict[str, Any] = {"ordered_lines": 0, "ordered_units": 0, "ordered_value": D("0"), "invoiced_lines": 0,
                            "invoiced_units": 0, "invoiced_value": D("0"), "delivered_units": 0,
                            "delivered_value": D("0"), "returned_units": 0, "returned_value": D("0"),
                            "primary_received_units": 0, "primary_received_value": D("0"), "stock_on_hand_units": None}
    key = ("tenant_id", "distributor_id", "date", "booker_id", "route_id")

    def brands(back: int) -> dict[int, dict[str, Any]]:
        found = rows(tid, BrandDayFact, day.day(back))
        assert all((r["booker_id"], r["route_id"], r["distributor_id"]) == (None, None, d1.pk) for r in found)
        return {r["brand_id"]: without(r, *key) for r in found}

    assert brands(2) == {fizz: {**zero, "brand_id": fizz, "ordered_lines": 2, "ordered_units": 24 + 12,
                                "ordered_value": D("2808.00") + D("1404.00")}}  # A, C
    assert brands(1) == {  # ordered B and D (G cancelled); C invoiced
        fizz: {**zero, "brand_id": fizz, "ordered_lines": 2, "ordered_units": 12 + 24,
               "ordered_value": D("1404.00") + D("2808.00"), "invoiced_lines": 1, "invoiced_units": 12,
               "invoiced_value": D("1404.00")},
        grove: {**zero, "brand_id": grove, "ordered_lines": 1, "ordered_units": 24, "ordered_value": D("2808.00")},
    }
    assert brands(0) == {
        # invoiced A 24, B 12, D 24; delivered A, B, C in full, D 18 of 24 (6 credited, 702.00); 10 cases received
        # at 1,200.00; on hand 120 - 72 loaded + 6 back = 54
        fizz: {**zero, "brand_id": fizz, "invoiced_lines": 3, "invoiced_units": 60,
               "invoiced_value": D("2808.00") + D("1404.00") + D("2808.00"), "delivered_units": 24 + 12 + 12 + 18,
               "delivered_value": D("2808.00") + D("1404.00") + D("1404.00") + D("2106.00"), "returned_units": 6,
               "returned_value": D("702.00"), "primary_received_units": 120, "primary_received_value": D("12000.00"),
               "stock_on_hand_units": 54},
        # B's 3 cases of juice (all there was), delivered; 3 good cases of 4 received at 600.00; none left
        grove: {**zero, "brand_id": grove, "invoiced_lines": 1, "invoiced_units": 18, "invoiced_value": D("2106.00"),
                "delivered_units": 18, "delivered_value": D("2106.00"), "primary_received_units": 18,
                "primary_received_value": D("1800.00"), "stock_on_hand_units": 0},
    }

    ageing = ("receivables", "ar_0_30", "ar_31_60", "ar_61_90", "ar_over_90")
    (today,) = rows(tid, DistributorDayFact, day.today, distributor_id=d1.pk)
    # nothing paid: A 2,808.00, B 3,510.00, C 1,404.00 (1 day old), D 2,808.00 - 702.00 credited; E 45 days old,
    # F 100 days old, 1,404.00 each
    assert {k: today[k] for k in ageing} == {
        "receivables": D("12636.00"), "ar_0_30": D("2808.00") + D("3510.00") + D("1404.00") + D("2106.00"),
        "ar_31_60": D("1404.00"), "ar_61_90": D("0.00"), "ar_over_90": D("1404.00")}
    (yesterday,) = rows(tid, DistributorDayFact, day.day(1), distributor_id=d1.pk)
    assert {k: yesterday[k] for k in ageing} == dict.fromkeys(ageing)  # a past day: no snapshot


def test_refreshing_the_service_days_twice_changes_nothing(cast_a: Any) -> None:
    day = service_day(cast_a)
    tid = cast_a.tenant.pk
    dates = [day.day(back) for back in (2, 1, 0)]
    first = [refresh(tid, d) for d in dates]
    before = {(m, d): [without(r, "refreshed_at") for r in rows(tid, m, d)] for m in FACT_MODELS for d in dates}
    assert [refresh(tid, d) for d in dates] == first
    after = {(m, d): [without(r, "refreshed_at") for r in rows(tid, m, d)] for m in FACT_MODELS for d in dates}
    assert after == before
    assert sum(len(v) for v in after.values()) == sum(sum(c.values()) for c in first)


def test_an_orders_service_follows_its_booking_call(cast_a: Any, api_as: Any) -> None:
    # given: booker_day's two orders (booked today by the booker on the journey's route); SHOP1's invoiced today,
    # its SKU 1 line allocated 12 of 24 units
    day, _ = booker_day(cast_a, api_as)
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        orders = list(SecondaryOrder.objects.filter(booker_id=day.booker.pk).order_by("pk"))
    shop1 = next(o for o in orders if o.outlet_id == day.outlets[1].pk)
    allocate_order(shop1, units={2: 12}, reserve=True)
    issue(shop1)
    # when
    refresh(tid, day.today)
    tomorrow = day.today + timedelta(days=1)
    refresh(tid, tomorrow)
    # then: the invoice counts on the booker and the route of the call; both orders are due tomorrow
    route = day.journey.route_id
    assert service(tid, day.today) == [(day.booker.pk, route, 1, 0, 2, 1, 0, 0, 0, 0)]
    assert service(tid, tomorrow) == [(day.booker.pk, route, 0, 0, 0, 0, 2, 0, 0, 0)]


def test_the_tenants_delivery_days_move_the_due_date(cast_a: Any) -> None:
    # given: service_day, and a tenant that gives its orders two days
    day = service_day(cast_a)
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        TenantSettings.objects.update(delivery_due_days=2)
    # when
    refresh(tid, day.today)
    # then: due today are A (its delivery date) and C (booked T-2): both on T's load form, both in full
    assert service(tid, day.today) == [(None, None, 3, 2, 4, 3, 2, 2, 2, 2)]
