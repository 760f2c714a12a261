"""The nightly reconciliation of one large tenant day against a bare scan of the same order lines.

Seeded untimed by analytics.scale.seed_scale: one tenant, one business date (full: the design's large tenant, 500
distributors, 200,000 outlets, 5,000 bookers, 150,000 orders of 10 lines = 1.5 million lines; small: 5,000 orders,
200 bookers), clean (the checks should find nothing). Then what production's autovacuum would have done after a
day's writes: bench_invoicing's `_autovacuum` VACUUMs and ANALYZEs, as the owner, the tables past the daemon's
thresholds (the vacuum sets the visibility map that the invoice-totals gate's index-only scan relies on). Timed,
warm (each measured once before timing, median of 3):

- value: the full run of that date exactly as the task runs it, in-process: reconciliation_request (rerun) then
  reconciliation_execute, every check of reconciliation.checks.CHECKS in its own transaction. The request's enqueue
  is switched off (this process executes the run; no broker message is left behind). Each run starts with no
  ledger checkpoint (the stock check's, see reconciliation.models.LedgerCheckpoint), as the date's first night
  does on a one-day ledger: it folds the day's movements;
- baseline: `SELECT count(*), sum(qty_units), sum(total) FROM orders_secondaryorderline WHERE tenant_id = ...`,
  the same line rows, as the application role in the tenant's scope (row-level security on).

Goal: ratio <= 3. params: per-check ms and exceptions found (of the median run), the cold first run, the seed's row
counts and seconds, and for the slowest checks their EXPLAIN ANALYZE: total ms and the plan nodes that dominate
(exclusive time; a parallel node's time and rows are summed over its workers, so they are CPU, not wall, time).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

from django.db import connection
from django.test.utils import override_settings

from .bench_invoicing import _autovacuum
from .common import Result, by_scale, scratch_database

SLOWEST_EXPLAINED = 3
NODES_LISTED = 5


def _scan(tenant_id: int) -> tuple[Any, ...]:
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope

    with tenant_scope(Scope.system(tenant_id, "bench")), connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(qty_units), sum(total) FROM orders_secondaryorderline "
                       "WHERE tenant_id = %s", [tenant_id])
        return tuple(cursor.fetchone())


def _reconcile(tenant_id: int, day: date) -> tuple[float, dict[str, Any]]:
    """One full run of `day`: request (rerun) + execute, in-process. Returns its seconds and the run's counts."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from reconciliation.enums import RunTrigger
    from reconciliation.models import LedgerCheckpoint, ReconciliationRun
    from reconciliation.services import reconciliation_execute, reconciliation_request

    with tenant_scope(Scope.system(tenant_id, "bench")):
        # Every run is the date's first night: the stock check's ledger checkpoint is the previous night's, which
        # for a one-day ledger is none (a re-run of the date would find today's movements folded already).
        LedgerCheckpoint.objects.all().delete()
    started = time.perf_counter()
    with mock.patch("reconciliation.services.run._enqueue"):
        with tenant_scope(Scope.system(tenant_id, "bench")) as scope:
            run = reconciliation_request(scope=scope, business_date=day, trigger=RunTrigger.COMMAND, rerun=True)
        status = reconciliation_execute(tenant_id=tenant_id, run_id=run.pk)
    seconds = time.perf_counter() - started
    with tenant_scope(Scope.system(tenant_id, "bench")):
        run = ReconciliationRun.objects.get(pk=run.pk)
    if status != "succeeded":
        raise AssertionError(f"the reconciliation run ended {status}: {run.error}")
    return seconds, dict(run.counts)


def _exclusive_nodes(plan: dict[str, Any], out: list[dict[str, Any]]) -> float:
    """Walk an EXPLAIN (ANALYZE, FORMAT JSON) plan; append each node with its exclusive time. Returns the node's
    inclusive time (actual total time x loops)."""
    inclusive = float(plan.get("Actual Total Time", 0.0)) * int(plan.get("Actual Loops", 1))
    children = sum(_exclusive_nodes(child, out) for child in plan.get("Plans", []))
    node = " ".join(str(plan[k]) for k in ("Node Type", "Relation Name", "Index Name") if plan.get(k))
    out.append({"node": node, "exclusive_ms": round(max(inclusive - children, 0.0), 1),
                "rows": int(plan.get("Actual Rows", 0)) * int(plan.get("Actual Loops", 1)),
                "loops": int(plan.get("Actual Loops", 1))})
    return inclusive


def _explain(tenant_id: int, day: date, codes: list[str]) -> dict[str, Any]:
    """EXPLAIN ANALYZE each check's SELECT (not its upsert: what the check itself costs), with the context the run
    gives it. The day close's `prepare` is not run (it writes; the run before did it)."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.models import Tenant, TenantSettings
    from dms.tenancy.scope import Scope
    from reconciliation.checks import check_of
    from reconciliation.checks.base import CheckContext, Limits
    from reconciliation.services import close_instant

    out: dict[str, Any] = {}
    with tenant_scope(Scope.system(tenant_id, "bench")) as scope:
        tenant = Tenant.objects.get(pk=tenant_id)
        policy = TenantSettings.objects.get()
        start = datetime(day.year, day.month, day.day, tzinfo=tenant.tz)
        ctx = CheckContext(
            scope=scope, run_id=0, business_date=day, tz=tenant.tz, day_start=start, day_end=start + timedelta(days=1),
            as_of=close_instant(day, tenant.tz, policy.day_close_hour),
            limits=Limits(booked_hours=policy.stuck_booked_hours, allocated_hours=policy.stuck_allocated_hours,
                          invoiced_hours=policy.stuck_invoiced_hours, grn_due_days=policy.grn_due_days))
        for code in codes:
            sql, params = check_of(code).select(ctx)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
                doc = cursor.fetchone()[0]
            doc = doc if isinstance(doc, list) else json.loads(doc)
            nodes: list[dict[str, Any]] = []
            _exclusive_nodes(doc[0]["Plan"], nodes)
            nodes.sort(key=lambda n: n["exclusive_ms"], reverse=True)
            out[code] = {"execution_ms": round(doc[0]["Execution Time"], 1),
                         "planning_ms": round(doc[0]["Planning Time"], 1), "top_nodes": nodes[:NODES_LISTED]}
    return out


def run(scale: str) -> list[Result]:
    from analytics.scale import seed_scale

    size = by_scale(scale, small={"orders_per_day": 5_000, "bookers": 200, "distributors": 20, "outlets": 8_000},
                    full={"orders_per_day": 150_000, "bookers": 5_000, "distributors": 500, "outlets": 200_000})
    with scratch_database("dms_bench_reconciliation") as db, override_settings(DEBUG=False):
        started = time.perf_counter()
        summary = seed_scale(slug="recon", days=1, lines_per_order=10, skus=2_000, seed=7, **size)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        maintenance = _autovacuum(db)  # what the autovacuum daemon would have done after the day's writes
        analyze_s = time.perf_counter() - started
        tenant_id, day = summary.tenant_id, summary.business_date
        rows = _scan(tenant_id)  # warm
        scans = []
        for _ in range(3):
            started = time.perf_counter()
            _scan(tenant_id)
            scans.append(time.perf_counter() - started)
        cold_s, cold_counts = _reconcile(tenant_id, day)  # the first run: warm-up (and the night as it would be)
        runs = [_reconcile(tenant_id, day) for _ in range(3)]
        runs.sort(key=lambda r: r[0])
        run_s, counts = runs[1]
        slowest = sorted(counts, key=lambda code: counts[code].get("ms", 0), reverse=True)[:SLOWEST_EXPLAINED]
        plans = _explain(tenant_id, day, slowest)
    scan_s = statistics.median(scans)
    params = {
        "scale": scale, "business_date": day.isoformat(), **size, "lines_per_order": 10,
        "lines_scanned": rows[0], "run_seconds": [round(r[0], 3) for r in runs], "cold_run_seconds": round(cold_s, 3),
        "scan_seconds": [round(s, 4) for s in scans],
        "check_ms": {code: c.get("ms") for code, c in counts.items()},
        "exceptions_found": {code: c.get("found") for code, c in counts.items()},
        "cold_check_ms": {code: c.get("ms") for code, c in cold_counts.items()},
        "day_close_missed": counts.get("visits_missed", {}).get("missed"),
        "rows": summary.counts, "seed_seconds": round(seed_s, 1), "seed_phases": summary.seconds,
        "maintenance_seconds": round(analyze_s, 1), "maintenance": maintenance, "slowest_checks_explained": plans,
        "note": "run = request(rerun) + execute in-process, enqueue switched off; ANALYZE as the owner after seeding",
    }
    return [Result(name="reconciliation_run_vs_line_scan", value=run_s, unit="s",
                   baseline="bare count/sum scan of the tenant's order lines (app role, tenant scope)",
                   baseline_value=scan_s, goal="ratio <= 3", params=params)]
