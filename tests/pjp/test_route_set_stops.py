"""route_set_stops: order, version, stale versions, outlets of the route's distributor only, intruders."""

from __future__ import annotations

from typing import Any

import pytest

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.errors import PjpError
from pjp.models import RouteStop
from pjp.services import route_set_stops, route_update
from tests.factories.pjp import MON, THU, make_plan, make_route, set_stops, staff_scope

pytestmark = pytest.mark.django_db


def stops_of(route: Any) -> list[tuple[int, int, int | None, list[int]]]:
    with tenant_scope(Scope.system(route.tenant_id)):
        return list(RouteStop.objects.filter(route=route).order_by("sequence")
                    .values_list("outlet_id", "sequence", "service_minutes", "weeks"))


def test_stops_are_replaced_in_the_given_order_and_the_version_is_bumped(dist_a1, outlets_a1):
    # given
    o1, o2, o3 = outlets_a1[:3]
    route = make_route(dist_a1, [o1, o2, o3])
    assert route.version == 2
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope:
        route = route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[o3.pk, o1.pk], expected_version=2)
    # then
    assert route.version == 3
    assert [(o, s) for o, s, _m, _w in stops_of(route)] == [(o3.pk, 1), (o1.pk, 2)]


def test_setting_the_same_stops_again_changes_nothing(dist_a1, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:3])
    # when
    again = set_stops(route, [o.pk for o in outlets_a1[:3]])
    # then
    assert again.version == route.version


def test_a_stale_expected_version_is_a_409_conflict(dist_a1, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:2])
    set_stops(route, [outlets_a1[1].pk, outlets_a1[0].pk])  # someone else reordered: version 3
    # when
    with tenant_scope(staff_scope(dist_a1)) as scope, pytest.raises(DomainError) as exc:
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[outlets_a1[0].pk], expected_version=2)
    # then
    assert exc.value.status_code == 409
    assert exc.value.code == PjpError.STALE_VERSION
    assert "expected_version" in exc.value.fields
    assert len(stops_of(route)) == 2


def test_an_outlet_of_another_distributor_is_refused_naming_its_position(dist_a1, dist_a2, outlets_a1,
                                                                         outlet_factory):
    # given
    route = make_route(dist_a1)
    foreign = outlet_factory(dist_a2, code="A2-X")
    # when
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope, pytest.raises(DomainError) as exc:
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[outlets_a1[0].pk, foreign.pk])
    # then
    assert exc.value.status_code == 400
    assert list(exc.value.fields) == ["outlet_ids[1]"]
    assert dist_a1.code in exc.value.fields["outlet_ids[1]"][0]


def test_a_duplicate_or_inactive_outlet_is_refused_naming_its_position(dist_a1, outlets_a1, outlet_factory):
    # given
    route = make_route(dist_a1)
    closed = outlet_factory(dist_a1, code="A1-CLOSED", active=False)
    o1, o2 = outlets_a1[:2]
    # when
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope, pytest.raises(DomainError) as exc:
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[o1.pk, o2.pk, o1.pk, closed.pk])
    # then
    assert set(exc.value.fields) == {"outlet_ids[2]", "outlet_ids[3]"}
    assert "outlet_ids[0]" in exc.value.fields["outlet_ids[2]"][0]
    assert "inactive" in exc.value.fields["outlet_ids[3]"][0]


def test_invalid_weeks_and_service_minutes_are_refused_by_outlet(dist_a1, outlets_a1):
    # given
    route = make_route(dist_a1)
    o1, o2 = outlets_a1[:2]
    # when
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope, pytest.raises(DomainError) as exc:
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[o1.pk], weeks={o1.pk: [1, 5], o2.pk: [1]},
                        service_minutes={o1.pk: 0})
    # then
    assert set(exc.value.fields) == {f"weeks[{o1.pk}]", f"weeks[{o2.pk}]", f"service_minutes[{o1.pk}]"}


def test_a_reorder_keeps_each_outlets_service_minutes_and_weeks(dist_a1, outlets_a1):
    # given
    o1, o2, o3 = outlets_a1[:3]
    route = make_route(dist_a1)
    set_stops(route, [o1.pk, o2.pk], service_minutes={o1.pk: 25}, weeks={o2.pk: [1, 3]})
    # when
    set_stops(route, [o2.pk, o3.pk, o1.pk])
    # then
    assert stops_of(route) == [(o2.pk, 1, None, [1, 3]), (o3.pk, 2, None, []), (o1.pk, 3, 25, [])]


def test_staff_of_a_sibling_distributor_gets_not_found(dist_a1, dist_a2, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:2])
    # when
    with tenant_scope(staff_scope(dist_a2)) as scope, pytest.raises(NotFound):
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[])
    # then
    assert len(stops_of(route)) == 2


def test_another_tenant_gets_not_found(cast_b, dist_a1, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    # when / then
    with tenant_scope(Scope.system(cast_b.tenant.pk)) as scope, pytest.raises(NotFound):
        route_set_stops(scope=scope, route_id=route.pk, outlet_ids=[])


def test_a_stop_change_that_makes_a_planned_outlet_twice_a_week_is_refused(dist_a1, booker, outlets_a1):
    # given: route A on Monday, route B on Thursday, disjoint outlets
    o1, o2, o3 = outlets_a1[:3]
    route_a, route_b = make_route(dist_a1, [o1, o2]), make_route(dist_a1, [o3])
    make_plan(dist_a1, booker, [(1, MON, route_a), (1, THU, route_b)])
    # when: o1 is added to route B as well
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope, pytest.raises(DomainError) as exc:
        route_set_stops(scope=scope, route_id=route_b.pk, outlet_ids=[o3.pk, o1.pk])
    # then
    assert exc.value.code == PjpError.OUTLET_OVERLAP
    assert list(exc.value.fields) == ["outlet_ids[1]"]
    assert o1.code in exc.value.message and route_a.code in exc.value.message and route_b.code in exc.value.message
    assert [s[0] for s in stops_of(route_b)] == [o3.pk]


def test_a_route_in_a_plan_cannot_be_deactivated(dist_a1, booker, outlets_a1):
    # given
    route = make_route(dist_a1, outlets_a1[:1])
    make_plan(dist_a1, booker, [(1, MON, route)])
    # when
    with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope, pytest.raises(DomainError) as exc:
        route_update(scope=scope, route_id=route.pk, active=False)
    # then
    assert exc.value.code == PjpError.ROUTE_IN_USE
    assert booker.username in exc.value.message
