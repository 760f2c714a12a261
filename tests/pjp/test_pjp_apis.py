"""The pjp API: routes and stop order, optimisation jobs and proposals, a day's journeys; roles, the error
shape, query budgets and intruders."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp.services import journey_build
from tests.factories.pjp import ANCHOR, MON, make_plan, make_route, set_stops
from tests.pjp.test_optimisation import ZIGZAG, line_route, place_distributor

pytestmark = pytest.mark.django_db

API = "/api/v1/pjp"


@pytest.fixture
def zigzag(dist_a1: Any, outlet_factory: Any) -> tuple[Any, list[Any]]:
    return line_route(dist_a1, outlet_factory)


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


def optimise(client: Any, route: Any, capture: Any) -> dict[str, Any]:
    """POST optimise, let the job run (eager Celery, after the request commits), return the finished job."""
    with capture(execute=True):
        response = client.post(f"{API}/routes/{route.pk}/optimise/", {"time_limit": 10, "seed": 1}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["kind"] == "route_sequence"
    job = client.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert job["status"] == "succeeded", job
    return job


# --- routes -------------------------------------------------------------------------------------------


def test_routes_list_shows_the_callers_routes_with_their_stop_counts(staff, zigzag, dist_a2, outlet_factory):
    # given
    route, _outlets = zigzag
    make_route(dist_a2, [outlet_factory(dist_a2)], code="SIBLING")
    # when
    response = staff.get(f"{API}/routes/")
    # then
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["code"], r["stop_count"], r["version"]) for r in rows] == [(route.code, 8, route.version)]


def test_routes_list_answers_in_the_same_number_of_queries_for_any_number_of_routes(staff, dist_a1,
                                                                                    outlet_factory):
    # given
    make_route(dist_a1, [outlet_factory(dist_a1)])
    with CaptureQueriesContext(connection) as one:
        assert staff.get(f"{API}/routes/").status_code == 200
    for _ in range(4):
        make_route(dist_a1, [outlet_factory(dist_a1), outlet_factory(dist_a1)])
    # when
    with CaptureQueriesContext(connection) as five:
        response = staff.get(f"{API}/routes/")
    # then
    assert len(response.json()["results"]) == 5
    assert len(five) == len(one)


def test_route_detail_lists_the_stops_in_visiting_order(staff, zigzag):
    # given
    route, outlets = zigzag
    # when
    body = staff.get(f"{API}/routes/{route.pk}/").json()
    # then
    assert [s["outlet_code"] for s in body["stops"]] == [f"L{k}" for k in ZIGZAG]
    assert [s["sequence"] for s in body["stops"]] == list(range(1, 9))
    assert body["stops"][0] == {"sequence": 1, "outlet": outlets[0].pk, "outlet_code": "L1", "outlet_name": "Shop L1",
                                "outlet_active": True, "service_minutes": None, "weeks": []}


def test_setting_the_stop_order_bumps_the_version_and_a_stale_version_is_a_409(staff, zigzag):
    # given
    route, outlets = zigzag
    order = [o.pk for o in outlets]
    # when
    response = staff.post(f"{API}/routes/{route.pk}/stops/", {"outlet_ids": order,
                                                               "expected_version": route.version}, format="json")
    stale = staff.post(f"{API}/routes/{route.pk}/stops/", {"outlet_ids": order[:2],
                                                            "expected_version": route.version}, format="json")
    # then
    assert response.status_code == 200, response.content
    assert response.json()["version"] == route.version + 1
    assert [s["outlet"] for s in response.json()["stops"]] == order
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_version"
    assert set(stale.json()["error"]["fields"]) == {"expected_version"}


def test_bad_stop_input_is_a_400_naming_the_fields(staff, zigzag):
    route, _outlets = zigzag
    response = staff.post(f"{API}/routes/{route.pk}/stops/", {"outlet_ids": ["x"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"outlet_ids[0]", "expected_version"}


# --- optimisation and proposals -----------------------------------------------------------------------


def test_optimising_over_the_api_proposes_then_accepting_applies(staff, zigzag, django_capture_on_commit_callbacks):
    # given
    route, outlets = zigzag
    # when
    job = optimise(staff, route, django_capture_on_commit_callbacks)
    proposal_id = job["result"]["proposal_id"]
    proposal = staff.get(f"{API}/proposals/{proposal_id}/").json()
    # then
    assert proposal["status"] == "ready" and proposal["kind"] == "sequence" and proposal["job"] == job["id"]
    assert proposal["after"]["total"]["distance_m"] < proposal["before"]["total"]["distance_m"]
    assert all(d["text"] for d in proposal["diff"])
    assert proposal["plan"]["routes"] == {str(route.pk): [o.pk for o in outlets]}
    # when
    accepted = staff.post(f"{API}/proposals/{proposal_id}/accept/")
    # then
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    detail = staff.get(f"{API}/routes/{route.pk}/").json()
    assert [s["outlet"] for s in detail["stops"]] == [o.pk for o in outlets]
    assert detail["version"] == route.version + 1


def test_accepting_after_the_route_changed_is_a_409_and_the_proposal_stays_stale(staff, zigzag,
                                                                                 django_capture_on_commit_callbacks):
    # given
    route, outlets = zigzag
    proposal_id = optimise(staff, route, django_capture_on_commit_callbacks)["result"]["proposal_id"]
    set_stops(route, [o.pk for o in reversed(outlets)])
    # when
    response = staff.post(f"{API}/proposals/{proposal_id}/accept/")
    # then: the request rolled back, yet the proposal is recorded as stale
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("stale_version",
                                                 "the route changed since this proposal was made; optimise again")
    assert error["fields"]["route_versions"]
    assert staff.get(f"{API}/proposals/{proposal_id}/").json()["status"] == "stale"


def test_discarding_over_the_api(staff, zigzag, django_capture_on_commit_callbacks):
    route, _outlets = zigzag
    proposal_id = optimise(staff, route, django_capture_on_commit_callbacks)["result"]["proposal_id"]
    response = staff.post(f"{API}/proposals/{proposal_id}/discard/")
    assert response.status_code == 200 and response.json()["status"] == "discarded"
    assert staff.post(f"{API}/proposals/{proposal_id}/accept/").status_code == 409


def test_building_routes_over_the_api_answers_a_job(staff, dist_a1, booker, outlet_factory,
                                                    django_capture_on_commit_callbacks):
    # given
    place_distributor(dist_a1)
    line_route(dist_a1, outlet_factory)
    # when: A1's staff may leave out the distributor
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{API}/build-routes/", {"booker_ids": [booker.pk], "cycle_weeks": 1,
                                                        "max_visits_per_day": 8, "time_limit": 30}, format="json")
    # then
    assert response.status_code == 202, response.content
    job = staff.get(f"/api/v1/jobs/{response.json()['id']}/").json()
    assert (job["kind"], job["status"]) == ("routes_build", "succeeded")
    proposal = staff.get(f"{API}/proposals/{job['result']['proposal_id']}/").json()
    assert proposal["kind"] == "build_routes" and proposal["after"]["total"]["stops"] == 8, proposal["diff"]


def test_a_manufacturer_admin_must_name_the_distributor_to_build_for(api_as, cast_a, booker):
    response = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).post(
        f"{API}/build-routes/", {"booker_ids": [booker.pk], "cycle_weeks": 1, "max_visits_per_day": 8},
        format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"distributor_id": ["This field is required."]}


# --- journeys -----------------------------------------------------------------------------------------


def journeys_on_anchor(dist: Any, bookers: list[Any], outlet_factory: Any, stops: int, prefix: str = "J") -> None:
    for n, booker in enumerate(bookers):
        route = make_route(dist, [outlet_factory(dist, code=f"{prefix}{n}-{k}") for k in range(stops)])
        make_plan(dist, booker, [(1, MON, route)])
    with tenant_scope(Scope.system(dist.tenant_id)) as scope:
        journey_build(scope=scope, distributor_id=dist.pk, day=ANCHOR)


def test_a_days_journeys_come_with_their_visits_and_arrival_times(staff, dist_a1, booker, outlet_factory):
    # given
    journeys_on_anchor(dist_a1, [booker], outlet_factory, 2)
    # when
    response = staff.get(f"{API}/journeys/", {"date": ANCHOR.isoformat(), "booker": booker.pk})
    # then
    assert response.status_code == 200
    [journey] = response.json()["results"]
    assert (journey["date"], journey["booker"], journey["booker_username"]) == (ANCHOR.isoformat(), booker.pk,
                                                                                 booker.username)
    assert [v["outlet_code"] for v in journey["visits"]] == ["J0-0", "J0-1"]
    assert all(v["eta"] and v["etd"] and v["status"] == "planned" for v in journey["visits"])
    assert staff.get(f"{API}/journeys/", {"date": "2030-01-08"}).json()["results"] == []


def test_the_journeys_query_count_does_not_grow_with_journeys_or_visits(staff, dist_a1, booker, booker2,
                                                                        outlet_factory, django_assert_num_queries):
    # given: one journey of 1 visit...
    journeys_on_anchor(dist_a1, [booker], outlet_factory, 1)
    # then: session, user, membership, RLS settings, count, journeys (with route and booker), visits; and in a
    # test, the savepoint that stands in for the request's transaction, its release and the RLS reset
    with django_assert_num_queries(10):
        assert len(staff.get(f"{API}/journeys/", {"date": ANCHOR.isoformat()}).json()["results"]) == 1
    # given: ...then two journeys of 12 visits each
    journeys_on_anchor(dist_a1, [booker, booker2], outlet_factory, 12, prefix="K")
    with django_assert_num_queries(10):
        results = staff.get(f"{API}/journeys/", {"date": ANCHOR.isoformat()}).json()["results"]
    assert sorted(len(j["visits"]) for j in results) == [12, 12]


def test_a_bad_journey_date_is_a_400_in_the_error_shape(staff):
    response = staff.get(f"{API}/journeys/", {"date": "tomorrow"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"date"}


# --- roles and intruders ------------------------------------------------------------------------------


def test_an_analyst_reads_but_may_not_change_anything(api_as, cast_a, zigzag):
    # given
    route, _outlets = zigzag
    analyst = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    # when / then
    assert analyst.get(f"{API}/routes/{route.pk}/").status_code == 200
    for url, body in ((f"{API}/routes/{route.pk}/optimise/", {}),
                      (f"{API}/routes/{route.pk}/stops/", {"outlet_ids": [], "expected_version": 1}),
                      (f"{API}/build-routes/", {})):
        response = analyst.post(url, body, format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_order_bookers_have_no_access(api_as, cast_a):
    response = api_as(cast_a.users[Role.ORDER_BOOKER]).get(f"{API}/routes/")
    assert response.status_code == 403


def test_a_sibling_distributors_staff_and_another_tenant_get_404(api_as, cast_a, cast_b, zigzag,
                                                                 django_capture_on_commit_callbacks, staff):
    # given
    route, _outlets = zigzag
    proposal_id = optimise(staff, route, django_capture_on_commit_callbacks)["result"]["proposal_id"]
    intruders = [api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}"]),
                 api_as(cast_b.users[Role.MANUFACTURER_ADMIN])]
    # when / then
    for client in intruders:
        for method, url in (("get", f"{API}/routes/{route.pk}/"),
                            ("post", f"{API}/routes/{route.pk}/stops/"),
                            ("post", f"{API}/routes/{route.pk}/optimise/"),
                            ("get", f"{API}/proposals/{proposal_id}/"),
                            ("post", f"{API}/proposals/{proposal_id}/accept/"),
                            ("post", f"{API}/proposals/{proposal_id}/discard/")):
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 404, (url, response.content)
            assert response.json()["error"]["code"] == "not_found"
        assert client.get(f"{API}/routes/").json()["results"] == []
    assert staff.get(f"{API}/proposals/{proposal_id}/").json()["status"] == "ready"
