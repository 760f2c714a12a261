"""The nightly schedule: when a tenant's business date closes (its closing hour in its own time zone, DST days
included), the hourly fan-out that starts each tenant's run once, and the redrive of runs no worker holds.

The fan-out's dates are in 2025: a run of a date that has not come is refused against the real clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant, TenantSettings
from dms.tenancy.scope import Scope
from dms.tenancy.services import tenant_create
from reconciliation.enums import RunStatus, RunTrigger
from reconciliation.models import ReconciliationRun
from reconciliation.services import close_instant, latest_closed_date, reconcile_due, reconcile_redrive
from reconciliation.services.run import LEASE, QUEUED_GRACE

NEW_YORK = ZoneInfo("America/New_York")
KARACHI = ZoneInfo("Asia/Karachi")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- the calendar ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "tz", "hour", "closes"), [
    # an evening close is on the date itself
    (date(2026, 5, 10), KARACHI, 23, utc(2026, 5, 10, 18)),
    (date(2026, 3, 7), NEW_YORK, 23, utc(2026, 3, 8, 4)),   # EST
    (date(2026, 3, 8), NEW_YORK, 23, utc(2026, 3, 9, 3)),   # the 23-hour day: EDT by its evening
    (date(2026, 11, 1), NEW_YORK, 23, utc(2026, 11, 2, 4)),  # the 25-hour day: EST by its evening
    (date(2026, 10, 31), NEW_YORK, 23, utc(2026, 11, 1, 3)),
    # a small hour closes the date on the next morning
    (date(2026, 5, 10), KARACHI, 2, utc(2026, 5, 10, 21)),
    (date(2026, 3, 7), NEW_YORK, 2, utc(2026, 3, 8, 7)),    # 02:00 does not exist that night: the jump to 03:00
    (date(2026, 3, 7), NEW_YORK, 3, utc(2026, 3, 8, 7)),    # 03:00 EDT, the same instant
    (date(2026, 10, 31), NEW_YORK, 1, utc(2026, 11, 1, 5)),  # 01:00 happens twice: the first, EDT
    (date(2026, 10, 31), NEW_YORK, 2, utc(2026, 11, 1, 7)),  # 02:00 EST, two hours after 01:00 EDT
])
def test_close_instant(day, tz, hour, closes):
    assert close_instant(day, tz, hour) == closes


@pytest.mark.parametrize(("now", "tz", "hour", "latest"), [
    (utc(2026, 5, 10, 17, 59), KARACHI, 23, date(2026, 5, 9)),
    (utc(2026, 5, 10, 18, 0), KARACHI, 23, date(2026, 5, 10)),
    (utc(2026, 5, 10, 19, 0), KARACHI, 23, date(2026, 5, 10)),   # local date already the 11th
    (utc(2026, 5, 10, 20, 59), KARACHI, 2, date(2026, 5, 9)),    # 01:59 on the 11th: the 10th still open
    (utc(2026, 5, 10, 21, 0), KARACHI, 2, date(2026, 5, 10)),
    (utc(2026, 3, 9, 2, 59), NEW_YORK, 23, date(2026, 3, 7)),
    (utc(2026, 3, 9, 3, 0), NEW_YORK, 23, date(2026, 3, 8)),
    (utc(2026, 11, 2, 3, 59), NEW_YORK, 23, date(2026, 10, 31)),  # 22:59 EST on the 1st
    (utc(2026, 11, 2, 4, 0), NEW_YORK, 23, date(2026, 11, 1)),
    (utc(2026, 11, 1, 4, 59), NEW_YORK, 1, date(2026, 10, 30)),  # 00:59 EDT
    (utc(2026, 11, 1, 5, 30), NEW_YORK, 1, date(2026, 10, 31)),  # 01:30 EDT, the first 01:30
    (utc(2026, 11, 1, 6, 30), NEW_YORK, 1, date(2026, 10, 31)),  # 01:30 EST, the second
])
def test_latest_closed_date(now, tz, hour, latest):
    assert latest_closed_date(now, tz, hour) == latest
    # the same instant given in the tenant's own zone answers the same
    assert latest_closed_date(now.astimezone(tz), tz, hour) == latest


def test_every_date_closes_exactly_once_across_dst_changes():
    # given: two weeks around each of New York's 2026 changes, and London's spring one
    for start, tz in ((utc(2026, 3, 1), NEW_YORK), (utc(2026, 10, 25), NEW_YORK),
                      (utc(2026, 3, 25), ZoneInfo("Europe/London"))):
        for hour in (0, 1, 2, 3, 23):
            # when: asked every 15 minutes
            seen = [latest_closed_date(start + timedelta(minutes=15 * k), tz, hour) for k in range(4 * 24 * 14)]
            # then: the dates follow one another, none skipped, none twice
            changes = [b for a, b in zip(seen, seen[1:], strict=False) if a != b]
            assert changes == [seen[0] + timedelta(days=n) for n in range(1, len(changes) + 1)], (tz, hour)
            assert len(changes) in (13, 14)


# --- the hourly fan-out ------------------------------------------------------------------------------------------

def make_tenant(slug: str, tz: str, closing_hour: int) -> Tenant:
    tenant = tenant_create(name=f"Tenant {slug}", slug=slug, time_zone=tz)
    with tenant_scope(Scope.system(tenant.pk)):
        TenantSettings.objects.update(day_close_hour=closing_hour)
    return tenant


def runs(tenant: Tenant) -> list[tuple[date, str, str]]:
    with tenant_scope(Scope.system(tenant.pk)):
        return list(ReconciliationRun.objects.order_by("business_date")
                    .values_list("business_date", "status", "trigger"))


@pytest.fixture
def karachi(db: None) -> Tenant:
    return make_tenant("khi", "Asia/Karachi", 23)


@pytest.fixture
def new_york(db: None) -> Tenant:
    return make_tenant("nyc", "America/New_York", 23)


def test_each_tenant_is_reconciled_once_a_day_for_its_own_business_date(karachi, new_york, enqueued,
                                                                        django_capture_on_commit_callbacks):
    # given: the schedule's state at the end of 2025-05-09 UTC
    reconcile_due(now=utc(2025, 5, 9, 23, 5))
    before = {karachi.pk: runs(karachi), new_york.pk: runs(new_york)}
    assert [d for d, *_ in before[karachi.pk]] == [date(2025, 5, 9)]
    assert [d for d, *_ in before[new_york.pk]] == [date(2025, 5, 8)]
    # when: beat calls it every hour of 2025-05-10 UTC
    started = []
    with django_capture_on_commit_callbacks(execute=True):
        for hour in range(24):
            started += [(hour, d.tenant_id, d.business_date) for d in reconcile_due(now=utc(2025, 5, 10, hour, 5))]
    # then: one run each, for its own date, at its own closing hour
    assert started == [(3, new_york.pk, date(2025, 5, 9)),   # 23:00 EDT on the 9th
                       (18, karachi.pk, date(2025, 5, 10))]  # 23:00 PKT on the 10th
    assert runs(karachi) == [*before[karachi.pk], (date(2025, 5, 10), RunStatus.QUEUED, RunTrigger.BEAT)]
    assert runs(new_york) == [*before[new_york.pk], (date(2025, 5, 9), RunStatus.QUEUED, RunTrigger.BEAT)]
    # and each was enqueued for a worker
    assert [e["tenant_id"] for e in enqueued] == [new_york.pk, karachi.pk]


def test_an_hour_missed_by_beat_is_caught_up_at_the_next(karachi, enqueued):
    # given
    reconcile_due(now=utc(2025, 5, 10, 17, 5))
    # when: beat was down at 18:05
    caught_up = reconcile_due(now=utc(2025, 5, 10, 19, 5))
    again = reconcile_due(now=utc(2025, 5, 10, 20, 5))
    # then
    assert [(d.tenant_id, d.business_date) for d in caught_up] == [(karachi.pk, date(2025, 5, 10))]
    assert again == []
    assert [d for d, *_ in runs(karachi)] == [date(2025, 5, 9), date(2025, 5, 10)]


def test_an_inactive_tenant_is_not_reconciled(karachi, enqueued):
    Tenant.objects.filter(pk=karachi.pk).update(active=False)
    assert reconcile_due(now=utc(2025, 5, 10, 19, 5)) == []
    assert runs(karachi) == []


def test_a_new_york_tenant_is_reconciled_once_per_date_across_the_autumn_change(new_york, enqueued):
    # when: every hour from 2025-10-31 to 2025-11-04 UTC (clocks went back on 2025-11-02 at 06:00 UTC)
    started = []
    for hour in range(24 * 5):
        now = utc(2025, 10, 31) + timedelta(hours=hour, minutes=5)
        started += [(now, d.business_date) for d in reconcile_due(now=now)]
    # then: each date once, an hour later in UTC after the change
    assert started == [(utc(2025, 10, 31, 0, 5), date(2025, 10, 29)),
                       (utc(2025, 10, 31, 3, 5), date(2025, 10, 30)),
                       (utc(2025, 11, 1, 3, 5), date(2025, 10, 31)),
                       (utc(2025, 11, 2, 3, 5), date(2025, 11, 1)),
                       (utc(2025, 11, 3, 4, 5), date(2025, 11, 2)),
                       (utc(2025, 11, 4, 4, 5), date(2025, 11, 3))]


# --- the redrive -------------------------------------------------------------------------------------------------

def test_the_redrive_picks_runs_no_worker_holds_and_leaves_live_ones(karachi, new_york, enqueued,
                                                                     django_capture_on_commit_callbacks):
    # given: runs of both tenants in every state
    now = timezone.now()
    made: dict[str, int] = {}

    def run(tenant: Tenant, name: str, day: date, status: str, lease: timedelta | None = None,
            idle: timedelta = timedelta(0)) -> None:
        with tenant_scope(Scope.system(tenant.pk)):
            row = ReconciliationRun.objects.create(business_date=day, status=status,
                                                   lease_until=None if lease is None else now + lease)
            ReconciliationRun.objects.filter(pk=row.pk).update(updated_at=now - idle)
        made[name] = row.pk

    d = date(2025, 5, 1)
    run(karachi, "dead", d, RunStatus.RUNNING, lease=-timedelta(seconds=1))
    run(karachi, "live", d + timedelta(1), RunStatus.RUNNING, lease=timedelta(minutes=3))
    run(karachi, "lost", d + timedelta(2), RunStatus.QUEUED, idle=QUEUED_GRACE + timedelta(seconds=1))
    run(karachi, "fresh", d + timedelta(3), RunStatus.QUEUED, idle=QUEUED_GRACE - timedelta(seconds=30))
    run(karachi, "done", d + timedelta(4), RunStatus.SUCCEEDED, idle=timedelta(days=1))
    run(karachi, "failed", d + timedelta(5), RunStatus.FAILED, idle=timedelta(days=1))
    run(new_york, "dead_ny", d, RunStatus.RUNNING, lease=-timedelta(minutes=1))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        picked = reconcile_redrive(now=now)
    # then
    assert sorted(picked) == sorted([made["dead"], made["lost"], made["dead_ny"]])
    assert sorted((e["tenant_id"], e["run_id"]) for e in enqueued) == sorted(
        [(karachi.pk, made["dead"]), (karachi.pk, made["lost"]), (new_york.pk, made["dead_ny"])])
    # and once the live run's lease passes, it is picked too
    assert made["live"] in reconcile_redrive(now=now + LEASE)
