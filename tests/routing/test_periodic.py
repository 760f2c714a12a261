"""build_routes: visit patterns over the cycle, caps per day, balance, reasons, determinism."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from routing.periodic import Outlet, RoutePlan, build_routes

SHIFT = (9 * 3600, 18 * 3600)


def _territory(n: int = 90, seed: int = 7) -> tuple[list[Outlet], list[tuple[float, float]]]:
    """n outlets within ~6 x 7 km around the depot (node 0); a third each weekly, fortnightly, four-weekly;
    every tenth outlet only open on the first and fourth working days."""
    rng = random.Random(seed)
    points = [(31.52, 74.35)] + [(31.52 + rng.uniform(-0.03, 0.03), 74.35 + rng.uniform(-0.035, 0.035))
                                 for _ in range(n)]
    outlets = []
    for i in range(n):
        days = {0: ((9 * 3600, 13 * 3600),), 3: ((14 * 3600, 17 * 3600),)} if i % 10 == 9 else None
        outlets.append(Outlet(f"o{i}", i + 1, service_s=600, every_weeks=(1, 2, 4)[i % 3], weekday_windows=days))
    return outlets, points


@pytest.fixture(scope="module")
def plan() -> RoutePlan:
    outlets, points = _territory()
    return build_routes(outlets, points=points, depot=0, bookers=2, cycle_weeks=4, max_visits_per_day=10,
                        shift=SHIFT, time_limit=20.0, seed=1)


def test_every_slot_of_the_cycle_is_listed(plan: RoutePlan) -> None:
    assert [(d.booker, d.week, d.weekday) for d in plan.days] == [
        (b, w, d) for b in range(2) for w in range(4) for d in range(6)
    ]


def test_visit_patterns_are_honoured(plan: RoutePlan) -> None:
    outlets, _ = _territory()
    assert plan.unassigned == ()
    for outlet in outlets:
        visits = plan.visits(outlet.id)
        assert len(visits) == 4 // outlet.every_weeks, outlet.id
        assert len({(b, d) for b, _, d in visits}) == 1, f"{outlet.id}: one booker, one weekday"
        weeks = sorted(w for _, w, _ in visits)
        assert weeks == list(range(weeks[0], 4, outlet.every_weeks)), f"{outlet.id}: every {outlet.every_weeks} weeks"
        if outlet.weekday_windows is not None:
            assert visits[0][2] in outlet.weekday_windows


def test_days_respect_the_caps_and_are_balanced(plan: RoutePlan) -> None:
    counts = [len(d.outlet_ids) for d in plan.days]
    assert max(counts) <= 10
    durations = [d.duration_s for d in plan.days]
    assert all(d.route is None or (SHIFT[0] <= d.route.start and d.route.end <= SHIFT[1]) for d in plan.days)
    mean = sum(durations) / len(durations)
    assert max(durations) - min(durations) <= 0.5 * mean  # measured ~0.35: estimates vs real travel differ a bit
    per_booker: dict[int, int] = defaultdict(int)
    for d in plan.days:
        per_booker[d.booker] += d.duration_s
    assert abs(per_booker[0] - per_booker[1]) <= 0.1 * max(per_booker.values())


def test_same_seed_same_plan(plan: RoutePlan) -> None:
    outlets, points = _territory()
    again = build_routes(outlets, points=points, depot=0, bookers=2, cycle_weeks=4, max_visits_per_day=10,
                         shift=SHIFT, time_limit=20.0, seed=1)
    assert [d.outlet_ids for d in again.days] == [d.outlet_ids for d in plan.days]


def test_outlets_that_cannot_be_planned_get_reasons() -> None:
    points = [(31.52, 74.35), (31.521, 74.351), (31.522, 74.352), (31.523, 74.353), (32.5, 75.5)]
    outlets = [
        Outlet("fine", 1),
        Outlet("monthly", 2, every_weeks=4),
        Outlet("closed", 3, weekday_windows={6: ((9 * 3600, 17 * 3600),)}),  # only on a seventh day
        Outlet("far", 4, windows=((9 * 3600, 9 * 3600 + 900),)),
    ]
    plan = build_routes(outlets, points=points, depot=0, bookers=1, cycle_weeks=2, days_per_week=6,
                        max_visits_per_day=5, shift=SHIFT, time_limit=5.0)
    reasons = {u.outlet_id: u.reason for u in plan.unassigned}
    assert set(reasons) == {"monthly", "closed", "far"}
    assert "every 4 weeks" in reasons["monthly"] and "cycle of 2" in reasons["monthly"]
    assert reasons["closed"] == "it is closed on every working day"
    assert "09:00-09:15 closes before the earliest possible arrival" in reasons["far"]
    assert len(plan.visits("fine")) == 2


def test_more_work_than_bookers_leaves_outlets_with_a_reason() -> None:
    outlets, points = _territory(40)
    plan = build_routes(outlets, points=points, depot=0, bookers=1, cycle_weeks=1, days_per_week=2,
                        max_visits_per_day=5, shift=SHIFT, time_limit=5.0)
    weekly = [o for o in outlets if o.every_weeks == 1 and o.weekday_windows is None]
    assert sum(len(d.outlet_ids) for d in plan.days) <= 10
    planned = {i for d in plan.days for i in d.outlet_ids}
    assert {u.outlet_id for u in plan.unassigned} >= {o.id for o in weekly} - planned
    assert all("room" in u.reason or "every" in u.reason for u in plan.unassigned)
