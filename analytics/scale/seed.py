"""seed_scale: the phases, the chunks of distributors and the sessions that write them."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, models
from django.utils import timezone

from catalog import demo
from catalog.models import Outlet, Sku
from dispatch.models import DeliveryLine, LoadForm, LoadFormInvoice
from dms.tenancy.models import Device, Distributor, Tenant
from dms.tenancy.services import tenant_create
from inventory.models import Allocation, StockBalance, StockMovement
from invoicing.models import Invoice, InvoiceLine, Payment
from mobile.models import SyncItem
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import DailyJourney, Pjp, Route, RouteStop, Visit

from .days import seed_chunk
from .masters import load_staging, seed_catalogue, seed_distributors, seed_outlets, seed_people_and_plans
from .spec import CHUNK_LINES, Log, ScaleSpec, ScaleSummary
from .sql import CHUNK_TABLES, SESSION_TABLES, day_close_model, drop, scalar, table, work

# --- the seed --------------------------------------------------------------------------------------------------------

def seed_scale(*, slug: str, days: int = 1, orders_per_day: int = 150_000, lines_per_order: int = 10,
               bookers: int = 5_000, distributors: int = 500, outlets: int = 200_000, skus: int = 2_000, seed: int = 7,
               end_date: date | None = None, tz: str = "Asia/Karachi", log: Log | None = None,
               workers: int | None = None) -> ScaleSummary:
    """Create tenant `slug` and `days` business dates of work ending at `end_date` (default: yesterday, tenant-local).
    Not idempotent: the slug must be new. Call it outside a transaction (each chunk of distributors commits on its
    own, `workers` sessions at once, default 2) or inside a test's (one session); it needs PostgreSQL."""
    say = log or (lambda _message: None)
    end = end_date or (timezone.now().astimezone(ZoneInfo(tz)).date() - timedelta(days=1))
    spec = ScaleSpec(slug=slug, days=days, orders_per_day=orders_per_day, lines_per_order=lines_per_order,
                     bookers=bookers, distributors=distributors, outlets=outlets, skus=skus, seed=seed, end_date=end,
                     tz=tz)
    spec.validate()
    world = demo.TENANTS[0]  # the Pakistani manufacturer of the demo: its brands, packs, taxes and cities
    clock = _Clock(say)
    tenant = tenant_create(name=f"{world.name} ({slug})", slug=slug, currency=world.currency, time_zone=tz,
                           fiscal_year_start_month=world.fiscal_year_start_month)
    summary = ScaleSummary(tenant_id=tenant.pk, slug=slug, dates=spec.dates(), seconds=clock.seconds)
    drop(*SESSION_TABLES)
    try:
        with clock("registry"), work(tenant.pk) as scope:
            dist_ids = seed_distributors(spec, scope, world)
        with clock("catalogue"), work(tenant.pk) as scope:
            seed_catalogue(spec, scope, tenant, world)
        with clock("outlets"), work(tenant.pk):
            seed_outlets(spec, tenant.pk, world, dist_ids)
        with clock("people and plans"), work(tenant.pk):
            seed_people_and_plans(spec, tenant)
        drop(*SESSION_TABLES)
        lines_per_distributor = max(1, spec.orders_per_day * spec.lines_per_order * spec.days // spec.distributors)
        step = max(1, CHUNK_LINES // lines_per_distributor)
        chunks = [(d0, min(spec.distributors, d0 + step)) for d0 in range(0, spec.distributors, step)]
        # Most of a chunk's time is PostgreSQL checking foreign keys at commit: two sessions keep two cores busy.
        # Inside a transaction (a test) other sessions would not see the tenant: one session then.
        n = workers if workers is not None else (1 if connection.in_atomic_block else 2)
        with clock("field work, orders, stock, invoices, deliveries, sync"):
            _run_chunks(spec, tenant, chunks, max(1, min(n, len(chunks))), clock)
        with work(tenant.pk):
            summary.counts = _counts(tenant.pk)
    finally:
        drop(*SESSION_TABLES, *CHUNK_TABLES)
    return summary


def _run_chunks(spec: ScaleSpec, tenant: Tenant, chunks: list[tuple[int, int]], workers: int, clock: _Clock) -> None:
    todo: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for chunk in chunks:
        todo.put(chunk)
    if workers == 1:
        _chunks_in_this_session(spec, tenant, todo, clock)
        return
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _chunks_in_this_session(spec, tenant, todo, clock)
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller below
            errors.append(exc)
            while not todo.empty():  # the other workers stop at their next chunk
                todo.get_nowait()
        finally:
            connection.close()  # this thread's connection, and its temporary tables with it

    threads = [threading.Thread(target=worker, name=f"seed-scale-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _chunks_in_this_session(spec: ScaleSpec, tenant: Tenant, todo: queue.SimpleQueue[tuple[int, int]],
                            clock: _Clock) -> None:
    loaded = False
    while True:
        try:
            d0, d1 = todo.get_nowait()
        except queue.Empty:
            return
        with clock(f"distributors {d0 + 1}-{d1} of {spec.distributors}"), work(tenant.pk):
            if not loaded:
                load_staging(spec, tenant)
                loaded = True
            seed_chunk(spec, tenant, d0, d1)


class _Clock:
    def __init__(self, say: Log) -> None:
        self.say = say
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[phase] = round(time.perf_counter() - started, 2)
        self.say(f"{phase}: {self.seconds[phase]:.1f} s")


COUNTED: tuple[type[models.Model], ...] = (
    Distributor, Outlet, Sku, Device, Route, RouteStop, Pjp, DailyJourney, Visit, SecondaryOrder, SecondaryOrderLine,
    Allocation, StockMovement, StockBalance, Invoice, InvoiceLine, LoadForm, LoadFormInvoice, DeliveryLine, Payment,
    SyncItem)


def _counts(tenant_id: int) -> dict[str, int]:
    out = {}
    models_ = [*COUNTED, *([m] if (m := day_close_model()) is not None else [])]
    for model in models_:
        out[model._meta.model_name or model.__name__] = int(
            scalar(f"SELECT count(*) FROM {table(model)} WHERE tenant_id = %(t)s", {"t": tenant_id}))
    return out
