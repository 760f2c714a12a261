"""The plain-Python parts: opening windows and waiting, cycle weeks, and the overlap rule's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pjp.eta import EtaStop, opening_windows, schedule
from pjp.planning import PlanView, StopView, cycle_week, find_overlaps

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2030, 1, 7)


def no_travel(points):  # type: ignore[no-untyped-def]
    n = len(points)
    return [[0] * n for _ in range(n)], [[0] * n for _ in range(n)]


def minutes_apart(minutes: int):  # type: ignore[no-untyped-def]
    """Every leg between consecutive points takes `minutes`."""

    def travel(points):  # type: ignore[no-untyped-def]
        n = len(points)
        return ([[abs(i - j) for j in range(n)] for i in range(n)],
                [[abs(i - j) * minutes * 60 for j in range(n)] for i in range(n)])

    return travel


def test_an_outlet_without_opening_hours_is_always_open_and_a_missing_day_is_closed():
    assert opening_windows({}, MONDAY, LONDON) is None
    assert opening_windows({"tue": [["08:00", "12:00"]]}, MONDAY, LONDON) == ()
    assert opening_windows({"mon": [["08:00", "24:00"]]}, MONDAY, LONDON) == (
        (datetime(2030, 1, 7, 8, tzinfo=UTC), datetime(2030, 1, 8, 0, tzinfo=UTC)),)


def test_a_visit_that_cannot_end_before_closing_moves_to_the_next_span_or_misses_the_window():
    # given: arrival 12:55 with 10 minutes of service; the morning span closes at 13:00
    depart = datetime(2030, 1, 7, 12, 55, tzinfo=UTC)
    split = opening_windows({"mon": [["08:00", "13:00"], ["15:00", "18:00"]]}, MONDAY, LONDON)
    morning = opening_windows({"mon": [["08:00", "13:00"]]}, MONDAY, LONDON)
    stops = [EtaStop(key=1, point=None, service_s=600, windows=split),
             EtaStop(key=2, point=None, service_s=600, windows=morning)]
    # when
    day = schedule(depart=depart, start=None, end=None, stops=stops, travel=no_travel)
    # then: the first waits for 15:00; the second arrives 15:10, after closing: planned on arrival, missed
    assert [(v.eta.hour, v.eta.minute, v.window_missed) for v in day.visits] == [(15, 0, False), (15, 10, True)]
    assert day.end == datetime(2030, 1, 7, 15, 20, tzinfo=UTC)


def test_an_outlet_without_coordinates_is_taken_where_the_previous_one_was():
    # given: 10-minute legs between points that have coordinates
    stops = [EtaStop(1, (31.0, 74.0), 0, None), EtaStop(2, None, 0, None), EtaStop(3, (31.1, 74.0), 0, None)]
    # when
    day = schedule(depart=datetime(2030, 1, 7, 9, tzinfo=UTC), start=(30.9, 74.0), end=None, stops=stops,
                   travel=minutes_apart(10))
    # then
    assert [v.eta.minute for v in day.visits] == [10, 10, 20]


def test_cycle_weeks_count_from_the_anchor_both_ways():
    weeks = [cycle_week(anchor=MONDAY, cycle_weeks=4, day=MONDAY + timedelta(days=7 * k)) for k in range(-2, 6)]
    assert weeks == [3, 4, 1, 2, 3, 4, 1, 2]
    assert cycle_week(anchor=MONDAY, cycle_weeks=2, day=MONDAY + timedelta(days=13)) == 2


def plan(key: str, booker: int, slots: dict[tuple[int, int], int], *, start: date = MONDAY, cycle: int = 1,
         end: date | None = None) -> PlanView:
    return PlanView(key=key, booker_id=booker, booker_label=key, cycle_weeks=cycle, cycle_anchor=MONDAY,
                    effective_from=start, effective_to=end, slots=slots)


def test_a_plan_starting_mid_week_is_checked_over_whole_calendar_weeks():
    # given: from a Wednesday, outlet 7 on route 1 (Mondays) and route 2 (Thursdays)
    wednesday = MONDAY + timedelta(days=2)
    new = plan("new", 1, {(1, 0): 1, (1, 3): 2}, start=wednesday)
    stops = {1: [StopView(7)], 2: [StopView(7)]}
    # when
    [overlap] = find_overlaps(plans=[new], stops=stops, start=wednesday, involves=lambda c: c.plan is new)
    # then: the first week counts although its Monday comes before the start
    assert (overlap.outlet_id, overlap.first.day, overlap.second.day) == (7, MONDAY, MONDAY + timedelta(days=3))


def test_fortnightly_stops_in_alternate_weeks_do_not_overlap_but_an_ended_plan_is_ignored():
    # given: outlet 7 on route 1 in week 1 and on route 2 in week 2; an old plan ended before the start
    new = plan("new", 1, {(1, 0): 1, (2, 0): 1, (1, 4): 2, (2, 4): 2}, cycle=2)
    stops = {1: [StopView(7, (1,))], 2: [StopView(7, (2,))], 3: [StopView(7)]}
    old = plan("old", 2, {(1, 1): 3}, start=MONDAY - timedelta(days=28), end=MONDAY - timedelta(days=1))
    # when
    found = find_overlaps(plans=[new, old], stops=stops, start=MONDAY, involves=lambda c: c.plan is new)
    # then
    assert found == []


def test_conflicts_only_between_other_plans_are_not_reported():
    # given: bookers 2 and 3 already share outlet 7; the new plan does not visit it
    others = [plan("b2", 2, {(1, 0): 1}), plan("b3", 3, {(1, 2): 2})]
    new = plan("new", 1, {(1, 4): 3})
    stops = {1: [StopView(7)], 2: [StopView(7)], 3: [StopView(8)]}
    # when / then
    assert find_overlaps(plans=[new, *others], stops=stops, start=MONDAY, involves=lambda c: c.plan is new) == []
