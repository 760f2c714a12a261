"""The cost of row-level security on a distributor user's outlet queries.

The application role runs the scoped ORM query (`tenant_scope` + the manager's filters, under RLS); the
baseline is the very SQL Django sent, run by the owner role with RLS off for the table (NO FORCE: owners
then bypass it). A second row per query runs that SQL raw as the application role, to separate the policy
cost from the ORM's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import median
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import demo
from catalog.enums import Channel
from catalog.models import Outlet
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor, Tenant
from dms.tenancy.scope import Actor, Scope

from .common import BenchDb, Result, by_scale, scratch_database

QUERIES: dict[str, Callable[[], Any]] = {
    "count": lambda: Outlet.objects.filter(channel=Channel.GENERAL_TRADE, active=True).count(),
    "fetch500": lambda: list(Outlet.objects.filter(active=True).order_by("code")[:500]),
}


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _captured_sql(scope: Scope, query: Callable[[], Any]) -> str:
    with CaptureQueriesContext(connection) as ctx, tenant_scope(scope):
        query()
    return next(q["sql"] for q in ctx.captured_queries
                if q["sql"].startswith("SELECT") and "catalog_outlet" in q["sql"])


def _measure(db: BenchDb, scope: Scope, name: str, query: Callable[[], Any], repeat: int) -> list[Result]:
    sql = _captured_sql(scope, query)
    owner = db.connect_owner()

    def as_owner() -> list[tuple[Any, ...]]:
        with owner.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        owner.commit()
        return rows

    def app_sql() -> list[tuple[Any, ...]]:
        with tenant_scope(scope), connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def app_orm() -> Any:
        with tenant_scope(scope):
            return query()

    if [r[0] for r in as_owner()] != [r[0] for r in app_sql()]:  # ids, or the count
        raise AssertionError(f"{name}: the owner and the application role disagree; the comparison is void")
    samples: dict[str, list[float]] = {"owner": [], "sql": [], "orm": []}
    for fn in (as_owner, app_sql, app_orm):  # warm-up
        fn()
    for _ in range(repeat):  # interleaved, so drift on a busy machine hits all three alike
        samples["owner"].append(_timed(as_owner))
        samples["sql"].append(_timed(app_sql))
        samples["orm"].append(_timed(app_orm))
    owner.close()
    baseline = median(samples["owner"])
    params = {"repeat": repeat, "scope": "one distributor", "sql": sql}
    return [
        Result(f"rls_{name}_orm", median(samples["orm"]), "ms", "same SQL as owner, RLS off", baseline,
               "ratio <= 1.5", dict(params)),
        Result(f"rls_{name}_sql", median(samples["sql"]), "ms", "same SQL as owner, RLS off", baseline,
               "ratio <= 1.5", dict(params)),
    ]


def run(scale: str) -> list[Result]:
    per_distributor, repeat = by_scale(scale, small=(2_000, 30), full=(20_000, 200))
    with scratch_database("dms_bench_rls") as db:
        started = time.perf_counter()
        demo.seed_demo(outlets_per_distributor=per_distributor, skus=40)
        seed_s = time.perf_counter() - started
        with db.owner_cursor() as cursor:
            cursor.execute("ALTER TABLE catalog_outlet NO FORCE ROW LEVEL SECURITY")  # scratch database only
            cursor.execute("ANALYZE")
        tenant = Tenant.objects.get(slug=demo.TENANTS[0].slug)
        with tenant_scope(Scope.system(tenant.pk)):
            distributor = Distributor.objects.order_by("code").first()
        scope = Scope(tenant_id=tenant.pk, distributor_ids=frozenset({distributor.pk}), actor=Actor.system("bench"))
        results = []
        for name, query in QUERIES.items():
            results += _measure(db, scope, name, query, repeat)
    for r in results:
        r.params.update(outlets=per_distributor * 6, seed_demo_s=round(seed_s, 1))
    return results
