"""analytics.builders.facts_refresh: every fact column of a hand-made day equals the figure worked out by hand from
the scenario; a refresh is idempotent, keeps to the distributors asked for, and never reads or writes another
tenant's rows. The expected figures are written out from the scenarios' prices (17 % tax), never read back."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from analytics import tasks
from analytics.builders import facts_refresh
from analytics.models import (
    BookerDayFact,
    BrandDayFact,
    DistributorActivityDayFact,
    DistributorBrandDayFact,
    DistributorDayFact,
    OutletDayFact,
    OutletSkuDayFact,
    ServiceDayFact,
)
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.services import visits_close_day
from tests.factories.catalog import make_outlet
from tests.factories.orders import BOOKED_AT
from tests.mobile.sync_setup import Day, ago, order_item, push_ok, visit_item, working_day
from tests.reconciliation.money_fixtures import clean_day

D = Decimal
FACT_MODELS = (BookerDayFact, OutletSkuDayFact, DistributorDayFact, BrandDayFact, OutletDayFact, ServiceDayFact,
               DistributorBrandDayFact, DistributorActivityDayFact)
# booker_day's rows per table: 1 booker day, 3 outlet-SKUs, 2 brands (one per SKU) and their roll-up per distributor
# (2 brands + all), 5 calls (4 planned, EXTRA), no service row (nothing invoiced, nothing due: the orders are due
# tomorrow), the booker day's distributor's activity roll-up, 2 distributors
BOOKER_DAY_COUNTS = {"booker": 1, "outlet_sku": 3, "brand": 2, "distributor_brand": 3, "outlet": 5, "service": 0,
                     "distributor_activity": 1, "distributor": 2}
A1_ONLY = {**BOOKER_DAY_COUNTS, "distributor": 1}


def refresh(tenant_id: int, day: date, distributor_ids: list[int] | None = None) -> dict[str, int]:
    with tenant_scope(Scope.system(tenant_id, "analytics")) as scope:
        return facts_refresh(scope=scope, business_date=day, distributor_ids=distributor_ids)


def rows(tenant_id: int, model: Any, day: date, **filters: Any) -> list[dict[str, Any]]:
    with tenant_scope(Scope.system(tenant_id)):
        return list(model.objects.filter(date=day, **filters).order_by("pk").values())


def without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("id", *keys)}


# --- a booker's day: visits and orders through the mobile push ----------------------------------------------------

def booker_day(cast: Any, api_as: Any) -> tuple[Day, dict[str, Any]]:
    """Planned visits seq 1..4 at SHOP0..SHOP3. In time order: seq 2 productive (2 cases of each SKU), seq 1
    unproductive, an unplanned visit to EXTRA (unproductive), seq 4 productive (1 case of SKU 0); seq 3 is missed at
    the day close. SKU 0 is 1,200.00 a case, SKU 1 850.50, both 12 a case, 17 % tax."""
    day = working_day(cast, outlets=4)
    extra = make_outlet(cast.distributors[0], code="EXTRA", name="Extra")
    client = api_as(cast.device_token, kind="device")
    v2, v1, v4 = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    unplanned = {"kind": "visit", "uuid": str(uuid.uuid4()), "device_seq": 3, "payload": {
        "outlet_id": extra.pk, "date": day.today.isoformat(), "checked_in_at": ago(day, 100),
        "checked_out_at": ago(day, 95), "lat": str(extra.lat), "lng": str(extra.lng), "accuracy_m": 8,
        "outcome": "unproductive", "reason": "stock_sufficient"}}
    two_each = [{"sku_id": day.skus[0].pk, "cases": 2, "units": 0}, {"sku_id": day.skus[1].pk, "cases": 2, "units": 0}]
    push_ok(client, [
        visit_item(day, 1, 1, item_uuid=v2, checked_in_at=ago(day, 120), checked_out_at=ago(day, 115)),
        visit_item(day, 0, 2, item_uuid=v1, outcome="unproductive", reason="shop_closed",
                   checked_in_at=ago(day, 110), checked_out_at=ago(day, 105)),
        unplanned,
        visit_item(day, 3, 4, item_uuid=v4, checked_in_at=ago(day, 90), checked_out_at=ago(day, 80)),
        order_item(day, 1, 5, visit_uuid=v2, lines=two_each),
        order_item(day, 3, 6, visit_uuid=v4, lines=[{"sku_id": day.skus[0].pk, "cases": 1, "units": 0}]),
    ])
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        assert visits_close_day(scope=scope, date=day.today) == 1
    return day, {"extra": extra}


def test_booker_day_facts(cast_a: Any, api_as: Any) -> None:
    day, made = booker_day(cast_a, api_as)
    extra = made["extra"]
    tid, d1 = cast_a.tenant.pk, cast_a.distributors[0]
    counts = refresh(tid, day.today)
    assert counts == BOOKER_DAY_COUNTS

    visits = {v.sequence: v for v in day.visits}
    with tenant_scope(Scope.system(tid)):
        for v in visits.values():
            v.refresh_from_db()
    (fact,) = rows(tid, BookerDayFact, day.today)
    assert without(fact) == {
        "tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "booker_id": day.booker.pk,
        "route_id": day.journey.route_id, "planned_visits": 4, "visits": 4, "productive_visits": 2,
        "unproductive_visits": 2, "missed_visits": 1,
        "in_sequence_visits": 2,  # made 2, 1, 4: 2 (first), 1 after 2 (no), 4 after 1 (yes)
        "unplanned_visits": 1, "orders": 2, "order_lines": 3, "ordered_units": (2 + 2 + 1) * 12,
        "ordered_value": D("4798.17") + D("1404.00"),  # (2,400 + 1,701) x 1.17; 1,200 x 1.17
        "unique_outlets_visited": 4,
        "first_check_in": visits[2].checked_in_at, "last_check_out": visits[4].checked_out_at}

    skus = {(r["outlet_id"], r["sku_id"]): r for r in rows(tid, OutletSkuDayFact, day.today)}
    zero = {"invoiced_units": 0, "invoiced_value": D("0"), "delivered_units": 0, "delivered_value": D("0"),
            "returned_units": 0, "returned_value": D("0")}
    common = {"tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "booker_id": day.booker.pk,
              "route_id": day.journey.route_id, **zero}
    shop1, shop3 = day.outlets[1].pk, day.outlets[3].pk
    sku0, sku1 = day.skus
    assert {key: without(r) for key, r in skus.items()} == {
        (shop1, sku0.pk): {**common, "outlet_id": shop1, "sku_id": sku0.pk, "brand_id": sku0.brand_id,
                           "ordered_lines": 1, "ordered_units": 24, "ordered_value": D("2808.00")},
        (shop1, sku1.pk): {**common, "outlet_id": shop1, "sku_id": sku1.pk, "brand_id": sku1.brand_id,
                           "ordered_lines": 1, "ordered_units": 24, "ordered_value": D("1990.17")},
        (shop3, sku0.pk): {**common, "outlet_id": shop3, "sku_id": sku0.pk, "brand_id": sku0.brand_id,
                           "ordered_lines": 1, "ordered_units": 12, "ordered_value": D("1404.00")},
    }

    dist = {r["distributor_id"]: r for r in rows(tid, DistributorDayFact, day.today)}
    assert without(dist[d1.pk], "refreshed_at") == {
        "tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "collections": D("0"),
        "primary_received_units": 0, "primary_received_cases": 0, "stock_on_hand_units": 0, "invoices_issued": 0,
        "invoice_value": D("0"), "credit_note_value": D("0"), "outlets_with_orders": 2,
        # refreshed today: the receivables snapshot is taken, and nothing is invoiced
        "receivables": D("0"), "ar_0_30": D("0"), "ar_31_60": D("0"), "ar_61_90": D("0"), "ar_over_90": D("0")}
    # A2 had nothing that day: a row of zeros, so a dashboard tells "nothing happened" from "not refreshed"
    assert dist[cast_a.distributors[1].pk]["outlets_with_orders"] == 0

    # one row per call of the journey: planned or made
    call = {"tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "booker_id": day.booker.pk,
            "route_id": day.journey.route_id}
    calls = {r["outlet_id"]: without(r) for r in rows(tid, OutletDayFact, day.today)}
    shop = [o.pk for o in day.outlets]
    assert calls == {
        shop[0]: {**call, "outlet_id": shop[0], "planned": True, "visited": True, "productive": False},
        shop[1]: {**call, "outlet_id": shop[1], "planned": True, "visited": True, "productive": True},
        shop[2]: {**call, "outlet_id": shop[2], "planned": True, "visited": False, "productive": False},  # missed
        shop[3]: {**call, "outlet_id": shop[3], "planned": True, "visited": True, "productive": True},
        extra.pk: {**call, "outlet_id": extra.pk, "planned": False, "visited": True, "productive": False},
    }

    # the SKU facts rolled up per brand (each SKU has a brand of its own); no stock row: no balances
    brands = {r["brand_id"]: without(r) for r in rows(tid, BrandDayFact, day.today)}
    none = {"invoiced_lines": 0, **zero, "primary_received_units": 0, "primary_received_value": D("0"),
            "stock_on_hand_units": None}
    common_b = {"tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "booker_id": day.booker.pk,
                "route_id": day.journey.route_id}
    assert brands == {
        sku0.brand_id: {**common_b, "brand_id": sku0.brand_id, "ordered_lines": 2, "ordered_units": 36,
                        "ordered_value": D("4212.00"), **none},
        sku1.brand_id: {**common_b, "brand_id": sku1.brand_id, "ordered_lines": 1, "ordered_units": 24,
                        "ordered_value": D("1990.17"), **none},
    }
    assert rows(tid, ServiceDayFact, day.today) == []  # nothing invoiced; the orders are due tomorrow


# --- a distributor's money day: GRN, invoices, deliveries, returns, collections -----------------------------------

def test_money_day_facts(cast_a: Any) -> None:
    day = clean_day(cast_a)
    tid, d1 = cast_a.tenant.pk, cast_a.distributors[0]
    refresh(tid, day.today)
    g, shop = day.goods, {code: s.pk for code, s in day.shops.items()}
    brand = g.cola.brand_id

    def fact(invoiced: tuple[int, str], delivered: tuple[int, str] = (0, "0"),
             returned: tuple[int, str] = (0, "0")) -> dict[str, Any]:
        return {"ordered_lines": 0, "ordered_units": 0, "ordered_value": D("0"),
                "invoiced_units": invoiced[0], "invoiced_value": D(invoiced[1]),
                "delivered_units": delivered[0], "delivered_value": D(delivered[1]),
                "returned_units": returned[0], "returned_value": D(returned[1])}

    measures = ("tenant_id", "distributor_id", "date", "outlet_id", "sku_id", "brand_id", "route_id", "booker_id")
    got = {(r["outlet_id"], r["sku_id"]): without(r, *measures) for r in rows(tid, OutletSkuDayFact, day.today)}
    assert {r["brand_id"] for r in rows(tid, OutletSkuDayFact, day.today)} == {brand}
    assert got == {
        # X: cola 2 cases (2,400 + 408), chips 1 case (480 + 81.60), all delivered
        (shop["X"], g.cola.pk): fact((24, "2808.00"), (24, "2808.00")),
        (shop["X"], g.chips.pk): fact((24, "561.60"), (24, "561.60")),
        # Y: cola 3 cases (3,600 + 612), 6 of 36 bottles back, credited pro rata (702.00); water 1 case (99.99 + 17)
        (shop["Y"], g.cola.pk): fact((36, "4212.00"), (30, "3510.00"), (6, "702.00")),
        (shop["Y"], g.water.pk): fact((6, "116.99"), (6, "116.99")),
        # Z: chips 2 cases (960 + 163.20), all returned
        (shop["Z"], g.chips.pk): fact((48, "1123.20"), (0, "0.00"), (48, "1123.20")),
        # V: 12 bags of chips (240 + 40.80), invoiced, not loaded
        (shop["V"], g.chips.pk): fact((12, "280.80")),
    }

    (dist,) = rows(tid, DistributorDayFact, day.today, distributor_id=d1.pk)
    assert without(dist, "refreshed_at") == {
        "tenant_id": tid, "distributor_id": d1.pk, "date": day.today,
        "collections": D("3369.60") + D("3626.99"),  # X in full; Y less its credit (4,328.99 - 702.00)
        "primary_received_units": 120 + 4 * 24 + 2 * 6, "primary_received_cases": 10 + 4 + 2,
        # cola 120 - 24 (X) - 36 (Y: its 6 broken bottles come back as damaged, not saleable on hand);
        # chips 96 - 24 (X) - 48 + 48 (Z, back saleable); water 12 - 6 (Y). V's and W's are reserved, still on hand.
        "stock_on_hand_units": 60 + 72 + 6,
        "invoices_issued": 4, "invoice_value": D("3369.60") + D("4328.99") + D("1123.20") + D("280.80"),
        "credit_note_value": D("702.00") + D("1123.20"), "outlets_with_orders": 0,
        # open: V's 280.80 (Z's is credited in full, X and Y are paid), invoiced today
        "receivables": D("280.80"), "ar_0_30": D("280.80"), "ar_31_60": D("0"), "ar_61_90": D("0"),
        "ar_over_90": D("0")}

    # one brand: the day's SKU facts (no booker, no route) on the same row as the receipts and the stock
    (brand_row,) = rows(tid, BrandDayFact, day.today)
    assert without(brand_row) == {
        "tenant_id": tid, "distributor_id": d1.pk, "date": day.today, "booker_id": None, "route_id": None,
        "brand_id": brand, "ordered_lines": 0, "ordered_units": 0, "ordered_value": D("0"),
        "invoiced_lines": 6, "invoiced_units": 24 + 24 + 36 + 6 + 48 + 12,
        "invoiced_value": D("2808.00") + D("561.60") + D("4212.00") + D("116.99") + D("1123.20") + D("280.80"),
        "delivered_units": 24 + 24 + 30 + 6, "delivered_value": D("2808.00") + D("561.60") + D("3510.00") + D("116.99"),
        "returned_units": 6 + 48, "returned_value": D("702.00") + D("1123.20"),
        # cola 10 cases at 1,200.00, chips 4 good cases at 480.00, water 2 at 99.99
        "primary_received_units": 120 + 4 * 24 + 2 * 6, "primary_received_value": D("12000.00") + D("1920.00")
        + D("199.98"), "stock_on_hand_units": 60 + 72 + 6}
    assert brand_row["primary_received_value"] == day.receipt.received_value
    # the four invoices, every line in full; nothing is due today (booked on BOOKED_AT's date, due the day after)
    (service,) = rows(tid, ServiceDayFact, day.today)
    assert without(service, "tenant_id", "distributor_id", "date") == {
        "booker_id": None, "route_id": None, "orders_invoiced": 4, "orders_filled": 4, "order_lines_invoiced": 6,
        "lines_filled": 6, "orders_due": 0, "orders_on_time": 0, "orders_in_full": 0, "orders_otif": 0}

    # the orders were booked on BOOKED_AT's date (no booker: booked at the counter): ordered facts live there
    booked = BOOKED_AT.astimezone(cast_a.tenant.tz).date()
    refresh(tid, booked)
    ordered = {(r["outlet_id"], r["sku_id"]): (r["ordered_lines"], r["ordered_units"], r["ordered_value"],
                                               r["invoiced_units"], r["booker_id"], r["route_id"])
               for r in rows(tid, OutletSkuDayFact, booked)}
    assert ordered == {
        (shop["X"], g.cola.pk): (1, 24, D("2808.00"), 0, None, None),
        (shop["X"], g.chips.pk): (1, 24, D("561.60"), 0, None, None),
        (shop["Y"], g.cola.pk): (1, 36, D("4212.00"), 0, None, None),
        (shop["Y"], g.water.pk): (1, 6, D("116.99"), 0, None, None),
        (shop["Z"], g.chips.pk): (1, 48, D("1123.20"), 0, None, None),
        (shop["V"], g.chips.pk): (1, 12, D("280.80"), 0, None, None),
        (shop["W"], g.cola.pk): (1, 12, D("1404.00"), 0, None, None),
    }
    (dist_booked,) = rows(tid, DistributorDayFact, booked, distributor_id=d1.pk)
    assert dist_booked["outlets_with_orders"] == 5
    assert dist_booked["stock_on_hand_units"] is None  # a past day: no snapshot
    assert rows(tid, BookerDayFact, booked) == []  # orders without a booker have no booker day
    (brand_booked,) = rows(tid, BrandDayFact, booked)
    assert (brand_booked["ordered_lines"], brand_booked["ordered_units"], brand_booked["ordered_value"]) == (
        7, 162, D("10506.59"))

    # due the day after booking (delivery_due_days 1), delivered today: late. Only X came in full (Y and Z sent
    # goods back, V was never loaded, W never invoiced).
    due = booked + timedelta(days=1)
    refresh(tid, due)
    (late,) = rows(tid, ServiceDayFact, due)
    assert (late["orders_due"], late["orders_on_time"], late["orders_in_full"], late["orders_otif"],
            late["orders_invoiced"]) == (5, 0, 1, 0, 0)


# --- idempotence, scope, tenancy ------------------------------------------------------------------------------------

def test_refresh_twice_gives_the_same_rows(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid = cast_a.tenant.pk
    first = refresh(tid, day.today)
    before = {m: [without(r, "refreshed_at") for r in rows(tid, m, day.today)] for m in FACT_MODELS}
    assert refresh(tid, day.today) == first
    after = {m: [without(r, "refreshed_at") for r in rows(tid, m, day.today)] for m in FACT_MODELS}
    assert after == before
    assert [len(v) for v in after.values()] == [1, 3, 2, 2, 5, 0, 3, 1]  # FACT_MODELS' order


@pytest.mark.parametrize("scenario", ["booker_day", "clean_day"])
def test_brand_facts_sum_to_the_outlet_sku_facts(cast_a: Any, api_as: Any, scenario: str) -> None:
    # given: a day with orders (booker_day), or with invoices, deliveries and returns (clean_day), refreshed
    day = booker_day(cast_a, api_as)[0] if scenario == "booker_day" else clean_day(cast_a)
    tid = cast_a.tenant.pk
    refresh(tid, day.today)
    measures = ("ordered_lines", "ordered_units", "ordered_value", "invoiced_units", "invoiced_value",
                "delivered_units", "delivered_value", "returned_units", "returned_value")
    keys = ("distributor_id", "booker_id", "route_id", "brand_id")
    # when: both summed per (distributor, booker, route, brand)
    sku: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows(tid, OutletSkuDayFact, day.today):
        row = sku.setdefault(tuple(r[k] for k in keys), dict.fromkeys((*measures, "invoiced_lines"), 0))
        for m in measures:
            row[m] += r[m]
        row["invoiced_lines"] += 1 if r["invoiced_units"] else 0
    brand = {tuple(r[k] for k in keys): {m: r[m] for m in (*measures, "invoiced_lines")}
             for r in rows(tid, BrandDayFact, day.today)}
    # then: the same figures (the brand rows carry receipts and stock besides)
    assert brand == sku
    assert sum(r["invoiced_units"] for r in brand.values()) > 0 or scenario == "booker_day"


def test_refreshing_one_distributor_leaves_the_others_alone(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid, (d1, d2) = cast_a.tenant.pk, cast_a.distributors
    refresh(tid, day.today)
    d2_before = rows(tid, DistributorDayFact, day.today, distributor_id=d2.pk)
    d1_before = rows(tid, DistributorDayFact, day.today, distributor_id=d1.pk)
    assert refresh(tid, day.today, [d1.pk]) == A1_ONLY
    assert rows(tid, DistributorDayFact, day.today, distributor_id=d2.pk) == d2_before  # same ids, same time
    (d1_after,) = rows(tid, DistributorDayFact, day.today, distributor_id=d1.pk)
    assert d1_after["id"] != d1_before[0]["id"]
    assert len(rows(tid, BookerDayFact, day.today)) == 1


def test_a_distributor_scope_refreshes_its_own_distributor_only(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid, (d1, d2) = cast_a.tenant.pk, cast_a.distributors
    scope = Scope(tenant_id=tid, distributor_ids=frozenset({d2.pk}), actor=Scope.system(tid).actor)
    with tenant_scope(scope):
        assert facts_refresh(scope=scope, business_date=day.today, distributor_ids=[d1.pk, d2.pk]) == {
            "booker": 0, "outlet_sku": 0, "brand": 0, "distributor_brand": 0, "outlet": 0, "service": 0,
            "distributor_activity": 0, "distributor": 1}
    assert [r["distributor_id"] for r in rows(tid, DistributorDayFact, day.today)] == [d2.pk]


def test_facts_never_cross_tenants(cast_a: Any, cast_b: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    ta, tb = cast_a.tenant.pk, cast_b.tenant.pk
    refresh(ta, day.today)
    refresh(tb, day.today)
    assert len(rows(tb, DistributorDayFact, day.today)) == 2
    assert rows(tb, BookerDayFact, day.today) == [] and rows(tb, OutletSkuDayFact, day.today) == []

    with tenant_scope(Scope.system(ta)):
        # row-level security: even unfiltered SQL sees tenant A's facts only
        for model in FACT_MODELS:
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT DISTINCT tenant_id FROM "{model._meta.db_table}"')
                assert [r[0] for r in cursor.fetchall()] == ([] if model is ServiceDayFact else [ta]), model
        # a refresh in A's scope cannot be pointed at B
        with pytest.raises(RuntimeError):
            facts_refresh(scope=Scope.system(tb), business_date=day.today)
        # nor can any SQL in A's scope delete or write B's facts
        with connection.cursor() as cursor:
            cursor.execute('DELETE FROM "analytics_distributordayfact" WHERE tenant_id = %s', [tb])
            assert cursor.rowcount == 0
        rls = pytest.raises(DatabaseError, match="row-level security")
        with rls, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute('INSERT INTO "analytics_distributordayfact" (tenant_id, distributor_id, date, collections,'
                           ' primary_received_units, primary_received_cases, invoices_issued, invoice_value,'
                           ' credit_note_value, outlets_with_orders, refreshed_at)'
                           ' VALUES (%s, %s, %s, 0, 0, 0, 0, 0, 0, 0, now())',
                           [tb, cast_b.distributors[0].pk, date(2020, 1, 1)])
    assert len(rows(tb, DistributorDayFact, day.today)) == 2


# --- the hooks ------------------------------------------------------------------------------------------------------

def test_after_sync_refreshes_once_per_distributor_date(cast_a: Any, api_as: Any, monkeypatch: Any,
                                                         django_capture_on_commit_callbacks: Any) -> None:
    from django.core.cache import cache

    day, _ = booker_day(cast_a, api_as)
    tid, d1 = cast_a.tenant.pk, cast_a.distributors[0]
    cache.delete(tasks.debounce_key(tid, d1.pk, day.today))
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.facts_refresh_task, "apply_async",
                        lambda kwargs, countdown: sent.append({**kwargs, "countdown": countdown}))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            tasks.after_sync(tenant_id=tid, distributor_id=d1.pk, business_date=day.today)
    assert sent == [{"tenant_id": tid, "business_date": day.today.isoformat(), "distributor_ids": [d1.pk],
                     "debounce": True, "countdown": tasks.DEBOUNCE_SECONDS}]

    # the task frees the key and refreshes; the next sync enqueues again
    assert tasks.facts_refresh_task(**{k: v for k, v in sent[0].items() if k != "countdown"}) == A1_ONLY
    with django_capture_on_commit_callbacks(execute=True):
        tasks.after_sync(tenant_id=tid, distributor_id=d1.pk, business_date=day.today)
    assert len(sent) == 2


def test_after_reconciliation_refreshes_the_whole_date(cast_a: Any, api_as: Any,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid = cast_a.tenant.pk
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery in tests: the task runs on commit
        tasks.after_reconciliation(tenant_id=tid, business_date=day.today)
    assert len(rows(tid, DistributorDayFact, day.today)) == 2
    assert len(rows(tid, BookerDayFact, day.today)) == 1


def test_a_mobile_push_asks_for_the_facts_of_the_days_it_synced(cast_a: Any, api_as: Any, monkeypatch: Any,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    # given: the push hook (settings.MOBILE_AFTER_PUSH) points at after_sync, whose enqueue we record
    from django.conf import settings

    assert settings.MOBILE_AFTER_PUSH == ["analytics.tasks.after_sync"]
    from django.core.cache import cache

    day = working_day(cast_a)
    tid, d1 = cast_a.tenant.pk, cast_a.distributors[0]
    cache.delete(tasks.debounce_key(tid, d1.pk, day.today))
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.facts_refresh_task, "apply_async",
                        lambda kwargs, countdown: sent.append(kwargs))
    # when: the booker's app pushes a visit and an order of the day
    with django_capture_on_commit_callbacks(execute=True):
        push_ok(api_as(cast_a.device_token, kind="device"), [visit_item(day, 0, 1), order_item(day, 0, 2)])
    # then: one refresh of that distributor's day is on its way
    assert sent == [{"tenant_id": tid, "business_date": day.today.isoformat(), "distributor_ids": [d1.pk],
                     "debounce": True}]
