"""The build-ahead tasks: one tenant in its own scope, batches of distributors, the hourly fan-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope
from pjp import tasks
from pjp.models import DailyJourney
from tests.factories.pjp import make_plan, make_route, monday_of

pytestmark = pytest.mark.django_db


def plan_for_today(cast: Any, outlet_factory: Any, distributor_index: int = 0) -> None:
    """A plan starting today with a route on today's weekday. Publishing builds the coming days at once,
    so the journeys are deleted again: the task under test must build them."""
    dist = cast.distributors[distributor_index]
    booker = cast.users[Role.ORDER_BOOKER if distributor_index == 0 else f"{Role.ORDER_BOOKER}@{dist.code}"]
    today = timezone.now().astimezone(cast.tenant.tz).date()
    route = make_route(dist, [outlet_factory(dist) for _ in range(2)])
    make_plan(dist, booker, [(1, today.weekday(), route)], anchor=monday_of(today), effective_from=today)
    with tenant_scope(Scope.system(cast.tenant.pk)):
        DailyJourney.objects.filter(distributor=dist).delete()


def journeys(tenant: Tenant) -> list[tuple[int, Any]]:
    with tenant_scope(Scope.system(tenant.pk)):
        return sorted(DailyJourney.objects.values_list("distributor_id", "date"))


def test_the_task_builds_the_tenants_coming_days_and_is_safe_to_run_twice(cast_a, outlet_factory):
    # given
    plan_for_today(cast_a, outlet_factory)
    # when
    first = tasks.journeys_build_ahead_task.delay(tenant_id=cast_a.tenant.pk).get()
    second = tasks.journeys_build_ahead_task.delay(tenant_id=cast_a.tenant.pk).get()
    # then
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    assert journeys(cast_a.tenant) == [(cast_a.distributors[0].pk, today)]
    assert first["journeys"] == second["journeys"] == 1
    assert first["last_day"] == (today + timedelta(days=3)).isoformat()


def test_distributors_are_built_in_batches_each_enqueued_after_the_last_commits(cast_a, outlet_factory, monkeypatch,
                                                                                django_capture_on_commit_callbacks):
    # given
    plan_for_today(cast_a, outlet_factory, 0)
    plan_for_today(cast_a, outlet_factory, 1)
    monkeypatch.setattr(tasks, "DISTRIBUTORS_PER_TASK", 1)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = tasks.journeys_build_ahead_task.delay(tenant_id=cast_a.tenant.pk).get()
    # then
    assert first["distributors"] == 1 and first["next_after"] == cast_a.distributors[0].pk
    assert len(callbacks) == 1
    assert {d for d, _day in journeys(cast_a.tenant)} == {d.pk for d in cast_a.distributors}


def test_the_fan_out_enqueues_the_tenants_whose_local_hour_has_come(cast_a, cast_b, outlet_factory, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    # given: both tenants are in Asia/Karachi (UTC+5); one is inactive
    plan_for_today(cast_a, outlet_factory)
    Tenant.objects.filter(pk=cast_b.tenant.pk).update(active=False)
    assert tasks.JOURNEY_BUILD_LOCAL_HOUR == 2
    monkeypatch.setattr(tasks, "_utc_now", lambda: datetime(2030, 1, 6, 21, 10, tzinfo=UTC))  # 02:10 in Karachi
    # when
    with django_capture_on_commit_callbacks(execute=True):
        due = tasks.journeys_build_ahead_all_task.delay().get()
    # then
    assert due == [cast_a.tenant.pk]
    assert journeys(cast_a.tenant)


def test_the_fan_out_skips_tenants_at_other_hours(cast_a, monkeypatch, django_capture_on_commit_callbacks):
    # given
    monkeypatch.setattr(tasks, "_utc_now", lambda: datetime(2030, 1, 7, 12, 0, tzinfo=UTC))  # 17:00 in Karachi
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        due = tasks.journeys_build_ahead_all_task.delay().get()
    # then
    assert due == [] and callbacks == []


def test_the_beat_entry_names_the_fan_out_task():
    entry = tasks.BEAT_SCHEDULE["pjp-journeys-build-ahead"]
    assert entry["task"] == tasks.journeys_build_ahead_all_task.name
