"""The preview of an allocation, and the reading and planning the commit shares with it (see the package
docstring): the orders, their lines and the stock they would draw on, then the policy's shares assembled per order
and per outlet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dms.core.errors import DomainError, NotFound
from dms.core.money import ZERO, div, money, mul
from dms.tenancy.models import TenantSettings
from dms.tenancy.scope import Scope
from dms.tenancy.selectors import distributor_list
from orders.enums import OrderStatus
from orders.locks import lock_orders
from orders.models import SecondaryOrder, SecondaryOrderLine

from .. import selectors
from ..errors import AllocationError
from ..locks import lock_balances
from ..models import StockBalance, Warehouse
from ..services import _is_int, default_warehouse
from .policy import FIFO, POLICIES, Demand, StockKey, percent, share_stock

S = OrderStatus
E = AllocationError
ALLOCATED_STATES = frozenset({S.ALLOCATED, S.PARTIALLY_ALLOCATED})
MAX_ORDERS = 500  # orders in one allocate call (the orders app's bulk limit)
DAY_MAX_ORDERS = 5000  # orders in one preview or one day's queue (one job, one transaction)
JOB_KIND = "allocation_day"
TEXT_MAX = 300

# What a result says happened to an order; a preview says the same of what would happen.
ALLOCATED, PARTIAL, NOTHING, ALREADY, REFUSED = (S.ALLOCATED.value, S.PARTIALLY_ALLOCATED.value,
                                                  "nothing_available", "already_allocated", "refused")
OUTCOMES = (ALLOCATED, PARTIAL, NOTHING, ALREADY, REFUSED)
OUTCOME_LABELS = {ALLOCATED: "in full", PARTIAL: "in part", NOTHING: "nothing available",
                  ALREADY: "already allocated", REFUSED: "not allocated"}


@dataclass(frozen=True)
class LinePlan:
    line_id: int
    line_no: int
    sku_id: int
    sku_code: str
    is_free: bool
    requested_units: int
    proposed_units: int
    requested_value: Decimal  # the line's total (tax included; free goods 0)
    proposed_value: Decimal  # the same for the proposed units, rounded to the cent
    explanation: str


@dataclass(frozen=True)
class OrderPlan:
    """One order of a plan. `outcome` is one of OUTCOMES; `lines` is empty when the order is not planned (not
    found, not confirmed, already allocated, a warehouse it cannot use)."""

    order_id: int
    outcome: str
    status: str = ""
    code: str = ""
    message: str = ""
    outlet_id: int | None = None
    outlet_code: str = ""
    outlet_name: str = ""
    booked_at: datetime | None = None
    warehouse_id: int | None = None
    lines: tuple[LinePlan, ...] = ()

    @property
    def requested_units(self) -> int:
        return sum(line.requested_units for line in self.lines)

    @property
    def proposed_units(self) -> int:
        return sum(line.proposed_units for line in self.lines)


@dataclass(frozen=True)
class FillRate:
    """What an outlet (or, with no outlet, the whole plan) asked and would get, in units and in value."""

    outlet_id: int | None
    outlet_code: str
    outlet_name: str
    orders: int
    requested_units: int
    proposed_units: int
    requested_value: Decimal
    proposed_value: Decimal

    @property
    def unit_fill_pct(self) -> str:
        return percent(self.proposed_units, self.requested_units) if self.requested_units else "100"

    @property
    def value_fill_pct(self) -> str | None:
        """None when nothing asked has a value (free goods only)."""
        cents = int(self.requested_value * 100)
        return percent(int(self.proposed_value * 100), cents) if cents else None


@dataclass(frozen=True)
class AllocationPlan:
    policy: str
    all_or_nothing: bool
    orders: tuple[OrderPlan, ...]
    outlets: tuple[FillRate, ...]
    total: FillRate

    def proposed(self) -> dict[int, int]:
        """line id -> proposed units: what orders_allocate takes as `expected`."""
        return {line.line_id: line.proposed_units for order in self.orders for line in order.lines}


# --- input --------------------------------------------------------------------------------------------------------

def _invalid(field: str, message: str) -> DomainError:
    return DomainError(E.INVALID, message, fields={field: [message]})


def _check(order_ids: Collection[int], policy: str, limit: int) -> list[int]:
    if policy not in POLICIES:
        raise _invalid("policy", f"The policy is {' or '.join(POLICIES)}.")
    if isinstance(order_ids, str | bytes) or not isinstance(order_ids, Collection) or not order_ids:
        raise _invalid("order_ids", "Give at least one order.")
    if any(not _is_int(pk) for pk in order_ids):
        raise _invalid("order_ids", "An order id is an integer.")
    ids = sorted(set(order_ids))
    if len(ids) > limit:
        raise _invalid("order_ids", f"At most {limit} orders at once; got {len(ids)}.")
    return ids


def _text(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) > TEXT_MAX:
        raise _invalid("reason", f"A reason has at most {TEXT_MAX} characters.")
    return reason


def _chosen_warehouse(scope: Scope, warehouse_id: int | None) -> Warehouse | None:
    """The warehouse named (another tenant's or distributor's is NotFound); it must be active."""
    if warehouse_id is None:
        return None
    if not _is_int(warehouse_id):
        raise NotFound("Warehouse not found.")
    warehouse = selectors.warehouse_get(scope=scope, pk=warehouse_id)
    if not warehouse.active:
        message = f"Warehouse {warehouse.code} is inactive."
        raise DomainError(E.INACTIVE_WAREHOUSE, message, fields={"warehouse_id": [message]})
    return warehouse


def _all_or_nothing(scope: Scope) -> bool:
    value = TenantSettings.objects.filter(tenant_id=scope.tenant_id).values_list(
        "allocation_all_or_nothing", flat=True).first()
    return bool(value)


# --- reading the orders and the stock (the preview's way and the commit's, under locks) -----------------------

@dataclass(frozen=True)
class _Where:
    """Where a distributor's orders take stock from: a warehouse, or why they cannot be allocated."""

    warehouse: Warehouse | None
    key: int  # the warehouse id; -distributor id when it has no default warehouse yet (a preview: nothing there)
    code: str = ""
    message: str = ""


@dataclass
class _Batch:
    ids: list[int]
    orders: dict[int, SecondaryOrder]
    lines: dict[int, list[SecondaryOrderLine]]
    where: dict[int, _Where]  # by distributor id
    available: dict[StockKey, int]
    balances: dict[int, dict[int, StockBalance]]  # by warehouse id, then SKU id (locked; the commit only)


def _where(scope: Scope, chosen: Warehouse | None, distributor_id: int, *, create: bool) -> _Where:
    if chosen is not None:
        if chosen.distributor_id != distributor_id:
            return _Where(None, -distributor_id, E.OTHER_DISTRIBUTOR,
                          f"Warehouse {chosen.code} belongs to another distributor than the order's.")
        return _Where(chosen, chosen.pk)
    warehouse = (default_warehouse(scope=scope, distributor_id=distributor_id) if create
                 else selectors.default_warehouse_get(scope=scope, distributor_id=distributor_id))
    if warehouse is None:
        return _Where(None, -distributor_id)
    if not warehouse.active:
        return _Where(None, -distributor_id, E.INACTIVE_WAREHOUSE,
                      f"The default warehouse {warehouse.code} is inactive: choose a warehouse.")
    return _Where(warehouse, warehouse.pk)


def _read(scope: Scope, ids: list[int], chosen: Warehouse | None, *, lock: bool) -> _Batch:
    """The orders, their lines and the stock they would draw on. With `lock`: the orders locked by pk, the default
    warehouses made where missing, then the balances locked by (warehouse, sku), in that order."""
    qs = (lock_orders(scope).select_related("outlet").filter(pk__in=ids) if lock
          else selectors.allocation_orders(scope=scope, order_ids=ids))
    orders = {order.pk: order for order in qs}
    confirmed = [order for order in orders.values() if order.status == S.CONFIRMED]
    lines: dict[int, list[SecondaryOrderLine]] = defaultdict(list)
    for line in selectors.allocation_order_lines(scope=scope, order_ids=[o.pk for o in confirmed]):
        lines[line.order_id].append(line)
    where = {d: _where(scope, chosen, d, create=lock) for d in sorted({o.distributor_id for o in confirmed})}
    wanted: dict[int, set[int]] = defaultdict(set)  # warehouse id -> SKU ids
    warehouses: dict[int, Warehouse] = {}
    for order in confirmed:
        w = where[order.distributor_id]
        if w.warehouse is not None and not w.code:
            warehouses[w.key] = w.warehouse
            wanted[w.key] |= {line.sku_id for line in lines[order.pk]}
    available: dict[StockKey, int] = {}
    balances: dict[int, dict[int, StockBalance]] = {}
    for warehouse_id in sorted(wanted):
        if lock:
            balances[warehouse_id] = lock_balances(scope, warehouses[warehouse_id], wanted[warehouse_id])
            units = {sku_id: row.available for sku_id, row in balances[warehouse_id].items()}
        else:
            units = selectors.allocation_available(scope=scope, warehouse_id=warehouse_id, sku_ids=wanted[warehouse_id])
        available.update({(warehouse_id, sku_id): max(n, 0) for sku_id, n in units.items()})
    return _Batch(ids, orders, dict(lines), where, available, balances)


# --- the plan ------------------------------------------------------------------------------------------------------

def _value(total: Decimal, part: int, whole: int) -> Decimal:
    return total if part == whole else money(div(mul(total, part), whole))


def _order_message(outcome: str, requested: int, proposed: int) -> str:
    if outcome == ALLOCATED:
        return f"{proposed} of {requested} units."
    if outcome == PARTIAL:
        return f"{proposed} of {requested} units ({percent(proposed, requested)}%)."
    return "No stock for any line: the order stays confirmed."


def _plan(batch: _Batch, *, policy: str, all_or_nothing: bool) -> AllocationPlan:
    unplanned: dict[int, OrderPlan] = {}
    demands: list[Demand] = []
    for pk in batch.ids:
        order = batch.orders.get(pk)
        if order is None:
            unplanned[pk] = OrderPlan(pk, REFUSED, code=E.NOT_FOUND, message="Order not found.")
            continue
        about: dict[str, Any] = {"status": order.status, "outlet_id": order.outlet_id,
                                 "outlet_code": order.outlet.code, "outlet_name": order.outlet.name,
                                 "booked_at": order.booked_at}
        if order.status in ALLOCATED_STATES:
            unplanned[pk] = OrderPlan(pk, ALREADY, message=f"Already {order.get_status_display().lower()}: "
                                      "nothing allocated twice.", **about)
        elif order.status != S.CONFIRMED:
            unplanned[pk] = OrderPlan(pk, REFUSED, code=E.NOT_CONFIRMED, message=f"The order is "
                                      f"{order.get_status_display().lower()}: only confirmed orders are allocated.",
                                      **about)
        elif batch.where[order.distributor_id].code:
            w = batch.where[order.distributor_id]
            unplanned[pk] = OrderPlan(pk, REFUSED, code=w.code, message=w.message, **about)
        else:
            key = batch.where[order.distributor_id].key
            order_lines = batch.lines.get(pk, [])
            paid = [line for line in order_lines if not line.is_free]
            for line in order_lines:
                earned = tuple(p.pk for p in paid if set(p.scheme_ids) & set(line.scheme_ids)) if line.is_free else ()
                demands.append(Demand(line_id=line.pk, order_id=pk, rank=(order.booked_at, pk),
                                      stock=(key, line.sku_id), requested=line.qty_units, is_free=line.is_free,
                                      earned_by=earned, label=line.sku.code))
    shares = share_stock(demands, batch.available, policy=policy, all_or_nothing=all_or_nothing)

    plans: list[OrderPlan] = []
    for pk in batch.ids:
        if pk in unplanned:
            plans.append(unplanned[pk])
            continue
        order = batch.orders[pk]
        line_plans = tuple(
            LinePlan(line_id=line.pk, line_no=line.line_no, sku_id=line.sku_id, sku_code=line.sku.code,
                     is_free=line.is_free, requested_units=line.qty_units, proposed_units=shares.lines[line.pk].units,
                     requested_value=line.total,
                     proposed_value=_value(line.total, shares.lines[line.pk].units, line.qty_units),
                     explanation=shares.lines[line.pk].explanation)
            for line in batch.lines.get(pk, []))
        requested = sum(line.requested_units for line in line_plans)
        proposed = sum(line.proposed_units for line in line_plans)
        code: str = ""
        if pk in shares.refused:
            outcome, code, message = REFUSED, E.ALL_OR_NOTHING, shares.refused[pk]
        else:
            outcome = ALLOCATED if proposed == requested else PARTIAL if proposed else NOTHING
            code = E.NOTHING_AVAILABLE if outcome == NOTHING else ""
            message = _order_message(outcome, requested, proposed)
        w = batch.where[order.distributor_id]
        plans.append(OrderPlan(pk, outcome, status=order.status, code=code, message=message,
                               outlet_id=order.outlet_id, outlet_code=order.outlet.code, outlet_name=order.outlet.name,
                               booked_at=order.booked_at, warehouse_id=w.warehouse.pk if w.warehouse else None,
                               lines=line_plans))
    return _with_fill_rates(policy, all_or_nothing, plans)


def _fill(orders: Sequence[OrderPlan], outlet_id: int | None = None, code: str = "", name: str = "") -> FillRate:
    lines = [line for order in orders for line in order.lines]
    return FillRate(outlet_id=outlet_id, outlet_code=code, outlet_name=name, orders=len(orders),
                    requested_units=sum(line.requested_units for line in lines),
                    proposed_units=sum(line.proposed_units for line in lines),
                    requested_value=sum((line.requested_value for line in lines), ZERO),
                    proposed_value=sum((line.proposed_value for line in lines), ZERO))


def _with_fill_rates(policy: str, all_or_nothing: bool, plans: list[OrderPlan]) -> AllocationPlan:
    planned = [order for order in plans if order.lines]
    by_outlet: dict[int, list[OrderPlan]] = defaultdict(list)
    for order in planned:
        by_outlet[order.outlet_id or 0].append(order)
    outlets = sorted((_fill(group, group[0].outlet_id, group[0].outlet_code, group[0].outlet_name)
                      for group in by_outlet.values()), key=lambda f: (f.outlet_code, f.outlet_id or 0))
    return AllocationPlan(policy=policy, all_or_nothing=all_or_nothing, orders=tuple(plans), outlets=tuple(outlets),
                          total=_fill(planned))


def allocation_plan(*, scope: Scope, order_ids: Collection[int], warehouse_id: int | None = None,
                    policy: str = FIFO) -> AllocationPlan:
    """What allocating `order_ids` would do now (see the package docstring): no writes, no locks. Each warehouse
    is the one named (it must be the orders' distributor's) or each distributor's default; the tenant's
    all-or-nothing policy applies. Orders that would not be planned say why (not found, not confirmed, already
    allocated). Up to DAY_MAX_ORDERS orders."""
    ids = _check(order_ids, policy, DAY_MAX_ORDERS)
    batch = _read(scope, ids, _chosen_warehouse(scope, warehouse_id), lock=False)
    return _plan(batch, policy=policy, all_or_nothing=_all_or_nothing(scope))


def _day_check(scope: Scope, *, distributor_id: int, day: date, day_field: str, policy: str,
               warehouse_id: int | None) -> None:
    if policy not in POLICIES:
        raise _invalid("policy", f"The policy is {' or '.join(POLICIES)}.")
    if day_field not in selectors.DAY_FIELDS:
        raise _invalid("day_field", f"The day is the {' or '.join(selectors.DAY_FIELDS)} date.")
    if not isinstance(day, date):
        raise _invalid("date", "Give a date.")
    if not _is_int(distributor_id) or not distributor_list(scope=scope).filter(pk=distributor_id).exists():
        raise NotFound("Distributor not found.")
    chosen = _chosen_warehouse(scope, warehouse_id)
    if chosen is not None and chosen.distributor_id != distributor_id:
        raise _invalid("warehouse_id", f"Warehouse {chosen.code} belongs to another distributor.")


def allocation_plan_day(*, scope: Scope, distributor_id: int, day: date, day_field: str = "booked",
                        policy: str = FIFO, warehouse_id: int | None = None) -> AllocationPlan:
    """allocation_plan for a distributor's confirmed orders of a day (booked on it, tenant-local, or with
    `day_field` "delivery" to be delivered on it): what allocate_day_start would do now. An empty day is an empty
    plan."""
    _day_check(scope, distributor_id=distributor_id, day=day, day_field=day_field, policy=policy,
               warehouse_id=warehouse_id)
    ids = selectors.allocation_day_queue(scope=scope, distributor_id=distributor_id, day=day, day_field=day_field)
    if not ids:
        return _with_fill_rates(policy, _all_or_nothing(scope), [])
    return allocation_plan(scope=scope, order_ids=ids, warehouse_id=warehouse_id, policy=policy)
