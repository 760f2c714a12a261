"""Real processes racing for the last stock: each is a separate Python process (its own Django, its own database
connection, as the application role under row-level security) calling inventory.allocation.orders_allocate at the
same moment. The balance row lock serialises them and the balance's CHECK (reserved <= on_hand) backs it: together
they never allocate more than there was, and on hand and reserved stay equal to the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.models import Allocation, StockMovement
from inventory.selectors import ledger_mismatches
from orders.models import OrderEvent
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku, make_tax_rate
from tests.factories.inventory import balance_of, confirmed_order, make_warehouse, receive

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 8

# One allocating process: connects, says "ready", waits for the start line on stdin, allocates, prints its results.
_ALLOCATOR = r"""
import json, sys
import django
django.setup()
from django.db import connection
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from inventory.allocation import orders_allocate

tenant_id, policy, order_ids = int(sys.argv[1]), sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user")
    user = cursor.fetchone()[0]
print("ready", user, flush=True)
sys.stdin.readline()
try:
    with tenant_scope(Scope.system(tenant_id, "allocator")) as scope:
        results = orders_allocate(scope=scope, order_ids=order_ids, policy=policy)
    print(json.dumps([{"order_id": r.order_id, "outcome": r.outcome, "code": r.code,
                       "units": sum(line.proposed_units for line in r.lines)} for r in results]), flush=True)
except Exception as exc:
    print(json.dumps({"error": repr(exc)}), flush=True)
"""


def run_allocators(tenant_id: int, policy: str, batches: Sequence[Sequence[int]]) -> list[Any]:
    """Start one process per batch of order ids, wait until every one is connected, then let them all go at once."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.test", "DMS_TEST_WORKER": "1",
           "DMS_TEST_WORKER_DB": connection.settings_dict["NAME"]}
    procs = [subprocess.Popen([sys.executable, "-c", _ALLOCATOR, str(tenant_id), policy,
                               ",".join(str(pk) for pk in batch)],
                              cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for batch in batches]
    try:
        for proc in procs:
            ready = proc.stdout.readline() if proc.stdout else ""
            assert ready.startswith("ready"), (ready, proc.stderr.read() if proc.stderr else "")
            assert ready.split()[1] == "dms_app", ready  # the application role: row-level security applies
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    results = []
    for (out, err), proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture
def stock(cast_a: Any) -> dict[str, Any]:
    """Distributor A1's default warehouse with 30 units of soda, and eight outlets (no credit limit)."""
    tid = cast_a.tenant.pk
    distributor = cast_a.distributors[0]
    make_tax_rate(tid, tax_class="STD", rate=Decimal("0.1700"), valid_from=date(2020, 1, 1))
    soda = make_sku(tid, brand=make_brand(tid), code="SODA", units_per_case=12)
    make_price_list(tid, {soda: Decimal("120.0000")})
    wh = make_warehouse(distributor, code="MAIN", name="Main", is_default=True)
    receive(wh, soda, 30)
    outlets = [make_outlet(distributor, code=f"P{i}", credit_limit=Decimal("0")) for i in range(PROCESSES)]
    return {"tid": tid, "soda": soda, "wh": wh, "outlets": outlets}


def assert_ledger_holds(stock: dict[str, Any], allocated: int) -> None:
    on_hand, reserved = balance_of(stock["wh"], stock["soda"])
    assert (on_hand, reserved) == (30, allocated)
    assert reserved <= on_hand
    with tenant_scope(Scope.system(stock["tid"])) as scope:
        assert ledger_mismatches(scope=scope) == []
        ledger = sum(StockMovement.objects.filter(warehouse_id=stock["wh"].pk).values_list("on_hand_delta", flat=True))
        reserved_ledger = sum(StockMovement.objects.filter(warehouse_id=stock["wh"].pk)
                              .values_list("reserved_delta", flat=True))
        assert (ledger, reserved_ledger) == (on_hand, reserved)
        assert sum(Allocation.objects.values_list("allocated_units", flat=True)) == allocated


def test_eight_processes_allocating_the_same_last_stock_never_oversell(stock):
    # given: eight confirmed orders of 7 soda each (56 asked, 30 on hand), one per process
    orders = [confirmed_order(outlet, [(stock["soda"], 0, 7)], minute=i) for i, outlet in enumerate(stock["outlets"])]
    # when: all eight allocate at once
    results = run_allocators(stock["tid"], "fifo", [[o.pk] for o in orders])
    # then: every process answered; between them exactly the 30 there were, never more
    assert not [r for r in results if isinstance(r, dict)], results
    got = [r[0] for r in results]
    assert sum(r["units"] for r in got) == 30
    assert sorted(r["units"] for r in got) == [0, 0, 0, 2, 7, 7, 7, 7]
    assert sorted(r["outcome"] for r in got) == ["allocated"] * 4 + ["nothing_available"] * 3 + [
        "partially_allocated"]
    assert_ledger_holds(stock, allocated=30)


def test_processes_allocating_overlapping_batches_allocate_each_order_once(stock):
    # given: eight orders of 5 (40 asked, 30 on hand); process i asks for orders i and i + 1
    orders = [confirmed_order(outlet, [(stock["soda"], 0, 5)], minute=i) for i, outlet in enumerate(stock["outlets"])]
    batches = [[orders[i].pk, orders[(i + 1) % PROCESSES].pk] for i in range(PROCESSES)]
    # when
    results = run_allocators(stock["tid"], "fair_share", batches)
    # then: no process failed or deadlocked; each order was allocated by one process and reported by the other
    assert not [r for r in results if isinstance(r, dict)], results
    written = [r for batch in results for r in batch if r["outcome"] in ("allocated", "partially_allocated")]
    assert len({r["order_id"] for r in written}) == len(written)
    assert sum(r["units"] for r in written) == 30
    with tenant_scope(Scope.system(stock["tid"])):
        transitions = OrderEvent.objects.filter(from_status="confirmed", order_id__in=[o.pk for o in orders])
        assert transitions.count() == len(written)
    assert_ledger_holds(stock, allocated=30)
