"""Drafts created side by side for one distributor never share a number (the distributor's row lock), and two
decisions of one order at once decide it once (the order's row lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from orders.models import PrimaryOrder
from orders.services import LineDecision, PrimaryLine, primary_order_create, primary_order_decide
from orders.services import primary as primary_module
from tests.factories.orders import make_primary_order
from tests.threads import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def race(scope: Scope, acts: list[Callable[[Scope], Any]]) -> list[str]:
    def in_scope(act: Callable[[Scope], Any]) -> str:
        with tenant_scope(scope):
            return str(act(scope).status)

    return sorted(getattr(r, "code", repr(r)) if isinstance(r, Exception) else r
                  for r in at_once([partial(in_scope, a) for a in acts]))


def test_two_drafts_created_at_once_get_consecutive_numbers(tid, cat, dist_a1, monkeypatch):
    # given: both creations valued their lines before either numbers its order
    barrier = threading.Barrier(2)
    valued = primary_module._valued_lines

    def both_valued_first(*args: Any) -> Any:
        rows = valued(*args)
        barrier.wait(timeout=10)
        return rows

    monkeypatch.setattr(primary_module, "_valued_lines", both_valued_first)

    def create(scope: Scope) -> PrimaryOrder:
        return primary_order_create(scope=scope, distributor_id=dist_a1.pk, lines=[PrimaryLine(cat.cola.pk, 1)])

    # when
    outcomes = race(Scope.system(tid), [create, create])
    # then
    assert outcomes == ["draft", "draft"]
    with tenant_scope(Scope.system(tid)):
        assert sorted(PrimaryOrder.objects.values_list("number", flat=True)) == ["PO-000001", "PO-000002"]


def test_two_decisions_at_once_decide_the_order_once(tid, cat, cast_a, dist_a1):
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)

    def decide(cases: int) -> Callable[[Scope], PrimaryOrder]:
        return lambda scope: primary_order_decide(scope=scope, order_id=order.pk,
                                                  decisions=[LineDecision(line_no=1, approved_cases=cases)])

    outcomes = race(Scope.for_api_key(cast_a.api_key), [decide(3), decide(0)])
    assert len(outcomes) == 2 and "invalid_transition" in outcomes
    assert {"approved", "rejected"} & set(outcomes)
