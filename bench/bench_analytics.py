"""The analytics dashboards' API calls over a week of a large tenant, and the backfill that builds their facts.

Issue 8: "KPI queries at 10 million order lines (seeded at scale): p95 latency of each dashboard API call. Goal: p95
at most 100 ms on this machine class."

Seeded untimed by analytics.scale.seed_scale: one tenant, 7 business dates ending yesterday (full: the design's
large tenant, 500 distributors, 200,000 outlets, 5,000 bookers, 150,000 orders of 10 lines a day = 10.5 million
order lines; small: 3,000 orders a day, 200 bookers, 20 distributors). Planner statistics as production has them:
this machine runs PostgreSQL with autovacuum off, so before each timed phase bench_invoicing's `_autovacuum` does
what the daemon would have done by then (VACUUM and ANALYZE the tables past its thresholds, as the owner; see that
module's docstring for why not a blanket ANALYZE). Then:

1. `analytics_facts_backfill_rate`: analytics.backfill.facts_backfill of the 7 dates, every fact table, each date
   in its own transaction, as `manage.py analytics_backfill` runs it: order lines per second. Baseline: the rate of a
   bare `count(*), sum(qty_units), sum(total)` scan of the same order lines (application role, tenant scope, warm,
   median of 3), so the ratio is how much of a bare read's speed the builder keeps. Goal: value >= 25,000 lines/s
   (ours, not the issue's: a design-size date, 1.5 million lines, refreshed within a minute of the nightly run).
   params: seconds and rows per date, and seconds per statement kind (each fact table's DELETE and INSERT).
2. `analytics_api_<call>_<filter>`: each dashboard API call through Django's test Client, in-process, logged in as a
   manufacturer analyst (session auth, middleware, tenant scope, DRF validation and serialisation, JSON rendering
   included), 3 warm-ups then N timed requests; value = p95 in ms (p50 and the other figures in params). Calls: kpis,
   kpis/series, kpis/breakdown by distributor and by brand (the first page, 50 rows, as the API serves it by
   default), each tenant-wide over the 7 days, for one distributor and for one brand; the journeys list tenant-wide
   and for one distributor (it has no brand filter); the funnel for one distributor; one route's paths. Baseline: the
   same period's order lines summed straight from the operational tables with the same filter (`count(*), sum(total)`
   of the lines joined to their live orders; the brand through the SKU, the route through the booker's day journey),
   raw SQL, application role, tenant scope, p95 of its own repeats: the ratio is what the facts buy against reading
   the operational rows.
   Goal: value <= 100 (ms). params: p50 and max, queries and SQL milliseconds per request by statement kind.

Every URL name is reversed before seeding: an endpoint that is missing (NoReverseMatch) fails the run at once,
never after the seed. Each response must be 200. The KPI summaries' order lines (with a brand: value ordered) are
compared with the baseline's (params `lines_match`), so the timed calls are known to read the whole period.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.test.utils import override_settings

from .bench_invoicing import _autovacuum
from .common import Result, by_scale, scratch_database

DAYS = 7
LINES_PER_ORDER = 10
WARMUP = 3
REPEAT = 30
GOAL_MS = 100
BACKFILL_GOAL_LINES_PER_S = 25_000
# (result name, URL name, extra query parameters, filters measured). "route" filters reverse the URL with the route.
CALLS: tuple[tuple[str, str, dict[str, str], tuple[str, ...]], ...] = (
    ("kpis", "analytics-kpis", {}, ("tenant", "distributor", "brand")),
    ("kpis_series", "analytics-kpis-series", {}, ("tenant", "distributor", "brand")),
    ("kpis_breakdown_distributor", "analytics-kpis-breakdown", {"by": "distributor"},
     ("tenant", "distributor", "brand")),
    ("kpis_breakdown_brand", "analytics-kpis-breakdown", {"by": "brand"}, ("tenant", "distributor", "brand")),
    ("journeys", "analytics-journeys", {}, ("tenant", "distributor")),
    ("funnel", "analytics-funnel", {}, ("distributor",)),
    ("route_paths", "analytics-route-paths", {}, ("route",)),
)
BASELINE_SQL = """
SELECT count(*), coalesce(sum(ol.total), 0)
FROM orders_secondaryorder o
JOIN orders_secondaryorderline ol ON ol.distributor_id = o.distributor_id AND ol.order_id = o.id
{joins}
WHERE o.tenant_id = %(t)s AND o.booked_at >= %(start)s AND o.booked_at < %(end)s AND o.status <> 'cancelled' {where}
"""
BASELINE_FILTERS = {
    "tenant": ("", ""),
    "distributor": ("", "AND o.distributor_id = %(distributor)s"),
    "brand": ("JOIN catalog_sku s ON s.id = ol.sku_id", "AND s.brand_id = %(brand)s"),
    "route": ("JOIN pjp_dailyjourney j ON j.distributor_id = o.distributor_id AND j.booker_id = o.booker_id "
              "AND j.date = (o.booked_at AT TIME ZONE %(tz)s)::date",
              "AND o.distributor_id = %(distributor)s AND j.route_id = %(route)s"),
}


def _urls() -> dict[str, str]:
    """Every call's path, reversed now: a missing endpoint raises NoReverseMatch before anything is seeded."""
    from django.urls import reverse

    return {name: reverse(url_name, args=[0]) if "route" in filters else reverse(url_name)
            for name, url_name, _extra, filters in CALLS}


class _SqlClock:
    """A connection execute_wrapper: seconds and statements by kind ("INSERT INTO analytics_x", "SELECT", ..)."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.statements = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            match = re.match(r"\s*(INSERT INTO|DELETE FROM)\s+\"?(\w+)", sql) or re.match(r"\s*(\w+)", sql)
            self.seconds[" ".join(g for g in (match.groups() if match else ("?",)) if g)] += (
                time.perf_counter() - started)
            self.statements += 1


@contextmanager
def _sql_clock() -> Iterator[_SqlClock]:
    clock = _SqlClock()
    with connection.execute_wrapper(clock):
        yield clock


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


def _timed(fn: Callable[[], Any], *, repeat: int, warmup: int) -> tuple[list[float], Any]:
    """fn's milliseconds over `repeat` calls after `warmup` untimed ones, and its last answer."""
    answer = None
    for _ in range(warmup):
        answer = fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, answer


def _scan(tenant_id: int) -> tuple[int, float]:
    """Order lines and seconds of a bare count/sum of the tenant's lines (median of 3, warm)."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope

    def scan() -> int:
        with tenant_scope(Scope.system(tenant_id, "bench")), connection.cursor() as cursor:
            cursor.execute("SELECT count(*), sum(qty_units), sum(total) FROM orders_secondaryorderline "
                           "WHERE tenant_id = %s", [tenant_id])
            return int(cursor.fetchone()[0])

    samples, lines = _timed(scan, repeat=3, warmup=1)
    return lines, statistics.median(samples) / 1000


def _backfill(tenant_id: int, dates: list[date]) -> tuple[float, dict[str, Any]]:
    from analytics.backfill import BackfillStep, facts_backfill
    from dms.tenancy.scope import Scope

    per_date: dict[str, dict[str, Any]] = {}
    mark = started = time.perf_counter()

    def progress(step: BackfillStep) -> None:
        nonlocal mark
        now = time.perf_counter()
        per_date[step.date.isoformat()] = {"seconds": round(now - mark, 2), **step.counts}
        mark = now
        print(f"  facts of {step.date.isoformat()}: {now - started:.1f} s", file=sys.stderr, flush=True)

    with _sql_clock() as clock:
        facts_backfill(scope=Scope.system(tenant_id, "bench"), date_from=dates[0], date_to=dates[-1],
                       progress=progress)
    seconds = time.perf_counter() - started
    statements = {k: round(v, 2) for k, v in sorted(clock.seconds.items(), key=lambda kv: -kv[1])}
    return seconds, {"per_date": per_date, "statement_seconds": statements}


def _subjects(tenant_id: int, dates: list[date]) -> dict[str, Any]:
    """The filter values: the first distributor, the brand with the most SKUs, the distributor's route with the
    most journeys in the period; the period's bounds in the tenant's zone."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.models import Tenant
    from dms.tenancy.scope import Scope

    with tenant_scope(Scope.system(tenant_id, "bench")), connection.cursor() as cursor:
        tz = Tenant.objects.get(pk=tenant_id).tz
        cursor.execute("SELECT min(id) FROM tenancy_distributor WHERE tenant_id = %s", [tenant_id])
        distributor = cursor.fetchone()[0]
        cursor.execute("SELECT brand_id FROM catalog_sku WHERE tenant_id = %s GROUP BY brand_id "
                       "ORDER BY count(*) DESC, brand_id LIMIT 1", [tenant_id])
        brand = cursor.fetchone()[0]
        cursor.execute("SELECT route_id FROM pjp_dailyjourney WHERE tenant_id = %s AND distributor_id = %s "
                       "AND date BETWEEN %s AND %s GROUP BY route_id ORDER BY count(*) DESC, route_id LIMIT 1",
                       [tenant_id, distributor, dates[0], dates[-1]])
        route = cursor.fetchone()[0]
    end = dates[-1] + timedelta(days=1)
    return {"distributor": distributor, "brand": brand, "route": route, "tz": str(tz.key),
            "start": datetime(dates[0].year, dates[0].month, dates[0].day, tzinfo=tz),
            "end": datetime(end.year, end.month, end.day, tzinfo=tz)}


def _baseline(tenant_id: int, kind: str, subjects: dict[str, Any], repeat: int) -> tuple[list[float], tuple[int, Any]]:
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope

    joins, where = BASELINE_FILTERS[kind]
    sql = BASELINE_SQL.format(joins=joins, where=where)

    def query() -> tuple[int, Any]:
        with tenant_scope(Scope.system(tenant_id, "bench")), connection.cursor() as cursor:
            cursor.execute(sql, {"t": tenant_id, **subjects})
            count, total = cursor.fetchone()
            return int(count), total

    return _timed(query, repeat=repeat, warmup=1)


def _analyst_client(tenant_id: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dms.tenancy.context import tenant_scope
    from dms.tenancy.enums import Role
    from dms.tenancy.scope import Scope
    from dms.tenancy.services import membership_grant

    user = get_user_model().objects.create_user(username="bench.analyst", password="bench-analyst-pass-1")
    with tenant_scope(Scope.system(tenant_id, "bench")) as scope:
        membership_grant(scope=scope, user=user, role=Role.MANUFACTURER_ANALYST)
    client = Client()
    client.force_login(user)
    return client


def _counted(name: str, kind: str, body: dict[str, Any]) -> Decimal | None:
    """What a KPI summary counted that the baseline counts too: the order lines (lines per call's numerator, from the
    booker facts), or with a brand filter, which narrows only the brand facts, the value ordered (the value fill
    rate's denominator). None: not a summary, or no such KPI."""
    if name != "kpis":
        return None
    kpi, part = ("fill_rate_value", "denominator") if kind == "brand" else ("lines_per_call", "numerator")
    try:
        return Decimal(str(body["kpis"][kpi][part]))
    except (KeyError, TypeError, InvalidOperation):
        return None


def _api(client: Any, urls: dict[str, str], subjects: dict[str, Any], dates: list[date], repeat: int
         ) -> list[dict[str, Any]]:
    from django.urls import reverse

    period = {"date_from": dates[0].isoformat(), "date_to": dates[-1].isoformat()}
    out = []
    for name, url_name, extra, filters in CALLS:
        for kind in filters:
            params = {**period, **extra}
            url = urls[name]
            if kind == "route":
                url = reverse(url_name, args=[subjects["route"]])
            elif kind != "tenant":
                params[kind] = str(subjects[kind])

            def call(url: str = url, params: dict[str, str] = params, label: str = f"{name}_{kind}") -> Any:
                response = client.get(url, params)
                if response.status_code != 200:
                    raise AssertionError(f"{label}: GET {url} {params} answered {response.status_code}: "
                                         f"{response.content[:500]!r}")
                return response

            with _sql_clock() as clock:
                samples, response = _timed(call, repeat=repeat, warmup=WARMUP)
            body = response.json()
            requests = repeat + WARMUP
            out.append({"name": name, "filter": kind, "url": url, "params": params, "samples": samples,
                        "bytes": len(response.content), "counted": _counted(name, kind, body),
                        "queries": clock.statements / requests,
                        "sql_ms": {k: round(v * 1000 / requests, 2) for k, v in clock.seconds.items()}})
            print(f"  {name} {kind}: p95 {_p95(samples):.1f} ms", file=sys.stderr, flush=True)
    return out


def run(scale: str) -> list[Result]:
    from analytics.scale import seed_scale

    urls = _urls()  # before the long seed: a missing endpoint fails now
    size = by_scale(scale, small={"orders_per_day": 3_000, "bookers": 200, "distributors": 20, "outlets": 8_000},
                    full={"orders_per_day": 150_000, "bookers": 5_000, "distributors": 500, "outlets": 200_000})
    baseline_repeat = by_scale(scale, small=30, full=10)  # a tenant-wide scan of 10.5 M lines takes seconds
    with scratch_database("dms_bench_analytics") as db, \
            override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver", "localhost"]):
        started = time.perf_counter()
        summary = seed_scale(slug="analytics", days=DAYS, lines_per_order=LINES_PER_ORDER, skus=2_000, seed=7,
                             log=lambda m: print(f"  seed: {m}", file=sys.stderr, flush=True), **size)
        seed_s = time.perf_counter() - started
        tenant_id, dates = summary.tenant_id, summary.dates
        started = time.perf_counter()
        maintenance = {"before_backfill": _autovacuum(db)}
        maintenance_s = {"before_backfill": round(time.perf_counter() - started, 1)}
        lines, scan_s = _scan(tenant_id)
        backfill_s, backfill = _backfill(tenant_id, dates)
        started = time.perf_counter()
        maintenance["before_api"] = _autovacuum(db)
        maintenance_s["before_api"] = round(time.perf_counter() - started, 1)
        subjects = _subjects(tenant_id, dates)
        baselines = {kind: _baseline(tenant_id, kind, subjects, baseline_repeat)
                     for kind in sorted({k for *_rest, filters in CALLS for k in filters})}
        client = _analyst_client(tenant_id)
        calls = _api(client, urls, subjects, dates, REPEAT)
    common = {"scale": scale, **size, "days": DAYS, "lines_per_order": LINES_PER_ORDER,
              "dates": [dates[0].isoformat(), dates[-1].isoformat()], "order_lines": lines,
              "seed_seconds": round(seed_s, 1)}
    results = [Result(
        name="analytics_facts_backfill_rate", value=lines / backfill_s, unit="order lines/s",
        baseline="bare count/sum scan of the same order lines (app role, tenant scope), lines/s",
        baseline_value=lines / scan_s, goal=f"value >= {BACKFILL_GOAL_LINES_PER_S}",
        params={**common, "backfill_seconds": round(backfill_s, 2), "scan_seconds": round(scan_s, 4),
                **backfill, "rows": summary.counts, "seed_phases": summary.seconds,
                "maintenance": maintenance, "maintenance_seconds": maintenance_s,
                "note": "facts_backfill of every date, one transaction each, first run (empty fact tables)"})]
    for call in calls:
        base_samples, (base_lines, base_total) = baselines[call["filter"]]
        expected = Decimal(base_total) if call["filter"] == "brand" else Decimal(base_lines)
        matched = None if call["counted"] is None else call["counted"] == expected
        if matched is False:
            print(f"bench_analytics: {call['name']} {call['filter']} counted {call['counted']}, the operational "
                  f"tables {expected}", file=sys.stderr)
        samples = call["samples"]
        results.append(Result(
            name=f"analytics_api_{call['name']}_{call['filter']}", value=_p95(samples), unit="ms",
            baseline=f"count/sum of the period's order lines from the operational tables ({call['filter']} "
                     "filter; raw SQL, app role, tenant scope), p95 ms",
            baseline_value=_p95(base_samples), goal=f"value <= {GOAL_MS}",
            params={**common, "url": call["url"], "query": call["params"], "requests": len(samples),
                    "warmup": WARMUP, "p50_ms": round(statistics.median(samples), 2),
                    "max_ms": round(max(samples), 2), "response_bytes": call["bytes"],
                    "queries_per_request": call["queries"], "sql_ms_per_request": call["sql_ms"],
                    "baseline_p50_ms": round(statistics.median(base_samples), 2),
                    "baseline_repeats": len(base_samples), "baseline_lines": base_lines,
                    "baseline_total": str(base_total), "lines_match": matched,
                    "subjects": {k: subjects[k] for k in ("distributor", "brand", "route")},
                    "auth": "session of a manufacturer analyst, django.test.Client in-process, DEBUG off"}))
    return results
