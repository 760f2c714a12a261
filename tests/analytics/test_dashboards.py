"""The analytics dashboards in the admin (analytics/admin.py), through Django's test client: each page opens for each
kind of admin user with the figures worked out by hand; a distributor user sees its distributor's numbers only; the
CSV of each table is checked by hand; a foreign id (another tenant's, a sibling distributor's) in the filters or the
URL is a 404; malformed filters are form errors on the page.

The scenario: two booker days of tenant A on the same date, test_facts.booker_day at A1 and a smaller day at A2
(its own booker, device, route and plan), both through the mobile push and the real services, then the facts
refreshed. A1: planned 4, planned made 3, productive 2, 3 order lines, orders 4,798.17 + 1,404.00 = 6,202.17.
A2: planned 2 (A2SHOP0, A2SHOP1), both made, A2SHOP0 productive with 1 case of SKU 0 (1,200.00 + 17 % = 1,404.00),
A2SHOP1 unproductive. The journey pages and the funnel are in test_dashboard_journeys.py.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from analytics.selectors import KPI_NAMES, KPIS
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_access_token, device_register
from pjp.models import Visit
from pjp.services.journeys import journey_build
from tests.analytics.test_facts import booker_day, refresh
from tests.factories.catalog import make_outlet
from tests.factories.pjp import make_plan, make_route, monday_of
from tests.mobile.sync_setup import Day, push_ok, visit_item
from tests.mobile.sync_setup import order_item as _order_item
from tests.reconciliation.money_fixtures import clean_day

# KPI values as the page shows them (rates x 100 to 2 places, money to the cent)
A1 = {"pjp_adherence": "75.00 %", "strike_rate": "50.00 %", "drop_size": "3,101.09", "lines_per_call": "1.50"}
A2 = {"pjp_adherence": "100.00 %", "strike_rate": "50.00 %", "drop_size": "1,404.00", "lines_per_call": "1.00"}
# both: planned made 3 + 2 of 4 + 2; productive 2 + 1; lines 3 + 1; orders 6,202.17 + 1,404.00 over 3
BOTH = {"pjp_adherence": "83.33 %", "strike_rate": "50.00 %", "drop_size": "2,535.39", "lines_per_call": "1.33"}


@dataclass
class TwoDays:
    a1: Day
    a2: Day


def a2_day(cast: Any, api_as: Any, a1: Day) -> Day:
    tid, d2 = cast.tenant.pk, cast.distributors[1]
    booker = cast.users[f"{Role.ORDER_BOOKER}@{d2.code}"]
    with tenant_scope(Scope.system(tid)) as scope:
        shops = [make_outlet(d2, code=f"A2SHOP{i}", name=f"A2 Shop {i}") for i in range(2)]
        route = make_route(d2, shops)
        make_plan(d2, booker, [(1, a1.today.weekday(), route)], anchor=monday_of(a1.today), effective_from=a1.today)
        (journey,) = journey_build(scope=scope, distributor_id=d2.pk, day=a1.today)
        visits = list(Visit.objects.filter(journey=journey).order_by("sequence"))
        device = device_register(scope=scope, user=booker, distributor_id=d2.pk, identifier="a-a2-phone",
                                 name="A2 booker phone")
        token = device_access_token(device=device)
    day = Day(a1.today, journey, visits, shops, a1.skus, booker, a1.tz)
    productive = str(uuid.uuid4())
    push_ok(api_as(token, kind="device"), [
        visit_item(day, 0, 1, item_uuid=productive),
        visit_item(day, 1, 2, outcome="unproductive", reason="shop_closed"),
        _order_item(day, 0, 3, visit_uuid=productive, lines=[{"sku_id": a1.skus[0].pk, "cases": 1, "units": 0}]),
    ])
    return day


def two_days(cast: Any, api_as: Any) -> TwoDays:
    a1, _ = booker_day(cast, api_as)
    a2 = a2_day(cast, api_as, a1)
    refresh(cast.tenant.pk, a1.today)
    return TwoDays(a1, a2)



# --- helpers ---------------------------------------------------------------------------------------------------------

DASHBOARD = "/admin/analytics/dashboard/"
JOURNEYS = "/admin/analytics/journeys/"
FUNNEL = "/admin/analytics/funnel/"
PAGES = (DASHBOARD, JOURNEYS, FUNNEL)
NO_FACTS = "No facts for these dates: the facts are built after sync and nightly."


def as_user(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def cards(html: str) -> dict[str, str]:
    """KPI name -> the value its card shows (the currency left out)."""
    found = re.findall(r'id="kpi-(\w+)">\s*<h3>[^<]*</h3>\s*<div class="kpi-value">([^<]*)<', html)
    return {name: value.strip() for name, value in found}


def charts(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="analytics-charts" type="application/json">(.*?)</script>', html, re.S)
    assert match, "no chart data on the page"
    return {c["id"]: c for c in json.loads(match.group(1))}


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def user_of(cast: Any, key: str) -> Any:
    return cast.users[key]


# --- the KPI dashboard ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "expected"), [
    (Role.MANUFACTURER_ANALYST, BOTH), (Role.MANUFACTURER_ADMIN, BOTH), (Role.DISTRIBUTOR_ADMIN, A1),
    (Role.DISTRIBUTOR_STAFF, A1), (f"{Role.DISTRIBUTOR_ADMIN}@A2", A2)])
def test_each_kind_of_user_reads_the_kpis_of_its_scope(cast_a: Any, api_as: Any, client: Any, key: str,
                                                       expected: dict[str, str]) -> None:
    # given
    days = two_days(cast_a, api_as)
    # when
    response = as_user(client, user_of(cast_a, key)).get(DASHBOARD, {"date_from": days.a1.today,
                                                                     "date_to": days.a1.today})
    # then: every KPI has a card with its value and its definition
    assert response.status_code == 200
    html = response.content.decode()
    shown = cards(html)
    assert set(shown) == set(KPI_NAMES)
    assert {name: shown[name] for name in expected} == expected
    for kpi in KPIS:
        assert escape(kpi.definition.split(": ", 1)[1]) in html
    # the charts carry the day's figures as exact strings (rates x 100)
    drawn = charts(html)
    visits = {d["label"]: d["data"] for d in drawn["chart-visits"]["datasets"]}
    assert drawn["chart-visits"]["labels"] == [days.a1.today.isoformat()]
    assert visits["PJP adherence"] == [expected["pjp_adherence"].removesuffix(" %")]
    assert NO_FACTS not in html
    # a distributor user's page names nothing of the sibling's
    others = ("A2", "a-a2-order_booker") if expected is A1 else ("A1", "a-a1-order_booker") if expected is A2 \
        else None
    if others is not None:
        assert f"Distributor {others[0]}" not in html and others[1] not in html
        assert 'type="hidden" name="distributor"' in html
    else:
        assert "Distributor A1" in html and "Distributor A2" in html


def test_the_filters_narrow_the_figures(cast_a: Any, api_as: Any, client: Any) -> None:
    # given
    days = two_days(cast_a, api_as)
    d1, d2 = cast_a.distributors
    client = as_user(client, cast_a.users[Role.MANUFACTURER_ANALYST])
    day = {"date_from": days.a1.today, "date_to": days.a1.today}

    def shown(**filters: Any) -> dict[str, str]:
        response = client.get(DASHBOARD, {**day, **filters})
        assert response.status_code == 200
        return {k: v for k, v in cards(response.content.decode()).items() if k in A1}

    # then: by distributor, route and booker
    assert shown(distributor=d2.pk) == A2
    assert shown(route=days.a1.journey.route_id) == A1
    assert shown(booker=days.a2.booker.pk) == A2
    assert shown(distributor=d1.pk, route=days.a1.journey.route_id, booker=days.a1.booker.pk) == A1
    # a brand narrows the units ordered (SKU 0: 2 + 1 cases at A1, 1 at A2, 12 a case), not the visits
    html = client.get(DASHBOARD, {**day, "brand": days.a1.skus[0].brand_id}).content.decode()
    assert cards(html)["pjp_adherence"] == BOTH["pjp_adherence"]
    assert '<div class="kpi-parts">0 / 48</div>' in html.split('id="kpi-fill_rate_units"')[1][:400]
    html = client.get(DASHBOARD, day).content.decode()
    assert '<div class="kpi-parts">0 / 72</div>' in html.split('id="kpi-fill_rate_units"')[1][:400]


def test_the_dates_default_to_the_last_seven_local_days(cast_a: Any, api_as: Any, client: Any) -> None:
    days = two_days(cast_a, api_as)
    today = days.a1.today  # tenant-local today (the booker day's date)
    response = as_user(client, cast_a.users[Role.MANUFACTURER_ADMIN]).get(DASHBOARD)
    html = response.content.decode()
    assert f'name="date_from" value="{today - timedelta(days=6)}"' in html
    assert f'name="date_to" value="{today}"' in html
    assert {k: v for k, v in cards(html).items() if k in BOTH} == BOTH
    assert len(charts(html)["chart-visits"]["labels"]) == 7
    # and a period without facts says why it is empty
    empty = client.get(DASHBOARD, {"date_from": "2020-01-01", "date_to": "2020-01-07"}).content.decode()
    assert NO_FACTS in empty
    assert cards(empty)["strike_rate"] == "—"


def test_the_csv_of_the_period_and_of_the_days_by_hand(cast_a: Any, api_as: Any, client: Any) -> None:
    # given
    days = two_days(cast_a, api_as)
    today = days.a1.today.isoformat()
    client = as_user(client, cast_a.users[Role.MANUFACTURER_ANALYST])
    # when
    response = client.get(DASHBOARD, {"date_from": today, "date_to": today, "export": "kpis"})
    # then: raw decimals, as the selectors give them
    rows = csv_rows(response)
    assert response["Content-Disposition"] == f'attachment; filename="analytics-dashboard-kpis_{today}_{today}.csv"'
    assert rows[0] == ["kpi", "label", "value", "numerator", "denominator", "definition"]
    by_name = {r[0]: r[1:5] for r in rows[1:]}
    assert list(by_name) == list(KPI_NAMES)
    assert by_name["pjp_adherence"] == ["PJP adherence", "0.8333", "5", "6"]
    assert by_name["drop_size"] == ["Drop size", "2535.3900", "7606.17", "3"]  # 6,202.17 + 1,404.00 over 3 orders
    assert by_name["lines_per_call"] == ["Lines per call", "1.3333", "4", "3"]
    assert by_name["unique_outlets_called"] == ["Unique outlets called", "6", "6", ""]  # a count: no denominator
    assert by_name["delivered_vs_invoiced"] == ["Delivered against invoiced", "", "0", "0"]  # nothing invoiced
    assert rows[1][5] == KPIS[0].definition

    # the days: a value, numerator and denominator per KPI
    series = csv_rows(client.get(DASHBOARD, {"date_from": today, "date_to": today, "export": "series"}))
    assert series[0][:7] == ["date", "pjp_adherence", "pjp_adherence_numerator", "pjp_adherence_denominator",
                             "in_sequence_rate", "in_sequence_rate_numerator", "in_sequence_rate_denominator"]
    assert len(series[0]) == 1 + 3 * len(KPIS)
    assert series[1][:4] == [today, "0.8333", "5", "6"]
    assert len(series) == 2

    # distributor staff of A1: A1's figures only
    staff = as_user(Client(), cast_a.users[Role.DISTRIBUTOR_STAFF])
    mine = csv_rows(staff.get(DASHBOARD, {"date_from": today, "date_to": today, "export": "kpis"}))
    assert {r[0]: r[2:5] for r in mine[1:]}["drop_size"] == ["3101.0850", "6202.17", "2"]
    # an unknown table is a 404
    assert client.get(DASHBOARD, {"date_from": today, "date_to": today, "export": "secrets"}).status_code == 404


def table_by_header(rows: list[list[str]], *columns: str) -> dict[str, list[str]]:
    """A CSV's rows keyed by their label column, each with the named columns."""
    index = [rows[0].index(c) for c in columns]
    return {r[rows[0].index("label")]: [r[i] for i in index] for r in rows[1:]}


def test_the_breakdowns_by_distributor_route_booker_and_brand_by_hand(cast_a: Any, api_as: Any,
                                                                      client: Any) -> None:
    # given
    days = two_days(cast_a, api_as)
    d1, d2 = cast_a.distributors
    today = days.a1.today.isoformat()
    period = {"date_from": today, "date_to": today}
    analyst = as_user(client, cast_a.users[Role.MANUFACTURER_ANALYST])

    def export(who: Any, table: str) -> list[list[str]]:
        return csv_rows(who.get(DASHBOARD, {**period, "export": table}))

    # then: per distributor (the KPIs' value, numerator and denominator)
    rows = export(analyst, "by_distributor")
    assert rows[0][:5] == ["key", "label", "pjp_adherence", "pjp_adherence_numerator", "pjp_adherence_denominator"]
    assert table_by_header(rows, "key", "pjp_adherence", "pjp_adherence_numerator", "pjp_adherence_denominator",
                           "drop_size", "drop_size_numerator") == {
        "A1 Distributor A1": [str(d1.pk), "0.7500", "3", "4", "3101.0850", "6202.17"],
        "A2 Distributor A2": [str(d2.pk), "1.0000", "2", "2", "1404.0000", "1404.00"]}
    # per order-booker and per route: the same two days
    a1_booker, a2_booker = days.a1.booker.username, days.a2.booker.username
    assert table_by_header(export(analyst, "by_booker"), "strike_rate", "strike_rate_numerator",
                           "strike_rate_denominator") == {
        a1_booker: ["0.5000", "2", "4"], a2_booker: ["0.5000", "1", "2"]}
    route1, route2 = days.a1.journey.route, days.a2.journey.route
    assert table_by_header(export(analyst, "by_route"), "lines_per_call", "lines_per_call_numerator") == {
        f"{route1.code} {route1.name}": ["1.5000", "3"], f"{route2.code} {route2.name}": ["1.0000", "1"]}
    # per brand: units ordered (SKU 0: 2 + 1 cases at A1, 1 at A2; SKU 1: 2 cases; 12 a case), none invoiced yet
    sku0, sku1 = days.a1.skus
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        brands = {sku.brand_id: sku.brand.name for sku in (sku0, sku1)}
    assert table_by_header(export(analyst, "by_brand"), "fill_rate_units", "fill_rate_units_numerator",
                           "fill_rate_units_denominator") == {
        brands[sku0.brand_id]: ["0.0000", "0", "48"], brands[sku1.brand_id]: ["0.0000", "0", "24"]}
    html = analyst.get(DASHBOARD, period).content.decode()
    for table in ("kpis", "series", "by_distributor", "by_route", "by_booker", "by_brand"):
        assert f'id="csv-{table}" href="?date_from={today}&amp;date_to={today}&amp;export={table}"' in html

    # distributor staff of A1: its own booker and route only, and no table by distributor
    staff = as_user(Client(), cast_a.users[Role.DISTRIBUTOR_STAFF])
    assert list(table_by_header(export(staff, "by_booker"), "strike_rate")) == [a1_booker]
    assert list(table_by_header(export(staff, "by_route"), "strike_rate")) == [f"{route1.code} {route1.name}"]
    assert staff.get(DASHBOARD, {**period, "export": "by_distributor"}).status_code == 404
    assert 'id="table-by_distributor"' not in staff.get(DASHBOARD, period).content.decode()


def test_sales_stock_and_receivables_by_hand(cast_a: Any, client: Any) -> None:
    """money_fixtures.clean_day at A1, today: goods received (sell-in 228 units, 14,119.98), four invoices (150
    units, 9,102.59), delivered 6,996.59; V's invoice (280.80) open, 0-30 days old."""
    # given
    day = clean_day(cast_a)
    refresh(cast_a.tenant.pk, day.today)
    today = day.today.isoformat()
    # when
    response = as_user(client, cast_a.users[Role.MANUFACTURER_ADMIN]).get(DASHBOARD, {"date_from": today,
                                                                                      "date_to": today})
    # then
    html = response.content.decode()
    shown = cards(html)
    assert {k: shown[k] for k in ("sell_in_units", "sell_in_value", "sell_through_units", "sell_through_value",
                                  "sell_through_vs_sell_in", "delivered_vs_invoiced", "receivables", "ar_0_30",
                                  "ar_over_90", "fill_rate_orders", "stock_cover_days")} == {
        "sell_in_units": "228", "sell_in_value": "14,119.98", "sell_through_units": "150",
        "sell_through_value": "9,102.59", "sell_through_vs_sell_in": "64.47 %", "delivered_vs_invoiced": "76.86 %",
        "receivables": "280.80", "ar_0_30": "280.80", "ar_over_90": "0.00", "fill_rate_orders": "100.00 %",
        "stock_cover_days": "0.9 days"}  # 138 units on hand / 150 invoiced a day
    drawn = charts(html)
    assert [(d["label"], d["data"]) for d in drawn["chart-sell-value"]["datasets"]] == [
        ("Sell-in value", ["14119.98"]), ("Sell-through value", ["9102.59"])]
    assert drawn["chart-ageing"]["stacked"] is True
    assert [d["data"] for d in drawn["chart-ageing"]["datasets"]] == [["280.80"], ["0"], ["0"], ["0"]]
    assert "chart-visits" not in drawn  # no visits: nothing to draw


def test_the_dashboard_costs_the_same_queries_for_a_day_or_a_quarter(cast_a: Any, api_as: Any, client: Any,
                                                                     django_assert_max_num_queries: Any) -> None:
    days = two_days(cast_a, api_as)
    client = as_user(client, cast_a.users[Role.MANUFACTURER_ANALYST])
    one_day = {"date_from": days.a1.today, "date_to": days.a1.today}
    quarter = {"date_from": days.a1.today - timedelta(days=90), "date_to": days.a1.today}
    with CaptureQueriesContext(connection) as day_queries:
        assert client.get(DASHBOARD, one_day).status_code == 200
    with django_assert_max_num_queries(len(day_queries)):
        assert client.get(DASHBOARD, quarter).status_code == 200
    assert len(day_queries) < 60, [q["sql"][:120] for q in day_queries]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"date_from": "yesterday"}, "date_from", "Enter a valid date."),
    ({"date_from": "2030-01-02", "date_to": "2030-01-01"}, "date_to", "The last day is before the first."),
    ({"date_from": "2030-01-01", "date_to": "2031-01-02"}, "date_to", "Ask for at most 366 days; this range has 367."),
    ({"distributor": "x"}, "distributor", "Pick one from the list."),
    ({"route": "-4"}, "route", "Pick one from the list."),
])
@pytest.mark.parametrize("page", PAGES)
def test_bad_filters_are_shown_on_the_form(cast_a: Any, client: Any, params: dict[str, str], field: str,
                                           message: str, page: str) -> None:
    response = as_user(client, cast_a.users[Role.MANUFACTURER_ADMIN]).get(page, {**params, "export": "kpis"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="analytics-form-error"' in html
    assert re.search(rf'filter-{field}">.*?<ul class="errorlist[^"]*"[^>]*><li>{re.escape(escape(message))}</li>',
                     html, re.S), html[:3000]
    assert 'id="kpi-cards"' not in html and "analytics-charts" not in html


def test_a_route_or_booker_of_another_distributor_than_the_one_picked_is_a_form_error(cast_a: Any, api_as: Any,
                                                                                        client: Any) -> None:
    days = two_days(cast_a, api_as)
    d1 = cast_a.distributors[0]
    response = as_user(client, cast_a.users[Role.MANUFACTURER_ANALYST]).get(DASHBOARD, {
        "distributor": d1.pk, "route": days.a2.journey.route_id, "booker": days.a2.booker.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This route is not one of the distributor&#x27;s." in html
    assert "This order-booker does not work for the distributor." in html



# --- scope: foreign ids are 404s ----------------------------------------------------------------------------------

def test_another_tenant_and_a_sibling_distributor_get_404_for_ids_of_others(cast_a: Any, cast_b: Any, api_as: Any,
                                                                             client: Any) -> None:
    # given: A1's and A2's days; tenant B's admin and A2's staff
    days = two_days(cast_a, api_as)
    d1 = cast_a.distributors[0]
    day = {"date_from": days.a1.today, "date_to": days.a1.today}
    a1_ids = {"distributor": d1.pk, "route": days.a1.journey.route_id, "booker": days.a1.booker.pk}
    b_admin = as_user(Client(), cast_b.users[Role.MANUFACTURER_ADMIN])
    a2_staff = as_user(Client(), cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"])
    # then: A1's distributor, route and booker are not theirs, on every page that filters by them
    for page, names in ((DASHBOARD, ("distributor", "route", "booker")), (JOURNEYS, ("distributor", "route", "booker")),
                        (FUNNEL, ("distributor", "route"))):
        for name in names:
            for who, intruder in (("tenant B", b_admin), ("A2 staff", a2_staff)):
                response = intruder.get(page, {**day, name: a1_ids[name]})
                assert response.status_code == 404, (page, name, who)
    # tenant A's brand and an A1 outlet are not tenant B's
    assert b_admin.get(DASHBOARD, {**day, "brand": days.a1.skus[0].brand_id}).status_code == 404
    assert a2_staff.get(FUNNEL, {**day, "outlet": days.a1.outlets[0].pk}).status_code == 404
    assert b_admin.get(FUNNEL, {**day, "outlet": days.a1.outlets[0].pk}).status_code == 404
    # one's own pages still answer, with nothing of A1's: tenant B has no facts, A2 its own
    assert NO_FACTS in b_admin.get(DASHBOARD, day).content.decode()
    assert {k: v for k, v in cards(a2_staff.get(DASHBOARD, day).content.decode()).items() if k in A2} == A2


def test_order_bookers_and_delivery_men_cannot_open_the_dashboards(cast_a: Any, client: Any) -> None:
    for role in (Role.ORDER_BOOKER, Role.DELIVERY_MAN):
        response = as_user(Client(), cast_a.users[role]).get(DASHBOARD)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), role


@pytest.mark.parametrize("role", [Role.MANUFACTURER_ANALYST, Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_STAFF])
def test_the_pages_are_read_only_and_linked_from_the_index(cast_a: Any, client: Any, role: str) -> None:
    client = as_user(client, cast_a.users[role])
    for page in PAGES:
        assert client.post(page, {"date_from": "2030-01-01"}).status_code == 405, page
        assert client.get(page).status_code == 200, page
    index = client.get("/admin/").content.decode()
    for page, label in ((DASHBOARD, "KPI dashboard"), (JOURNEYS, "Journeys: plan against actual"),
                        (FUNNEL, "Outlet funnel")):
        assert f'<a href="{page}">{label}</a>' in index
    assert client.get("/admin/analytics/").url == DASHBOARD
