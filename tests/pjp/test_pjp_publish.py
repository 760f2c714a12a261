"""pjp_publish: validation, one route a day, the outlet overlap rule across bookers, and versioning."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from pjp.errors import PjpError
from pjp.models import Pjp, PjpSlot
from pjp.selectors import pjp_in_force
from pjp.services import pjp_publish
from tests.factories.pjp import ANCHOR, FRI, MON, THU, TUE, make_plan, make_route, monday_of, set_stops, staff_scope

pytestmark = pytest.mark.django_db


def publish(dist: Any, booker: Any, slots: list[tuple[int, int, Any]], **kw: Any) -> Pjp:
    return make_plan(dist, booker, slots, **kw)


def refused(dist: Any, booker: Any, slots: list[tuple[int, int, Any]], **kw: Any) -> DomainError:
    with pytest.raises(DomainError) as exc:
        make_plan(dist, booker, slots, **kw)
    return exc.value


def local_today(tenant: Any) -> Any:
    return timezone.now().astimezone(tenant.tz).date()


def test_a_plan_is_published_with_its_slots(dist_a1, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:2])
    # when
    pjp = publish(dist_a1, booker, [(1, MON, route), (1, THU, make_route(dist_a1, outlets_a1[2:4]))], note="v1")
    # then
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        slots = list(PjpSlot.objects.filter(pjp=pjp).values_list("week", "weekday"))
    assert sorted(slots) == [(1, MON), (1, THU)]
    assert (pjp.effective_from, pjp.effective_to, pjp.replaces_id) == (ANCHOR, None, None)


def test_a_booker_on_two_routes_the_same_day_is_refused_with_a_clear_message(dist_a1, booker, outlets_a1):
    # given
    route_a, route_b = make_route(dist_a1, outlets_a1[:2], code="ALPHA"), make_route(dist_a1, outlets_a1[2:4])
    # when
    error = refused(dist_a1, booker, [(1, MON, route_a), (1, MON, route_b)])
    # then
    assert error.code == PjpError.BOOKER_DOUBLE_BOOKED
    assert list(error.fields) == ["slots[1]"]
    assert error.message.startswith(f"Booker {booker.username} is already on route ALPHA on Monday of week 1")


def test_an_outlet_on_two_routes_in_one_week_is_refused_naming_the_outlet_week_and_slots(dist_a1, booker, booker2,
                                                                                         outlets_a1):
    # given: booker 1 covers route A (o1, o2) on Mondays
    o1, o2, o3 = outlets_a1[:3]
    route_a, route_b = make_route(dist_a1, [o1, o2], code="RA"), make_route(dist_a1, [o3, o1], code="RB")
    publish(dist_a1, booker, [(1, MON, route_a)])
    # when: booker 2 would cover route B (o3, o1) on Thursdays
    error = refused(dist_a1, booker2, [(1, TUE, make_route(dist_a1, outlets_a1[4:5])), (1, THU, route_b)])
    # then
    assert error.code == PjpError.OUTLET_OVERLAP
    assert list(error.fields) == ["slots[1]"]
    assert error.message == (
        f"Outlet {o1.code} {o1.name} would be visited twice in the week of Monday 2030-01-07: "
        f"route RA on Monday 2030-01-07 (cycle week 1, booker {booker.username}) and "
        f"route RB on Thursday 2030-01-10 (cycle week 1, booker {booker2.username}).")


def test_two_bookers_on_the_same_route_the_same_day_visit_its_outlets_twice_a_day(dist_a1, booker, booker2,
                                                                                  outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:2])
    publish(dist_a1, booker, [(1, MON, route)])
    # when
    error = refused(dist_a1, booker2, [(1, MON, route)])
    # then
    assert error.code == PjpError.OUTLET_OVERLAP
    assert "twice on Monday 2030-01-07" in error.message


def test_a_fortnightly_outlet_may_share_the_week_pattern_with_another_route_in_the_other_week(dist_a1, booker,
                                                                                             outlets_a1):
    # given: o1 is on route A in week 1 only and on route B in week 2 only, of a fortnightly plan
    o1, o2, o3 = outlets_a1[:3]
    route_a, route_b = make_route(dist_a1), make_route(dist_a1)
    set_stops(route_a, [o1.pk, o2.pk], weeks={o1.pk: [1]})
    set_stops(route_b, [o3.pk, o1.pk], weeks={o1.pk: [2]})
    slots = [(1, MON, route_a), (2, MON, route_a), (1, FRI, route_b), (2, FRI, route_b)]
    # when
    pjp = publish(dist_a1, booker, slots, cycle_weeks=2)
    # then
    assert pjp.pk
    # and the same outlet in week 1 of both routes is refused
    route_c = make_route(dist_a1)
    set_stops(route_c, [o1.pk], weeks={o1.pk: [1]})
    error = refused(dist_a1, booker, [(1, MON, route_a), (1, FRI, route_c)], cycle_weeks=2,
                    effective_from=ANCHOR + timedelta(days=14))
    assert error.code == PjpError.OUTLET_OVERLAP and o1.code in error.message


def test_a_weekly_outlet_twice_a_week_on_one_route_is_refused(dist_a1, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    # when
    error = refused(dist_a1, booker, [(1, MON, route), (1, THU, route)])
    # then
    assert error.code == PjpError.OUTLET_OVERLAP
    assert set(error.fields) <= {"slots[0]", "slots[1]"}


@pytest.mark.parametrize(("kwargs", "week", "field"), [
    ({"cycle_weeks": 3}, 1, "cycle_weeks"),
    ({"anchor": ANCHOR + timedelta(days=1)}, 1, "cycle_anchor"),
    ({"cycle_weeks": 2}, 3, "slots[0].week"),
])
def test_invalid_plans_are_refused_naming_the_field(dist_a1, booker, outlets_a1, kwargs, week, field):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    # when
    error = refused(dist_a1, booker, [(week, MON, route)], **kwargs)
    # then
    assert field in error.fields


def test_a_plan_starting_in_the_past_is_refused(cast_a, dist_a1, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    yesterday = local_today(cast_a.tenant) - timedelta(days=1)
    # when
    error = refused(dist_a1, booker, [(1, MON, route)], anchor=monday_of(yesterday), effective_from=yesterday)
    # then
    assert "effective_from" in error.fields


def test_a_user_who_is_not_an_order_booker_of_the_distributor_is_refused(cast_a, dist_a1, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    # when
    staff = refused(dist_a1, cast_a.users[Role.DISTRIBUTOR_STAFF], [(1, MON, route)])
    sibling = refused(dist_a1, cast_a.users[f"{Role.ORDER_BOOKER}@{cast_a.distributors[1].code}"],
                      [(1, MON, route)])
    # then
    assert staff.code == PjpError.INVALID and "booker_id" in staff.fields
    assert "booker_id" in sibling.fields


def test_a_route_of_another_distributor_or_inactive_is_refused(dist_a1, dist_a2, booker, outlets_a1):
    # given
    foreign = make_route(dist_a2)
    idle = make_route(dist_a1, active=False)
    # when
    error = refused(dist_a1, booker, [(1, MON, foreign), (1, TUE, idle)])
    # then
    assert set(error.fields) == {"slots[0].route_id", "slots[1].route_id"}
    assert "inactive" in error.fields["slots[1].route_id"][0]


def test_staff_of_a_sibling_distributor_gets_not_found(dist_a1, dist_a2, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    # when / then
    with tenant_scope(staff_scope(dist_a2)) as scope, pytest.raises(NotFound):
        pjp_publish(scope=scope, distributor_id=dist_a1.pk, booker_id=booker.pk, cycle_weeks=1, cycle_anchor=ANCHOR,
                    effective_from=ANCHOR, slots=[(1, MON, route.pk)])


def test_a_new_version_closes_the_old_one_and_history_keeps_the_old_plan_for_past_dates(dist_a1, booker,
                                                                                        outlets_a1):
    # given
    route_a, route_b = make_route(dist_a1, outlets_a1[:2]), make_route(dist_a1, outlets_a1[2:4])
    v1 = publish(dist_a1, booker, [(1, MON, route_a)])
    # when
    v2 = publish(dist_a1, booker, [(1, TUE, route_b)], effective_from=ANCHOR + timedelta(days=28))
    # then
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
        v1.refresh_from_db()
        assert v1.effective_to == ANCHOR + timedelta(days=27)
        assert v2.replaces_id == v1.pk and v2.effective_to is None
        assert pjp_in_force(scope=scope, booker_id=booker.pk, day=ANCHOR + timedelta(days=10)) == v1
        assert pjp_in_force(scope=scope, booker_id=booker.pk, day=ANCHOR + timedelta(days=28)) == v2
        assert pjp_in_force(scope=scope, booker_id=booker.pk, day=ANCHOR - timedelta(days=1)) is None


def test_a_version_that_has_not_started_is_replaced_by_one_from_the_same_date(dist_a1, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:2])
    v1 = publish(dist_a1, booker, [(1, MON, route)])
    v2 = publish(dist_a1, booker, [(1, MON, route)], effective_from=ANCHOR + timedelta(days=28))
    # when
    v3 = publish(dist_a1, booker, [(1, TUE, route)], effective_from=ANCHOR + timedelta(days=28))
    # then
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert not Pjp.objects.filter(pk=v2.pk).exists()
        assert v3.replaces_id == v1.pk
        v1.refresh_from_db()
        assert v1.effective_to == ANCHOR + timedelta(days=27)


def test_a_version_that_has_started_cannot_be_replaced_from_the_same_day(cast_a, dist_a1, booker, outlets_a1):
    # given: a plan in force since today
    today = local_today(cast_a.tenant)
    route = make_route(dist_a1, outlets_a1[:2])
    publish(dist_a1, booker, [(1, today.weekday(), route)], anchor=monday_of(today), effective_from=today)
    # when
    error = refused(dist_a1, booker, [(1, today.weekday(), route)], anchor=monday_of(today), effective_from=today)
    # then
    assert error.code == PjpError.VERSION_CONFLICT and error.status_code == 409
    assert "effective_from" in error.fields


def test_the_overlap_check_sees_another_bookers_future_version(dist_a1, booker, booker2, outlets_a1):
    # given: booker 2 moves onto route A's outlets from week 5
    o1, o2, o3 = outlets_a1[:3]
    route_a, route_x = make_route(dist_a1, [o1, o2]), make_route(dist_a1, [o3])
    publish(dist_a1, booker2, [(1, THU, route_x)])
    publish(dist_a1, booker2, [(1, THU, route_a)], effective_from=ANCHOR + timedelta(days=28))
    # when: booker 1 would take route A on Mondays from the start
    error = refused(dist_a1, booker, [(1, MON, route_a)])
    # then
    assert error.code == PjpError.OUTLET_OVERLAP
    assert "2030-02-04" in error.message
