"""Allocating confirmed secondary orders against a warehouse's stock (DESIGN §3, §4, §9): one order, a selection,
or a day's queue; first come or fair share.

policy    who gets how much of a short SKU, and the sentence that says why: pure functions over plain data.
plan      allocation_plan, allocation_plan_day: the preview. Each line's requested and proposed units with the
          explanation, each outlet's fill rate (units and value), totals. Reads only; takes no lock.
commit    orders_allocate: locks the orders (orders.locks, by pk), then the balances (inventory.locks, by
          (warehouse, sku)), plans again under the locks with the preview's own code, and per order writes the
          Allocation rows and the ALLOCATION movements (reference ("secondary_order", id)) and moves the order to
          allocated or partially_allocated, with an event naming the policy and each line's units. An order that
          gets nothing stays confirmed ("nothing_available").
          allocation_release: gives back an order's active allocations (RELEASE movements);
          orders.services.order_deallocate moves the order back to confirmed around it.
day       allocate_day_start queues a distributor's confirmed orders of a day as a background job
          (inventory.tasks.allocate_day_task running allocate_day_job).

Transactions: one for the batch, a savepoint per order. A fair share is one decision over every order of the batch,
taken under all their balance locks; an order refused while it is written (the database's checks) rolls back alone
and the others keep their results. The balance's CHECK (reserved <= on_hand) is the guarantee against overselling:
the plan never asks for more than the locked balances hold, and if it ever did the database would refuse that order.
A day's queue is one batch in the job's one transaction: a worker killed half-way leaves nothing, and the retried
job plans the day again (orders allocated meanwhile are no longer in the queue, so nothing is allocated twice).
Rows are written only for lines that get units; a line that gets none is explained in the order's event and in the
result.
"""

from .commit import AllocationResult, PreviewChange, allocation_release, orders_allocate
from .day import allocate_day_job, allocate_day_start
from .plan import (
    ALLOCATED,
    ALREADY,
    DAY_MAX_ORDERS,
    MAX_ORDERS,
    NOTHING,
    OUTCOME_LABELS,
    OUTCOMES,
    PARTIAL,
    REFUSED,
    AllocationPlan,
    FillRate,
    LinePlan,
    OrderPlan,
    allocation_plan,
    allocation_plan_day,
)
from .policy import FAIR_SHARE, FIFO, POLICIES

__all__ = ["ALLOCATED", "ALREADY", "DAY_MAX_ORDERS", "FAIR_SHARE", "FIFO", "MAX_ORDERS", "NOTHING", "OUTCOMES",
           "OUTCOME_LABELS", "PARTIAL", "POLICIES", "REFUSED", "AllocationPlan", "AllocationResult", "FillRate",
           "LinePlan", "OrderPlan", "PreviewChange", "allocate_day_job", "allocate_day_start", "allocation_plan",
           "allocation_plan_day", "allocation_release", "orders_allocate"]
