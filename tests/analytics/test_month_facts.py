"""The roll-ups the builder keeps beside the day facts. OutletMonthFact: each outlet's visited-day bits of the month
stay in step with OutletDayFact (set when visited, cleared when a refresh no longer finds the visit, other days' bits
untouched), and the coverage it serves equals coverage counted from the day facts. DistributorBrandDayFact: every
column equals the sum of BrandDayFact's rows per distributor and brand, and over all brands. DistributorActivityDayFact
reads as BookerDayFact and ServiceDayFact do."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from analytics.kpi_reads import (
    BOOKER_SUMS,
    GROUP_FIELDS,
    SERVICE_SUMS,
    _hours,
    coverage,
    fact_sums,
    facts,
    month_masks,
)
from analytics.models import (
    BookerDayFact,
    BrandDayFact,
    DistributorActivityDayFact,
    DistributorBrandDayFact,
    OutletMonthFact,
    ServiceDayFact,
)
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.enums import VisitStatus
from pjp.models import Visit
from tests.analytics.service_setup import service_day
from tests.analytics.test_facts import booker_day, refresh, rows
from tests.reconciliation.money_fixtures import clean_day

ROLLUP_COLUMNS = ("ordered_lines", "ordered_units", "ordered_value", "invoiced_lines", "invoiced_units",
                  "invoiced_value", "delivered_units", "delivered_value", "returned_units", "returned_value",
                  "primary_received_units", "primary_received_value", "stock_on_hand_units")


def bits(tenant_id: int, month: date) -> dict[str, int]:
    """outlet code -> visited_days of the month."""
    from catalog.models import Outlet

    with tenant_scope(Scope.system(tenant_id)):
        codes = dict(Outlet.objects.values_list("pk", "code"))
        return {codes[r.outlet_id]: r.visited_days for r in OutletMonthFact.objects.filter(date=month)}


def test_month_masks_split_a_period_by_month() -> None:
    months, masks = month_masks(date(2026, 1, 30), date(2026, 2, 2))
    assert months == [date(2026, 1, 1), date(2026, 2, 1)]
    assert masks == [(1 << 29) | (1 << 30), 0b11]


def test_the_dates_bit_is_set_for_visited_outlets_and_cleared_when_the_visit_goes(cast_a: Any, api_as: Any) -> None:
    day, extra = booker_day(cast_a, api_as)
    tid, today = cast_a.tenant.pk, day.today
    month, bit = today.replace(day=1), 1 << (today.day - 1)
    refresh(tid, today)
    # made: SHOP1, SHOP0, EXTRA, SHOP3; SHOP2 was missed (no bit, no row)
    assert bits(tid, month) == {"SHOP0": bit, "SHOP1": bit, "SHOP3": bit, "EXTRA": bit}
    refresh(tid, today)
    assert bits(tid, month) == {"SHOP0": bit, "SHOP1": bit, "SHOP3": bit, "EXTRA": bit}  # idempotent
    # another day of the month already set on SHOP0 stays set; SHOP1's visit is undone: its bit is cleared
    other = 1 << (today.day % 28)  # a different day of the same month
    with tenant_scope(Scope.system(tid)):
        OutletMonthFact.objects.filter(date=month, outlet_id=day.outlets[0].pk).update(visited_days=bit | other)
        Visit.objects.filter(outlet=day.outlets[1], journey__date=today).update(status=VisitStatus.PLANNED,
                                                                              checked_in_at=None)
    refresh(tid, today)
    assert bits(tid, month) == {"SHOP0": bit | other, "SHOP1": 0, "SHOP3": bit, "EXTRA": bit}


def test_month_coverage_equals_day_coverage(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid, today = cast_a.tenant.pk, day.today
    refresh(tid, today)
    common: dict[str, Any] = {"date_from": today - timedelta(days=3), "date_to": today + timedelta(days=1)}
    with tenant_scope(Scope.system(tid)) as scope:
        whole = coverage(scope=scope, filters={}, group=None, **common)[None]
        per_date = coverage(scope=scope, filters={}, group="date", **common)
        per_dist = coverage(scope=scope, filters={}, group="distributor", **common)
    a1, a2 = cast_a.distributors[0].pk, cast_a.distributors[1].pk
    assert whole["outlets_visited"] == 4
    assert per_date == {today: {"outlets_in_scope": whole["outlets_in_scope"], "outlets_visited": 4}}
    assert per_dist[a1]["outlets_visited"] == 4 and per_dist[a1]["outlets_in_scope"] == 5
    assert per_dist.get(a2, {"outlets_visited": 0})["outlets_visited"] == 0
    assert Decimal(whole["outlets_visited"]) / whole["outlets_in_scope"] <= 1
    # the day facts' path (a route filter) counts the same visits on the route's stops
    with tenant_scope(Scope.system(tid)) as scope:
        by_route = coverage(scope=scope, filters={"route_id": day.journey.route_id}, group=None, **common)[None]
    assert by_route == {"outlets_in_scope": 4, "outlets_visited": 3}


@pytest.mark.parametrize("scenario", ["booker_day", "clean_day"])
def test_the_distributor_brand_rollup_sums_the_brand_facts(cast_a: Any, api_as: Any, scenario: str) -> None:
    """Per distributor and brand, and per distributor over all brands (brand null), every column of
    DistributorBrandDayFact equals the sum of BrandDayFact's rows."""
    today = booker_day(cast_a, api_as)[0].today if scenario == "booker_day" else clean_day(cast_a).today
    tid = cast_a.tenant.pk
    refresh(tid, today)
    brand_rows = rows(tid, BrandDayFact, today)
    assert brand_rows
    expected: dict[tuple[Any, Any], dict[str, Any]] = {}
    for row in brand_rows:
        for key in ((row["distributor_id"], row["brand_id"]), (row["distributor_id"], None)):
            sums = expected.setdefault(key, {c: None if c == "stock_on_hand_units" else 0 for c in ROLLUP_COLUMNS})
            for c in ROLLUP_COLUMNS:
                if row[c] is not None:
                    sums[c] = (sums[c] or 0) + row[c]
    got = {(r["distributor_id"], r["brand_id"]): {c: r[c] for c in ROLLUP_COLUMNS}
           for r in rows(tid, DistributorBrandDayFact, today)}
    assert got == expected


@pytest.mark.parametrize("scenario", ["booker_day", "service_day"])
def test_the_activity_rollup_reads_as_the_booker_and_service_facts(cast_a: Any, api_as: Any, scenario: str) -> None:
    """The visit, order and service sums read from DistributorActivityDayFact (no booker or route filter) equal those
    read from BookerDayFact and ServiceDayFact themselves, whole, per distributor and per date, with the same keys."""
    if scenario == "booker_day":
        today = booker_day(cast_a, api_as)[0].today
        days = [today]
    else:
        service = service_day(cast_a)
        today, days = service.today, [service.day(2), service.day(1), service.today]
    tid = cast_a.tenant.pk
    for day in days:
        refresh(tid, day)
    common: dict[str, Any] = {"date_from": days[0] - timedelta(days=1), "date_to": today}
    with_figures: set[Any] = set()
    with tenant_scope(Scope.system(tid)) as scope:
        assert DistributorActivityDayFact.objects.exists()
        for model, sums in ((BookerDayFact, BOOKER_SUMS), (ServiceDayFact, SERVICE_SUMS)):
            qs = facts(model, scope=scope, filters={}, **common)
            for group in (None, "distributor", "date"):
                got = fact_sums(model, sums, scope=scope, filters={}, group=group, **common)
                if group is None:
                    want = {None: qs.aggregate(**sums)}
                else:
                    field = GROUP_FIELDS[group]
                    want = {r.pop(field): r for r in qs.order_by().values(field).annotate(**sums)}
                for row in want.values():
                    if "market_time" in row:
                        row["market_hours"] = _hours(row.pop("market_time"))
                assert got == want, (model.__name__, group)
                if any(v for row in got.values() for v in row.values()):
                    with_figures.add(model)
    # the comparisons had figures: the booker's visits and orders, the service day's invoices and deliveries
    assert with_figures == ({BookerDayFact} if scenario == "booker_day" else {ServiceDayFact})
