"""Plans laid out on the calendar, and the overlap rule. Plain Python over snapshots: no queries here.

Cycle weeks count from a plan's anchor (a Monday), so every cycle (1, 2 or 4 weeks) repeats within four
calendar weeks. The overlap rule: no outlet is visited more than once in one calendar week (Monday to
Sunday) by the plans of a distributor's bookers, whoever visits it and on whichever route.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Four calendar weeks cover every cycle; one more covers the week in which a change takes effect mid-week.
OVERLAP_WINDOW_DAYS = 35


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def cycle_week(*, anchor: date, cycle_weeks: int, day: date) -> int:
    """Same formula as Pjp.cycle_week: week 1 starts on the anchor and the cycle repeats both ways."""
    return ((day - anchor).days // 7) % cycle_weeks + 1


def visited_in(weeks: Sequence[int], week: int) -> bool:
    """A stop's `weeks` lists the cycle weeks it is visited in; empty means every week."""
    return not weeks or week in weeks


@dataclass(frozen=True)
class PlanView:
    """One plan version as the expander sees it. `key` is the Pjp id, or "new" for one being published."""

    key: int | str
    booker_id: int
    booker_label: str
    cycle_weeks: int
    cycle_anchor: date
    effective_from: date
    effective_to: date | None
    slots: Mapping[tuple[int, int], int] = field(default_factory=dict)  # (cycle week, weekday) -> route id

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def week_of(self, day: date) -> int:
        return cycle_week(anchor=self.cycle_anchor, cycle_weeks=self.cycle_weeks, day=day)

    def route_on(self, day: date) -> int | None:
        return self.slots.get((self.week_of(day), day.weekday()))


@dataclass(frozen=True)
class StopView:
    outlet_id: int
    weeks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Call:
    """A planned visit of an outlet on a date, and the plan slot it comes from."""

    day: date
    outlet_id: int
    route_id: int
    week: int
    plan: PlanView

    @property
    def slot(self) -> tuple[int, int]:
        return self.week, self.day.weekday()


@dataclass(frozen=True)
class Overlap:
    outlet_id: int
    first: Call
    second: Call

    @property
    def same_day(self) -> bool:
        return self.first.day == self.second.day


def expand(plans_by_booker: Mapping[int, Sequence[PlanView]], stops: Mapping[int, Sequence[StopView]],
           days: Iterable[date], *, start: date) -> Iterable[Call]:
    """Every planned call on `days`. On a day before `start` each booker follows the plan in force on
    `start`, so the week in which a plan takes effect is checked as a whole week of the new plans."""
    for day in days:
        ref = max(day, start)
        for versions in plans_by_booker.values():
            plan = next((p for p in versions if p.in_force(ref)), None)
            if plan is None:
                continue
            route_id = plan.route_on(day)
            if route_id is None:
                continue
            week = plan.week_of(day)
            for stop in stops.get(route_id, ()):
                if visited_in(stop.weeks, week):
                    yield Call(day, stop.outlet_id, route_id, week, plan)


def find_overlaps(*, plans: Sequence[PlanView], stops: Mapping[int, Sequence[StopView]], start: date,
                  involves: Callable[[Call], bool], limit: int = 10) -> list[Overlap]:
    """Outlets visited more than once in a calendar week from `start` on, where at least one of the calls
    `involves` the change being made (older conflicts between other plans are not this change's fault).

    Plans are checked from `start` and from every later date on which one of them starts or ends, each
    over the whole calendar weeks covering the following four weeks. One overlap is reported per outlet
    and pair of slots, in date order.
    """
    points = {start}
    for p in plans:
        if p.effective_from > start:
            points.add(p.effective_from)
        if p.effective_to is not None and p.effective_to + timedelta(days=1) > start:
            points.add(p.effective_to + timedelta(days=1))
    days = sorted({monday_of(c) + timedelta(days=i) for c in points for i in range(OVERLAP_WINDOW_DAYS)})

    by_booker: dict[int, list[PlanView]] = defaultdict(list)
    for p in plans:
        by_booker[p.booker_id].append(p)
    for versions in by_booker.values():
        versions.sort(key=lambda p: p.effective_from, reverse=True)

    weeks: dict[tuple[date, int], list[Call]] = defaultdict(list)
    for call in expand(by_booker, stops, days, start=start):
        weeks[(monday_of(call.day), call.outlet_id)].append(call)

    found: list[Overlap] = []
    seen: set[tuple[object, ...]] = set()
    for (_monday, outlet_id), calls in sorted(weeks.items(), key=lambda kv: kv[0]):
        if len(calls) < 2:
            continue
        ours = [c for c in calls if involves(c)]
        if not ours:
            continue
        second = ours[0]
        first = next(c for c in calls if c is not second)
        first, second = sorted((first, second), key=lambda c: (c.day, not involves(c)))
        key = (outlet_id, *sorted([(str(c.plan.key), c.route_id, c.slot) for c in (first, second)]))
        if key in seen:
            continue
        seen.add(key)
        found.append(Overlap(outlet_id, first, second))
        if len(found) >= limit:
            break
    return found


def describe_overlap(overlap: Overlap, *, outlet_label: str, route_labels: Mapping[int, str]) -> str:
    """"Outlet OUT7 Shop would be visited twice in the week of Mon 2030-01-07: route R1 on Monday (cycle
    week 1, booker alice) and route R2 on Thursday (cycle week 1, booker bob)"."""

    def slot(c: Call) -> str:
        return (f"route {route_labels.get(c.route_id, c.route_id)} on {WEEKDAY_NAMES[c.day.weekday()]} "
                f"{c.day.isoformat()} (cycle week {c.week}, booker {c.plan.booker_label})")

    a, b = overlap.first, overlap.second
    when = (f"twice on {WEEKDAY_NAMES[a.day.weekday()]} {a.day.isoformat()}" if overlap.same_day
            else f"twice in the week of Monday {monday_of(a.day).isoformat()}")
    return f"Outlet {outlet_label} would be visited {when}: {slot(a)} and {slot(b)}."
