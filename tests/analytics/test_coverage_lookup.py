"""CoverageMonthFact: coverage of a period within a month is a lookup of precomputed counts, and equals coverage
counted from the month bits for every period of the month, whole, per distributor and per date. An outlet change
that alters the outlets counted (added, deactivated, moved, deleted) makes the distributors' months stale at once (the
trigger on the outlet table), and the reads fall back to the bits for them until the month is rebuilt."""

from __future__ import annotations

import random
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from analytics.builders import coverage_refresh
from analytics.kpi_reads import _month_coverage, coverage
from analytics.models import CoverageMonthFact, OutletMonthFact
from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from tests.factories.catalog import make_outlet
from tests.threads import at_once

MONTH = date(2026, 10, 1)  # 31 days
NEXT = date(2026, 11, 1)


def seed_bits(cast: Any, *, outlets: int = 12, seed: int = 5) -> list[Outlet]:
    """Outlets at both distributors with random visited-day bits in MONTH and NEXT (some never called, one
    inactive), written as the builder writes them."""
    rng = random.Random(seed)
    made = [make_outlet(cast.distributors[i % 2]) for i in range(outlets)]
    made.append(make_outlet(cast.distributors[0], active=False))
    with tenant_scope(Scope.system(cast.tenant.pk)):
        for outlet in made:
            for month, days in ((MONTH, 31), (NEXT, 30)):
                bits = 0 if rng.random() < 0.2 else sum(1 << d for d in range(days) if rng.random() < 0.15)
                OutletMonthFact.objects.create(distributor_id=outlet.distributor_id, date=month,
                                               outlet_id=outlet.pk, visited_days=bits)
    return made


def build(tenant_id: int, *months: date) -> int:
    with tenant_scope(Scope.system(tenant_id, "analytics")) as scope:
        return sum(coverage_refresh(scope=scope, month=m) for m in months)


def both(tenant_id: int, date_from: date, date_to: date, group: str | None, **filters: Any) -> tuple[Any, Any]:
    """(the lookup's coverage, the bits' coverage) of the period."""
    with tenant_scope(Scope.system(tenant_id)) as scope:
        looked = coverage(scope=scope, date_from=date_from, date_to=date_to, filters=filters, group=group)
        rows = _month_coverage(scope=scope, date_from=date_from, date_to=date_to, filters=filters, group=group)
    if group == "date":
        total = sum(r[2] for r in rows if r[1] is None)
        return looked, {d: {"outlets_in_scope": total, "outlets_visited": n} for _k, d, _t, n in rows if d}
    return looked, {(None if group is None else k): {"outlets_in_scope": t, "outlets_visited": n}
                    for k, _d, t, n in rows}


def markers(tenant_id: int) -> set[tuple[int, date]]:
    with tenant_scope(Scope.system(tenant_id)):
        return set(CoverageMonthFact.objects.filter(from_day=0).values_list("distributor_id", "date"))


def test_the_lookup_equals_the_bits_for_every_period_of_a_month(cast_a: Any) -> None:
    tid = cast_a.tenant.pk
    seed_bits(cast_a)
    assert build(tid, MONTH) > 2  # the markers and the counts
    a1, a2 = (d.pk for d in cast_a.distributors[:2])
    assert markers(tid) == {(a1, MONTH), (a2, MONTH)}
    with tenant_scope(Scope.system(tid)):  # each marker holds its distributor's active outlets
        assert dict(CoverageMonthFact.objects.filter(from_day=0).values_list("distributor_id", "outlets")) == {
            a1: 6, a2: 6}
    compared = 0
    for first in range(1, 32):
        for last in range(first, 32):
            date_from, date_to = MONTH.replace(day=first), MONTH.replace(day=last)
            for group in (None, "distributor"):
                looked, bits = both(tid, date_from, date_to, group)
                assert looked == bits, (first, last, group)
                compared += 1
            looked, bits = both(tid, date_from, date_to, None, distributor_id=a2)
            assert looked == bits
    assert compared == 2 * 496
    whole, _ = both(tid, MONTH, MONTH.replace(day=31), None)
    assert 0 < whole[None]["outlets_visited"] < whole[None]["outlets_in_scope"] == 12  # the inactive one is out
    looked, bits = both(tid, MONTH, MONTH.replace(day=31), "date")
    assert looked == bits and len(looked) > 10


def test_a_series_across_months_mixes_built_and_unbuilt_months(cast_a: Any) -> None:
    """NEXT is not built: its dates are read from the bits, MONTH's from the lookup; the same figures either way."""
    tid = cast_a.tenant.pk
    seed_bits(cast_a, seed=9)
    build(tid, MONTH)
    looked, bits = both(tid, date(2026, 10, 20), date(2026, 11, 12), "date")
    assert looked == bits and any(d.month == 11 for d in looked) and any(d.month == 10 for d in looked)
    # a whole period across the boundary is counted from the bits (an outlet is counted once over both months)
    looked, bits = both(tid, date(2026, 10, 20), date(2026, 11, 12), None)
    assert looked == bits


def test_an_outlet_change_makes_its_distributors_months_stale_and_the_reads_stay_exact(cast_a: Any) -> None:
    tid = cast_a.tenant.pk
    made = seed_bits(cast_a, seed=11)
    build(tid, MONTH, NEXT)
    a1, a2 = (d.pk for d in cast_a.distributors[:2])
    period = (MONTH.replace(day=3), MONTH.replace(day=17))
    before, _ = both(tid, *period, "distributor")
    # a called outlet of a1 deactivated: a1's months go (the trigger), a2's stay; the read counts it out
    with tenant_scope(Scope.system(tid)):
        called = next(o for o in made if o.distributor_id == a1 and o.active and OutletMonthFact.objects.filter(
            outlet_id=o.pk, date=MONTH, visited_days__gt=0).exists())
        bits = OutletMonthFact.objects.get(outlet_id=called.pk, date=MONTH).visited_days
        Outlet.objects.filter(pk=called.pk).update(active=False)
    assert markers(tid) == {(a2, MONTH), (a2, NEXT)}
    looked, from_bits = both(tid, *period, "distributor")
    assert looked == from_bits
    assert looked[a1]["outlets_in_scope"] == before[a1]["outlets_in_scope"] - 1
    called_in_period = bits & sum(1 << (d - 1) for d in range(3, 18)) != 0
    assert looked[a1]["outlets_visited"] == before[a1]["outlets_visited"] - called_in_period
    assert looked[a2] == before[a2]
    # rebuilt: a1's month is a lookup again, with the same figures
    build(tid, MONTH)
    assert (a1, MONTH) in markers(tid)
    assert both(tid, *period, "distributor")[0] == looked
    # an outlet moved to the other distributor: both distributors' months go; an update of a name does nothing
    with tenant_scope(Scope.system(tid)):
        Outlet.objects.filter(pk=made[1].pk).update(name="Renamed")
    assert markers(tid) == {(a1, MONTH), (a2, MONTH), (a2, NEXT)}
    with tenant_scope(Scope.system(tid)):
        Outlet.objects.filter(pk=made[1].pk).update(distributor_id=a1)
    assert markers(tid) == set()
    for group in (None, "distributor", "date"):
        looked, bits_now = both(tid, *period, group)
        assert looked == bits_now
    # deleted: its distributor's months go
    build(tid, MONTH)
    with tenant_scope(Scope.system(tid)):
        OutletMonthFact.objects.filter(outlet_id=made[0].pk).delete()
        Outlet.objects.filter(pk=made[0].pk).delete()
    assert markers(tid) == {(a2, MONTH)}
    # added: the new outlet is in scope (not called), so its distributor's months go; an inactive one changes nothing
    build(tid, MONTH)
    before, _ = both(tid, *period, "distributor")
    make_outlet(cast_a.distributors[0], active=False)
    assert markers(tid) == {(a1, MONTH), (a2, MONTH)}
    make_outlet(cast_a.distributors[0])
    assert markers(tid) == {(a2, MONTH)}
    looked, from_bits = both(tid, *period, "distributor")
    assert looked == from_bits
    assert looked[a1] == {**before[a1], "outlets_in_scope": before[a1]["outlets_in_scope"] + 1}


def test_a_date_refresh_builds_its_months_coverage(cast_a: Any, api_as: Any) -> None:
    from tests.analytics.test_facts import booker_day, refresh

    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    a1 = cast_a.distributors[0].pk
    assert (a1, day.today.replace(day=1)) in markers(cast_a.tenant.pk)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        called = CoverageMonthFact.objects.get(distributor_id=a1, date=day.today.replace(day=1),
                                               from_day=day.today.day, call_day=day.today.day).outlets
    assert called == 4  # SHOP0, SHOP1, SHOP3 and EXTRA; SHOP2 was missed
    looked, bits = both(cast_a.tenant.pk, day.today - timedelta(days=day.today.day - 1), day.today, None)
    assert looked == bits and looked[None]["outlets_visited"] == 4


def test_the_nightly_refresh_rebuilds_the_months_an_outlet_change_made_stale(cast_a: Any) -> None:
    from analytics.tasks import facts_refresh_task

    tid = cast_a.tenant.pk
    made = seed_bits(cast_a, seed=13)
    build(tid, MONTH, NEXT)
    a1, a2 = (d.pk for d in cast_a.distributors[:2])
    with tenant_scope(Scope.system(tid)):
        Outlet.objects.filter(pk=made[0].pk).update(active=False)  # a1's
    assert markers(tid) == {(a2, MONTH), (a2, NEXT)}
    stale_read = both(tid, MONTH.replace(day=2), MONTH.replace(day=20), "distributor")
    # a distributor's refresh (after its sync) leaves the healing to the nightly one
    assert "coverage_months_healed" not in facts_refresh_task(tenant_id=tid, business_date="2026-11-05",
                                                              distributor_ids=[a2])
    assert (a1, MONTH) not in markers(tid)
    # the nightly refresh of a date in NEXT rebuilds NEXT (its own month) for every distributor, and MONTH for a1
    counts = facts_refresh_task(tenant_id=tid, business_date="2026-11-05")
    assert counts["coverage_months_healed"] == 1
    assert markers(tid) == {(a1, MONTH), (a2, MONTH), (a1, NEXT), (a2, NEXT)}
    assert both(tid, MONTH.replace(day=2), MONTH.replace(day=20), "distributor") == stale_read
    assert facts_refresh_task(tenant_id=tid, business_date="2026-11-05")["coverage_months_healed"] == 0


@pytest.mark.django_db(transaction=True)
def test_an_outlet_added_while_the_months_are_counted_is_not_lost(cast_a: Any) -> None:
    """An outlet is inserted (its trigger runs) and committed only while a rebuild is counting: the rebuild waits
    for it (the SHARE lock) and counts it, so the markers never hold a count the trigger can no longer clear."""
    tid = cast_a.tenant.pk
    seed_bits(cast_a, seed=17)
    a1 = cast_a.distributors[0].pk
    inserted, release = threading.Event(), threading.Event()

    def add_outlet() -> None:
        try:
            with tenant_scope(Scope.system(tid)):
                make_outlet(cast_a.distributors[0])
                inserted.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    def rebuild() -> float:
        inserted.wait(timeout=20)
        started = time.monotonic()
        threading.Timer(1.0, release.set).start()  # the outlet's transaction commits a second later
        try:
            build(tid, MONTH)
        finally:
            connection.close()
        return time.monotonic() - started

    _none, waited = at_once([add_outlet, rebuild])
    assert waited >= 0.9  # the rebuild waited for the outlet's commit
    with tenant_scope(Scope.system(tid)):
        active = Outlet.objects.filter(distributor_id=a1, active=True).count()
        counted = list(CoverageMonthFact.objects.filter(distributor_id=a1, date=MONTH, from_day=0).values_list(
            "outlets", flat=True))
    assert counted == [active] == [7]  # 6 seeded + the new one
