"""Master-data import: an outlets CSV through `masters_import` against a raw multi-row INSERT of the same rows.

Both run as the application role inside `tenant_scope` of one distributor (RLS on), each into a fresh
distributor so every row is a create. The import parses the file, loads the rows and codes it refers to
once, converts the cells, validates every row in Python (field validators, check constraints) and, only if
every row passed, writes them in bulk (after_import), all-or-nothing; the baseline only sends the rows. The
timed imports are split into those phases (params["phases_s"], per import); the dry validation is all but
the write. The goal, ratio >= 0.05, is ~20,000 rows (a large distributor's outlet book) in about a minute where
the raw INSERT takes three seconds. DEBUG is off while timing, as in production (no query log). A full-scale
import runs for minutes, so it runs once: its length evens out the noise a repeat would.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from statistics import median
from typing import Any
from unittest import mock

from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone
from psycopg2.extras import execute_values

from catalog import demo, imports
from catalog.resources import OutletResource
from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Actor, Scope
from dms.tenancy.services import distributor_create, tenant_create

from .common import Result, by_scale, scratch_database

HEADER = ("code", "name", "channel", "address", "lat", "lng", "opening_hours", "credit_limit", "tax_id", "active")
COLUMNS = ("tenant_id", "distributor_id", "code", "name", "channel", "address", "lat", "lng", "opening_hours",
           "credit_limit", "tax_id", "active", "created_at", "updated_at")


def _csv(rows: list[demo.OutletRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows((r.code, r.name, r.channel, r.address, r.lat, r.lng, json.dumps(r.opening_hours),
                      r.credit_limit, r.tax_id, "true" if r.active else "false") for r in rows)
    return out.getvalue().encode("utf-8")


def _scope(tenant_id: int, distributor_id: int) -> Scope:
    return Scope(tenant_id=tenant_id, distributor_ids=frozenset({distributor_id}), actor=Actor.system("bench"))


def _import(scope: Scope, data: bytes, rows: list[demo.OutletRow]) -> None:
    with tenant_scope(scope):
        report = imports.masters_import(scope=scope, kind="outlets", data=data, file_format="csv")
    if not report.ok or report.created != len(rows):
        raise AssertionError(f"the import did not create every row: {report.lines()[:5]}")


def _insert(scope: Scope, _data: bytes, rows: list[demo.OutletRow]) -> None:
    now = timezone.now()
    (distributor_id,) = scope.distributor_ids
    values = [(scope.tenant_id, distributor_id, r.code, r.name, r.channel, r.address, r.lat, r.lng,
               json.dumps(r.opening_hours), r.credit_limit, r.tax_id, r.active, now, now) for r in rows]
    sql = f"INSERT INTO catalog_outlet ({', '.join(COLUMNS)}) VALUES %s"
    with tenant_scope(scope), connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, values, page_size=demo.OUTLET_BATCH)


@contextmanager
def _phase_timer() -> Iterator[dict[str, float]]:
    """Accumulate the time the imports spend in each phase, by wrapping the functions that do them."""
    spent: dict[str, float] = defaultdict(float)
    targets = {"parse": (imports, "_read_table"), "lookup": (OutletResource, "get_instance"),
               "convert": (OutletResource, "import_instance"), "clean": (OutletResource, "validate_instance"),
               "write": (OutletResource, "after_import")}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started
        return wrapper

    with ExitStack() as stack:
        for name, (owner, attribute) in targets.items():
            original = getattr(owner, attribute)
            stack.enter_context(mock.patch.object(owner, attribute, new=timed(name, original)))
        yield spent


def run(scale: str) -> list[Result]:
    n, repeat = by_scale(scale, small=(2_000, 1), full=(20_000, 1))
    spec = demo.TENANTS[0]
    rows = demo.outlet_rows(spec=spec, city=spec.cities[0], n=n)
    data = _csv(rows)
    with scratch_database("dms_bench_import"), override_settings(DEBUG=False):
        tenant = tenant_create(name="Bench Foods", slug="bench", currency=spec.currency, time_zone=spec.time_zone)
        with tenant_scope(Scope.system(tenant.pk)) as scope:
            scopes = [_scope(tenant.pk, distributor_create(scope=scope, code=f"B{i:02d}", name=f"Bench {i}").pk)
                      for i in range(2 * repeat + 2)]
        warm = rows[:50]  # warm both paths up: plans, imports, the resource's field set-up
        _insert(scopes.pop(), b"", warm)
        _import(scopes.pop(), _csv(warm), warm)
        import_s, insert_s = [], []
        with _phase_timer() as spent:  # ~10 clock reads a row, against milliseconds a row: no visible cost
            for i in range(repeat):
                # alternate which path goes first, so a growing table or a busy machine does not favour one
                for path in ((_insert, _import) if i % 2 == 0 else (_import, _insert)):
                    started = time.perf_counter()
                    path(scopes.pop(), data, rows)
                    (insert_s if path is _insert else import_s).append(time.perf_counter() - started)
    phases = {name: round(spent[name] / repeat, 3) for name in ("parse", "lookup", "convert", "clean", "write")}
    phases["other"] = round((sum(import_s) - sum(spent.values())) / repeat, 3)  # import-export's own bookkeeping
    return [Result(
        name="import_outlets_csv", value=n / median(import_s), unit="rows/s",
        baseline="raw INSERT, same rows and role", baseline_value=n / median(insert_s), goal="ratio >= 0.05",
        params={"rows": n, "repeat": repeat, "file_bytes": len(data), "scope": "one distributor (RLS on)",
                "import_s": [round(s, 3) for s in import_s], "insert_s": [round(s, 3) for s in insert_s],
                "phases_s": phases,
                "dry_validation_s": round(sum(phases[k] for k in ("parse", "lookup", "convert", "clean")), 3)},
    )]
