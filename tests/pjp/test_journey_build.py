"""journey_build: arrival times by hand, cycle weeks, idempotent rebuilds, notifications, query budget,
and tenant isolation."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor, TenantSettings
from dms.tenancy.scope import Scope
from pjp.enums import VisitStatus
from pjp.models import DailyJourney, JourneyNotification, Visit
from pjp.selectors import journey_list
from pjp.services import journey_build, journeys_build_ahead
from routing.matrix import EARTH_RADIUS_M
from tests.factories.pjp import ANCHOR, MON, TUE, make_plan, make_route, set_stops

pytestmark = pytest.mark.django_db

KARACHI = timezone.get_fixed_timezone(5 * 60)  # the cast's tenants are in Asia/Karachi: UTC+5, no DST
START = (Decimal("31.000000"), Decimal("74.000000"))


def north(metres: float) -> Decimal:
    """The latitude `metres` north of START along its meridian, where great-circle distance is R x dlat."""
    return (START[0] + Decimal(math.degrees(metres / EARTH_RADIUS_M))).quantize(Decimal("0.000001"))


def at(hhmm: str, day: Any = ANCHOR) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=KARACHI)


def build(dist: Any, day: Any = ANCHOR) -> list[DailyJourney]:
    with tenant_scope(Scope.system(dist.tenant_id)) as scope:
        return journey_build(scope=scope, distributor_id=dist.pk, day=day)


def visits_of(journey: DailyJourney) -> list[Visit]:
    with tenant_scope(Scope.system(journey.tenant_id)):
        return list(Visit.objects.filter(journey=journey).order_by("sequence"))


@pytest.fixture
def travel_policy(cast_a: Any) -> None:
    """Road factor 1.5 at 30 km/h: a great-circle metre takes 1.5 / (30 / 3.6) = 0.18 s."""
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        TenantSettings.objects.update(road_factor=Decimal("1.50"), travel_speed_kmh=Decimal("30.0"))


@pytest.fixture
def line_route(dist_a1: Any, booker: Any, outlet_factory: Any, travel_policy: None) -> Any:
    """Three outlets due north of the start, 30, 15 and 20 minutes apart (each leg is 0.3 s longer, which
    rounds away), on a route the booker covers every Monday from 09:00."""
    o1 = outlet_factory(dist_a1, code="N1", lat=north(10_001.667), lng=START[1],
                        opening_hours={"mon": [["08:00", "13:00"]]})
    o2 = outlet_factory(dist_a1, code="N2", lat=north(15_003.334), lng=START[1],
                        opening_hours={"mon": [["10:30", "14:00"]], "tue": [["08:00", "20:00"]]})
    o3 = outlet_factory(dist_a1, code="N3", lat=north(21_671.667), lng=START[1],
                        opening_hours={"tue": [["08:00", "20:00"]]})  # closed on Mondays
    route = make_route(dist_a1, code="NORTH", name="North line", start_lat=START[0], start_lng=START[1])
    set_stops(route, [o1.pk, o2.pk, o3.pk], service_minutes={o2.pk: 20})
    make_plan(dist_a1, booker, [(1, MON, route)])
    return route


def test_arrival_times_follow_travel_opening_hours_and_service_time(line_route, dist_a1, booker):
    # when
    [journey] = build(dist_a1)
    # then
    # 09:00 leave; +30 min -> N1 09:30, 10 min (route default); +15 min -> 09:55 at N2, which opens at 10:30:
    # wait, 20 min -> 10:50; +20 min -> N3 at 11:10, closed on Mondays: planned anyway, window missed, 10 min.
    assert [(v.eta, v.etd, v.window_missed) for v in visits_of(journey)] == [
        (at("09:30"), at("09:40"), False),
        (at("10:30"), at("10:50"), False),
        (at("11:10"), at("11:20"), True),
    ]
    assert (journey.booker_id, journey.date, journey.route_id) == (booker.pk, ANCHOR, line_route.pk)
    assert (journey.planned_start, journey.planned_end) == (at("09:00"), at("11:20"))
    assert abs(journey.planned_distance_m - 32_508) <= 2  # 1.5 x 21,671.667 m
    assert journey.planned_start.tzinfo is not None


def test_without_a_route_start_the_day_leaves_from_the_distributor(line_route, dist_a1):
    # given
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        Distributor.objects.filter(pk=dist_a1.pk).update(lat=START[0], lng=START[1])
    from pjp.services import route_update

    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        route_update(scope=scope, route_id=line_route.pk, start_lat=None, start_lng=None)
    # when
    [journey] = build(dist_a1)
    # then: same times out; the day now ends back at the distributor, 65 min (3,900.9 s) from N3
    assert [v.eta for v in visits_of(journey)] == [at("09:30"), at("10:30"), at("11:10")]
    assert journey.planned_end == at("11:20") + timedelta(seconds=3901)


def test_with_no_start_point_at_all_the_day_starts_at_the_first_outlet(line_route, dist_a1):
    # given
    from pjp.services import route_update

    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        route_update(scope=scope, route_id=line_route.pk, start_lat=None, start_lng=None)
    # when
    [journey] = build(dist_a1)
    # then: N1 09:00-09:10; N2 09:25, waits to 10:30, -> 10:50; N3 11:10
    assert [(v.eta, v.etd) for v in visits_of(journey)] == [
        (at("09:00"), at("09:10")), (at("10:30"), at("10:50")), (at("11:10"), at("11:20"))]


def test_rebuilding_the_same_day_keeps_the_same_rows(line_route, dist_a1):
    # given
    [first] = build(dist_a1)
    before = [(v.pk, v.outlet_id, v.sequence, v.eta) for v in visits_of(first)]
    # when
    [again] = build(dist_a1)
    # then
    assert again.pk == first.pk
    assert [(v.pk, v.outlet_id, v.sequence, v.eta) for v in visits_of(again)] == before
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert DailyJourney.objects.count() == 1
        assert Visit.objects.count() == 3
        assert JourneyNotification.objects.count() == 1


def test_one_notification_per_booker_and_day_tells_the_route_outlets_and_first_eta(line_route, dist_a1, booker):
    # given
    [journey] = build(dist_a1)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        note = JourneyNotification.objects.get()
        assert (note.booker_id, note.date, note.journey_id) == (booker.pk, ANCHOR, journey.pk)
        assert note.message == ("Your journey for Mon 2030-01-07: route NORTH North line, 3 outlets, "
                                "first visit at 09:30.")
        JourneyNotification.objects.update(delivered_at=timezone.now())
    # when: an unchanged rebuild, then a changed one
    build(dist_a1)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        unchanged = JourneyNotification.objects.get()
    set_stops(line_route, list(reversed([v.outlet_id for v in visits_of(journey)])))
    # then: the reorder rebuilt the journey (a plan change rebuilds the days already built)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        changed = JourneyNotification.objects.get()
    assert unchanged.delivered_at is not None
    assert changed.pk == note.pk and changed.delivered_at is None
    assert changed.message != note.message


def test_a_route_reorder_rebuilds_the_built_days(line_route, dist_a1):
    # given
    [journey] = build(dist_a1)
    ids = [v.outlet_id for v in visits_of(journey)]
    # when
    route = set_stops(line_route, list(reversed(ids)))
    # then
    assert [v.outlet_id for v in visits_of(journey)] == list(reversed(ids))
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        journey.refresh_from_db()
    assert journey.route_version == route.version == 3


def test_a_journey_under_way_is_left_as_it_is(line_route, dist_a1):
    # given
    [journey] = build(dist_a1)
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        Visit.objects.filter(journey=journey, sequence=1).update(status=VisitStatus.CHECKED_IN)
    before = [(v.pk, v.outlet_id, v.sequence) for v in visits_of(journey)]
    # when
    set_stops(line_route, list(reversed([v[1] for v in before])))
    [again] = build(dist_a1)
    # then
    assert again.pk == journey.pk
    assert [(v.pk, v.outlet_id, v.sequence) for v in visits_of(again)] == before


def test_a_new_plan_version_rebuilds_or_removes_the_built_days(line_route, dist_a1, booker, outlets_a1):
    # given: journeys built for the first two Mondays
    build(dist_a1)
    build(dist_a1, ANCHOR + timedelta(days=7))
    other = make_route(dist_a1, outlets_a1[:2])
    # when: from the second week the booker covers another route on Tuesdays instead
    make_plan(dist_a1, booker, [(1, TUE, other)], effective_from=ANCHOR + timedelta(days=7))
    # then
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        assert [(j.date, j.route_id) for j in journey_list(scope=scope).order_by("date")] == [
            (ANCHOR, line_route.pk)]
        assert not JourneyNotification.objects.filter(date=ANCHOR + timedelta(days=7)).exists()
    [tuesday] = build(dist_a1, ANCHOR + timedelta(days=8))
    assert tuesday.route_id == other.pk


def test_a_weekly_stop_comes_every_week_and_a_week_1_stop_of_a_fortnightly_plan_in_week_1_only(
        dist_a1, booker, outlets_a1):
    # given
    weekly, fortnightly = outlets_a1[:2]
    route = make_route(dist_a1)
    set_stops(route, [weekly.pk, fortnightly.pk], weeks={fortnightly.pk: [1]})
    make_plan(dist_a1, booker, [(1, MON, route), (2, MON, route)], cycle_weeks=2)
    # when
    days = [ANCHOR + timedelta(days=d) for d in (0, 1, 7, 14, 21)]
    built = {day: build(dist_a1, day) for day in days}
    # then
    outlets = {day: [v.outlet_id for j in js for v in visits_of(j)] for day, js in built.items()}
    assert outlets == {
        ANCHOR: [weekly.pk, fortnightly.pk],                              # Monday, week 1
        ANCHOR + timedelta(days=1): [],                                   # Tuesday: no slot
        ANCHOR + timedelta(days=7): [weekly.pk],                          # Monday, week 2
        ANCHOR + timedelta(days=14): [weekly.pk, fortnightly.pk],         # Monday, week 1
        ANCHOR + timedelta(days=21): [weekly.pk],
    }


def test_the_query_count_does_not_grow_with_the_stops(dist_a1, booker, outlet_factory,
                                                      django_assert_max_num_queries):
    # given: 5 stops on Mondays, 40 on Tuesdays
    small = make_route(dist_a1, [outlet_factory(dist_a1) for _ in range(5)])
    large = make_route(dist_a1, [outlet_factory(dist_a1) for _ in range(40)])
    make_plan(dist_a1, booker, [(1, MON, small), (1, TUE, large)])
    counts: dict[str, list[int]] = {"build": [], "rebuild": []}
    # when: a first build and a rebuild of each day (none of the queries is per stop or visit)
    for kind in ("build", "rebuild"):
        for day in (ANCHOR, ANCHOR + timedelta(days=1)):
            with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
                with django_assert_max_num_queries(16) as captured:
                    [journey] = journey_build(scope=scope, distributor_id=dist_a1.pk, day=day)
                counts[kind].append(len(captured))
                assert Visit.objects.filter(journey=journey).count() in (5, 40)
    # then
    assert counts["build"][0] == counts["build"][1]
    assert counts["rebuild"][0] == counts["rebuild"][1]


def test_building_one_tenant_never_touches_another(cast_a, cast_b, dist_a1, booker, outlets_a1, outlet_factory):
    # given: both tenants have a plan on Mondays
    make_plan(dist_a1, booker, [(1, MON, make_route(dist_a1, outlets_a1[:2]))])
    dist_b1 = cast_b.distributors[0]
    b_outlets = [outlet_factory(dist_b1) for _ in range(2)]
    from dms.tenancy.enums import Role

    make_plan(dist_b1, cast_b.users[Role.ORDER_BOOKER], [(1, MON, make_route(dist_b1, b_outlets))])
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        result = journeys_build_ahead(scope=scope, today=ANCHOR, days=6)
    # then
    assert result.journeys == 1 and result.distributors == 2
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        assert DailyJourney.objects.count() == 0
        assert JourneyNotification.objects.count() == 0
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        assert {j.tenant_id for j in journey_list(scope=scope)} == {cast_a.tenant.pk}
        assert DailyJourney.objects.unscoped_for_platform().count() == 1  # RLS: B's rows are invisible anyway


def test_replacing_a_version_that_has_not_started_rebuilds_its_journeys(line_route, dist_a1, booker, outlets_a1):
    # given: a second version from week 5, whose first Monday is built
    later = ANCHOR + timedelta(days=28)
    make_plan(dist_a1, booker, [(1, MON, line_route)], effective_from=later)
    [before] = build(dist_a1, later)
    other = make_route(dist_a1, outlets_a1[:2])
    # when: it is replaced before it starts
    v3 = make_plan(dist_a1, booker, [(1, MON, other)], effective_from=later)
    # then
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        [after] = journey_list(scope=scope, day=later)
    assert (after.pjp_id, after.route_id) == (v3.pk, other.pk)
    assert [v.outlet_id for v in visits_of(after)] == [o.pk for o in outlets_a1[:2]]
