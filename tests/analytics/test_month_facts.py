"""OutletMonthFact: the builder keeps each outlet's visited-day bits of the month in step with OutletDayFact (set
when visited, cleared when a refresh no longer finds the visit, other days' bits untouched), and the coverage it
serves equals coverage counted from the day facts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from analytics.kpi_reads import coverage, month_masks
from analytics.models import OutletMonthFact
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.enums import VisitStatus
from pjp.models import Visit
from tests.analytics.test_facts import booker_day, refresh


def bits(tenant_id: int, month: date) -> dict[str, int]:
    """outlet code -> visited_days of the month."""
    from catalog.models import Outlet

    with tenant_scope(Scope.system(tenant_id)):
        codes = dict(Outlet.objects.values_list("pk", "code"))
        return {codes[r.outlet_id]: r.visited_days for r in OutletMonthFact.objects.filter(date=month)}


def test_month_masks_split_a_period_by_month() -> None:
    months, masks = month_masks(date(2026, 1, 30), date(2026, 2, 2))
    assert months == [date(2026, 1, 1), date(2026, 2, 1)]
    assert masks == [(1 << 29) | (1 << 30), 0b11]


def test_the_dates_bit_is_set_for_visited_outlets_and_cleared_when_the_visit_goes(cast_a: Any, api_as: Any) -> None:
    day, extra = booker_day(cast_a, api_as)
    tid, today = cast_a.tenant.pk, day.today
    month, bit = today.replace(day=1), 1 << (today.day - 1)
    refresh(tid, today)
    # made: SHOP1, SHOP0, EXTRA, SHOP3; SHOP2 was missed (no bit, no row)
    assert bits(tid, month) == {"SHOP0": bit, "SHOP1": bit, "SHOP3": bit, "EXTRA": bit}
    refresh(tid, today)
    assert bits(tid, month) == {"SHOP0": bit, "SHOP1": bit, "SHOP3": bit, "EXTRA": bit}  # idempotent
    # another day of the month already set on SHOP0 stays set; SHOP1's visit is undone: its bit is cleared
    other = 1 << (today.day % 28)  # a different day of the same month
    with tenant_scope(Scope.system(tid)):
        OutletMonthFact.objects.filter(date=month, outlet_id=day.outlets[0].pk).update(visited_days=bit | other)
        Visit.objects.filter(outlet=day.outlets[1], journey__date=today).update(status=VisitStatus.PLANNED,
                                                                              checked_in_at=None)
    refresh(tid, today)
    assert bits(tid, month) == {"SHOP0": bit | other, "SHOP1": 0, "SHOP3": bit, "EXTRA": bit}


def test_month_coverage_equals_day_coverage(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    tid, today = cast_a.tenant.pk, day.today
    refresh(tid, today)
    common: dict[str, Any] = {"date_from": today - timedelta(days=3), "date_to": today + timedelta(days=1)}
    with tenant_scope(Scope.system(tid)) as scope:
        whole = coverage(scope=scope, filters={}, group=None, **common)[None]
        per_date = coverage(scope=scope, filters={}, group="date", **common)
        per_dist = coverage(scope=scope, filters={}, group="distributor", **common)
    a1, a2 = cast_a.distributors[0].pk, cast_a.distributors[1].pk
    assert whole["outlets_visited"] == 4
    assert per_date == {today: {"outlets_in_scope": whole["outlets_in_scope"], "outlets_visited": 4}}
    assert per_dist[a1]["outlets_visited"] == 4 and per_dist[a1]["outlets_in_scope"] == 5
    assert per_dist.get(a2, {"outlets_visited": 0})["outlets_visited"] == 0
    assert Decimal(whole["outlets_visited"]) / whole["outlets_in_scope"] <= 1
    # the day facts' path (a route filter) counts the same visits on the route's stops
    with tenant_scope(Scope.system(tid)) as scope:
        by_route = coverage(scope=scope, filters={"route_id": day.journey.route_id}, group=None, **common)[None]
    assert by_route == {"outlets_in_scope": 4, "outlets_visited": 3}
