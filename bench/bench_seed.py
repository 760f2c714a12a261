"""Outlet ingest: the demo builder's outlet path (bulk_create) against a raw multi-row INSERT of the same rows.

Both run as the application role inside `tenant_scope`, so row-level security, the unique indexes and the
deferred foreign keys cost them the same; the ratio is what the ORM path adds. PostgreSQL refuses COPY FROM
under row-level security, so COPY is measured as the owner with RLS off, for reference only (params).
"""

from __future__ import annotations

import csv
import io
import json
import time
from statistics import median

from django.db import connection
from django.utils import timezone
from psycopg2.extras import execute_values

from catalog import demo
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from dms.tenancy.services import distributor_create, tenant_create

from .common import BenchDb, Result, by_scale, scratch_database

COLUMNS = ("tenant_id", "distributor_id", "code", "name", "channel", "address", "lat", "lng", "opening_hours",
           "credit_limit", "tax_id", "active", "created_at", "updated_at")


def _builder(tenant_id: int, distributor_id: int, rows: list[demo.OutletRow]) -> None:
    with tenant_scope(Scope.system(tenant_id)):
        demo.outlets_insert(tenant_id=tenant_id, distributor_id=distributor_id, rows=rows)


def _rows(tenant_id: int, distributor_id: int, rows: list[demo.OutletRow]) -> list[tuple[object, ...]]:
    now = timezone.now()
    return [(tenant_id, distributor_id, r.code, r.name, r.channel, r.address, r.lat, r.lng, json.dumps(r.opening_hours),
             r.credit_limit, r.tax_id, r.active, now, now) for r in rows]


def _insert(tenant_id: int, distributor_id: int, rows: list[demo.OutletRow]) -> None:
    sql = f"INSERT INTO catalog_outlet ({', '.join(COLUMNS)}) VALUES %s"
    with tenant_scope(Scope.system(tenant_id)), connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, _rows(tenant_id, distributor_id, rows), page_size=demo.OUTLET_BATCH)


def _copy_as_owner(db: BenchDb, tenant_id: int, distributor_id: int, rows: list[demo.OutletRow]) -> float:
    started = time.perf_counter()
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(_rows(tenant_id, distributor_id, rows))  # '' is not NULL
    buffer.seek(0)
    with db.owner_cursor() as cursor:
        cursor.copy_expert(f"COPY catalog_outlet ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer)
    return time.perf_counter() - started


def run(scale: str) -> list[Result]:
    n, repeat = by_scale(scale, small=(5_000, 1), full=(20_000, 3))
    spec = demo.TENANTS[0]
    with scratch_database("dms_bench_seed") as db:
        tenant = tenant_create(name="Bench Foods", slug="bench", currency=spec.currency, time_zone=spec.time_zone)
        with tenant_scope(Scope.system(tenant.pk)) as scope:
            distributors = [distributor_create(scope=scope, code=f"B{i:02d}", name=f"Bench {i}").pk
                            for i in range(2 * repeat + 3)]
        started = time.perf_counter()
        rows = demo.outlet_rows(spec=spec, city=spec.cities[0], n=n)
        generate_s = time.perf_counter() - started
        _insert(tenant.pk, distributors.pop(), rows[:500])  # warm both paths up: catalogues, plans, imports
        _builder(tenant.pk, distributors.pop(), rows[:500])
        builder_s, insert_s = [], []
        for i in range(repeat):
            # alternate which path goes first, so a growing table or a busy machine does not favour one
            for path in ((_insert, _builder) if i % 2 == 0 else (_builder, _insert)):
                started = time.perf_counter()
                path(tenant.pk, distributors.pop(), rows)
                (insert_s if path is _insert else builder_s).append(time.perf_counter() - started)
        with db.owner_cursor() as cursor:
            cursor.execute("ALTER TABLE catalog_outlet NO FORCE ROW LEVEL SECURITY")  # scratch database only
        copy_s = _copy_as_owner(db, tenant.pk, distributors.pop(), rows)
    builder, baseline = n / median(builder_s), n / median(insert_s)
    return [Result(
        name="seed_outlet_ingest", value=builder, unit="rows/s", baseline="raw INSERT, same rows and role",
        baseline_value=baseline, goal="ratio >= 0.5",
        params={"rows": n, "repeat": repeat, "batch_size": demo.OUTLET_BATCH, "role": "app (RLS on)",
                "generate_rows_per_s": round(n / generate_s), "builder_s": [round(s, 3) for s in builder_s],
                "insert_s": [round(s, 3) for s in insert_s],
                "copy_as_owner_rls_off_rows_per_s": round(n / copy_s)},
    )]
