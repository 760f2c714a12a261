"""Two plans published at once for two bookers on the same outlets: the planning lock lets one through."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from pjp.errors import PjpError
from pjp.models import Pjp
from pjp.services import pjp_publish, plans
from tests.factories.pjp import ANCHOR, MON, THU, make_route

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_overlapping_plans_published_at_once_let_exactly_one_through(dist_a1, booker, booker2, outlets_a1,
                                                                         monkeypatch):
    # given: route A (Mondays) and route B (Thursdays) share an outlet; each publisher dawdles after reading
    # the other plans, so without the planning lock both would read "no plans" and both pass
    read_plans = plans.plans_from

    def slow_plans_from(*args: Any, **kwargs: Any) -> Any:
        found = read_plans(*args, **kwargs)
        time.sleep(1)
        return found

    monkeypatch.setattr(plans, "plans_from", slow_plans_from)
    o1, o2, o3 = outlets_a1[:3]
    route_a, route_b = make_route(dist_a1, [o1, o2]), make_route(dist_a1, [o3, o1])
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def publish(user: Any, weekday: int, route: Any) -> None:
        try:
            barrier.wait(timeout=10)
            with tenant_scope(Scope.system(dist_a1.tenant_id)) as scope:
                pjp_publish(scope=scope, distributor_id=dist_a1.pk, booker_id=user.pk, cycle_weeks=1,
                            cycle_anchor=ANCHOR, effective_from=ANCHOR, slots=[(1, weekday, route.pk)])
            outcomes.append("published")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(booker, MON, route_a)),
               threading.Thread(target=publish, args=(booker2, THU, route_b))]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # then
    assert sorted(outcomes) == sorted(["published", PjpError.OUTLET_OVERLAP])
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert Pjp.objects.count() == 1
