"""Batch invoicing: a day's allocated orders of 10 lines invoiced by the batch job, against a raw bulk insert of
the same invoice and line rows.

Two identical distributors get the same orders (booked through the pricing engine's figures, allocated in full,
stock reserved), inserted in bulk untimed. Timed: the batch job (invoicing.services.invoice_batch_job through
job_run, exactly as the Celery task runs it, in-process) invoices distributor A's orders one transaction each:
lock the order, read its allocations, re-price them with the engine as of the booking date, take the number from
the series row, insert the invoice and its lines, move the allocations and the order on, with an audit event.
Baseline: distributor A's invoice and line rows, re-keyed to distributor B's orders and numbers, written by
bulk_create in batches of 1,000 invoices (one multi-row INSERT per table per batch). Goal: ratio >= 0.2.

Planner statistics, as production has them. The CI server runs with autovacuum = off
(/etc/postgresql/15/main/conf.d/90-ci.conf), so tables bulk-loaded here were never analysed: the planner then
guesses 0.5 % for any equality, the RLS predicate `tenant_id = (SELECT current_setting(...))` included, and
prefers the single-column tenant_id indexes, which here match every row (a chunk's order lock and line read
walked the whole tenant: ~0.35 s a chunk at 10,000 orders, growing with the tables). No query shape or index
avoids that without statistics: even `id IN (...)` on the primary key took the tenant_id index. Production has
autovacuum, so before each timed phase `_autovacuum` does what the daemon would have done by then, by its own
rules and the server's thresholds: VACUUM a table past the insert or dead-row threshold, ANALYZE one past the
change threshold. Both phases get it, the baseline after the job as the job after the setup.

Not a blanket ANALYZE: that also analyses the empty invoicing tables, which autovacuum leaves alone (fewer than
50 changes). Their reltuples then says 0, the foreign-key triggers' cached generic plan for
`SELECT 1 FROM invoicing_invoice x WHERE distributor_id = $1 AND id = $2 FOR KEY SHARE` becomes a sequential scan,
and with nothing analysing the table again every deferred check at COMMIT scans the growing table (quadratic:
the baseline's commits took seconds each).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.test.utils import override_settings

from .common import BenchDb, Result, by_scale, scratch_database

LINES_PER_ORDER = 10
SKUS = 40
OUTLETS = 200
TEMPLATES = 50  # distinct line sets; orders repeat them (prices do not depend on the outlet here)
BOOKED_AT = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
BASELINE_BATCH = 1000
# autovacuum's choice of work (src/backend/postmaster/autovacuum.c, relation_needs_vacanalyze), with the server's
# thresholds; a table never vacuumed or analysed counts as empty. No table of the project overrides them.
AUTOVACUUM_DUE = """
SELECT s.schemaname, s.relname,
       s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
               + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
           OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
               + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * greatest(c.reltuples, 0),
       s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
               + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
ORDER BY s.relname
"""


def _setup(orders: int) -> dict[str, Any]:
    from catalog.models import Brand, Outlet, PriceList, PriceListItem, Sku, TaxRate
    from catalog.pricing.core import LineInput
    from catalog.pricing.engine import price_lines
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from dms.tenancy.services import distributor_create, tenant_create
    from inventory.models import Allocation, StockBalance, Warehouse
    from orders.models import SecondaryOrder, SecondaryOrderLine

    tenant = tenant_create(name="Invoicing", slug=f"inv{uuid.uuid4().hex[:6]}", currency="PKR")
    rng = random.Random(11)
    cast: dict[str, Any] = {"tenant_id": tenant.pk, "distributors": []}
    with tenant_scope(Scope.system(tenant.pk, "bench")) as scope:
        TaxRate.objects.create(tax_class="STD", name="GST", rate=Decimal("0.17"), valid_from=date(2020, 1, 1))
        brand = Brand.objects.create(code="BR", name="Brand")
        skus = Sku.objects.bulk_create([
            Sku(tenant_id=tenant.pk, code=f"S{i:03d}", name=f"Product {i}", brand=brand, units_per_case=12,
                tax_class="STD") for i in range(SKUS)])
        base = PriceList.objects.create(code="BASE", name="Base", valid_from=date(2020, 1, 1))
        PriceListItem.objects.bulk_create([
            PriceListItem(tenant_id=tenant.pk, price_list=base, sku=s,
                          case_price=Decimal(f"{rng.uniform(300, 3000):.4f}")) for s in skus])
        templates = [[LineInput(sku_id=s.pk, cases=rng.randint(1, 6), units=rng.choice((0, 0, 3, 6)))
                      for s in rng.sample(skus, LINES_PER_ORDER)] for _ in range(TEMPLATES)]
        for code in ("A", "B"):
            dist = distributor_create(scope=scope, code=code, name=f"Distributor {code}")
            outlets = Outlet.objects.bulk_create([
                Outlet(tenant_id=tenant.pk, distributor=dist, code=f"{code}-O{i}", name=f"Shop {i}")
                for i in range(OUTLETS)])
            warehouse = Warehouse.objects.create(distributor=dist, code="MAIN", name="Main", is_default=True)
            priced = [price_lines(scope=scope, outlet=outlets[0], lines=t, on_date=BOOKED_AT.date()) for t in templates]
            order_rows = []
            for n in range(orders):
                p = priced[n % TEMPLATES]
                order_rows.append(SecondaryOrder(
                    tenant_id=tenant.pk, distributor=dist, uuid=uuid.uuid4(), outlet=outlets[n % OUTLETS],
                    status="allocated", booked_at=BOOKED_AT, currency=p.currency, gross=p.gross, discount=p.discount,
                    tax=p.tax, total=p.total, fingerprint="0" * 64))
            SecondaryOrder.objects.bulk_create(order_rows, batch_size=2000)
            line_rows = []
            for n, order in enumerate(order_rows):
                for line_no, pl in enumerate(priced[n % TEMPLATES].lines, start=1):
                    line_rows.append(SecondaryOrderLine(
                        tenant_id=tenant.pk, distributor=dist, order=order, line_no=line_no, sku_id=pl.sku_id,
                        cases=pl.cases, units=pl.units, qty_units=pl.qty_units, case_price=pl.case_price,
                        gross=pl.gross, discount=pl.discount, tax_rate=pl.tax_rate, tax=pl.tax, total=pl.total,
                        is_free=pl.is_free, scheme_ids=list(pl.scheme_ids)))
            SecondaryOrderLine.objects.bulk_create(line_rows, batch_size=5000)
            Allocation.objects.bulk_create([
                Allocation(tenant_id=tenant.pk, distributor=dist, order_id=line.order_id, order_line=line,
                           warehouse=warehouse, sku_id=line.sku_id, requested_units=line.qty_units,
                           allocated_units=line.qty_units, policy="fifo") for line in line_rows], batch_size=5000)
            reserved: dict[int, int] = {}
            for line in line_rows:
                reserved[line.sku_id] = reserved.get(line.sku_id, 0) + line.qty_units
            StockBalance.objects.bulk_create([
                StockBalance(tenant_id=tenant.pk, distributor=dist, warehouse=warehouse, sku_id=sku_id, on_hand=qty,
                             reserved=qty) for sku_id, qty in reserved.items()])
            cast["distributors"].append({"id": dist.pk, "orders": [o.pk for o in order_rows]})
    return cast


def _autovacuum(db: BenchDb) -> list[str]:
    """Do what the autovacuum daemon would have done by now (the module docstring says why); returns the commands."""
    from django.db import connection
    from psycopg2 import sql

    with connection.cursor() as cursor:  # this session's table counters reach the statistics before they are read
        cursor.execute("SELECT pg_stat_force_next_flush()")
    conn = db.connect_owner()  # the tables' owner: the application role may not VACUUM or ANALYZE
    conn.autocommit = True  # VACUUM refuses to run in a transaction
    done = []
    try:
        with conn.cursor() as cursor:
            cursor.execute(AUTOVACUUM_DUE)
            for schema, table, vacuum, analyze in cursor.fetchall():
                if vacuum or analyze:
                    command = "VACUUM (ANALYZE)" if vacuum and analyze else "VACUUM" if vacuum else "ANALYZE"
                    cursor.execute(sql.SQL(command + " {}").format(sql.Identifier(schema, table)))
                    done.append(f"{command} {table}")
    finally:
        conn.close()
    return done


def _invoice(cast: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.jobs import job_run
    from dms.tenancy.models import BackgroundJob
    from dms.tenancy.scope import Scope
    from invoicing.services import invoice_batch_job

    tenant_id, dist = cast["tenant_id"], cast["distributors"][0]
    with tenant_scope(Scope.system(tenant_id, "bench")):
        job = BackgroundJob.objects.create(kind="invoice_batch", params={"distributor_id": dist["id"], "date": None})
    started = time.perf_counter()
    status = job_run(tenant_id=tenant_id, job_id=job.pk, work=invoice_batch_job, transactional=False)
    seconds = time.perf_counter() - started
    with tenant_scope(Scope.system(tenant_id, "bench")):
        job.refresh_from_db()
    if status != BackgroundJob.Status.SUCCEEDED or job.result.get("invoiced") != len(dist["orders"]):
        raise AssertionError(f"the batch did not invoice every order: {status} {job.result.get('refusals')}")
    return seconds, {k: job.result[k] for k in ("orders", "invoiced", "refused")}


def _baseline(cast: dict[str, Any]) -> float:
    """Distributor A's invoices and lines, re-keyed to B's orders, outlets and numbers, written in bulk."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from invoicing.models import Invoice, InvoiceLine
    from orders.models import SecondaryOrder, SecondaryOrderLine

    tenant_id = cast["tenant_id"]
    a, b = cast["distributors"]
    with tenant_scope(Scope.system(tenant_id, "bench")):
        invoices = list(Invoice.objects.filter(distributor_id=a["id"]).order_by("order_id"))
        lines = list(InvoiceLine.objects.filter(distributor_id=a["id"]).order_by("invoice_id", "line_no"))
        order_map = dict(zip(a["orders"], b["orders"], strict=True))
        outlet_of = dict(SecondaryOrder.objects.filter(distributor_id=b["id"]).values_list("pk", "outlet_id"))
        line_of = {(o, n): pk for pk, o, n in SecondaryOrderLine.objects.filter(distributor_id=b["id"])
                   .values_list("pk", "order_id", "line_no")}
        a_line_no = dict(SecondaryOrderLine.objects.filter(distributor_id=a["id"]).values_list("pk", "line_no"))
    by_invoice: dict[int, list[Any]] = {}
    for line in lines:
        by_invoice.setdefault(line.invoice_id, []).append(line)
    for inv in invoices:
        inv.old_pk, inv.pk, inv.distributor_id = inv.pk, None, b["id"]
        inv.order_id = order_map[inv.order_id]
        inv.outlet_id = outlet_of[inv.order_id]
    started = time.perf_counter()
    for i in range(0, len(invoices), BASELINE_BATCH):
        chunk = invoices[i:i + BASELINE_BATCH]
        with tenant_scope(Scope.system(tenant_id, "bench")):
            Invoice.objects.bulk_create(chunk)
            rows = []
            for inv in chunk:
                for line in by_invoice[inv.old_pk]:
                    rows.append(InvoiceLine(
                        tenant_id=tenant_id, distributor_id=b["id"], invoice_id=inv.pk,
                        order_line_id=(line_of[(inv.order_id, a_line_no[line.order_line_id])]
                                       if line.order_line_id else None),
                        line_no=line.line_no, sku_id=line.sku_id, cases=line.cases, units=line.units,
                        qty_units=line.qty_units, case_price=line.case_price, gross=line.gross,
                        discount=line.discount, tax_rate=line.tax_rate, tax=line.tax, total=line.total,
                        is_free=line.is_free, scheme_ids=line.scheme_ids, booked_case_price=line.booked_case_price,
                        booked_qty_units=line.booked_qty_units))
            InvoiceLine.objects.bulk_create(rows)
    return time.perf_counter() - started


def run(scale: str) -> list[Result]:
    orders = by_scale(scale, small=500, full=10_000)
    with scratch_database("dms_bench_invoicing") as db, override_settings(DEBUG=False):
        cast = _setup(orders)
        before_job = _autovacuum(db)
        seconds, outcome = _invoice(cast)
        before_baseline = _autovacuum(db)
        baseline_s = _baseline(cast)
    params = {"scale": scale, "orders": orders, "lines_per_order": LINES_PER_ORDER, "batch_seconds": round(seconds, 2),
              "bulk_insert_seconds": round(baseline_s, 3), **outcome,
              "autovacuum_before_job": before_job, "autovacuum_before_baseline": before_baseline}
    return [Result(name="invoicing_batch_invoices_per_s", value=orders / seconds, unit="invoices/s",
                   baseline="raw bulk insert of the same invoice and line rows", baseline_value=orders / baseline_s,
                   goal="ratio >= 0.2", params=params)]
