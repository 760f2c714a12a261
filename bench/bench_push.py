"""Day-end burst: order-bookers push their day's orders through the real HTTP stack at once.

Setup (scratch PostgreSQL database, migrated, RLS on): one tenant, 5 distributors, the bookers spread over them,
each with a registered device and 40 outlets, 200 SKUs on a base price list with a 17% tax.
Measured: gunicorn (`dms.wsgi`, 2 x cores sync workers, DEBUG off) serving `POST /api/v1/mobile/sync/push/`;
CLIENTS concurrent clients each push whole bookers' days: every booker 40 orders of 10 lines, in batches of
10 orders (4 pushes), each with a fresh Idempotency-Key. The rate is order lines committed per second of wall
time, from the first request to the last response.
Baseline, same run, same database: a plain `bulk_create` of the same orders and lines (the rows the push
wrote, read back, deleted and inserted again) as the application role inside `tenant_scope`, one transaction
per booker's day. Goal: ratio >= 0.25.
Query count: a push of 1, 5 and 10 orders of 10 lines, and of 10 orders of 1 line, in-process with the query
log: queries per order must not grow with the batch or the lines (push_queries_per_order: the 10 x 10 push's
per-order count against the 1 x 10 push's; goal ratio <= 1.0).
Scales: small = 20 bookers (8,000 lines), full = 200 bookers (80,000 lines).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from .common import BenchDb, BenchError, Result, by_scale, scratch_database

DISTRIBUTORS = 5
OUTLETS_PER_BOOKER = 40
SKUS = 200
ORDERS_PER_BOOKER = 40
LINES_PER_ORDER = 10
ORDERS_PER_PUSH = 10
CLIENTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(bookers: int) -> dict[str, Any]:
    """Tenant, distributors, bookers with devices and tokens, outlets, SKUs with prices."""
    from catalog.models import Brand, Outlet, PriceList, PriceListItem, Sku, TaxRate
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.enums import Role
    from dms.tenancy.scope import Scope
    from dms.tenancy.services import (
        device_access_token,
        device_register,
        distributor_create,
        membership_grant,
        tenant_create,
        user_create,
    )

    tenant = tenant_create(name="Burst", slug=f"burst{uuid.uuid4().hex[:6]}", currency="PKR")
    out: dict[str, Any] = {"tenant_id": tenant.pk, "bookers": []}
    with tenant_scope(Scope.system(tenant.pk, "bench")) as scope:
        TaxRate.objects.create(tax_class="STD", name="GST", rate=Decimal("0.17"), valid_from=date(2020, 1, 1))
        brand = Brand.objects.create(code="BR", name="Brand")
        skus = Sku.objects.bulk_create([
            Sku(tenant_id=tenant.pk, code=f"S{i:04d}", name=f"Product {i}", brand=brand, units_per_case=12,
                weight_kg_per_case=Decimal("6"), volume_l_per_case=Decimal("8"), tax_class="STD")
            for i in range(SKUS)])
        base = PriceList.objects.create(code="BASE", name="Base", valid_from=date(2020, 1, 1))
        rng = random.Random(7)
        PriceListItem.objects.bulk_create([
            PriceListItem(tenant_id=tenant.pk, price_list=base, sku=s,
                          case_price=Decimal(f"{rng.uniform(300, 3000):.2f}")) for s in skus])
        distributors = [distributor_create(scope=scope, code=f"D{d}", name=f"Distributor {d}")
                        for d in range(DISTRIBUTORS)]
        for b in range(bookers):
            dist = distributors[b % DISTRIBUTORS]
            user = user_create(username=f"{tenant.slug}-booker{b}", password="x")
            membership_grant(scope=scope, user=user, role=Role.ORDER_BOOKER, distributor=dist)
            device = device_register(scope=scope, user=user, distributor_id=dist.pk, identifier=f"phone-{b}")
            outlets = Outlet.objects.bulk_create([
                Outlet(tenant_id=tenant.pk, distributor=dist, code=f"B{b}-O{i}", name=f"Shop {b}-{i}",
                       lat=Decimal("31.5"), lng=Decimal("74.3")) for i in range(OUTLETS_PER_BOOKER)])
            out["bookers"].append({"token": device_access_token(device=device), "outlets": [o.pk for o in outlets],
                                   "distributor_id": dist.pk})
        out["skus"] = [s.pk for s in skus]
    return out


def _day(booker: dict[str, Any], skus: list[int], seed: int, lines: int = LINES_PER_ORDER,
         orders: int = ORDERS_PER_BOOKER) -> list[dict[str, Any]]:
    """A booker's day as push bodies of ORDERS_PER_PUSH orders each."""
    rng = random.Random(seed)
    booked = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    items = [{"kind": "order", "uuid": str(uuid.uuid4()), "device_seq": n + 1, "payload": {
        "outlet_id": booker["outlets"][n % len(booker["outlets"])], "booked_at": booked,
        "lines": [{"sku_id": s, "cases": rng.randint(1, 5)} for s in rng.sample(skus, lines)]}}
        for n in range(orders)]
    return [{"items": items[i:i + ORDERS_PER_PUSH]} for i in range(0, len(items), ORDERS_PER_PUSH)]


def _post(base: str, token: str, body: bytes, items: int) -> int:
    """Send one encoded push; the clients stand for phones elsewhere, so their own work is kept small (bodies
    encoded before the clock starts, the answer checked by counting its "applied" results)."""
    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        f"{base}/api/v1/mobile/sync/push/", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}",
                 "Idempotency-Key": str(uuid.uuid4())})
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        answer = response.read()
    if answer.count(b'"status":"applied"') != items:
        raise BenchError(f"push not applied: {answer[:300]!r}")
    return items


def _workers() -> int:
    """gunicorn workers (BENCH_PUSH_WORKERS; default 2 x cores, gunicorn's usual advice)."""
    raw = os.environ.get("BENCH_PUSH_WORKERS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 2 * (os.cpu_count() or 1)


def _gunicorn(db: BenchDb, port: int) -> subprocess.Popen[bytes]:
    app = db.app
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dms.settings.local", "DEBUG": "false",
           "DATABASE_URL": f"postgres://{app['user']}:{app['password']}@{app['host']}:{app['port']}/{db.name}",
           "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    env.pop("REDIS_URL", None)  # no tasks in this path; keep the cache local to each worker
    workers = _workers()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "dms.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--timeout", "300", "--log-level", "warning"],
        cwd=Path(settings.BASE_DIR), env=env)
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise BenchError("gunicorn did not start")


def _baseline(cast: dict[str, Any]) -> float:
    """Seconds to bulk_create the rows the push wrote, one transaction per booker's day: the pushed orders are
    read, deleted (untimed), and inserted again with the same values by plain bulk_create."""
    from dms.tenancy.context import tenant_scope
    from dms.tenancy.scope import Scope
    from orders.models import SecondaryOrder, SecondaryOrderLine

    tenant_id = cast["tenant_id"]
    with tenant_scope(Scope.system(tenant_id, "bench")):
        orders = list(SecondaryOrder.objects.order_by("pk"))
        lines = list(SecondaryOrderLine.objects.order_by("order_id", "line_no"))
        SecondaryOrder.objects.all().delete()
    by_order: dict[int, list[Any]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    by_booker: dict[Any, list[Any]] = {}
    for order in orders:
        by_booker.setdefault(order.booker_id, []).append(order)
    started = time.perf_counter()
    for day in by_booker.values():
        with tenant_scope(Scope.system(tenant_id, "bench")):
            SecondaryOrder.objects.bulk_create(day)
            SecondaryOrderLine.objects.bulk_create([line for order in day for line in by_order[order.pk]])
    return time.perf_counter() - started


def _queries_per_order(cast: dict[str, Any]) -> dict[str, float]:
    """Queries of one in-process push per order, for batches of 1, 5 and 10 orders of 10 lines, and 10 of 1."""
    booker = cast["bookers"][0]
    host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
    client = Client(HTTP_HOST=host)
    out: dict[str, float] = {}
    for orders, lines in ((1, 10), (5, 10), (10, 10), (10, 1)):
        (body,) = _day(booker, cast["skus"], seed=orders * 100 + lines, lines=lines, orders=orders)
        for n, item in enumerate(body["items"]):
            item["device_seq"] = 1_000_000 + orders * 1000 + lines * 10 + n
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/mobile/sync/push/", body, content_type="application/json",
                                   headers={"Authorization": f"Bearer {booker['token']}",
                                            "Idempotency-Key": str(uuid.uuid4())})
        if response.status_code != 200:
            raise BenchError(f"in-process push failed: {response.status_code} {response.content[:300]!r}")
        out[f"{orders}x{lines}"] = round(len(queries) / orders, 2)
    return out


def run(scale: str) -> list[Result]:
    bookers = by_scale(scale, small=20, full=200)
    with scratch_database("dms_bench_push") as db:
        cast = _setup(bookers)
        days = [[(json.dumps(body).encode(), len(body["items"])) for body in _day(b, cast["skus"], seed=i)]
                for i, b in enumerate(cast["bookers"])]
        port = _free_port()
        server = _gunicorn(db, port)
        base = f"http://127.0.0.1:{port}"
        try:
            def play(i: int) -> int:
                return sum(_post(base, cast["bookers"][i]["token"], body, n) for body, n in days[i])

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                orders = sum(pool.map(play, range(bookers)))
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
        lines = orders * LINES_PER_ORDER
        baseline_s = _baseline(cast)
        queries = _queries_per_order(cast)
    params = {"scale": scale, "bookers": bookers, "orders": orders, "lines": lines, "clients": CLIENTS,
              "gunicorn_workers": _workers(), "push_seconds": round(seconds, 2),
              "bulk_create_seconds": round(baseline_s, 2), "orders_per_push": ORDERS_PER_PUSH,
              "queries_per_order": queries, "cpus": os.cpu_count()}
    return [
        Result(name="push_burst_lines_per_s", value=lines / seconds, unit="lines/s",
               baseline="plain bulk_create of the same rows", baseline_value=lines / baseline_s,
               goal="ratio >= 0.25", params=params),
        Result(name="push_queries_per_order", value=queries["10x10"], unit="queries/order",
               baseline="a push of one 10-line order", baseline_value=queries["1x10"], goal="ratio <= 1.0",
               params=params),
    ]
