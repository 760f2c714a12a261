"""visits_close_day: a date's planned visits -> missed in one statement, each with its event; idempotent; days to
come refused; the scope's distributors only; a visit checked in while the day closes stays checked in."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import membership_grant, user_create
from pjp.enums import VisitStatus
from pjp.errors import PjpError
from pjp.models import Visit, VisitEvent
from pjp.services import visits_close_day
from pjp.services.dayclose import DAY_CLOSED
from tests.conftest import PASSWORD
from tests.factories.catalog import make_outlet
from tests.factories.pjp import make_plan, make_route, monday_of, staff_scope
from tests.threads import at_once


def _days(cast: Any) -> dict[str, Any]:
    """Today: A1's booker at three outlets, A1's second booker at two, A2's booker at one; tomorrow: A1's booker at
    one more. Publishing plans from today builds the coming days' journeys at once."""
    a1, a2 = cast.distributors
    today = timezone.now().astimezone(cast.tenant.tz).date()
    tomorrow = today + timedelta(days=1)
    shops = [make_outlet(a1, code=f"A1-O{i}", name=f"Shop {i}") for i in range(6)]
    booker, booker2 = cast.users[Role.ORDER_BOOKER], cast.users[f"{Role.ORDER_BOOKER}@{a2.code}"]
    make_plan(a1, booker, [(1, today.weekday(), make_route(a1, shops[:3])),
                           (1, tomorrow.weekday(), make_route(a1, shops[5:6]))],
              anchor=monday_of(today), effective_from=today)
    second = user_create(username="a-a1-booker-2", password=PASSWORD)
    with tenant_scope(Scope.system(cast.tenant.pk)) as scope:
        membership_grant(scope=scope, user=second, role=Role.ORDER_BOOKER, distributor=a1)
    make_plan(a1, second, [(1, today.weekday(), make_route(a1, shops[3:5]))], anchor=monday_of(today),
              effective_from=today)
    make_plan(a2, booker2, [(1, today.weekday(), make_route(a2, [make_outlet(a2, code="A2-O1")]))],
              anchor=monday_of(today), effective_from=today)
    return {"today": today, "tomorrow": tomorrow, "a1": a1, "a2": a2}


@pytest.fixture
def days(cast_a: Any) -> dict[str, Any]:
    return _days(cast_a)


def statuses(tenant_id: int, **filters: Any) -> dict[int, str]:
    with tenant_scope(Scope.system(tenant_id)):
        return dict(Visit.objects.filter(**filters).values_list("pk", "status"))


@pytest.mark.django_db
def test_the_days_planned_visits_become_missed_each_with_an_event(cast_a, days):
    # given: one of today's visits was checked in
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        visited = Visit.objects.filter(journey__date=days["today"]).order_by("pk")[0]
        Visit.objects.filter(pk=visited.pk).update(status=VisitStatus.CHECKED_IN)
    # when
    with tenant_scope(Scope.system(tid, "reconciliation")) as scope:
        missed = visits_close_day(scope=scope, date=days["today"])
        events = list(VisitEvent.objects.filter(visit__journey__date=days["today"]).values_list(
            "visit__distributor_id", "distributor_id", "from_status", "to_status", "actor_kind", "actor_label",
            "reason"))
    # then: the five others of today (both distributors) are missed; tomorrow's visit is untouched
    today = statuses(tid, journey__date=days["today"])
    assert missed == 5
    assert sorted(today.values()) == [VisitStatus.CHECKED_IN] + [VisitStatus.MISSED] * 5
    assert today[visited.pk] == VisitStatus.CHECKED_IN
    assert list(statuses(tid, journey__date=days["tomorrow"]).values()) == [VisitStatus.PLANNED]
    assert len(events) == 5
    assert {e[2:] for e in events} == {(VisitStatus.PLANNED, VisitStatus.MISSED, "system", "reconciliation",
                                        DAY_CLOSED)}
    assert all(visit_distributor == distributor for visit_distributor, distributor, *_ in events)
    assert sorted(e[1] for e in events) == sorted([days["a1"].pk] * 4 + [days["a2"].pk])


@pytest.mark.django_db
def test_closing_a_closed_day_again_marks_nothing(cast_a, days):
    # given
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)) as scope:
        first = visits_close_day(scope=scope, date=days["today"])
    # when
    with tenant_scope(Scope.system(tid)) as scope:
        again = visits_close_day(scope=scope, date=days["today"])
        events = VisitEvent.objects.count()
    # then
    assert (first, again, events) == (6, 0, 6)


@pytest.mark.django_db
def test_staff_close_only_their_distributors_day(cast_a, days):
    # when
    scope = staff_scope(days["a2"])
    with tenant_scope(scope):
        missed = visits_close_day(scope=scope, date=days["today"])
    # then
    assert missed == 1
    assert set(statuses(cast_a.tenant.pk, distributor_id=days["a2"].pk).values()) == {VisitStatus.MISSED}
    assert set(statuses(cast_a.tenant.pk, distributor_id=days["a1"].pk).values()) == {VisitStatus.PLANNED}


@pytest.mark.django_db
def test_another_tenant_closes_nothing_of_this_one(cast_a, cast_b, days):
    # when
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope:
        missed = visits_close_day(scope=scope, date=days["today"])
    # then
    assert missed == 0
    assert set(statuses(cast_a.tenant.pk).values()) == {VisitStatus.PLANNED}


@pytest.mark.django_db
def test_a_day_that_has_not_come_cannot_be_closed(cast_a, days):
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, pytest.raises(DomainError) as exc:
        visits_close_day(scope=scope, date=days["tomorrow"])
    # then
    assert exc.value.code == PjpError.FUTURE_VISIT
    assert set(statuses(cast_a.tenant.pk, journey__date=days["tomorrow"]).values()) == {VisitStatus.PLANNED}


@pytest.mark.django_db
def test_the_close_costs_the_same_queries_whatever_the_days_size(cast_a, days):
    # given
    tid = cast_a.tenant.pk
    # when: six visits to close, then none
    with tenant_scope(Scope.system(tid)) as scope:
        with CaptureQueriesContext(connection) as six:
            assert visits_close_day(scope=scope, date=days["today"]) == 6
        with CaptureQueriesContext(connection) as none:
            assert visits_close_day(scope=scope, date=days["today"]) == 0
    # then: the policy, the one statement and the savepoint; no query per visit
    assert len(six) == len(none) <= 6


@pytest.mark.django_db(transaction=True)
def test_a_visit_checked_in_while_the_day_closes_stays_checked_in(cast_a):
    # given: a late sync holds today's first visit's lock and checks it in while the day close waits for it
    days = _days(cast_a)
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)):
        first = Visit.objects.filter(journey__date=days["today"]).order_by("pk")[0]
    locked = threading.Event()

    def late_sync() -> None:
        with tenant_scope(Scope.system(tid)):
            visit = Visit.objects.select_for_update().get(pk=first.pk)
            locked.set()
            threading.Event().wait(0.5)  # the day close starts and blocks on this row meanwhile
            visit.status = VisitStatus.CHECKED_IN
            visit.save(update_fields=["status"])

    def close() -> int:
        locked.wait(10)
        with tenant_scope(Scope.system(tid)) as scope:
            return visits_close_day(scope=scope, date=days["today"])

    # when
    _, missed = at_once([late_sync, close])
    # then
    assert missed == 5
    assert statuses(tid, pk=first.pk) == {first.pk: VisitStatus.CHECKED_IN}
    with tenant_scope(Scope.system(tid)):
        assert not VisitEvent.objects.filter(visit_id=first.pk).exists()
