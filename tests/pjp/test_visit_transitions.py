"""visit_mark_missed: planned -> missed with an event; idempotent; wrong state; future days; intruders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dms.core.errors import DomainError, InvalidTransition, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.enums import VisitStatus
from pjp.errors import PjpError
from pjp.models import Visit, VisitEvent
from pjp.services import visit_mark_missed
from tests.factories.pjp import make_plan, make_route, monday_of, staff_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def visits(cast_a: Any, dist_a1: Any, booker: Any, outlets_a1: list[Any]) -> dict[str, Visit]:
    """Today's and tomorrow's first visits: publishing a plan from today builds the coming days at once."""
    today = timezone.now().astimezone(cast_a.tenant.tz).date()
    tomorrow = today + timedelta(days=1)
    make_plan(dist_a1, booker, [(1, today.weekday(), make_route(dist_a1, outlets_a1[:2])),
                                (1, tomorrow.weekday(), make_route(dist_a1, outlets_a1[2:4]))],
              anchor=monday_of(today), effective_from=today)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        return {"today": Visit.objects.get(journey__date=today, sequence=1),
                "tomorrow": Visit.objects.get(journey__date=tomorrow, sequence=1)}


def test_a_planned_visit_is_marked_missed_with_an_event(dist_a1, visits):
    # given
    scope = staff_scope(dist_a1)
    # when
    with tenant_scope(scope):
        visit = visit_mark_missed(scope=scope, visit_id=visits["today"].pk, reason="shop closed at the visit")
        events = list(VisitEvent.objects.filter(visit=visit).values_list(
            "from_status", "to_status", "actor_kind", "actor_label", "reason", "distributor_id"))
    # then
    assert visit.status == VisitStatus.MISSED
    assert events == [(VisitStatus.PLANNED, VisitStatus.MISSED, "user", "staff", "shop closed at the visit",
                       dist_a1.pk)]


def test_marking_a_missed_visit_again_changes_nothing(dist_a1, visits):
    # given
    scope = staff_scope(dist_a1)
    with tenant_scope(scope):
        visit_mark_missed(scope=scope, visit_id=visits["today"].pk)
    # when
    with tenant_scope(scope):
        visit = visit_mark_missed(scope=scope, visit_id=visits["today"].pk)
        # then
        assert visit.status == VisitStatus.MISSED
        assert VisitEvent.objects.filter(visit=visit).count() == 1


def test_a_checked_in_visit_cannot_be_missed(dist_a1, visits):
    # given
    scope = staff_scope(dist_a1)
    with tenant_scope(scope):
        Visit.objects.filter(pk=visits["today"].pk).update(status=VisitStatus.CHECKED_IN)
    # when
    with tenant_scope(scope), pytest.raises(InvalidTransition) as exc:
        visit_mark_missed(scope=scope, visit_id=visits["today"].pk)
    # then
    assert exc.value.status_code == 409


def test_a_visit_of_a_day_to_come_cannot_be_missed(dist_a1, visits):
    # given
    scope = staff_scope(dist_a1)
    # when
    with tenant_scope(scope), pytest.raises(DomainError) as exc:
        visit_mark_missed(scope=scope, visit_id=visits["tomorrow"].pk)
    # then
    assert exc.value.code == PjpError.FUTURE_VISIT


def test_staff_of_a_sibling_distributor_gets_not_found(dist_a2, visits):
    # given
    scope = staff_scope(dist_a2)
    # when / then
    with tenant_scope(scope), pytest.raises(NotFound):
        visit_mark_missed(scope=scope, visit_id=visits["today"].pk)


def test_another_tenant_gets_not_found(cast_b, visits):
    # when / then
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope, pytest.raises(NotFound):
        visit_mark_missed(scope=scope, visit_id=visits["today"].pk)
