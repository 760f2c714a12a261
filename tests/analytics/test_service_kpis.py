"""The fill, OTIF, sell-in, sell-through, stock cover and receivables KPIs of analytics.selectors, and kpi_breakdown
with /api/v1/analytics/kpis/breakdown/: on service_day (tests/analytics/service_setup.py) and booker_day each figure
equals the one worked out by hand; the snapshots carry forward per date; breakdown rows per group; a distributor user
sees its distributor only, a foreign distributor is a 404, a bad `by` a 400 naming it."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse

from analytics.selectors import BREAKDOWN_KPIS, KPI_NAMES, kpi_breakdown, kpi_series, kpi_summary
from analytics.serializers import (
    KpiBreakdownOutput,
    KpiBreakdownRowOutput,
    breakdown_data,
    breakdown_definitions,
)
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp.models import Route
from tests.analytics.service_setup import service_day
from tests.analytics.test_facts import booker_day, refresh
from tests.analytics.test_kpis import NONE, ZERO_COUNT, values

D = Decimal
URL = "analytics-kpis-breakdown"

# service_day over T-2..T (see service_setup): ordered A, C (T-2), B, D (T-1): 96 units, 11,232.00; invoiced C (T-1),
# A, B (short), D (T): 90 units, 10,530.00; delivered on T 9,828.00 (D less its 702.00 back); received 138 units,
# 13,800.00; on hand 54 at T; receivables at T 12,636.00.
SERVICE_DAYS = {
    "fill_rate_orders": (D("0.7500"), D(3), D(4)),  # C, A, D filled; B not
    "fill_rate_lines": (D("0.8000"), D(4), D(5)),  # B's juice line short
    "fill_rate_units": (D("0.9375"), D(90), D(96)),
    "fill_rate_value": (D("0.9375"), D("10530.00"), D("11232.00")),
    "delivered_vs_invoiced": (D("0.9333"), D("9828.00"), D("10530.00")),
    "otif": (D("0.2500"), D(1), D(4)),  # due: C (T-1); A, B, D (T): only A on time and in full
    "on_time_rate": (D("0.7500"), D(3), D(4)),  # C late
    "in_full_rate": (D("0.5000"), D(2), D(4)),  # A, C
    "sell_in_units": (D(138), D(138), None),
    "sell_in_value": (D("13800.00"), D("13800.00"), None),
    "sell_through_units": (D(90), D(90), None),
    "sell_through_value": (D("10530.00"), D("10530.00"), None),
    "sell_through_vs_sell_in": (D("0.7630"), D("10530.00"), D("13800.00")),
    "stock_cover_days": (D("1.8000"), D(54), D(30)),  # 90 units over 3 days
    "receivables": (D("12636.00"), D("12636.00"), None),
    "ar_0_30": (D("9828.00"), D("9828.00"), None),
    "ar_31_60": (D("1404.00"), D("1404.00"), None),
    "ar_61_90": ZERO_COUNT,
    "ar_over_90": (D("1404.00"), D("1404.00"), None),
    "aged_over_90_share": (D("0.1111"), D("1404.00"), D("12636.00")),
    "strike_rate": NONE,  # counter orders: no journeys
    "coverage": (D("0.0000"), D(0), D(7)),  # A1's 7 shops, none visited
}


def refreshed(cast: Any) -> Any:
    day = service_day(cast)
    for back in (2, 1, 0):
        refresh(cast.tenant.pk, day.day(back))
    return day


def pick(kpis: dict[str, Any], names: Any) -> dict[str, Any]:
    return {k: v for k, v in values(kpis).items() if k in names}


def kpis_of(row: dict[str, Any]) -> dict[str, Any]:
    """A breakdown row's KPIs as (value, numerator, denominator)."""
    return values({k: v for k, v in row.items() if k not in ("key", "label")})


def test_service_kpis_by_hand(cast_a: Any) -> None:
    day = refreshed(cast_a)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        period = kpi_summary(scope=scope, date_from=day.day(2), date_to=day.today)
        yesterday = kpi_summary(scope=scope, date_from=day.day(1), date_to=day.day(1))
        juice = kpi_summary(scope=scope, date_from=day.day(2), date_to=day.today, brand_id=day.brands["Grove"].pk)
    assert pick(period, SERVICE_DAYS) == SERVICE_DAYS
    # T-1 alone: C's order and line filled, C late; no snapshot on or before T-1
    assert pick(yesterday, ("fill_rate_orders", "otif", "in_full_rate", "receivables", "stock_cover_days")) == {
        "fill_rate_orders": (D("1.0000"), D(1), D(1)), "otif": (D("0.0000"), D(0), D(1)),
        "in_full_rate": (D("1.0000"), D(1), D(1)), "receivables": ZERO_COUNT,
        "stock_cover_days": (D("0.0000"), D(0), D(12))}
    # a brand narrows the brand facts (juice: 18 of 24 units; none left), not the order-level service
    assert pick(juice, ("fill_rate_units", "sell_in_value", "stock_cover_days", "otif", "receivables")) == {
        "fill_rate_units": (D("0.7500"), D(18), D(24)), "sell_in_value": (D("1800.00"), D("1800.00"), None),
        "stock_cover_days": (D("0.0000"), D(0), D(6)), "otif": SERVICE_DAYS["otif"],
        "receivables": SERVICE_DAYS["receivables"]}


def test_the_series_carries_each_distributors_last_snapshot_forward(cast_a: Any) -> None:
    # given: service_day refreshed as it would have been on T-1 itself (a snapshot dated T-1), then T refreshed
    # only on T+1 (no snapshot dated T)
    day = service_day(cast_a)
    tid = cast_a.tenant.pk
    refresh(tid, day.day(2))

    def on(local_day: Any) -> Any:
        return mock.patch("django.utils.timezone.now",
                          return_value=datetime.combine(local_day, time(12, 0), tzinfo=day.tz))

    with on(day.day(1)):
        refresh(tid, day.day(1))
    with on(day.today + timedelta(days=1)):
        refresh(tid, day.today)
    # when
    with tenant_scope(Scope.system(tid)) as scope:
        series = {r["date"]: values({k: v for k, v in r.items() if k != "date"})
                  for r in kpi_series(scope=scope, date_from=day.day(2), date_to=day.today)}
    # then: T-2 has no snapshot before it; T-1 has its own; T carries T-1's (stock 54, receivables 12,636.00: the
    # ages against T-1 fall in the same buckets)
    assert list(series) == [day.day(2), day.day(1), day.today]
    assert [series[d]["receivables"] for d in series] == [ZERO_COUNT, *[(D("12636.00"), D("12636.00"), None)] * 2]
    assert series[day.day(2)]["stock_cover_days"] == NONE  # nothing invoiced that day
    assert series[day.day(1)]["stock_cover_days"] == (D("4.5000"), D(54), D(12))  # C's 12 units
    assert series[day.today]["stock_cover_days"] == (D("0.6923"), D(54), D(78))  # A 24, B 30, D 24
    assert series[day.today]["otif"] == (D("0.3333"), D(1), D(3))
    assert series[day.day(1)]["otif"] == (D("0.0000"), D(0), D(1))
    assert series[day.today]["ar_31_60"] == (D("1404.00"), D("1404.00"), None)


def test_breakdown_by_brand_distributor_and_date_by_hand(cast_a: Any) -> None:
    day = refreshed(cast_a)
    d1, d2 = cast_a.distributors
    common = {"date_from": day.day(2), "date_to": day.today}
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        by_brand = kpi_breakdown(scope=scope, by="brand", **common)
        by_distributor = kpi_breakdown(scope=scope, by="distributor", **common)
        by_date = kpi_breakdown(scope=scope, by="date", **common)
        by_booker = kpi_breakdown(scope=scope, by="booker", **common)
        summary = kpi_summary(scope=scope, **common)

    assert [(r["key"], r["label"]) for r in by_brand] == [(day.brands["Fizz"].pk, "Fizz"),
                                                          (day.brands["Grove"].pk, "Grove")]
    assert all(set(r) == {"key", "label", *BREAKDOWN_KPIS["brand"]} for r in by_brand)
    fizz, grove = (kpis_of(r) for r in by_brand)
    assert fizz == {
        "fill_rate_units": (D("1.0000"), D(72), D(72)), "fill_rate_value": (D("1.0000"), D("8424.00"), D("8424.00")),
        "delivered_vs_invoiced": (D("0.9167"), D("7722.00"), D("8424.00")),
        "sell_in_units": (D(120), D(120), None), "sell_in_value": (D("12000.00"), D("12000.00"), None),
        "sell_through_units": (D(72), D(72), None), "sell_through_value": (D("8424.00"), D("8424.00"), None),
        "sell_through_vs_sell_in": (D("0.7020"), D("8424.00"), D("12000.00")),
        "stock_cover_days": (D("2.2500"), D(54), D(24))}
    assert grove == {
        "fill_rate_units": (D("0.7500"), D(18), D(24)), "fill_rate_value": (D("0.7500"), D("2106.00"), D("2808.00")),
        "delivered_vs_invoiced": (D("1.0000"), D("2106.00"), D("2106.00")),
        "sell_in_units": (D(18), D(18), None), "sell_in_value": (D("1800.00"), D("1800.00"), None),
        "sell_through_units": (D(18), D(18), None), "sell_through_value": (D("2106.00"), D("2106.00"), None),
        "sell_through_vs_sell_in": (D("1.1700"), D("2106.00"), D("1800.00")),
        "stock_cover_days": (D("0.0000"), D(0), D(6))}

    # A1 carries everything; A2 only its (empty) snapshot of T
    assert [(r["key"], r["label"]) for r in by_distributor] == [(d1.pk, "A1 Distributor A1"),
                                                                (d2.pk, "A2 Distributor A2")]
    a1, a2 = (kpis_of(r) for r in by_distributor)
    assert a1 == values(summary)
    assert a2["receivables"] == ZERO_COUNT and a2["fill_rate_units"] == NONE and a2["coverage"] == NONE

    assert [(r["key"], r["label"]) for r in by_date] == [(d, d.isoformat()) for d in (day.day(2), day.day(1),
                                                                                     day.today)]
    assert kpis_of(by_date[2])["fill_rate_lines"] == (D("0.7500"), D(3), D(4))
    # counter orders: one booker group, without a booker
    assert [(r["key"], r["label"]) for r in by_booker] == [(None, "(no booker)")]
    assert {k: v for k, v in kpis_of(by_booker[0]).items() if k in ("otif", "fill_rate_units")} == {
        "otif": SERVICE_DAYS["otif"], "fill_rate_units": SERVICE_DAYS["fill_rate_units"]}


def test_breakdown_by_booker_and_route_by_hand(cast_a: Any, api_as: Any) -> None:
    # given: booker_day (the booker's journey on one route; SHOP2 missed, EXTRA visited off the route)
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    common = {"date_from": day.today, "date_to": day.today}
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        # when
        by_booker = kpi_breakdown(scope=scope, by="booker", **common)
        by_route = kpi_breakdown(scope=scope, by="route", **common)
        by_brand = kpi_breakdown(scope=scope, by="brand", **common)
        route = Route.objects.get(pk=day.journey.route_id)
    # then: one row each, the KPIs of the grouping only
    assert [(r["key"], r["label"]) for r in by_booker] == [(day.booker.pk, day.booker.username)]
    assert [(r["key"], r["label"]) for r in by_route] == [(route.pk, f"{route.code} {route.name}")]
    for row in (*by_booker, *by_route):
        kpis = kpis_of(row)
        assert set(kpis) == set(BREAKDOWN_KPIS["booker"])
        assert "receivables" not in kpis and "stock_cover_days" not in kpis
        assert kpis["strike_rate"] == (D("0.5000"), D(2), D(4))
        assert kpis["coverage"] == (D("0.7500"), D(3), D(4))  # the route's 4 stops, 3 visited
    # each SKU has a brand of its own: two brand rows, ordered 36 and 24 units, nothing invoiced
    assert sorted(kpis_of(r)["fill_rate_units"][2] for r in by_brand) == [D(24), D(36)]


def test_the_breakdown_serializer_lists_every_kpi() -> None:
    assert tuple(KpiBreakdownRowOutput().fields) == ("key", "label", *KPI_NAMES)
    assert set(BREAKDOWN_KPIS) == {"distributor", "booker", "route", "brand", "date"}
    assert all(set(names) <= set(KPI_NAMES) for names in BREAKDOWN_KPIS.values())


@pytest.mark.parametrize("by", sorted(BREAKDOWN_KPIS))
def test_the_fast_breakdown_rendering_is_exactly_the_serializers(cast_a: Any, by: str) -> None:
    # given: a breakdown with rows (and in the booker and route groupings, a key that is null: orders without one)
    day = refreshed(cast_a)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        rows = kpi_breakdown(scope=scope, by=by, date_from=day.day(2), date_to=day.today)
    assert rows
    data = {"date_from": day.day(2), "date_to": day.today, "by": by, "kpis": list(BREAKDOWN_KPIS[by]),
            "definitions": breakdown_definitions(BREAKDOWN_KPIS[by]), "count": len(rows),
            "next": "http://testserver/api/v1/analytics/kpis/breakdown/?page=2", "previous": None, "results": rows}
    # then: the API's rendering is the serializer's, to the string
    assert json.dumps(breakdown_data(data)) == json.dumps(KpiBreakdownOutput(data).data)


# --- the API ----------------------------------------------------------------------------------------------------

def ask(client: Any, **params: Any) -> Any:
    return client.get(reverse(URL), params)


def test_the_breakdown_api_by_hand(cast_a: Any, api_as: Any) -> None:
    day = refreshed(cast_a)
    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    response = ask(client, by="brand", date_from=day.day(2), date_to=day.today)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["by"] == "brand" and body["kpis"] == list(BREAKDOWN_KPIS["brand"])
    assert [(r["key"], r["label"]) for r in body["results"]] == [(day.brands["Fizz"].pk, "Fizz"),
                                                                 (day.brands["Grove"].pk, "Grove")]
    assert values({"s": body["results"][1]["sell_through_vs_sell_in"]})["s"] == (D("1.1700"), D("2106.00"),
                                                                                   D("1800.00"))
    assert "otif" not in body["results"][0]
    dates = ask(client, by="date", date_from=day.day(2), date_to=day.today).json()["results"]
    assert [r["key"] for r in dates] == [d.isoformat() for d in (day.day(2), day.day(1), day.today)]


def test_the_breakdown_api_pages_its_rows(cast_a: Any, api_as: Any) -> None:
    day = refreshed(cast_a)
    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    common = {"by": "date", "date_from": day.day(2), "date_to": day.today}
    whole = ask(client, **common).json()  # 50 rows a page by default: one page
    assert whole["count"] == 3 and len(whole["results"]) == 3 and whole["next"] is None and whole["previous"] is None
    first = ask(client, page_size=2, **common).json()
    assert first["count"] == 3 and [r["key"] for r in first["results"]] == [r["key"] for r in whole["results"][:2]]
    assert first["next"].startswith("http://testserver/")
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    second = client.get(first["next"]).json()
    assert second["results"] == whole["results"][2:] and second["next"] is None and "page=1" in second["previous"]
    assert second["definitions"] == whole["definitions"] and set(second["definitions"]) == set(whole["kpis"])
    assert "definition" not in second["results"][0]["otif"]
    past = ask(client, page=3, page_size=2, **common)
    assert past.status_code == 404 and past.json()["error"]["code"]
    for bad in ({"page": 0}, {"page_size": 501}, {"page_size": "x"}):
        response = ask(client, **bad, **common)
        assert response.status_code == 400 and next(iter(bad)) in response.json()["error"]["fields"], response.json()


def test_a_distributor_user_breaks_down_its_own_distributor_only(cast_a: Any, api_as: Any) -> None:
    day = refreshed(cast_a)
    d1, d2 = cast_a.distributors
    common = {"date_from": day.day(2), "date_to": day.today}
    a1_staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    a2_admin = api_as(cast_a.users[f"{Role.DISTRIBUTOR_ADMIN}@{d2.code}"])
    assert [r["key"] for r in ask(a1_staff, by="distributor", **common).json()["results"]] == [d1.pk]
    assert [r["key"] for r in ask(a2_admin, by="distributor", **common).json()["results"]] == [d2.pk]
    assert ask(a2_admin, by="brand", **common).json()["results"] == []
    response = ask(a2_admin, by="brand", distributor=d1.pk, **common)
    assert response.status_code == 404, response.content
    # the selectors intersect a distributor filter with the scope all the same: a sibling's matches nothing
    a2_scope = Scope(tenant_id=cast_a.tenant.pk, distributor_ids=frozenset({d2.pk}),
                     actor=Scope.system(cast_a.tenant.pk).actor)
    with tenant_scope(a2_scope) as scope:
        sibling = values(kpi_summary(scope=scope, distributor_id=d1.pk, **common))
        assert kpi_breakdown(scope=scope, by="distributor", distributor_id=d1.pk, **common) == []
    assert sibling["receivables"] == ZERO_COUNT and sibling["otif"] == NONE and sibling["coverage"] == NONE


def test_another_tenant_gets_404_for_our_distributor_and_sees_nothing(cast_a: Any, cast_b: Any,
                                                                      api_as: Any) -> None:
    day = refreshed(cast_a)
    common = {"date_from": day.day(2), "date_to": day.today}
    b_admin = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    assert ask(b_admin, by="brand", **common).json()["results"] == []
    response = ask(b_admin, by="distributor", distributor=cast_a.distributors[0].pk, **common)
    assert response.status_code == 404
    assert response.json()["error"]["code"]


@pytest.mark.parametrize(("params", "field"), [
    ({"date_from": "2030-01-01", "date_to": "2030-01-01"}, "by"),
    ({"by": "outlet", "date_from": "2030-01-01", "date_to": "2030-01-01"}, "by"),
    ({"by": "brand", "date_to": "2030-01-01"}, "date_from"),
    ({"by": "brand", "date_from": "2030-01-01", "date_to": "2030-01-01", "route": "x"}, "route"),
])
def test_bad_breakdown_parameters_are_a_400_naming_the_field(cast_a: Any, api_as: Any, params: dict[str, str],
                                                             field: str) -> None:
    response = ask(api_as(cast_a.users[Role.MANUFACTURER_ADMIN]), **params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("role", [Role.ORDER_BOOKER, Role.DELIVERY_MAN])
def test_bookers_and_delivery_men_get_403(cast_a: Any, api_as: Any, role: str) -> None:
    response = ask(api_as(cast_a.users[role]), by="brand", date_from="2030-01-01", date_to="2030-01-01")
    assert response.status_code == 403


@pytest.mark.parametrize("by", list(BREAKDOWN_KPIS))
def test_a_breakdown_costs_at_most_six_queries(cast_a: Any, by: str, django_assert_max_num_queries: Any) -> None:
    day = refreshed(cast_a)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_max_num_queries(6):
        rows = kpi_breakdown(scope=scope, by=by, date_from=day.day(300), date_to=day.today)
    assert rows
