"""The route admin in a real browser: the map of the stops, "Optimise order", the proposal, Accept.

The live server is transactional, so the optimisation job queued on commit runs (eager Celery) before the
redirect to the job page answers: the page shows the proposal straight away.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from tests.browser.conftest import screenshot
from tests.browser.test_admin_browser import log_in
from tests.factories.catalog import make_outlet
from tests.factories.pjp import make_route
from tests.pjp.test_admin import BASE_LAT, BASE_LNG, stop_codes

pytestmark = pytest.mark.browser

ROUTE_SCREENSHOT = screenshot("route-map.png")
PROPOSAL_SCREENSHOT = screenshot("proposal.png")


def arc_outlets(distributor: Distributor, n: int) -> list[Any]:
    """`n` outlets on the upper half of a 2.5 km circle, west to east (A1..An); the warehouse west of it."""
    with tenant_scope(Scope.system(distributor.tenant_id)):
        Distributor.objects.filter(pk=distributor.pk).update(lat=BASE_LAT, lng=BASE_LNG)
    outlets = []
    for i in range(n):
        angle = math.pi * (1 - i / (n - 1))
        lat = BASE_LAT + Decimal(f"{0.0225 * math.sin(angle):.6f}")
        lng = BASE_LNG + Decimal(f"{0.03 + 0.026 * math.cos(angle):.6f}")
        outlets.append(make_outlet(distributor, code=f"A{i + 1}", name=f"Arc shop {i + 1}", lat=lat, lng=lng))
    return outlets


def map_labels(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("svg.route-map g.stop text.stop-label").all_text_contents()]


def test_distributor_staff_optimises_a_route_from_its_map_and_accepts_the_new_order(live_server, cast_a, page):
    # given: six outlets on an arc, visited zig-zag across it; the day ends east of the arc
    a1 = cast_a.distributors[0]
    arc = arc_outlets(a1, 6)
    route = make_route(a1, [arc[i] for i in (0, 3, 1, 4, 2, 5)], code="ZIG", name="Zig-zag beat",
                       end_lat=BASE_LAT, end_lng=BASE_LNG + Decimal("0.070000"))
    log_in(page, live_server.url, cast_a.users[Role.DISTRIBUTOR_STAFF].username)

    # when: staff opens the route
    page.goto(f"{live_server.url}/admin/pjp/route/{route.pk}/change/")

    # then: the map, with six numbered circles in visiting order
    svg = page.locator("svg.route-map")
    assert svg.count() == 1 and svg.is_visible()
    assert page.locator("svg.route-map circle.stop-marker").count() == 6
    assert page.locator("svg.route-map text.stop-number").all_text_contents() == ["1", "2", "3", "4", "5", "6"]
    assert map_labels(page) == ["A1", "A4", "A2", "A5", "A3", "A6"]
    assert "Estimated distance" in page.inner_text("#route-metrics")
    page.locator("#route-map").scroll_into_view_if_needed()
    page.screenshot(path=ROUTE_SCREENSHOT, full_page=True)

    # when: "Optimise order"
    page.click("#optimise-order")
    page.wait_for_url(f"{live_server.url}/admin/pjp/route/{route.pk}/optimise/*/")

    # then: the proposal, before and after, with the changes in words
    page.wait_for_selector("#proposal[data-status=ready]")
    assert "ZIG" in page.inner_text("#proposal-table")
    assert page.locator("#proposal-diff li").count() >= 1
    page.screenshot(path=PROPOSAL_SCREENSHOT, full_page=True)

    # when: Accept
    page.click("#proposal-accept input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/pjp/route/{route.pk}/change/")

    # then: the route has the new order, on the page and in the database
    assert "Accepted: the route has the new order." in page.inner_text("ul.messagelist")
    assert map_labels(page) == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert stop_codes(route) == ["A1", "A2", "A3", "A4", "A5", "A6"]
