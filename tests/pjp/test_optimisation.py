"""Optimisation proposals: sequencing a route, building routes and plans, accepting, stale routes, discarding,
determinism, dropped outlets, jobs and intruders."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from catalog.models import Outlet
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.jobs import job_progress
from dms.tenancy.models import BackgroundJob, Distributor
from dms.tenancy.scope import Scope
from pjp.enums import ProposalKind, ProposalStatus
from pjp.errors import PjpError
from pjp.models import OptimisationProposal, Pjp, PjpSlot, Route, RouteStop
from pjp.optimisation import (
    STALE_MESSAGE,
    proposal_accept,
    proposal_discard,
    proposal_for_job,
    proposal_get,
    route_optimise_start,
    route_sequence_propose,
    route_sequence_run,
    routes_build_propose,
    routes_build_start,
)
from pjp.optimisation.common import next_monday
from pjp.services import journey_build
from pjp.services.common import tenant_policy
from routing.matrix import EARTH_RADIUS_M
from tests.factories.pjp import MON, make_plan, make_route, set_stops, staff_scope

pytestmark = pytest.mark.django_db

START = (Decimal("31.000000"), Decimal("74.000000"))
ZIGZAG = [1, 8, 2, 7, 3, 6, 4, 5]  # km north of START, in the route's current (bad) order
SOLVE_SECONDS = 10.0  # a ceiling: an 8-stop day converges on its patience in about a second


def north(metres: float) -> Decimal:
    return (START[0] + Decimal(math.degrees(metres / EARTH_RADIUS_M))).quantize(Decimal("0.000001"))


def place_distributor(distributor: Distributor) -> None:
    with tenant_scope(Scope.system(distributor.tenant_id)):
        Distributor.objects.filter(pk=distributor.pk).update(lat=START[0], lng=START[1])
        distributor.refresh_from_db()


def line_route(distributor: Distributor, outlet_factory: Any, *, prefix: str = "L") -> tuple[Route, list[Outlet]]:
    """Outlets 1..8 km due north of START, visited in ZIGZAG order, on a route from START to 9 km north:
    the one shortest order is 1, 2, ..., 8."""
    outlets = {k: outlet_factory(distributor, code=f"{prefix}{k}", name=f"Shop {prefix}{k}", lat=north(1000 * k),
                                 lng=START[1]) for k in range(1, 9)}
    route = make_route(distributor, [outlets[k] for k in ZIGZAG], code=f"{prefix}-LINE", name="The line",
                       start_lat=START[0], start_lng=START[1], end_lat=north(9000), end_lng=START[1])
    return route, [outlets[k] for k in range(1, 9)]


def propose(route: Route, scope: Scope | None = None, **kw: Any) -> OptimisationProposal:
    with tenant_scope(scope or Scope.system(route.tenant_id)) as s:
        return route_sequence_propose(scope=s, route_id=route.pk, **{"time_limit": SOLVE_SECONDS, **kw})


def stop_ids(route: Route) -> list[int]:
    with tenant_scope(Scope.system(route.tenant_id)):
        return list(RouteStop.objects.filter(route_id=route.pk).order_by("sequence").values_list("outlet_id",
                                                                                                  flat=True))


def reload(obj: Any) -> Any:
    with tenant_scope(Scope.system(obj.tenant_id)):
        return type(obj).objects.get(pk=obj.pk)


@pytest.fixture
def zigzag(dist_a1: Any, outlet_factory: Any) -> tuple[Route, list[Outlet]]:
    return line_route(dist_a1, outlet_factory)


# --- sequencing ---------------------------------------------------------------------------------------


def test_a_zig_zag_route_gets_the_straight_order_with_a_sentence_per_moved_stop(zigzag):
    # given
    route, outlets = zigzag
    # when
    started = time.perf_counter()
    proposal = propose(route)
    elapsed = time.perf_counter() - started
    # then
    assert proposal.kind == ProposalKind.SEQUENCE and proposal.status == ProposalStatus.READY
    assert proposal.plan["routes"] == {str(route.pk): [o.pk for o in outlets]}
    assert proposal.route_versions == {str(route.pk): route.version}
    before, after = proposal.before["total"], proposal.after["total"]
    assert after["distance_m"] < before["distance_m"]
    assert abs(after["distance_m"] - 1.3 * 9000) <= 5  # straight from START to 9 km north, road factor 1.3
    assert after["stops"] == before["stops"] == 8 and after["routes"] == 1
    assert proposal.after["routes"][str(route.pk)]["code"] == route.code
    moved = {d["outlet_id"]: d for d in proposal.diff}
    assert all(d["kind"] == "reordered" for d in proposal.diff)
    # L8 was stop 2 and becomes stop 8; L1 stays first and is not listed
    assert moved[outlets[7].pk]["text"] == f"Shop L8 moves from stop 2 to stop 8 on {route.code}"
    assert (moved[outlets[7].pk]["from"], moved[outlets[7].pk]["to"]) == (2, 8)
    assert outlets[0].pk not in moved
    assert stop_ids(route) == [outlets[k - 1].pk for k in ZIGZAG]  # nothing applied yet
    assert elapsed < SOLVE_SECONDS


def test_accepting_applies_the_order_bumps_the_version_and_records_who(zigzag, dist_a1, cast_a):
    # given
    route, outlets = zigzag
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    proposal = propose(route)
    # when
    with tenant_scope(staff_scope(dist_a1, staff)) as scope:
        accepted = proposal_accept(scope=scope, proposal_id=proposal.pk)
    # then
    assert accepted.status == ProposalStatus.ACCEPTED
    assert accepted.decided_by_id == staff.pk and accepted.decided_at is not None
    assert stop_ids(route) == [o.pk for o in outlets]
    assert reload(route).version == route.version + 1
    assert accepted.plan["applied"] == {"versions": {str(route.pk): route.version + 1}}
    # and accepting again is a no-op
    with tenant_scope(staff_scope(dist_a1, staff)) as scope:
        again = proposal_accept(scope=scope, proposal_id=proposal.pk)
    assert again.status == ProposalStatus.ACCEPTED and reload(route).version == route.version + 1


def test_a_route_changed_after_the_proposal_makes_accepting_a_409_and_the_proposal_stale(zigzag, dist_a1):
    # given
    route, outlets = zigzag
    proposal = propose(route)
    changed = set_stops(route, [o.pk for o in reversed(outlets)])
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    # then
    assert exc.value.status_code == 409 and exc.value.code == PjpError.STALE_VERSION
    assert exc.value.message == STALE_MESSAGE
    assert exc.value.fields["route_versions"] == [
        f"Route {route.code} is at version {changed.version}; the proposal was made on version {route.version}."]
    assert reload(proposal).status == ProposalStatus.STALE
    assert stop_ids(route) == [o.pk for o in reversed(outlets)]
    # and it stays stale: a second try is refused the same way
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as again:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    assert again.value.status_code == 409


def test_discarding_applies_nothing_is_idempotent_and_a_discarded_proposal_cannot_be_accepted(zigzag, dist_a1):
    # given
    route, outlets = zigzag
    proposal = propose(route)
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope:
        discarded = proposal_discard(scope=scope, proposal_id=proposal.pk)
        again = proposal_discard(scope=scope, proposal_id=proposal.pk)
    # then
    assert discarded.status == again.status == ProposalStatus.DISCARDED
    assert stop_ids(route) == [outlets[k - 1].pk for k in ZIGZAG]
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    assert exc.value.status_code == 409 and exc.value.code == "invalid_transition"


def test_an_accepted_proposal_cannot_be_discarded(zigzag, dist_a1):
    # given
    route, _outlets = zigzag
    proposal = propose(route)
    with tenant_scope(staff_scope(dist_a1)) as scope:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        proposal_discard(scope=scope, proposal_id=proposal.pk)
    # then
    assert exc.value.status_code == 409
    assert reload(proposal).status == ProposalStatus.ACCEPTED


def test_the_same_route_and_seed_give_the_same_plan(dist_a1, outlet_factory):
    # given: 12 outlets scattered around START (no single obvious order)
    points = [(0.004 * math.cos(2.4 * k), 0.006 * math.sin(1.7 * k)) for k in range(12)]
    outlets = [outlet_factory(dist_a1, code=f"S{k}", lat=START[0] + Decimal(f"{dy:.6f}"),
                              lng=START[1] + Decimal(f"{dx:.6f}")) for k, (dx, dy) in enumerate(points)]
    route = make_route(dist_a1, outlets, start_lat=START[0], start_lng=START[1])
    # when
    first, second = propose(route, seed=7), propose(route, seed=7)
    # then
    assert first.plan == second.plan and first.diff == second.diff and first.after == second.after
    assert first.seed == 7
    assert sorted(first.plan["routes"][str(route.pk)]) == sorted(o.pk for o in outlets)


def test_an_outlet_that_cannot_be_reached_in_its_hours_is_kept_at_the_end_and_listed_with_the_reason(
        dist_a1, outlet_factory, booker):
    # given: the route runs on Mondays from 09:00; L5 is open 06:00-07:00 only
    route, outlets = line_route(dist_a1, outlet_factory)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        Outlet.objects.filter(pk=outlets[4].pk).update(opening_hours={"mon": [["06:00", "07:00"]]})
    make_plan(dist_a1, booker, [(1, MON, route)])
    # when
    proposal = propose(route)
    # then
    order = proposal.plan["routes"][str(route.pk)]
    assert order == [o.pk for o in outlets if o.pk != outlets[4].pk] + [outlets[4].pk]
    [dropped] = [d for d in proposal.diff if d["kind"] == "dropped"]
    assert dropped["outlet_id"] == outlets[4].pk and (dropped["from"], dropped["to"]) == (8, 8)
    assert "06:00-06:50" in dropped["reason"]  # the last start that still ends the 10-minute visit by 07:00
    assert dropped["text"].startswith(f"Shop L5 cannot be fitted into the day on {route.code}: ")
    assert dropped["text"].endswith("It stays on the route, at the end, as stop 8.")
    # and accepting keeps every outlet on the route
    with tenant_scope(staff_scope(dist_a1)) as scope:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    assert stop_ids(route) == order


def test_an_inactive_outlet_leaves_the_route_and_the_diff_says_so(zigzag, dist_a1):
    # given
    route, outlets = zigzag
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        Outlet.objects.filter(pk=outlets[7].pk).update(active=False)
    # when
    proposal = propose(route)
    # then
    assert proposal.plan["routes"][str(route.pk)] == [o.pk for o in outlets[:7]]
    [removed] = [d for d in proposal.diff if d["kind"] == "removed"]
    assert removed == {"kind": "removed", "route": route.code, "outlet_id": outlets[7].pk, "outlet": "L8 Shop L8",
                       "from": 2, "to": None, "text": f"Shop L8 is inactive and leaves {route.code} (it was stop 2)"}


def test_a_route_with_no_start_or_end_is_ordered_as_an_open_path_and_keeps_an_outlet_without_coordinates(
        dist_a1, outlet_factory):
    # given: no route start or end, a distributor without a location, and one outlet without coordinates
    line = {k: outlet_factory(dist_a1, code=f"P{k}", name=f"Shop P{k}", lat=north(1000 * k), lng=START[1])
            for k in range(1, 5)}
    nowhere = outlet_factory(dist_a1, code="P0", name="Shop P0", lat=None, lng=None)
    route = make_route(dist_a1, [line[3], nowhere, line[1], line[4], line[2]])
    # when
    proposal = propose(route)
    # then: the straight line either way, 3 km x 1.3, and the outlet without coordinates kept at the end
    order = proposal.plan["routes"][str(route.pk)]
    assert order[:4] in ([line[k].pk for k in (1, 2, 3, 4)], [line[k].pk for k in (4, 3, 2, 1)])
    assert order[4] == nowhere.pk
    assert abs(proposal.after["total"]["distance_m"] - 3900) <= 3
    [dropped] = [d for d in proposal.diff if d["kind"] == "dropped"]
    assert dropped["outlet_id"] == nowhere.pk and dropped["reason"] == (
        "it has no coordinates, so the optimiser cannot place it")


# --- the job ------------------------------------------------------------------------------------------


def test_optimising_through_the_job_leaves_one_proposal_named_by_the_result(zigzag, dist_a1, cast_a,
                                                                           django_capture_on_commit_callbacks):
    # given
    route, outlets = zigzag
    staff = cast_a.users[Role.DISTRIBUTOR_STAFF]
    # when: the task runs eagerly once the request's transaction commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks, \
            tenant_scope(staff_scope(dist_a1, staff)) as scope:
        job = route_optimise_start(scope=scope, route_id=route.pk, time_limit=SOLVE_SECONDS, seed=3)
    # then
    assert len(callbacks) == 1
    with tenant_scope(staff_scope(dist_a1, staff)) as scope:
        job = BackgroundJob.objects.get(pk=job.pk)
        proposal = proposal_for_job(scope=scope, job_id=job.pk)
    assert (job.kind, job.status) == ("route_sequence", BackgroundJob.Status.SUCCEEDED)
    assert proposal is not None and job.result == {"proposal_id": proposal.pk}
    assert proposal.job_id == job.pk and proposal.seed == 3
    assert proposal.plan["routes"][str(route.pk)] == [o.pk for o in outlets]
    progress = job_progress(job)
    assert progress["percent"] == 100 and progress["message"] == "writing the proposal"


def test_running_the_job_again_returns_its_proposal_instead_of_making_another(zigzag, dist_a1,
                                                                             django_capture_on_commit_callbacks):
    # given: a finished job whose worker died before it could mark the job finished
    route, _outlets = zigzag
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(staff_scope(dist_a1)) as scope:
        job = route_optimise_start(scope=scope, route_id=route.pk, time_limit=SOLVE_SECONDS)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        BackgroundJob.objects.filter(pk=job.pk).update(status=BackgroundJob.Status.RUNNING)
    # when
    status = route_sequence_run(tenant_id=dist_a1.tenant_id, job_id=job.pk)
    # then
    assert status == BackgroundJob.Status.SUCCEEDED
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert OptimisationProposal.objects.filter(job_id=job.pk).count() == 1


def test_a_route_with_fewer_than_two_stops_or_a_bad_time_limit_is_refused(dist_a1, outlet_factory):
    # given
    single = make_route(dist_a1, [outlet_factory(dist_a1)])
    route, _outlets = line_route(dist_a1, outlet_factory)
    # when / then
    with tenant_scope(staff_scope(dist_a1)) as scope:
        with pytest.raises(DomainError) as few:
            route_optimise_start(scope=scope, route_id=single.pk)
        with pytest.raises(DomainError) as slow:
            route_optimise_start(scope=scope, route_id=route.pk, time_limit=1000)
    assert few.value.status_code == 400 and "fewer than two stops" in few.value.message
    assert slow.value.fields == {"time_limit": ["Between 0.5 and 120 seconds."]}


# --- building routes ----------------------------------------------------------------------------------


@pytest.fixture
def area(dist_a1: Any, outlet_factory: Any) -> list[Outlet]:
    """30 outlets within about 3 km of the distributor, which sits at START."""
    place_distributor(dist_a1)
    return [outlet_factory(dist_a1, code=f"B{k:02d}", name=f"Bazaar {k}",
                           lat=START[0] + Decimal(f"{0.025 * math.sin(2.1 * k) * (0.3 + 0.7 * (k % 5) / 4):.6f}"),
                           lng=START[1] + Decimal(f"{0.025 * math.cos(2.1 * k) * (0.3 + 0.7 * (k % 5) / 4):.6f}"))
            for k in range(30)]


def build(dist: Distributor, bookers: Sequence[Any], **kw: Any) -> OptimisationProposal:
    with tenant_scope(staff_scope(dist)) as scope:
        return routes_build_propose(scope=scope, distributor_id=dist.pk, booker_ids=[b.pk for b in bookers],
                                    **{"cycle_weeks": 2, "max_visits_per_day": 6, "time_limit": 30.0, **kw})


def test_built_routes_become_routes_and_plans_and_journeys_for_each_booker(dist_a1, area, booker, booker2):
    # given
    started = time.perf_counter()
    proposal = build(dist_a1, [booker, booker2])
    elapsed = time.perf_counter() - started
    new_routes = proposal.plan["new_routes"]
    # then: every outlet is on exactly one route (weekly: the same day in both weeks of the cycle)
    assert proposal.kind == ProposalKind.BUILD_ROUTES
    assert sorted(o for r in new_routes for o in r["outlet_ids"]) == sorted(o.pk for o in area)
    assert all(r["weeks"] == [1, 2] and len(r["outlet_ids"]) <= 6 for r in new_routes)
    assert {r["booker_id"] for r in new_routes} == {booker.pk, booker2.pk}
    assert all(r["code"].startswith("AUTO-a-a1-") and len(r["code"]) <= 30 for r in new_routes)
    assert proposal.after["total"]["stops"] == 30 and proposal.before["total"]["routes"] == 0
    assert {d["kind"] for d in proposal.diff} == {"added"}
    assert all(d["text"].startswith("Bazaar ") and " joins AUTO-" in d["text"] for d in proposal.diff)
    assert elapsed < 30  # the time limit: the build converges long before it
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope:
        accepted = proposal_accept(scope=scope, proposal_id=proposal.pk)
        monday = next_monday(tenant_policy(scope).today())
    # then: the routes and one plan per booker, from next Monday, on a 2-week cycle anchored there
    applied = accepted.plan["applied"]
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        routes = {r.pk: r for r in Route.objects.filter(pk__in=applied["routes"].values())}
        plans = list(Pjp.objects.filter(pk__in=applied["pjps"].values()))
        assert {(p.booker_id, p.cycle_weeks, p.cycle_anchor, p.effective_from) for p in plans} == {
            (booker.pk, 2, monday, monday), (booker2.pk, 2, monday, monday)}
        assert PjpSlot.objects.filter(pjp__in=plans).count() == 2 * len(new_routes)
    assert len(routes) == len(new_routes)
    for entry in new_routes:
        assert stop_ids(routes[applied["routes"][entry["key"]]]) == entry["outlet_ids"]
        assert routes[applied["routes"][entry["key"]]].code == entry["code"]
    # and the journeys of the first week visit every outlet once
    visited: list[int] = []
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        for offset in range(6):
            for journey in journey_build(scope=scope, distributor_id=dist_a1.pk, day=monday + timedelta(days=offset)):
                assert journey.booker_id in {booker.pk, booker2.pk}
                visited += [v.outlet_id for v in journey.visits.all()]
    assert sorted(visited) == sorted(o.pk for o in area)


def test_the_same_outlets_bookers_and_seed_build_the_same_routes(dist_a1, area, booker, booker2):
    # when
    first, second = build(dist_a1, [booker, booker2], seed=5), build(dist_a1, [booker, booker2], seed=5)
    # then
    assert first.plan == second.plan and first.after == second.after and first.diff == second.diff


def test_outlets_on_another_bookers_plan_are_left_to_that_booker(dist_a1, area, booker, booker2):
    # given: booker2 already visits the first three outlets; only booker is rebuilt
    theirs = make_route(dist_a1, area[:3], code="THEIRS")
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        monday = next_monday(tenant_policy(scope).today())
    make_plan(dist_a1, booker2, [(1, MON, theirs)], anchor=monday, effective_from=monday)
    # when
    proposal = build(dist_a1, [booker], cycle_weeks=1, max_visits_per_day=10)
    # then
    planned = {o for r in proposal.plan["new_routes"] for o in r["outlet_ids"]}
    assert planned == {o.pk for o in area[3:]}
    with tenant_scope(staff_scope(dist_a1)) as scope:
        proposal_accept(scope=scope, proposal_id=proposal.pk)


def test_a_built_proposal_is_stale_when_a_bookers_current_route_changed(dist_a1, area, booker):
    # given: booker's current plan has a route, which is edited after the proposal
    current = make_route(dist_a1, area[:4], code="OLD")
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        monday = next_monday(tenant_policy(scope).today())
    make_plan(dist_a1, booker, [(1, MON, current)], anchor=monday, effective_from=monday)
    proposal = build(dist_a1, [booker], cycle_weeks=1, max_visits_per_day=10)
    assert proposal.route_versions == {str(current.pk): current.version}
    assert proposal.before["routes"][str(current.pk)]["code"] == "OLD"
    assert {d["kind"] for d in proposal.diff if d["outlet_id"] in {o.pk for o in area[:4]}} == {"moved"}
    set_stops(current, [o.pk for o in area[:3]])
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        proposal_accept(scope=scope, proposal_id=proposal.pk)
    # then
    assert exc.value.status_code == 409 and reload(proposal).status == ProposalStatus.STALE


def test_building_needs_order_bookers_of_the_distributor_and_its_location(dist_a1, dist_a2, cast_a, booker):
    # given: the distributor has no coordinates; a staff user is not a booker
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        routes_build_start(scope=scope, distributor_id=dist_a1.pk,
                           booker_ids=[booker.pk, cast_a.users[Role.DISTRIBUTOR_STAFF].pk, booker.pk],
                           cycle_weeks=3, max_visits_per_day=0)
    # then
    assert exc.value.status_code == 400
    assert set(exc.value.fields) == {"booker_ids[1]", "booker_ids[2]", "cycle_weeks", "max_visits_per_day",
                                     "distributor_id"}
    assert "is not an active order-booker of distributor" in exc.value.fields["booker_ids[1]"][0]


# --- intruders ----------------------------------------------------------------------------------------


def test_a_sibling_distributors_route_and_proposal_are_not_found(dist_a1, dist_a2, outlet_factory):
    # given
    route, _outlets = line_route(dist_a2, outlet_factory, prefix="X")
    proposal = propose(route)
    # when / then: A1's staff cannot see, optimise, build for, accept or discard any of it
    with tenant_scope(staff_scope(dist_a1)) as scope:
        for attempt in (lambda: route_optimise_start(scope=scope, route_id=route.pk),
                        lambda: route_sequence_propose(scope=scope, route_id=route.pk),
                        lambda: routes_build_start(scope=scope, distributor_id=dist_a2.pk, booker_ids=[1],
                                                   cycle_weeks=1, max_visits_per_day=5),
                        lambda: proposal_get(scope=scope, proposal_id=proposal.pk),
                        lambda: proposal_accept(scope=scope, proposal_id=proposal.pk),
                        lambda: proposal_discard(scope=scope, proposal_id=proposal.pk)):
            with pytest.raises(NotFound):
                attempt()
        assert proposal_for_job(scope=scope, job_id=0) is None
    assert reload(proposal).status == ProposalStatus.READY


def test_another_tenants_proposal_is_not_found(cast_b, dist_a1, outlet_factory):
    # given
    route, _outlets = line_route(dist_a1, outlet_factory)
    proposal = propose(route)
    # when / then
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope, pytest.raises(NotFound):
        proposal_accept(scope=scope, proposal_id=proposal.pk)
