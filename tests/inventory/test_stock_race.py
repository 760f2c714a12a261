"""Allocations racing for the last units never oversell: the balance row lock serialises them, and between them
they get exactly what was available."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import pytest

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory import locks
from inventory.selectors import ledger_mismatches
from inventory.services import stock_allocate
from tests.factories.inventory import balance_of, receive
from tests.threads import at_once

pytestmark = pytest.mark.django_db(transaction=True)


def race(tid: int, calls: list[dict[str, Any]]) -> list[Any]:
    def allocate(kwargs: dict[str, Any]) -> Any:
        with tenant_scope(Scope.system(tid)) as scope:
            return stock_allocate(scope=scope, **kwargs)

    return at_once([partial(allocate, c) for c in calls])


def test_two_allocations_of_the_last_units_at_once_get_exactly_what_is_available(tid, wh, skus, monkeypatch):
    # given: 7 units, and both allocations have made sure of their balance row before either locks it
    receive(wh, skus.cola, 7)
    barrier = threading.Barrier(2)
    real = locks.StockBalance.objects.bulk_create

    def both_insert_first(*args: Any, **kwargs: Any) -> Any:
        inserted = real(*args, **kwargs)
        barrier.wait(timeout=10)
        return inserted

    monkeypatch.setattr(locks.StockBalance.objects, "bulk_create", both_insert_first)
    # when: each asks for 5
    results = race(tid, [{"warehouse_id": wh.pk, "lines": [(skus.cola.pk, 5)]}] * 2)
    # then
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r[0].allocated for r in results) == [2, 5]
    assert balance_of(wh, skus.cola) == (7, 7)
    with tenant_scope(Scope.system(tid)) as scope:
        assert ledger_mismatches(scope=scope) == []


def test_many_racing_multi_line_allocations_never_oversell_or_deadlock(tid, wh, skus):
    receive(wh, skus.cola, 10)
    receive(wh, skus.chips, 10)
    # lines in both orders: the locks are taken by (warehouse, sku) whatever the order given
    calls = [{"warehouse_id": wh.pk, "lines": [(skus.cola.pk, 3), (skus.chips.pk, 2)]},
             {"warehouse_id": wh.pk, "lines": [(skus.chips.pk, 2), (skus.cola.pk, 3)]}] * 4
    results = race(tid, calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    got: dict[int, int] = {}
    for lines in results:
        for line in lines:
            got[line.sku_id] = got.get(line.sku_id, 0) + line.allocated
    assert got == {skus.cola.pk: 10, skus.chips.pk: 10}
    assert balance_of(wh, skus.cola) == (10, 10) and balance_of(wh, skus.chips) == (10, 10)
