"""The optimisation pages of the route admin: start a job, watch it, review the proposal, accept or discard.

The job is queued on commit; here the commit callbacks run (eager Celery), as after a real request's
transaction, so the page after the redirect already shows the proposal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from pjp.enums import ProposalStatus
from pjp.models import OptimisationProposal, Pjp, PjpSlot, Route
from tests.factories.pjp import make_route, set_stops
from tests.pjp.test_admin import (
    BASE_LAT,
    BASE_LNG,
    ROUTES,
    client_for,
    line_outlets,
    map_svg,
    messages_of,
    route_version,
    stop_codes,
    zigzag_route,
)

pytestmark = pytest.mark.django_db

# Start at the warehouse (west of L1), end east of L5: the one best order is L1, L2, ..., L5.
EAST_END = {"end_lat": BASE_LAT, "end_lng": BASE_LNG + Decimal("0.060000")}


@pytest.fixture
def line(dist_a1: Any) -> list[Any]:
    return line_outlets(dist_a1, 5)


@pytest.fixture
def route(dist_a1: Any, line: list[Any]) -> Route:
    return zigzag_route(dist_a1, line, code="ZIG", **EAST_END)


@pytest.fixture
def optimise(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """POST "Optimise order" and return the job page's URL (the job has run when this returns)."""

    def post(client: Any, route: Route) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"{ROUTES}{route.pk}/optimise/")
        assert response.status_code == 302, response.content[:500]
        assert response["Location"].startswith(f"{ROUTES}{route.pk}/optimise/")
        return str(response["Location"])

    return post


def proposal_of(job_url: str, tenant_id: int) -> OptimisationProposal:
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    with tenant_scope(Scope.system(tenant_id)):
        return OptimisationProposal.objects.get(job_id=job_id)


def test_optimise_shows_the_proposal_and_accepting_it_gives_the_route_the_new_order(cast_a, route, optimise):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    version = route_version(route)
    # when: optimise, then open the job page
    job_url = optimise(client, route)
    page = client.get(job_url)
    # then: before/after and the changes in words, and nothing applied yet
    html = page.content.decode()
    assert page.status_code == 200 and 'id="proposal"' in html and 'data-status="ready"' in html
    assert "http-equiv=\"refresh\"" not in html
    view = page.context["view"]
    assert [row.code for row in view.rows] == ["ZIG"]
    assert view.rows[0].after["distance_m"] < view.rows[0].before["distance_m"]
    assert view.diff and all(text in html for text in view.diff)
    assert "ZIG proposed" in html and map_svg(html).count('class="stop-marker"') == 5
    assert stop_codes(route) == ["L1", "L3", "L5", "L2", "L4"]
    # when: accept
    response = client.post(job_url, {"_accept": "Accept"}, follow=True)
    # then
    assert response.redirect_chain[-1][0] == f"{ROUTES}{route.pk}/change/"
    assert "Accepted: the route has the new order." in messages_of(response)
    assert stop_codes(route) == ["L1", "L2", "L3", "L4", "L5"]
    assert route_version(route) == version + 1
    assert proposal_of(job_url, cast_a.tenant.pk).status == ProposalStatus.ACCEPTED


def test_discarding_the_proposal_leaves_the_route_as_it_was(cast_a, route, optimise):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_ADMIN)
    version = route_version(route)
    job_url = optimise(client, route)
    # when
    response = client.post(job_url, {"_discard": "Discard"}, follow=True)
    # then
    assert "Discarded: the route keeps its order." in messages_of(response)
    assert stop_codes(route) == ["L1", "L3", "L5", "L2", "L4"] and route_version(route) == version
    assert proposal_of(job_url, cast_a.tenant.pk).status == ProposalStatus.DISCARDED
    assert 'id="proposal-accept"' not in client.get(job_url).content.decode()  # decided: no buttons


def test_accepting_after_the_route_changed_is_refused_and_marks_the_proposal_stale(cast_a, route, line, optimise):
    # given: a proposal, then someone edits the route by hand
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    job_url = optimise(client, route)
    set_stops(route, [line[4].pk, line[3].pk, line[2].pk, line[1].pk, line[0].pk])
    theirs = stop_codes(route)
    # when
    response = client.post(job_url, {"_accept": "Accept"}, follow=True)
    # then: the service's message, the hand edit kept, and the proposal is stale
    assert response.redirect_chain[-1][0] == f"{ROUTES}{route.pk}/change/"
    assert messages_of(response) == [
        "Not accepted: the route changed since this proposal was made; optimise again."]
    assert stop_codes(route) == theirs
    assert proposal_of(job_url, cast_a.tenant.pk).status == ProposalStatus.STALE
    assert "can no longer be accepted" in client.get(job_url).content.decode()


def test_a_queued_job_shows_its_progress_and_refreshes_itself(cast_a, route):
    # given: the commit callbacks do not run, so the job stays queued
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    response = client.post(f"{ROUTES}{route.pk}/optimise/")
    # when
    page = client.get(response["Location"])
    # then
    html = page.content.decode()
    assert page.status_code == 200 and 'id="job-progress"' in html and "<progress" in html
    assert '<meta http-equiv="refresh" content="2">' in html and 'id="proposal"' not in html
    assert client.post(response["Location"], {"_accept": "Accept"}).status_code == 404  # nothing to accept yet


def test_a_route_with_one_stop_cannot_be_optimised_and_says_why(cast_a, dist_a1, line):
    # given
    single = make_route(dist_a1, line[:1], code="ONE")
    # when
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(f"{ROUTES}{single.pk}/optimise/", follow=True)
    # then
    assert response.redirect_chain[-1][0] == f"{ROUTES}{single.pk}/change/"
    assert messages_of(response) == ["Route ONE has fewer than two stops: there is no order to improve."]


def test_the_job_page_is_not_found_for_another_route_a_sibling_or_another_tenant(cast_a, cast_b, route, dist_a1,
                                                                                 optimise):
    # given
    job_url = optimise(client_for(cast_a, Role.DISTRIBUTOR_STAFF), route)
    job_id = job_url.rstrip("/").rsplit("/", 1)[1]
    other = make_route(dist_a1, code="OTHER")
    # then: the job under another route's URL, a sibling distributor's staff, another tenant's admin
    assert client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}{other.pk}/optimise/{job_id}/").status_code == 404
    sibling = client_for(cast_a, f"{Role.DISTRIBUTOR_STAFF}@A2")
    assert sibling.get(job_url).status_code == 404
    assert sibling.post(job_url, {"_accept": "Accept"}).status_code == 404
    assert client_for(cast_b, Role.MANUFACTURER_ADMIN).get(job_url).status_code == 404
    assert client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}build/{job_id}/").status_code == 404


def test_an_analyst_reviews_the_proposal_but_cannot_decide(cast_a, route, optimise):
    # given
    job_url = optimise(client_for(cast_a, Role.MANUFACTURER_ADMIN), route)
    client = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    # when
    page = client.get(job_url)
    # then
    assert page.status_code == 200 and 'id="proposal"' in page.content.decode()
    assert 'id="proposal-accept"' not in page.content.decode()
    assert client.post(job_url, {"_accept": "Accept"}).status_code == 403
    assert proposal_of(job_url, cast_a.tenant.pk).status == ProposalStatus.READY


# --- building routes and plans ------------------------------------------------------------------------

def test_the_build_form_offers_only_the_scopes_bookers(cast_a):
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}build/").content.decode()
    # then
    assert cast_a.users[Role.ORDER_BOOKER].username in html
    assert cast_a.users[f"{Role.ORDER_BOOKER}@A2"].username not in html
    assert "b-b1" not in html


def test_a_booker_of_another_distributor_is_refused_on_the_form(cast_a, dist_a1):
    # given: the manufacturer admin picks distributor A1 and a booker of A2
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    data = {"distributor": dist_a1.pk, "bookers": [cast_a.users[f"{Role.ORDER_BOOKER}@A2"].pk], "cycle_weeks": 1,
            "max_visits_per_day": 10, "time_limit": 2}
    # when
    response = client.post(f"{ROUTES}build/", data)
    # then
    assert response.status_code == 200
    assert "Not order-bookers of the chosen distributor" in str(response.context["form"].errors["bookers"])


def test_building_routes_proposes_them_and_accepting_creates_routes_and_plans(cast_a, dist_a1, line,
                                                                            django_capture_on_commit_callbacks):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    booker = cast_a.users[Role.ORDER_BOOKER]
    data = {"bookers": [booker.pk], "cycle_weeks": 1, "max_visits_per_day": 10, "time_limit": 2}
    # when: build, then open the job page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{ROUTES}build/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    job_url = response["Location"]
    page = client.get(job_url)
    # then: the new routes with their outlets, before nothing is created
    html = page.content.decode()
    assert 'data-status="ready"' in html and "Total" in html
    assert page.context["view"].total.after["stops"] == 5
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert not Route.objects.exists()
    # when: accept
    response = client.post(job_url, {"_accept": "Accept"}, follow=True)
    # then: the routes hold the five outlets and the booker has a plan using them
    assert response.redirect_chain[-1][0] == ROUTES
    assert "Accepted: the routes and plans are created." in messages_of(response)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        routes = list(Route.objects.filter(distributor=dist_a1))
        plan = Pjp.objects.filter(booker=booker).order_by("-created_at").first()
        slot_routes = set(PjpSlot.objects.filter(pjp=plan).values_list("route_id", flat=True))
        kind = BackgroundJob.objects.get(pk=int(job_url.rstrip("/").rsplit("/", 1)[1])).kind
    stops = {r.pk: stop_codes(r) for r in routes}
    assert sorted(c for codes in stops.values() for c in codes) == ["L1", "L2", "L3", "L4", "L5"]
    assert plan is not None and slot_routes == {pk for pk, codes in stops.items() if codes}
    assert kind == "routes_build"
