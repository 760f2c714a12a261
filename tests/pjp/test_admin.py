"""The route admin: the map of the stops, hand edits of the order through route_set_stops with the version
the page was loaded with, and who may see or change what.

The helpers at the top are shared with the other pjp admin test modules.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from pjp.models import Route, RouteStop
from tests.factories.catalog import make_outlet
from tests.factories.pjp import make_route, set_stops

pytestmark = pytest.mark.django_db

ROUTES = "/admin/pjp/route/"
BASE_LAT, BASE_LNG = Decimal("31.500000"), Decimal("74.300000")


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def line_outlets(distributor: Distributor, n: int, *, prefix: str = "L") -> list[Any]:
    """`n` outlets due east of the warehouse, 1 km apart, in code order L1..Ln; the warehouse is at the west end."""
    with tenant_scope(Scope.system(distributor.tenant_id)):
        Distributor.objects.filter(pk=distributor.pk).update(lat=BASE_LAT, lng=BASE_LNG)
    return [make_outlet(distributor, code=f"{prefix}{i}", name=f"Line shop {i}", lat=BASE_LAT,
                        lng=BASE_LNG + Decimal("0.010000") * i) for i in range(1, n + 1)]


def zigzag_route(distributor: Distributor, outlets: list[Any], **kw: Any) -> Route:
    """The outlets visited in a wasteful order: 1, 3, 5, 2, 4 (for five)."""
    order = [outlets[i] for i in sorted(range(len(outlets)), key=lambda i: (i % 2, i))]
    return make_route(distributor, order, **kw)


def stop_codes(route: Route) -> list[str]:
    with tenant_scope(Scope.system(route.tenant_id)):
        return list(RouteStop.objects.filter(route_id=route.pk).order_by("sequence")
                    .values_list("outlet__code", flat=True))


def route_version(route: Route) -> int:
    with tenant_scope(Scope.system(route.tenant_id)):
        return Route.objects.get(pk=route.pk).version


def change_data(route: Route, *, order: list[Any] | None = None, loaded_version: int | None = None,
                extra: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The change form as the browser posts it: the route's fields and one inline row per current stop, with
    the sequence typed in from `order` (outlets in the wanted order)."""
    with tenant_scope(Scope.system(route.tenant_id)):
        current = Route.objects.get(pk=route.pk)
        stops = list(RouteStop.objects.filter(route_id=route.pk).order_by("sequence"))
    position = {o.pk: i for i, o in enumerate(order, start=1)} if order is not None else {}
    data: dict[str, Any] = {
        "code": current.code, "name": current.name, "active": "on", "work_start": "09:00", "work_end": "18:00",
        "default_service_minutes": str(current.default_service_minutes), "start_lat": "", "start_lng": "",
        "end_lat": "", "end_lng": "",
        "loaded_version": str(current.version if loaded_version is None else loaded_version),
        "stops-TOTAL_FORMS": str(len(stops) + len(extra or [])), "stops-INITIAL_FORMS": str(len(stops)),
        "stops-MIN_NUM_FORMS": "0", "stops-MAX_NUM_FORMS": "1000", "_save": "Save",
    }
    for i, stop in enumerate(stops):
        data.update({f"stops-{i}-id": str(stop.pk), f"stops-{i}-route": str(route.pk),
                     f"stops-{i}-outlet": str(stop.outlet_id),
                     f"stops-{i}-sequence": str(position.get(stop.outlet_id, stop.sequence)),
                     f"stops-{i}-service_minutes": "" if stop.service_minutes is None else str(stop.service_minutes),
                     f"stops-{i}-weeks": ", ".join(str(w) for w in stop.weeks)})
    for j, row in enumerate(extra or [], start=len(stops)):
        data.update({f"stops-{j}-id": "", f"stops-{j}-route": str(route.pk),
                     **{f"stops-{j}-{k}": str(v) for k, v in row.items()}})
    data.update(fields)
    return data


def map_svg(html: str) -> str:
    """The first route map of the page (the admin has other, icon, SVGs)."""
    start = html.index('class="route-map"')
    return html[html.rindex("<svg", 0, start):html.index("</svg>", start) + len("</svg>")]


def svg_sequence(html: str) -> list[tuple[int, str]]:
    """(number, label) of each stop circle of the first route map, in document order."""
    svg = map_svg(html)
    groups = re.findall(r'<g class="stop" data-sequence="(\d+)">.*?class="stop-label"[^>]*>(.*?)</text>', svg)
    return [(int(n), label) for n, label in groups]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def line(dist_a1: Any) -> list[Any]:
    return line_outlets(dist_a1, 5)


@pytest.fixture
def route(dist_a1: Any, line: list[Any]) -> Route:
    return zigzag_route(dist_a1, line, code="ZIG")


# --- the map --------------------------------------------------------------------------------------------

def test_the_route_page_draws_the_stops_as_numbered_circles_in_visiting_order(cast_a, route):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    response = client.get(f"{ROUTES}{route.pk}/change/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="route-map"') == 1
    assert svg_sequence(html) == [(1, "L1"), (2, "L3"), (3, "L5"), (4, "L2"), (5, "L4")]
    assert html.count('class="stop-marker"') == 5
    assert 'class="route-start"' in html and 'class="route-path"' in html  # the warehouse starts and ends it
    assert "https://" not in map_svg(html)  # no tiles, nothing fetched
    assert "Estimated distance" in html and "Optimise order" in html


def test_the_map_is_projected_into_the_box_west_to_east(cast_a, route):
    # given: L1..L5 lie west to east on one parallel
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}{route.pk}/change/").content.decode()
    # when
    circles = re.findall(r'class="stop-marker" cx="([\d.]+)" cy="([\d.]+)"', html)
    xs = {label: float(cx) for (_n, label), (cx, _cy) in zip(svg_sequence(html), circles, strict=True)}
    ys = {float(cy) for _cx, cy in circles}
    # then: one row of circles, in longitude order, inside the 760 x 440 picture
    assert xs["L1"] < xs["L2"] < xs["L3"] < xs["L4"] < xs["L5"]
    assert len(ys) == 1 and 0 < min(xs.values()) and max(xs.values()) < 760


def test_outlet_names_and_codes_are_escaped_on_the_map(cast_a, dist_a1, line):
    # given
    evil = make_outlet(dist_a1, code="<b>X1</b>", name="<script>alert(1)</script>", lat=BASE_LAT,
                       lng=BASE_LNG + Decimal("0.050000"))
    route = make_route(dist_a1, [line[0], evil])
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}{route.pk}/change/").content.decode()
    # then
    svg = map_svg(html)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "&lt;b&gt;X1&lt;/b&gt;" in svg


def test_a_route_without_coordinates_says_so_instead_of_drawing(cast_a, dist_a1):
    # given
    route = make_route(dist_a1, [make_outlet(dist_a1, code="NOWHERE", lat=None, lng=None)])
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{ROUTES}{route.pk}/change/").content.decode()
    # then
    assert "No coordinates to draw." in html and "Not on the map (no coordinates): 1. NOWHERE" in html


# --- editing the order by hand ----------------------------------------------------------------------------

def test_editing_the_order_in_the_inline_saves_it_through_the_service_and_bumps_the_version(cast_a, route, line):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    version = route_version(route)
    # when: the stops are typed into line order
    response = client.post(f"{ROUTES}{route.pk}/change/", change_data(route, order=line), follow=True)
    # then
    assert response.status_code == 200
    assert stop_codes(route) == ["L1", "L2", "L3", "L4", "L5"]
    assert route_version(route) == version + 1
    assert f"Stop order saved: 5 stops, version {version + 1}." in messages_of(response)


def test_a_stop_moved_to_a_taken_position_goes_before_the_stop_that_had_it(cast_a, route):
    # given: ZIG is L1, L3, L5, L2, L4; the fifth row (L4) is typed in as 2
    data = change_data(route)
    data["stops-4-sequence"] = "2"
    # when
    client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(f"{ROUTES}{route.pk}/change/", data)
    # then
    assert stop_codes(route) == ["L1", "L4", "L3", "L5", "L2"]


def test_stops_are_added_and_removed_in_the_inline(cast_a, route, dist_a1):
    # given
    new = make_outlet(dist_a1, code="NEW", lat=BASE_LAT, lng=BASE_LNG)
    data = change_data(route, extra=[{"outlet": new.pk, "sequence": "", "service_minutes": "25", "weeks": "1, 3"}])
    data["stops-0-DELETE"] = "on"  # L1
    # when
    client_for(cast_a, Role.DISTRIBUTOR_ADMIN).post(f"{ROUTES}{route.pk}/change/", data)
    # then: L1 gone, the new stop last with its own service time and weeks
    assert stop_codes(route) == ["L3", "L5", "L2", "L4", "NEW"]
    with tenant_scope(Scope.system(route.tenant_id)):
        assert RouteStop.objects.filter(route_id=route.pk, outlet=new).values_list(
            "sequence", "service_minutes", "weeks").get() == (5, 25, [1, 3])


def test_saving_only_the_name_keeps_the_order_and_the_version(cast_a, route):
    # given
    version = route_version(route)
    # when
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(f"{ROUTES}{route.pk}/change/",
                                                             change_data(route, name="Renamed"))
    # then
    assert response.status_code == 302
    with tenant_scope(Scope.system(route.tenant_id)):
        assert Route.objects.get(pk=route.pk).name == "Renamed"
    assert route_version(route) == version and stop_codes(route) == ["L1", "L3", "L5", "L2", "L4"]


def test_a_form_loaded_before_a_concurrent_change_is_refused_and_changes_nothing(cast_a, route, line):
    # given: the page is loaded at version v; meanwhile someone else reorders the route
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    stale = change_data(route, order=list(reversed(line)), name="Mine")
    set_stops(route, [line[1].pk, line[0].pk, line[2].pk, line[3].pk, line[4].pk])
    theirs = stop_codes(route)
    version = route_version(route)
    # when
    response = client.post(f"{ROUTES}{route.pk}/change/", stale, follow=True)
    # then: an error, and neither the order nor the name changed
    assert response.redirect_chain[-1][0] == f"{ROUTES}{route.pk}/change/"
    [message] = messages_of(response)
    assert f"changed since you opened it (version {version - 1}, now {version})" in message
    assert "nothing was saved" in message
    assert stop_codes(route) == theirs and route_version(route) == version
    with tenant_scope(Scope.system(route.tenant_id)):
        assert Route.objects.get(pk=route.pk).name != "Mine"


def test_a_change_racing_the_save_is_refused_by_the_service_and_rolls_the_whole_save_back(
        cast_a, route, line, monkeypatch):
    # given: another writer bumps the version between the form's check and the service's lock
    import pjp.admin.routes
    from pjp.services import route_set_stops

    def racing(**kwargs: Any) -> Any:
        route_set_stops(scope=kwargs["scope"], route_id=kwargs["route_id"], outlet_ids=[o.pk for o in line])
        return route_set_stops(**kwargs)

    monkeypatch.setattr(pjp.admin.routes, "route_set_stops", racing)
    before, version = stop_codes(route), route_version(route)
    # when
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(
        f"{ROUTES}{route.pk}/change/", change_data(route, order=list(reversed(line)), name="Mine"), follow=True)
    # then: the service's 409 is shown; the name change and the racing write (same transaction here) are gone
    [message] = messages_of(response)
    assert f"changed since version {version}" in message and "Nothing was saved." in message
    assert stop_codes(route) == before and route_version(route) == version
    with tenant_scope(Scope.system(route.tenant_id)):
        assert Route.objects.get(pk=route.pk).name != "Mine"


def test_a_stop_the_service_refuses_is_shown_on_its_row_and_nothing_is_saved(cast_a, route, dist_a1):
    # given: an inactive outlet added in the inline, and a new name
    closed = make_outlet(dist_a1, code="CLOSED", active=False)
    data = change_data(route, extra=[{"outlet": closed.pk, "sequence": "1"}], name="Mine")
    before, version = stop_codes(route), route_version(route)
    # when
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(f"{ROUTES}{route.pk}/change/", data)
    # then: the form comes back with the user's rows and the service's message on the row
    assert response.status_code == 200
    html = response.content.decode()
    assert "Outlet CLOSED is inactive." in html and 'value="Mine"' in html
    formset = response.context["inline_admin_formsets"][0].formset
    assert [f.non_field_errors() for f in formset.forms if f.non_field_errors()] == [["Outlet CLOSED is inactive."]]
    assert stop_codes(route) == before and route_version(route) == version
    with tenant_scope(Scope.system(route.tenant_id)):
        assert Route.objects.get(pk=route.pk).name != "Mine"


def test_an_outlet_of_a_sibling_distributor_is_not_a_valid_choice(cast_a, route, dist_a2):
    # given: the manufacturer admin sees both distributors' outlets
    foreign = make_outlet(dist_a2, code="SIB")
    data = change_data(route, extra=[{"outlet": foreign.pk, "sequence": "9"}])
    # when
    response = client_for(cast_a, Role.MANUFACTURER_ADMIN).post(f"{ROUTES}{route.pk}/change/", data)
    # then
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert "SIB" not in stop_codes(route)


def test_a_duplicate_route_code_is_shown_on_the_code_field(cast_a, route, dist_a1):
    # given
    make_route(dist_a1, code="TAKEN")
    # when
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).post(f"{ROUTES}{route.pk}/change/",
                                                             change_data(route, code="TAKEN"))
    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == ["Already used."]


def test_distributor_staff_adds_a_route_with_stops_for_its_own_distributor(cast_a, dist_a1, line):
    # given
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    data = {"code": "NEWR", "name": "New route", "active": "on", "work_start": "08:00", "work_end": "17:00",
            "default_service_minutes": "12", "stops-TOTAL_FORMS": "2", "stops-INITIAL_FORMS": "0",
            "stops-MIN_NUM_FORMS": "0", "stops-MAX_NUM_FORMS": "1000",
            "stops-0-outlet": str(line[2].pk), "stops-0-sequence": "2",
            "stops-1-outlet": str(line[0].pk), "stops-1-sequence": "1", "_save": "Save"}
    # when
    response = client.post(f"{ROUTES}add/", data)
    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        created = Route.objects.get(code="NEWR")
    assert created.distributor_id == dist_a1.pk and created.default_service_minutes == 12
    assert stop_codes(created) == ["L1", "L3"] and created.version == 2


# --- who may see and change what -------------------------------------------------------------------------

def test_the_changelist_lists_the_scopes_routes_with_their_stop_counts(cast_a, route, dist_a2):
    # given
    make_route(dist_a2, code="SIBLINGR")
    # when
    html = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(ROUTES).content.decode()
    # then
    assert "ZIG" in html and "SIBLINGR" not in html
    assert re.search(r'<td class="field-stop_count">5</td>', html)
    assert 'href="/admin/pjp/route/build/"' in html


@pytest.mark.parametrize("suffix", ["change/", "history/", "optimise/"])
def test_a_sibling_distributors_route_is_not_found(cast_a, dist_a2, suffix):
    # given
    sibling = make_route(dist_a2, line_outlets(dist_a2, 2, prefix="S"))
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    # when
    response = client.post(f"{ROUTES}{sibling.pk}/{suffix}") if suffix == "optimise/" else client.get(
        f"{ROUTES}{sibling.pk}/{suffix}")
    # then
    assert response.status_code == 404


@pytest.mark.parametrize("role", [Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_STAFF])
def test_another_tenants_route_is_not_found(cast_a, cast_b, role):
    # given
    theirs = make_route(cast_b.distributors[0], line_outlets(cast_b.distributors[0], 2, prefix="B"))
    client = client_for(cast_a, role)
    # then
    assert client.get(f"{ROUTES}{theirs.pk}/change/").status_code == 404
    assert client.post(f"{ROUTES}{theirs.pk}/change/", change_data(theirs)).status_code == 404
    assert client.post(f"{ROUTES}{theirs.pk}/optimise/").status_code == 404
    assert client.get(f"{ROUTES}{theirs.pk}/optimise/1/").status_code == 404


def test_an_analyst_sees_the_map_but_cannot_change_or_optimise(cast_a, route, line):
    # given
    client = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    version = route_version(route)
    # when
    page = client.get(f"{ROUTES}{route.pk}/change/")
    # then
    html = page.content.decode()
    assert page.status_code == 200 and html.count('class="stop-marker"') == 5
    assert "Optimise order" not in html and 'name="_save"' not in html
    assert client.post(f"{ROUTES}{route.pk}/change/", change_data(route, order=line)).status_code == 403
    assert client.post(f"{ROUTES}{route.pk}/optimise/").status_code == 403
    assert client.get(f"{ROUTES}build/").status_code == 403
    assert route_version(route) == version
