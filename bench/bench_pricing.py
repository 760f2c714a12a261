"""Pricing throughput: whole orders through `price_lines` against the same lines priced one call per line.

The demo tenant (price lists, schemes, taxes) is seeded in a scratch database; orders of ORDER_SIZE
distinct SKUs are priced as the outlet's distributor would be (a distributor scope, RLS on), one
tenant_scope per order in both paths, so the ratio is what batching the lines into one call saves. A
second result prices the same orders with the pure `compute()` core over facts loaded beforehand, to
show how much of a call is the database. DEBUG is off while timing, as in production (no query log).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from statistics import median

from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from catalog import demo
from catalog.models import Outlet, Sku
from catalog.pricing import LineInput, price_lines
from catalog.pricing.core import OutletFacts, PricingFacts, compute
from catalog.pricing.resolve import load_facts
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Actor, Scope

from .common import Result, by_scale, median_seconds, scratch_database

ORDER_SIZE = 10  # lines of a typical secondary order
SKUS = 120  # the demo catalogue of one tenant
OUTLETS_PER_DISTRIBUTOR = 200
COMPUTE_REPEAT = 21


@dataclass(frozen=True)
class Order:
    scope: Scope
    outlet: Outlet
    lines: tuple[LineInput, ...]


def _loose(rng: random.Random, units_per_case: int) -> int:
    """Loose units on one line in five, fewer than a case (none for a SKU sold by the unit)."""
    return rng.randrange(1, units_per_case) if rng.random() < 0.2 and units_per_case > 1 else 0


def _orders(n: int, outlets: list[Outlet], skus: list[Sku]) -> list[Order]:
    """`n` deterministic orders: a random outlet, ORDER_SIZE distinct SKUs, mostly whole cases, some loose units."""
    rng = random.Random("bench:pricing:orders")
    orders = []
    for _ in range(n):
        outlet = rng.choice(outlets)
        scope = Scope(tenant_id=outlet.tenant_id, distributor_ids=frozenset({outlet.distributor_id}),
                      actor=Actor.system("bench"))
        lines = tuple(LineInput(sku_id=s.pk, cases=rng.randint(1, 12), units=_loose(rng, s.units_per_case))
                      for s in rng.sample(skus, ORDER_SIZE))
        orders.append(Order(scope, outlet, lines))
    return orders


def _batched(orders: list[Order], on_date: date) -> None:
    for o in orders:
        with tenant_scope(o.scope):
            price_lines(scope=o.scope, outlet=o.outlet, lines=o.lines, on_date=on_date)


def _per_line(orders: list[Order], on_date: date) -> None:
    for o in orders:
        with tenant_scope(o.scope):
            for line in o.lines:
                price_lines(scope=o.scope, outlet=o.outlet, lines=[line], on_date=on_date)


def _facts(orders: list[Order], on_date: date) -> list[PricingFacts]:
    facts = []
    for o in orders:
        with tenant_scope(o.scope):
            facts.append(load_facts(scope=o.scope, outlet=o.outlet, sku_ids={li.sku_id for li in o.lines},
                                    on_date=on_date))
    return facts


def _selects(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith("SELECT"))  # not BEGIN, SET LOCAL, COMMIT


def _check_same_lines(orders: list[Order], on_date: date) -> None:
    """Both paths price the same lines: the gross of each line does not depend on how lines are grouped."""
    o = orders[0]
    with tenant_scope(o.scope):
        whole = price_lines(scope=o.scope, outlet=o.outlet, lines=o.lines, on_date=on_date)
        singles = [price_lines(scope=o.scope, outlet=o.outlet, lines=[li], on_date=on_date) for li in o.lines]
    if [p.gross for p in whole.lines if not p.is_free] != [s.lines[0].gross for s in singles]:
        raise AssertionError("batched and per-line pricing disagree on gross; the comparison is void")


def run(scale: str) -> list[Result]:
    n_orders, repeat = by_scale(scale, small=(15, 3), full=(200, 3))
    on_date = timezone.localdate()  # the demo's schemes run from the first of this month
    with scratch_database("dms_bench_pricing"), override_settings(DEBUG=False):
        started = time.perf_counter()
        demo.seed_demo(outlets_per_distributor=OUTLETS_PER_DISTRIBUTOR, skus=SKUS, today=on_date)
        seed_s = time.perf_counter() - started
        tenant = Tenant.objects.get(slug=demo.TENANTS[0].slug)
        with tenant_scope(Scope.system(tenant.pk)):
            outlets = list(Outlet.objects.filter(active=True).order_by("id"))
            skus = list(Sku.objects.filter(active=True).order_by("id"))
        orders = _orders(n_orders, outlets, skus)
        _check_same_lines(orders, on_date)
        o = orders[0]
        selects_order = _selects(lambda: _batched([o], on_date))
        selects_line = _selects(lambda: _per_line([Order(o.scope, o.outlet, o.lines[:1])], on_date))
        _batched(orders[:5], on_date)  # warm-up: plans, caches
        _per_line(orders[:5], on_date)
        batched_s, per_line_s = [], []
        for i in range(repeat):  # alternate the order, so drift on a busy machine hits both alike
            for path in ((_batched, _per_line) if i % 2 == 0 else (_per_line, _batched)):
                started = time.perf_counter()
                path(orders, on_date)
                (batched_s if path is _batched else per_line_s).append(time.perf_counter() - started)
        facts = _facts(orders, on_date)
    outlet_facts = [OutletFacts(distributor_id=o.outlet.distributor_id, channel=o.outlet.channel) for o in orders]

    def compute_all() -> None:
        for o, of, f in zip(orders, outlet_facts, facts, strict=True):
            compute(outlet=of, lines=o.lines, on_date=on_date, facts=f)

    compute_s = median_seconds(compute_all, repeat=COMPUTE_REPEAT)  # no database: cheap, so many passes
    lines = n_orders * ORDER_SIZE
    batched, per_line, pure = lines / median(batched_s), lines / median(per_line_s), lines / compute_s
    params = {"order_size": ORDER_SIZE, "orders": n_orders, "lines": lines, "skus": len(skus),
              "outlets": len(outlets), "repeat": repeat, "scope": "the outlet's distributor (RLS on)",
              "selects_per_order_call": selects_order, "selects_per_line_call": selects_line,
              "seed_demo_s": round(seed_s, 1)}
    return [
        Result(name="pricing_order_lines", value=batched, unit="lines/s",
               baseline="same lines, one price_lines call per line", baseline_value=per_line, goal="ratio >= 3",
               params=params | {"batched_s": [round(s, 3) for s in batched_s],
                                "per_line_s": [round(s, 3) for s in per_line_s]}),
        Result(name="pricing_compute_core", value=pure, unit="lines/s",
               baseline="full price_lines path, one call per order", baseline_value=batched, goal="ratio >= 1",
               params=params | {"compute_s": round(compute_s, 4), "compute_repeat": COMPUTE_REPEAT}),
    ]
