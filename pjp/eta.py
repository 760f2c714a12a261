"""Arrival and departure times along a day's route. Plain Python: snapshots in, times out, no queries.

Times are aware datetimes in UTC, so arithmetic never trips over a daylight-saving change; local time
appears only where opening hours are read (`opening_windows`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Point = tuple[float, float]
Window = tuple[datetime, datetime]
Travel = Callable[[Sequence[Point]], tuple[list[list[int]], list[list[int]]]]


@dataclass(frozen=True)
class EtaStop:
    """`windows`: the day's opening spans; None when the outlet has no opening hours at all (always open),
    an empty tuple when it is closed that day."""

    key: int
    point: Point | None
    service_s: int
    windows: tuple[Window, ...] | None


@dataclass(frozen=True)
class EtaVisit:
    key: int
    sequence: int
    eta: datetime
    etd: datetime
    window_missed: bool


@dataclass(frozen=True)
class DaySchedule:
    visits: list[EtaVisit]
    start: datetime
    end: datetime
    distance_m: int


def _at(day: date, hhmm: str, tz: tzinfo) -> datetime:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    if hours >= 24:  # "24:00" closes at midnight
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(UTC)
    return datetime.combine(day, time(hours, minutes), tzinfo=tz).astimezone(UTC)


def opening_windows(opening_hours: Mapping[str, Any] | None, day: date, tz: tzinfo) -> tuple[Window, ...] | None:
    """An outlet's opening spans on `day` as UTC instants. Outlets with no hours recorded at all are taken
    as always open (None); with hours recorded, a day that is missing or empty is closed."""
    if not opening_hours:
        return None
    spans = opening_hours.get(DAY_KEYS[day.weekday()]) or []
    windows = []
    for span in spans:
        try:
            windows.append((_at(day, span[0], tz), _at(day, span[1], tz)))
        except (TypeError, ValueError, IndexError):
            continue  # catalog validates hours on input; a malformed span is skipped, not fatal
    return tuple(sorted(windows))


def schedule(*, depart: datetime, start: Point | None, end: Point | None, stops: Sequence[EtaStop],
             travel: Travel) -> DaySchedule:
    """Leave `start` at `depart`, visit `stops` in order and go to `end`.

    At each outlet the visit begins on arrival, or at opening time when the booker is early; the visit
    must end by closing time. When no opening span of the day can hold it the visit is still planned,
    on arrival, with `window_missed`. An outlet without coordinates is taken to be where the previous
    one was (no travel). With no `start` the day begins at the first outlet that has coordinates.
    """
    if start is None:
        start = next((s.point for s in stops if s.point is not None), None)
    points: list[Point] = [p for p in [start, *(s.point for s in stops), end] if p is not None]
    distance, duration = travel(points) if len(points) > 1 else ([[0]], [[0]])

    cursor = 0 if start is not None else None  # index into `points` of where the booker is
    next_index = 1 if start is not None else 0
    now = depart.astimezone(UTC)
    total_m = 0
    visits: list[EtaVisit] = []
    for sequence, stop in enumerate(stops, start=1):
        if stop.point is not None:
            if cursor is not None:
                total_m += distance[cursor][next_index]
                now += timedelta(seconds=duration[cursor][next_index])
            cursor, next_index = next_index, next_index + 1
        service = timedelta(seconds=stop.service_s)
        begin, missed = now, False
        if stop.windows is not None:
            fitting = [max(now, opened) for opened, closes in stop.windows if max(now, opened) + service <= closes]
            if fitting:
                begin = fitting[0]
            else:
                missed = True
        visits.append(EtaVisit(stop.key, sequence, begin, begin + service, missed))
        now = begin + service
    if end is not None and cursor is not None:
        total_m += distance[cursor][next_index]
        now += timedelta(seconds=duration[cursor][next_index])
    return DaySchedule(visits=visits, start=depart.astimezone(UTC), end=now, distance_m=total_m)
