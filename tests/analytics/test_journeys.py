"""analytics.journeys: plan against actual on a hand-made booker day (stops, distances and times worked out by hand
on a straight line, see journey_setup), the picker's counts, a route's most common paths over several days, and
the journey map. The expected figures are written out, never read back from the code under test."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from analytics.journeymap import journey_map_svg
from analytics.journeys import common_paths, journey_compare, journey_list, kept_in_sequence
from dms.core.errors import NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.models import Visit
from tests.analytics.journey_setup import DAY, UNIT_M, booker_day, local, route_days
from tests.factories.pjp import staff_scope

U = UNIT_M


def compare(tenant_id: int, journey_id: int, scope: Scope | None = None) -> Any:
    with tenant_scope(scope or Scope.system(tenant_id)) as current:
        return journey_compare(scope=current, journey_id=journey_id)


@pytest.mark.parametrize(("sequences", "kept"), [
    ([], []),
    ([1, 2, 3], [True, True, True]),
    ([2, 1, 4], [False, True, True]),  # [1, 4] and [2, 4] are as long: the smaller numbers stay
    ([3, 1, 2], [False, True, True]),
    ([2, 3, 1, 4], [True, True, False, True]),
    ([5, 4, 3, 2, 1], [False, False, False, False, True]),
    ([1, 5, 2, 3, 4], [True, False, True, True, True]),
])
def test_the_longest_increasing_run_keeps_the_smallest_sequence_numbers(sequences: list[int],
                                                                        kept: list[bool]) -> None:
    assert kept_in_sequence(sequences) == kept


def test_a_booker_day_compares_plan_and_actual(cast_a: Any) -> None:
    # given: planned A B C D from the depot and back; visited B A D and the unplanned E; C missed
    day = booker_day(cast_a)
    # when
    result = compare(cast_a.tenant.pk, day.journey.pk)
    # then: the stops
    head = result.header
    assert (head.journey_id, head.date, head.booker_id, head.route_code) == (
        day.journey.pk, DAY, day.booker.pk, day.journey.route.code)
    assert head.start == head.end == (31.5, 74.3)
    assert [(p.sequence, p.outlet_code, p.status, p.visit_order) for p in result.planned] == [
        (1, "A", "productive", 2), (2, "B", "productive", 1), (3, "C", "missed", None), (4, "D", "productive", 3)]
    # ETAs: 09:00 + one unit (1,112 s) to A, 10 minutes there, one unit to each next stop
    assert [p.eta for p in result.planned] == [local(DAY, 9, 18, 32), local(DAY, 9, 47, 4), local(DAY, 10, 15, 36),
                                               local(DAY, 10, 44, 8)]
    assert [(a.visit_order, a.outlet_code, a.planned_sequence, a.delay_minutes, a.in_sequence)
            for a in result.actual] == [
        (1, "B", 2, -17, False),  # 09:30 against 09:47:04: 17 min 4 s early
        (2, "A", 1, 31, True),  # 09:50 against 09:18:32: 31 min 28 s late
        (3, "D", 4, -14, True),  # 10:30 against 10:44:08
        (4, "E", None, None, None)]
    assert [s.outlet_code for s in result.skipped] == ["C"]
    assert [(s.outlet_code, s.planned_sequence, s.visit_order) for s in result.added] == [("E", None, 4)]
    assert [(s.outlet_code, s.planned_sequence, s.visit_order) for s in result.swapped] == [("B", 2, 1)]

    # distances, in units of 1,112 m (and at 1 m/s, seconds):
    #   plan     0 A B C D 0 = 1+1+1+1+4 = 8
    #   visited  0 A B D E 0 = 1+1+2+1+5 = 10  (planned visits back in order, E kept in its place)
    #   actual   0 B A D E 0 = 2+1+3+1+5 = 12
    t = result.totals
    assert t.travel_provider == "great-circle"
    assert (t.planned_distance_m, t.stored_planned_distance_m, t.visited_distance_m, t.actual_distance_m) == (
        8 * U, 8 * U, 10 * U, 12 * U)
    assert (t.planned_travel_s, t.visited_travel_s, t.actual_travel_s) == (8 * U, 10 * U, 12 * U)
    assert (t.extra_distance_m, t.extra_distance_stops_m, t.extra_distance_order_m) == (4 * U, 2 * U, 2 * U)
    assert (t.extra_travel_s, t.extra_travel_stops_s, t.extra_travel_order_s) == (4 * U, 2 * U, 2 * U)
    # time: planned 09:00 .. 12:08:16 (4 x 10 min + 8 units); market A's ETA 09:18:32 .. D's ETD 10:54:08
    assert (t.first_check_in, t.last_check_out) == (local(DAY, 9, 30), local(DAY, 11, 5))
    assert t.planned_day_s == 4 * 600 + 8 * U
    assert t.planned_market_s == 4 * 600 + 3 * U == 5736
    assert t.actual_market_s == 95 * 60
    assert t.extra_market_s == 95 * 60 - 5736


def test_a_day_with_no_visit_made_costs_the_trip_out_and_back(cast_a: Any) -> None:
    # given: the same plan, nothing visited yet
    day = booker_day(cast_a)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        Visit.objects.filter(journey=day.journey, planned=False).delete()
        Visit.objects.filter(journey=day.journey).update(status="planned", checked_in_at=None, checked_out_at=None)
    # when
    result = compare(cast_a.tenant.pk, day.journey.pk)
    # then: every planned stop skipped; the actual path is depot -> depot
    assert [s.outlet_code for s in result.skipped] == ["A", "B", "C", "D"]
    assert result.actual == () and result.added == () and result.swapped == ()
    t = result.totals
    assert (t.actual_distance_m, t.visited_distance_m, t.extra_distance_m, t.extra_distance_stops_m) == (
        0, 0, -8 * U, -8 * U)
    assert (t.first_check_in, t.actual_market_s, t.extra_market_s) == (None, None, None)


def test_another_distributors_or_tenants_journey_is_not_found(cast_a: Any, cast_b: Any) -> None:
    day = booker_day(cast_a)
    sibling = staff_scope(cast_a.distributors[1])
    with pytest.raises(NotFound):
        compare(cast_a.tenant.pk, day.journey.pk, scope=sibling)
    with pytest.raises(NotFound):
        compare(cast_b.tenant.pk, day.journey.pk)


def test_the_journey_list_counts_what_compare_lists(cast_a: Any) -> None:
    # given: the booker day, and three days of another booker on another route
    day = booker_day(cast_a)
    other = cast_a.users["distributor_admin"]
    route, later = route_days(cast_a, [("XYZ", "XYZ"), ("XYZ", "ZY"), ("XY", "YXW")], first=DAY + timedelta(days=1),
                              booker=other)
    tid = cast_a.tenant.pk
    # when
    with tenant_scope(Scope.system(tid)) as scope:
        rows = journey_list(scope=scope, date_from=DAY, date_to=DAY + timedelta(days=3))
        on_route = journey_list(scope=scope, date_from=DAY, date_to=DAY + timedelta(days=3), route_id=route.pk)
        first_two = journey_list(scope=scope, date_from=DAY, date_to=DAY + timedelta(days=3), limit=2)
    # then: newest first
    assert [(r.date, r.planned, r.visited, r.skipped, r.added, r.swapped) for r in rows] == [
        (DAY + timedelta(days=3), 2, 3, 0, 1, 1),  # Y X (W added): X and Y swapped, the later one (X) kept
        (DAY + timedelta(days=2), 3, 2, 1, 0, 1),  # Z Y: Z out of sequence, X skipped
        (DAY + timedelta(days=1), 3, 3, 0, 0, 0),
        (DAY, 4, 4, 1, 1, 1)]  # the booker day: B A D + E, C skipped, B swapped
    assert rows[-1].journey_id == day.journey.pk and rows[-1].booker_name == day.booker.username
    assert [r.journey_id for r in on_route] == [j.pk for j in reversed(later)]
    assert [r.date for r in first_two] == [DAY + timedelta(days=3), DAY + timedelta(days=2)]


def test_the_journey_list_keeps_to_the_scope(cast_a: Any) -> None:
    booker_day(cast_a)
    sibling = staff_scope(cast_a.distributors[1])
    with tenant_scope(sibling) as scope:
        assert journey_list(scope=scope, date_from=DAY, date_to=DAY) == []
        with pytest.raises(NotFound):
            journey_list(scope=scope, date_from=DAY, date_to=DAY, distributor_id=cast_a.distributors[0].pk)


def test_common_paths_are_counted_per_route_over_the_period(cast_a: Any) -> None:
    # given: seven days on one route; the fourth day's plan leaves B out (a fortnightly stop)
    route, _ = route_days(cast_a, [
        ("ABC", "ABC"), ("ABC", "ABC"), ("ABC", "BAC"), ("AC", "AC"), ("ABC", "BAC"), ("ABC", "AC"),
        ("ABC", ""),  # nothing visited: no path
    ])
    # and a day outside the period, and another route's day in it
    route_days(cast_a, [("ABC", "CBA")], route=route, first=DAY + timedelta(days=10))
    route_days(cast_a, [("ABC", "CBA")], first=DAY, booker=cast_a.users["distributor_staff"])
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        paths = common_paths(scope=scope, route_id=route.pk, date_from=DAY, date_to=DAY + timedelta(days=6))
        top = common_paths(scope=scope, route_id=route.pk, date_from=DAY, date_to=DAY + timedelta(days=6), limit=1)
    # then: six journeys with a path; A C twice (once as planned), ties by path
    assert [(p.path, p.journeys, p.share, p.equals_planned, p.planned_journeys) for p in paths] == [
        (("RA", "RB", "RC"), 2, Decimal("0.3333"), True, 2),
        (("RA", "RC"), 2, Decimal("0.3333"), False, 1),
        (("RB", "RA", "RC"), 2, Decimal("0.3333"), False, 0),
    ]
    assert [p.path for p in top] == [("RA", "RB", "RC")]


def test_common_paths_of_a_route_outside_the_scope_are_not_found(cast_a: Any, cast_b: Any) -> None:
    route, _ = route_days(cast_a, [("AB", "AB")])
    with tenant_scope(staff_scope(cast_a.distributors[1])) as scope, pytest.raises(NotFound):
        common_paths(scope=scope, route_id=route.pk, date_from=DAY, date_to=DAY)
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope, pytest.raises(NotFound):
        common_paths(scope=scope, route_id=route.pk, date_from=DAY, date_to=DAY)


# --- the map ----------------------------------------------------------------------------------------------------

def test_the_map_draws_both_paths_and_marks_skipped_added_and_swapped_stops(cast_a: Any) -> None:
    day = booker_day(cast_a)
    svg = str(journey_map_svg(compare(cast_a.tenant.pk, day.journey.pk)))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="planned-path"') == 1 and svg.count('class="actual-path"') == 1
    assert 'stroke-dasharray="6 4"' in svg
    assert svg.count('class="stop stop-skipped"') == 1 and 'data-sequence="3"' in svg  # C
    assert svg.count('class="stop stop-added"') == 1 and 'data-visit-order="4"' in svg  # E
    assert svg.count('class="stop stop-visited stop-swapped"') == 1  # B
    assert svg.count('class="stop stop-visited"') == 2  # A and D
    assert 'class="legend"' in svg and "Skipped" in svg and "Added" in svg
    # the paths' vertices: the plan has depot + 4 stops + depot, the actual path depot + 4 visits + depot
    planned_points = svg.split('class="planned-path" points="')[1].split('"')[0].split()
    actual_points = svg.split('class="actual-path" points="')[1].split('"')[0].split()
    assert len(planned_points) == 6 and len(actual_points) == 6
    assert planned_points[0] == planned_points[-1] == actual_points[0]


def test_the_map_escapes_outlet_names(cast_a: Any) -> None:
    day = booker_day(cast_a, name_of_a='<script>alert("x")</script>')
    svg = str(journey_map_svg(compare(cast_a.tenant.pk, day.journey.pk)))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
