"""The stock services: each movement kind moves on hand and reserved as specified, allocation never oversells,
refusals name the field and write nothing, other tenants' and sibling distributors' warehouses are not found, and
the ledger check finds a balance that is not the sum of its movements."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import ActorKind, Role
from dms.tenancy.scope import Actor, Scope
from inventory.models import StockBalance, StockMovement, Warehouse
from inventory.selectors import ledger_mismatches
from inventory.services import (
    AllocatedLine,
    default_warehouse,
    stock_adjust,
    stock_allocate,
    stock_dispatch,
    stock_receive,
    stock_release,
    stock_return,
)
from tests.factories.catalog import make_sku
from tests.factories.inventory import balance_of, make_warehouse, receive

from .conftest import movements_of

pytestmark = pytest.mark.django_db


def staff_scope(distributor: Any) -> Scope:
    return Scope(tenant_id=distributor.tenant_id, distributor_ids=frozenset({distributor.pk}),
                 actor=Actor(kind=ActorKind.USER, id=1, role=Role.DISTRIBUTOR_STAFF, label="staff"))


def run(tid: int, service: Any, scope: Scope | None = None, **kwargs: Any) -> Any:
    scope = scope or Scope.system(tid)
    with tenant_scope(scope):
        return service(scope=scope, **kwargs)


def refused(tid: int, service: Any, scope: Scope | None = None, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as info:
        run(tid, service, scope, **kwargs)
    return info.value


def writes(warehouse: Warehouse) -> tuple[int, int]:
    with tenant_scope(Scope.system(warehouse.tenant_id)):
        return (StockMovement.objects.filter(warehouse_id=warehouse.pk).count(),
                StockBalance.objects.filter(warehouse_id=warehouse.pk).count())


# --- every kind ----------------------------------------------------------------------------------------------------

def test_every_movement_kind_moves_on_hand_and_reserved_as_specified(tid, wh, skus):
    cola = skus.cola
    line = [(cola.pk, 0)]

    def step(service: Any, qty: int, **kw: Any) -> tuple[int, int]:
        line[0] = (cola.pk, qty)
        run(tid, service, warehouse_id=wh.pk, lines=list(line), **kw)
        return balance_of(wh, cola)

    assert step(stock_receive, 100, reference=("grn", 12), batch="B1") == (100, 0)
    assert step(stock_allocate, 30, reference=("secondary_order", 7)) == (100, 30)
    assert step(stock_release, 10, reference=("secondary_order", 7)) == (100, 20)
    assert step(stock_dispatch, 15, reference=("secondary_order", 7)) == (85, 5)
    assert step(stock_return, 4, reference=("secondary_order", 7)) == (89, 5)
    run(tid, stock_adjust, warehouse_id=wh.pk, sku_id=cola.pk, qty_units=-9, reason="damaged in the store")
    assert balance_of(wh, cola) == (80, 5)
    run(tid, stock_adjust, warehouse_id=wh.pk, sku_id=cola.pk, qty_units=3, reason="count")
    assert balance_of(wh, cola) == (83, 5)
    assert movements_of(wh) == [
        ("receipt", cola.pk, 100, 100, 0),
        ("allocation", cola.pk, 30, 0, 30),
        ("release", cola.pk, -10, 0, -10),
        ("dispatch", cola.pk, -15, -15, -15),
        ("return", cola.pk, 4, 4, 0),
        ("adjustment", cola.pk, -9, -9, 0),
        ("adjustment", cola.pk, 3, 3, 0),
    ]
    with tenant_scope(Scope.system(tid)) as scope:
        first = StockMovement.objects.order_by("id")[0]
        assert (first.reference_type, first.reference_id, first.batch, first.actor_kind) == ("grn", 12, "B1",
                                                                                                "system")
        assert StockBalance.objects.get(warehouse=wh, sku=cola).version == 7
        assert ledger_mismatches(scope=scope) == []


def test_allocation_is_partial_by_default_and_reports_each_line(tid, wh, skus):
    receive(wh, skus.cola, 10)
    result = run(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 25), (skus.chips.pk, 5)])
    assert result == [AllocatedLine(skus.cola.pk, 25, 10), AllocatedLine(skus.chips.pk, 5, 0)]
    assert result[0].short == 15
    assert balance_of(wh, skus.cola) == (10, 10)
    assert balance_of(wh, skus.chips) == (0, 0)
    # nothing is left: a second allocation gets nothing and writes no movement
    again = run(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 1)])
    assert again == [AllocatedLine(skus.cola.pk, 1, 0)]
    assert [m[0] for m in movements_of(wh)] == ["receipt", "allocation"]


def test_all_or_nothing_refuses_a_short_line_and_writes_nothing(tid, wh, skus):
    receive(wh, skus.cola, 10)
    before = writes(wh)
    error = refused(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 5), (skus.chips.pk, 1)],
                    all_or_nothing=True)
    assert error.code == "insufficient_stock"
    assert list(error.fields) == ["lines[1].qty_units"]
    assert writes(wh) == before  # not even the chips balance row
    assert balance_of(wh, skus.cola) == (10, 0)
    ok = run(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 10)], all_or_nothing=True)
    assert ok == [AllocatedLine(skus.cola.pk, 10, 10)]


def test_release_dispatch_and_lowering_adjustments_never_go_below_the_stock(tid, wh, skus):
    receive(wh, skus.cola, 10)
    run(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 4)])
    before = writes(wh)
    for service in (stock_release, stock_dispatch):
        error = refused(tid, service, warehouse_id=wh.pk, lines=[(skus.cola.pk, 5)])
        assert error.code == "insufficient_stock" and list(error.fields) == ["lines[0].qty_units"]
    error = refused(tid, stock_adjust, warehouse_id=wh.pk, sku_id=skus.cola.pk, qty_units=-7, reason="count")
    assert list(error.fields) == ["qty_units"]  # 6 free: the 4 reserved cannot be adjusted away
    assert writes(wh) == before
    assert balance_of(wh, skus.cola) == (10, 4)


# --- refusals name the field ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("qty", [0, -3, 1.5, "2", True, None])
def test_quantities_must_be_positive_integers(tid, wh, skus, qty):
    for service in (stock_receive, stock_allocate, stock_release, stock_dispatch, stock_return):
        error = refused(tid, service, warehouse_id=wh.pk, lines=[(skus.cola.pk, 1), (skus.chips.pk, qty)])
        assert error.code == "invalid" and list(error.fields) == ["lines[1].qty_units"], service
    assert writes(wh) == (0, 0)


def test_lines_must_be_given_once_per_sku(tid, wh, skus):
    assert list(refused(tid, stock_receive, warehouse_id=wh.pk, lines=[]).fields) == ["lines"]
    error = refused(tid, stock_receive, warehouse_id=wh.pk, lines=[(skus.cola.pk, 1), (skus.cola.pk, 2)])
    assert list(error.fields) == ["lines[1].sku_id"]


def test_an_adjustment_needs_a_reason_and_a_nonzero_quantity(tid, wh, skus):
    error = refused(tid, stock_adjust, warehouse_id=wh.pk, sku_id=skus.cola.pk, qty_units=5, reason="  ")
    assert error.fields.keys() == {"reason"}
    error = refused(tid, stock_adjust, warehouse_id=wh.pk, sku_id=skus.cola.pk, qty_units=0, reason="count")
    assert error.fields.keys() == {"qty_units"}
    assert writes(wh) == (0, 0)


def test_an_unknown_or_other_tenants_sku_is_a_field_error(tid, wh, skus, cast_b):
    foreign = make_sku(cast_b.tenant.pk, code="B-SKU")
    for sku_id in (foreign.pk, 10**9):
        error = refused(tid, stock_receive, warehouse_id=wh.pk, lines=[(skus.cola.pk, 1), (sku_id, 1)])
        assert list(error.fields) == ["lines[1].sku_id"]
    error = refused(tid, stock_adjust, warehouse_id=wh.pk, sku_id=foreign.pk, qty_units=1, reason="x")
    assert list(error.fields) == ["sku_id"]
    assert writes(wh) == (0, 0)


def test_another_tenants_or_a_sibling_distributors_warehouse_is_not_found(tid, wh, skus, cast_b, dist_a1, dist_a2):
    theirs = make_warehouse(cast_b.distributors[0], code="B-WH")
    sibling = make_warehouse(dist_a2, code="A2-WH")
    calls = [
        (Scope.system(tid), theirs),
        (staff_scope(dist_a1), sibling),
    ]
    for scope, warehouse in calls:
        for service in (stock_receive, stock_allocate, stock_release, stock_dispatch, stock_return):
            with pytest.raises(NotFound):
                run(tid, service, scope, warehouse_id=warehouse.pk, lines=[(skus.cola.pk, 1)])
        with pytest.raises(NotFound):
            run(tid, stock_adjust, scope, warehouse_id=warehouse.pk, sku_id=skus.cola.pk, qty_units=1, reason="x")
    assert writes(sibling) == (0, 0)
    # the sibling's own staff and A1's staff on its own warehouse are fine
    run(tid, stock_receive, staff_scope(dist_a2), warehouse_id=sibling.pk, lines=[(skus.cola.pk, 1)])
    run(tid, stock_receive, staff_scope(dist_a1), warehouse_id=wh.pk, lines=[(skus.cola.pk, 1)])
    assert balance_of(sibling, skus.cola) == (1, 0) and balance_of(wh, skus.cola) == (1, 0)


def test_an_inactive_warehouse_takes_no_receipt_or_allocation(tid, dist_a1, skus):
    closed = make_warehouse(dist_a1, active=False)
    for service in (stock_receive, stock_allocate):
        error = refused(tid, service, warehouse_id=closed.pk, lines=[(skus.cola.pk, 1)])
        assert list(error.fields) == ["warehouse_id"]


# --- the default warehouse -----------------------------------------------------------------------------------------

def test_default_warehouse_is_made_once_and_only_for_the_scope(tid, dist_a1, dist_a2, cast_b):
    first = run(tid, default_warehouse, distributor_id=dist_a1.pk)
    again = run(tid, default_warehouse, distributor_id=dist_a1.pk)
    assert first.pk == again.pk and first.is_default and first.distributor_id == dist_a1.pk
    with pytest.raises(NotFound):
        run(tid, default_warehouse, staff_scope(dist_a1), distributor_id=dist_a2.pk)
    with pytest.raises(NotFound):
        run(tid, default_warehouse, distributor_id=cast_b.distributors[0].pk)


def test_default_warehouse_takes_another_code_when_main_is_used(tid, dist_a1):
    make_warehouse(dist_a1, code="MAIN")
    made = run(tid, default_warehouse, distributor_id=dist_a1.pk)
    assert made.code == "DEFAULT" and made.is_default


# --- the ledger check ----------------------------------------------------------------------------------------------

def test_the_ledger_check_finds_a_tampered_balance_and_nothing_after_normal_work(tid, wh, skus, capsys):
    receive(wh, skus.cola, 10)
    run(tid, stock_allocate, warehouse_id=wh.pk, lines=[(skus.cola.pk, 3), (skus.chips.pk, 2)])
    with tenant_scope(Scope.system(tid)) as scope:
        assert ledger_mismatches(scope=scope) == []
    call_command("check_stock")
    assert "consistent" in capsys.readouterr().out
    # someone writes the balance behind the ledger's back
    with tenant_scope(Scope.system(tid)) as scope:
        StockBalance.objects.filter(warehouse=wh, sku=skus.cola).update(on_hand=12)
        found = ledger_mismatches(scope=scope)
    assert [(m.warehouse_id, m.sku_id, m.on_hand, m.reserved, m.ledger_on_hand, m.ledger_reserved)
            for m in found] == [(wh.pk, skus.cola.pk, 12, 3, 10, 3)]
    with pytest.raises(CommandError):
        call_command("check_stock")
    assert f"warehouse {wh.pk} sku {skus.cola.pk}" in capsys.readouterr().out


def test_the_ledger_check_of_a_distributor_sees_only_its_own_stock(tid, wh, skus, dist_a1, dist_a2):
    sibling = make_warehouse(dist_a2)
    receive(sibling, skus.cola, 5)
    with tenant_scope(Scope.system(tid)):
        StockBalance.objects.filter(warehouse=sibling).update(on_hand=6)
    scope = staff_scope(dist_a1)
    with tenant_scope(scope):
        assert ledger_mismatches(scope=scope) == []
    with tenant_scope(Scope.system(tid)) as system:
        assert [m.warehouse_id for m in ledger_mismatches(scope=system)] == [sibling.pk]
