"""The journey pages and the outlet funnel of the analytics dashboards (analytics/admin.py), through Django's test
client: the booker days against their plans, one journey's figures worked out by hand (journey_setup's straight
line), its tables as CSV, a route's common paths, and the funnel of test_journey_funnel's day; a journey, route or
outlet of another distributor or tenant is a 404."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.enums import Role
from tests.analytics.journey_setup import DAY as JOURNEY_DAY
from tests.analytics.journey_setup import booker_day as journey_day
from tests.analytics.journey_setup import route_days
from tests.analytics.test_dashboards import FUNNEL, JOURNEYS, as_user, charts, csv_rows
from tests.analytics.test_journey_funnel import DAY as FUNNEL_DAY
from tests.analytics.test_journey_funnel import funnel_day

# --- journeys ----------------------------------------------------------------------------------------------------

def journey_url(journey_id: int) -> str:
    return f"{JOURNEYS}{journey_id}/"


@pytest.mark.parametrize("role", [Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_STAFF])
def test_the_journeys_list_and_one_journey_planned_against_actual(cast_a: Any, client: Any, role: str) -> None:
    # given: journey_setup's day at A1: planned A B C D, made B A D and the unplanned E, C missed
    day = journey_day(cast_a)
    client = as_user(client, cast_a.users[role])
    period = {"date_from": JOURNEY_DAY, "date_to": JOURNEY_DAY}
    # when: the list
    response = client.get(JOURNEYS, period)
    # then: one row, linked to the journey's page
    html = response.content.decode()
    assert response.status_code == 200
    link = f'<a href="{journey_url(day.journey.pk)}?date_from={JOURNEY_DAY}&amp;date_to={JOURNEY_DAY}">'
    assert link in html
    rows = csv_rows(client.get(JOURNEYS, {**period, "export": "journeys"}))
    route = day.journey.route
    assert rows[0] == ["date", "journey_id", *(["distributor"] if role == Role.MANUFACTURER_ANALYST else []),
                       "distributor_id", "booker_id", "booker_name", "route_id", "route_code", "route_name",
                       "planned", "visited", "skipped", "added", "swapped"]
    assert rows[1:] == [[str(JOURNEY_DAY), str(day.journey.pk),
                         *(["A1"] if role == Role.MANUFACTURER_ANALYST else []), str(cast_a.distributors[0].pk),
                         str(day.booker.pk), day.booker.username, str(route.pk), route.code, route.name,
                         "4", "4", "1", "1", "1"]]

    # when: the journey's page
    response = client.get(journey_url(day.journey.pk), period)
    html = response.content.decode()
    # then: the map, the day's figures worked out by hand (units of 1,112 m; 1 m/s), and the tables
    assert response.status_code == 200
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="journey-map"') == 1
    facts = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', html))
    assert facts["Stops"] == "4 planned, 4 made: 1 skipped, 1 added, 1 out of sequence"
    assert facts["Distance"] == ("13.34 km travelled against 8.90 km planned: +4.45 km (+2.22 km from the stops "
                                 "skipped and added, +2.22 km from the order)")
    assert facts["Planned day"] == "09:00–12:08 (3 h 08 min)"  # 4 x 10 min + 8 units
    assert facts["In the market"] == "09:30–11:05: 1 h 35 min against 1 h 36 min planned (-1 min)"
    assert facts["Travel time"] == "3 h 42 min against 2 h 28 min planned (+1 h 14 min)"
    shops = day.shops
    assert csv_rows(client.get(journey_url(day.journey.pk), {"export": "skipped"})) == [
        ["outlet_id", "outlet_code", "outlet_name", "planned_sequence", "visit_order"],
        [str(shops["C"].pk), "C", "Shop C", "3", ""]]
    assert csv_rows(client.get(journey_url(day.journey.pk), {"export": "added"}))[1] == [
        str(shops["E"].pk), "E", "Shop E", "", "4"]
    assert csv_rows(client.get(journey_url(day.journey.pk), {"export": "swapped"}))[1] == [
        str(shops["B"].pk), "B", "Shop B", "2", "1"]
    actual = csv_rows(client.get(journey_url(day.journey.pk), {"export": "actual"}))
    assert actual[0] == ["visit_order", "outlet_id", "outlet_code", "outlet_name", "planned_sequence",
                         "checked_in_at", "checked_out_at", "status", "delay_minutes", "in_sequence"]
    assert actual[1] == ["1", str(shops["B"].pk), "B", "Shop B", "2", "2030-01-07T09:30:00+05:00",
                         "2030-01-07T09:45:00+05:00", "productive", "-17", "false"]
    assert [r[2] for r in actual[1:]] == ["B", "A", "D", "E"]


def test_a_journey_of_another_distributor_or_tenant_is_a_404(cast_a: Any, cast_b: Any, client: Any) -> None:
    day = journey_day(cast_a)
    period = {"date_from": JOURNEY_DAY, "date_to": JOURNEY_DAY}
    for user in (cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"], cast_b.users[Role.MANUFACTURER_ANALYST]):
        intruder = as_user(Client(), user)
        assert intruder.get(journey_url(day.journey.pk)).status_code == 404
        assert intruder.get(journey_url(day.journey.pk), {"export": "actual"}).status_code == 404
        assert 'id="table-journeys"' in (listed := intruder.get(JOURNEYS, period).content.decode())
        assert day.booker.username not in listed
    assert as_user(client, cast_a.users[Role.DISTRIBUTOR_ADMIN]).get(
        journey_url(day.journey.pk), {"export": "secrets"}).status_code == 404


def test_the_common_paths_of_a_route(cast_a: Any, client: Any) -> None:
    # given: three days planned A B C, visited A B C, B A C, A B C
    route, _ = route_days(cast_a, [("ABC", "ABC"), ("ABC", "BAC"), ("ABC", "ABC")])
    period = {"date_from": JOURNEY_DAY, "date_to": JOURNEY_DAY + timedelta(days=2), "route": route.pk}
    client = as_user(client, cast_a.users[Role.MANUFACTURER_ADMIN])
    # when
    html = client.get(JOURNEYS, period).content.decode()
    # then
    assert f"Common paths of route {route.code} {route.name}" in html
    assert "RA → RB → RC" in html and "66.67 %" in html and "33.33 %" in html
    assert csv_rows(client.get(JOURNEYS, {**period, "export": "paths"})) == [
        ["path", "journeys", "share", "equals_planned", "planned_journeys"],
        ["RA → RB → RC", "2", "0.6667", "true", "2"],
        ["RB → RA → RC", "1", "0.3333", "false", "0"]]
    # without a route there is no paths table to export
    assert client.get(JOURNEYS, {"export": "paths"}).status_code == 404


# --- the funnel ------------------------------------------------------------------------------------------------------

def test_the_funnel_by_hand(cast_a: Any, client: Any) -> None:
    # given: test_journey_funnel's day at A1 (its stages worked out there by hand)
    day = funnel_day(cast_a)
    period = {"date_from": FUNNEL_DAY, "date_to": FUNNEL_DAY}
    staff = as_user(client, cast_a.users[Role.DISTRIBUTOR_STAFF])
    # when
    response = staff.get(FUNNEL, period)
    # then: the chart and the tables
    html = response.content.decode()
    assert response.status_code == 200
    funnel = charts(html)["chart-funnel"]
    assert funnel["labels"] == ["Planned", "Visited", "Ordered", "Invoiced", "Delivered", "Paid"]
    assert [d["data"] for d in funnel["datasets"]] == [["3", "3", "3", "3", "2", "2"], ["1", "1", "0", "1", "0", "2"]]
    assert csv_rows(staff.get(FUNNEL, {**period, "export": "stages"})) == [
        ["stage", "entered", "reached", "stopped", "timed", "median_hours", "p90_hours"],
        ["Planned", "3", "3", "1", "0", "", ""], ["Visited", "1", "3", "1", "0", "", ""],
        ["Ordered", "1", "3", "0", "2", "0.75", "0.95"], ["Invoiced", "0", "3", "1", "3", "4.50", "4.90"],
        ["Delivered", "0", "2", "0", "2", "20.50", "20.90"], ["Paid", "0", "2", "2", "2", "22.75", "40.55"]]
    outlets = csv_rows(staff.get(FUNNEL, {**period, "export": "outlets"}))
    assert [r[1:] for r in outlets[1:]] == [
        ["FP", "Shop FP", "1", "0", "0", "0", "0", "0", "1"], ["FQ", "Shop FQ", "1", "0", "0", "0", "1", "0", "0"],
        ["FR", "Shop FR", "1", "1", "0", "0", "0", "0", "0"], ["FS", "Shop FS", "1", "0", "0", "0", "0", "0", "1"],
        ["FU", "Shop FU", "1", "0", "1", "0", "0", "0", "0"]]
    # an outlet's own funnel, from its row's link
    shop = day.shops["FS"]
    assert f'href="?date_from={FUNNEL_DAY}&amp;date_to={FUNNEL_DAY}&amp;outlet={shop.pk}"' in html
    one = csv_rows(staff.get(FUNNEL, {**period, "outlet": shop.pk, "export": "stages"}))
    assert [r[3] for r in one[1:]] == ["0", "0", "0", "0", "0", "1"]
    # the sibling's staff: no calls, and A1's outlet is a 404
    sibling = as_user(Client(), cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@A2"])
    assert "No calls in these dates" in sibling.get(FUNNEL, period).content.decode()
    assert sibling.get(FUNNEL, {**period, "outlet": shop.pk}).status_code == 404
    # the manufacturer, tenant-wide: the same stages and no per-outlet rows until narrowed
    analyst = as_user(Client(), cast_a.users[Role.MANUFACTURER_ANALYST])
    wide = analyst.get(FUNNEL, period).content.decode()
    assert 'id="funnel-outlets-hint"' in wide and 'id="table-outlets"' not in wide
    assert analyst.get(FUNNEL, {**period, "export": "outlets"}).status_code == 404
