"""/api/v1/analytics/journeys/, /journeys/<id>/, /routes/<id>/paths/ and /funnel/: what each role sees, intruders
(a sibling distributor's user, another tenant) get 404, bad parameters 400 naming the field, and the list's query
count does not grow with the journeys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.journeys import journey_list
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.analytics.journey_setup import DAY, UNIT_M, booker_day, route_days

PERIOD = {"date_from": DAY.isoformat(), "date_to": DAY.isoformat()}


def staff_a2(cast: Any) -> Any:
    return cast.users[f"{Role.DISTRIBUTOR_STAFF}@{cast.distributors[1].code}"]


def test_the_manufacturer_and_the_distributor_read_a_journey(cast_a: Any, api_as: Any) -> None:
    day = booker_day(cast_a)
    for user in (cast_a.users[Role.MANUFACTURER_ANALYST], cast_a.users[Role.DISTRIBUTOR_STAFF]):
        client = api_as(user)
        listed = client.get(reverse("analytics-journeys"), PERIOD)
        assert listed.status_code == 200, listed.content
        assert [(r["journey_id"], r["planned"], r["visited"], r["skipped"], r["added"], r["swapped"])
                for r in listed.json()["results"]] == [(day.journey.pk, 4, 4, 1, 1, 1)]
        one = client.get(reverse("analytics-journey", kwargs={"journey_id": day.journey.pk}))
        assert one.status_code == 200, one.content
        body = one.json()
        assert [s["outlet_code"] for s in body["skipped"]] == ["C"]
        assert [s["outlet_code"] for s in body["swapped"]] == ["B"]
        assert body["totals"]["extra_distance_m"] == 4 * UNIT_M
        assert body["header"]["start"] == [31.5, 74.3]
        assert body["actual"][0]["delay_minutes"] == -17


def test_the_api_key_reads_route_paths_and_the_funnel(cast_a: Any, api_as: Any) -> None:
    route, _ = route_days(cast_a, [("AB", "AB"), ("AB", "BA"), ("AB", "AB")])
    client = api_as(cast_a.api_key_raw, kind="api_key")
    week = {"date_from": DAY.isoformat(), "date_to": (DAY + timedelta(days=6)).isoformat()}
    paths = client.get(reverse("analytics-route-paths", kwargs={"route_id": route.pk}), week)
    assert paths.status_code == 200, paths.content
    assert [(p["path"], p["journeys"], p["share"], p["equals_planned"]) for p in paths.json()["results"]] == [
        (["RA", "RB"], 2, "0.6667", True), (["RB", "RA"], 1, "0.3333", False)]
    funnel = client.get(reverse("analytics-funnel"), {**week, "route": route.pk})
    assert funnel.status_code == 200, funnel.content
    body = funnel.json()
    assert body["calls"] == 6
    assert [(s["stage"], s["reached"], s["stopped"]) for s in body["stages"]] == [
        ("planned", 6, 0), ("visited", 6, 6), ("ordered", 0, 0), ("invoiced", 0, 0), ("delivered", 0, 0),
        ("paid", 0, 0)]
    assert [(o["outlet_code"], o["calls"], o["stopped_visited"]) for o in body["outlets"]] == [
        ("RA", 3, 3), ("RB", 3, 3)]


def test_intruders_get_404(cast_a: Any, cast_b: Any, api_as: Any) -> None:
    day = booker_day(cast_a)
    route = day.journey.route
    outlet = day.shops["A"]
    for user in (staff_a2(cast_a), cast_b.users[Role.MANUFACTURER_ADMIN]):
        client = api_as(user)
        assert client.get(reverse("analytics-journey", kwargs={"journey_id": day.journey.pk})).status_code == 404
        assert client.get(reverse("analytics-route-paths", kwargs={"route_id": route.pk}),
                          PERIOD).status_code == 404
        for name, params in (("analytics-journeys", {"route": route.pk}),
                             ("analytics-journeys", {"distributor": cast_a.distributors[0].pk}),
                             ("analytics-funnel", {"route": route.pk}), ("analytics-funnel", {"outlet": outlet.pk}),
                             ("analytics-funnel", {"distributor": cast_a.distributors[0].pk})):
            response = client.get(reverse(name), {**PERIOD, **params})
            assert response.status_code == 404, (name, params, response.status_code)
            assert "error" in response.json()
        # unfiltered, the lists are empty for them
        assert client.get(reverse("analytics-journeys"), PERIOD).json()["results"] == []
        assert client.get(reverse("analytics-funnel"), PERIOD).json()["calls"] == 0


def test_bookers_and_delivery_men_may_not_read_journey_analytics(cast_a: Any, api_as: Any) -> None:
    for role in (Role.ORDER_BOOKER, Role.DELIVERY_MAN):
        response = api_as(cast_a.users[role]).get(reverse("analytics-journeys"), PERIOD)
        assert response.status_code == 403


@pytest.mark.parametrize(("name", "params", "field"), [
    ("analytics-journeys", {"date_to": "2030-01-07"}, "date_from"),
    ("analytics-journeys", {"date_from": "2030-01-07"}, "date_to"),
    ("analytics-journeys", {"date_from": "2030-01-07", "date_to": "2030-01-06"}, "date_to"),
    ("analytics-journeys", {"date_from": "2030-01-01", "date_to": "2031-01-02"}, "date_to"),  # 367 days
    ("analytics-journeys", {**PERIOD, "distributor": "abc"}, "distributor"),
    ("analytics-journeys", {**PERIOD, "booker": "0"}, "booker"),
    ("analytics-journeys", {**PERIOD, "limit": "0"}, "limit"),
    ("analytics-funnel", {"date_from": "someday", "date_to": "2030-01-07"}, "date_from"),
    ("analytics-funnel", {**PERIOD, "outlet": "-1"}, "outlet"),
    ("analytics-funnel", {**PERIOD, "route": "x"}, "route"),
])
def test_bad_parameters_are_a_400_naming_the_field(cast_a: Any, api_as: Any, name: str, params: dict[str, str],
                                                   field: str) -> None:
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get(reverse(name), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_bad_route_path_parameters_are_a_400(cast_a: Any, api_as: Any) -> None:
    route, _ = route_days(cast_a, [("AB", "AB")])
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    url = reverse("analytics-route-paths", kwargs={"route_id": route.pk})
    for params, field in (({}, "date_from"), ({**PERIOD, "limit": "51"}, "limit")):
        response = client.get(url, params)
        assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_the_journey_list_takes_one_query_for_any_number_of_journeys(cast_a: Any) -> None:
    route_days(cast_a, [("ABC", "BAC")] * 2)
    tid = cast_a.tenant.pk

    def queries() -> int:
        with tenant_scope(Scope.system(tid)) as scope, CaptureQueriesContext(connection) as ctx:
            journey_list(scope=scope, date_from=DAY, date_to=DAY + timedelta(days=30))
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"] and "set_config" not in q["sql"]])

    few = queries()
    route_days(cast_a, [("ABCD", "DCBA")] * 6, first=DAY + timedelta(days=2))
    assert queries() == few
