"""The tenant's registry, catalogue, outlets, people, phones, warehouses, vehicles, routes and plans; and each
session's staging of them, read back from the database."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection
from psycopg2.extras import execute_values

from catalog import demo
from catalog.enums import SchemeKind, SlabBasis
from catalog.models import Outlet, PriceList, PriceListItem, Scheme, SchemeBrand, SchemeSlab, Sku, TaxRate
from catalog.services import brand_create
from dispatch.models import Vehicle
from dms.tenancy.models import Device, Distributor, Membership, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import distributor_create
from inventory.models import Warehouse
from pjp.models import Pjp, PjpSlot, Route, RouteStop

from .spec import DISCOUNT_BRAND, DISCOUNT_PERCENT, INVOICES_PER_LOAD_FORM, ScaleSpec
from .sql import SESSION_TABLES, drop, execute, insert_select, like_escape, nextval, table

# --- registry, catalogue, outlets ------------------------------------------------------------------------------------

def seed_distributors(spec: ScaleSpec, scope: Scope, world: demo.TenantSpec) -> list[int]:
    ids = []
    for d in range(spec.distributors):
        city = world.cities[d % len(world.cities)]
        ids.append(distributor_create(
            scope=scope, code=f"SC{d + 1:04d}", name=f"{city.distributor} {d + 1}", address=city.warehouse,
            lat=Decimal(f"{city.lat + (d // len(world.cities)) * 0.0001:.6f}"), lng=Decimal(f"{city.lng:.6f}")).pk)
    return ids


def seed_catalogue(spec: ScaleSpec, scope: Scope, tenant: Tenant, world: demo.TenantSpec) -> None:
    """Taxes, brands, SKUs, the base price list and one flat scheme, as the demo writes them (a few thousand rows)."""
    first = spec.dates()[0]
    for tax_class, name, rate, valid_from, valid_to in world.taxes:
        TaxRate.objects.create(tax_class=tax_class, name=name, rate=Decimal(rate), valid_from=valid_from,
                               valid_to=valid_to)
    brands = {b.code: brand_create(scope=scope, code=b.code, name=b.name) for b in world.brands}
    rows = demo.sku_rows(spec=world, n=spec.skus, seed=spec.seed)
    skus = Sku.objects.bulk_create([
        Sku(tenant_id=tenant.pk, code=r.code, name=r.name, brand=brands[r.brand_code], pack_size=r.pack_size,
            units_per_case=r.units_per_case, weight_kg_per_case=r.weight_kg_per_case,
            volume_l_per_case=r.volume_l_per_case, tax_class=r.tax_class) for r in rows], batch_size=1000)
    base = PriceList.objects.create(code="BASE", name=f"{world.name} list price",
                                    valid_from=first - timedelta(days=400))
    PriceListItem.objects.bulk_create([
        PriceListItem(tenant_id=tenant.pk, price_list=base, sku=s, case_price=r.case_price)
        for s, r in zip(skus, rows, strict=True)], batch_size=1000)
    brand = brands[world.brands[DISCOUNT_BRAND].code]
    scheme = Scheme.objects.create(code=f"FLAT-{brand.code}", name=f"{brand.name}: {DISCOUNT_PERCENT}% off",
                                   kind=SchemeKind.PERCENT_OFF, basis=SlabBasis.QUANTITY,
                                   valid_from=first - timedelta(days=30))
    SchemeBrand.objects.create(scheme=scheme, brand=brand)
    SchemeSlab.objects.create(scheme=scheme, threshold=Decimal("0"), benefit=DISCOUNT_PERCENT)


OUTLET_COLUMNS = ("tenant_id", "distributor_id", "code", "name", "channel", "address", "lat", "lng", "opening_hours",
                  "credit_limit", "tax_id", "active", "created_at", "updated_at")


def seed_outlets(spec: ScaleSpec, tenant_id: int, world: demo.TenantSpec, dist_ids: list[int]) -> None:
    """The demo's outlet generator per distributor (names, addresses, points around its city, opening hours), every
    outlet active, written with multi-row INSERTs (the outlet generator is Python; the rest of the seed is SQL)."""
    created = datetime.combine(spec.dates()[0] - timedelta(days=120), datetime.min.time(), tzinfo=ZoneInfo(spec.tz))
    sql = f"INSERT INTO {table(Outlet)} ({', '.join(OUTLET_COLUMNS)}) VALUES %s"
    batch: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for d, dist_id in enumerate(dist_ids):
            city = world.cities[d % len(world.cities)]
            n = spec.share(spec.outlets, d)[1]
            for r in demo.outlet_rows(spec=world, city=city, n=n, seed=spec.seed * 10_000 + d):
                batch.append((tenant_id, dist_id, r.code, r.name, r.channel, r.address, r.lat, r.lng,
                              json.dumps(r.opening_hours), r.credit_limit, r.tax_id, True, created, created))
            if len(batch) >= 20_000 or d == len(dist_ids) - 1:
                execute_values(cursor.cursor, sql, batch, page_size=5000)
                batch = []
    _stage_distributors(spec, dist_ids)
    _stage_outlets(tenant_id)


def _stage_distributors(spec: ScaleSpec, dist_ids: Sequence[int]) -> None:
    """s_dist: per distributor (di = its place in code order) its share of outlets and bookers, its day-routes, its
    vehicles and the first SKU of its assortment."""
    execute("""CREATE TEMP TABLE s_dist (di int PRIMARY KEY, id bigint, n_out int, b0 int, n_book int, n_routes int,
             n_veh int, sku0 int, warehouse_id bigint, delivery_id bigint)""")
    rows = []
    for d, dist_id in enumerate(dist_ids):
        n_out = spec.share(spec.outlets, d)[1]
        b0, n_book = spec.share(spec.bookers, d)
        orders = sum(_orders_of(spec, j) for j in range(b0, b0 + n_book))
        rows.append((d, dist_id, n_out, b0, n_book, math.ceil(n_out / spec.visits_per_journey),
                     max(1, math.ceil(orders / INVOICES_PER_LOAD_FORM)), (d * 37) % spec.skus))
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, "INSERT INTO s_dist (di, id, n_out, b0, n_book, n_routes, n_veh, sku0) "
                                      "VALUES %s", rows)


def _stage_outlets(tenant_id: int) -> None:
    execute(f"""CREATE TEMP TABLE s_outlet AS
        SELECT d.di, (row_number() OVER (PARTITION BY o.distributor_id ORDER BY o.code) - 1)::int AS oi, o.id,
            o.lat::float8 AS lat, o.lng::float8 AS lng
        FROM {table(Outlet)} o JOIN s_dist d ON d.id = o.distributor_id WHERE o.tenant_id = %(t)s""", {"t": tenant_id})
    execute("ALTER TABLE s_outlet ADD PRIMARY KEY (di, oi); CREATE UNIQUE INDEX ON s_outlet (id)")


def _orders_of(spec: ScaleSpec, j: int) -> int:
    """Orders booker j books a day: the day's orders dealt evenly over the bookers."""
    n, b = spec.orders_per_day, spec.bookers
    return n * (j + 1) // b - n * j // b


# --- people, phones, warehouses, vehicles, routes and plans ----------------------------------------------------------

def seed_people_and_plans(spec: ScaleSpec, tenant: Tenant) -> None:
    tid, first = tenant.pk, spec.dates()[0]
    zone = ZoneInfo(spec.tz)
    joined = datetime.combine(first - timedelta(days=90), datetime.min.time(), tzinfo=zone)
    user = get_user_model()
    p: dict[str, Any] = {"t": tid, "slug": spec.slug, "joined": joined, "v": spec.visits_per_journey,
                         "anchor": first - timedelta(days=first.weekday() + 7), "from": first - timedelta(days=60)}
    # Bookers and one delivery man per distributor: global rows (users, memberships), set-based.
    execute(f"""INSERT INTO {table(user)} (password, is_superuser, username, first_name, last_name, email, is_staff,
                  is_active, date_joined)
        SELECT '!scale-seed', false, %(slug)s || '.booker' || lpad((j + 1)::text, 5, '0'), 'Booker', (j + 1)::text,
            '', false, true, %(joined)s FROM generate_series(0, %(b)s - 1) j
        UNION ALL
        SELECT '!scale-seed', false, %(slug)s || '.delivery' || lpad((di + 1)::text, 4, '0'), 'Delivery',
            (di + 1)::text, '', false, true, %(joined)s FROM generate_series(0, %(d)s - 1) di""",
            {**p, "b": spec.bookers, "d": spec.distributors})
    execute(f"""CREATE TEMP TABLE s_booker AS
        SELECT j, d.di, j - d.b0 AS k, u.id AS user_id, {nextval(Device)} AS device_id, {nextval(Pjp)} AS pjp_id,
            (%(n)s::bigint * (j + 1) / %(b)s - %(n)s::bigint * j / %(b)s)::int AS n_ord
        FROM (SELECT id, substring(username FROM '[0-9]+$')::int - 1 AS j FROM {table(user)}
              WHERE username LIKE %(pattern)s) u
        JOIN s_dist d ON u.j >= d.b0 AND u.j < d.b0 + d.n_book""",
            {"n": spec.orders_per_day, "b": spec.bookers, "pattern": like_escape(spec.slug) + ".booker%"})
    execute("ALTER TABLE s_booker ADD PRIMARY KEY (j)")
    execute(f"""UPDATE s_dist d SET delivery_id = u.id FROM {table(user)} u
        WHERE u.username = %(slug)s || '.delivery' || lpad((d.di + 1)::text, 4, '0')""", p)
    insert_select(Membership, {"user_id": "b.user_id", "tenant_id": "%(t)s", "distributor_id": "d.id",
                               "role": "'order_booker'", "active": "true", "created_at": "%(joined)s",
                               "updated_at": "%(joined)s"},
                  "FROM s_booker b JOIN s_dist d USING (di)", p, pk=None)
    insert_select(Membership, {"user_id": "d.delivery_id", "tenant_id": "%(t)s", "distributor_id": "d.id",
                               "role": "'delivery_man'", "active": "true", "created_at": "%(joined)s",
                               "updated_at": "%(joined)s"}, "FROM s_dist d", p, pk=None)
    insert_select(Device, {
        "tenant_id": "%(t)s", "distributor_id": "d.id", "user_id": "b.user_id",
        "identifier": "%(slug)s || '-phone-' || (b.j + 1)", "name": "'Booker ' || (b.j + 1) || ' phone'",
        "platform": "'android'", "app_version": "'3.4.1'", "active": "true", "created_at": "%(joined)s",
        "updated_at": "%(joined)s"},
                  "FROM s_booker b JOIN s_dist d USING (di)", p, pk="b.device_id")
    execute(f"UPDATE s_dist d SET warehouse_id = {nextval(Warehouse)}")
    insert_select(Warehouse, {"tenant_id": "%(t)s", "distributor_id": "d.id", "code": "'MAIN'",
                              "name": "'Main warehouse'", "active": "true", "is_default": "true",
                              "created_at": "%(joined)s", "updated_at": "%(joined)s"}, "FROM s_dist d", p,
                  pk="d.warehouse_id")
    execute(f"""CREATE TEMP TABLE s_vehicle AS SELECT d.di, v, {nextval(Vehicle)} AS id
              FROM s_dist d CROSS JOIN LATERAL generate_series(0, d.n_veh - 1) v""")
    insert_select(Vehicle, {"tenant_id": "%(t)s", "distributor_id": "d.id", "code": "'TRUCK-' || (v.v + 1)",
                            "registration": "'SC' || (d.di + 1) || '-' || lpad((v.v + 1)::text, 3, '0')",
                            "capacity_weight_kg": "12000", "capacity_volume_l": "60000", "capacity_cases": "2500",
                            "active": "true", "created_at": "%(joined)s", "updated_at": "%(joined)s"},
                  "FROM s_vehicle v JOIN s_dist d USING (di)", p, pk="v.id")
    # Routes: each distributor's outlets cut into day-routes of `v` stops (the last wraps round to the first).
    execute(f"""CREATE TEMP TABLE s_route AS SELECT d.di, r, {nextval(Route)} AS id
              FROM s_dist d CROSS JOIN LATERAL generate_series(0, d.n_routes - 1) r""")
    execute("ALTER TABLE s_route ADD PRIMARY KEY (di, r)")
    insert_select(Route, {"tenant_id": "%(t)s", "distributor_id": "d.id",
                          "code": "'R' || lpad((r.r + 1)::text, 3, '0')", "name": "'Beat ' || (r.r + 1)",
                          "work_start": "'09:00'::time", "work_end": "'18:00'::time",
                          "default_service_minutes": "8", "active": "true", "version": "1",
                          "created_at": "%(joined)s", "updated_at": "%(joined)s"},
                  "FROM s_route r JOIN s_dist d USING (di)", p, pk="r.id")
    execute("""CREATE TEMP TABLE s_stop AS
        SELECT r.di, r.r, s + 1 AS seq, o.oi, o.id AS outlet_id, o.lat, o.lng
        FROM s_route r JOIN s_dist d USING (di) CROSS JOIN LATERAL generate_series(0, %(v)s - 1) s
        JOIN s_outlet o ON o.di = r.di AND o.oi = mod(r.r * %(v)s + s, d.n_out)""", p)
    execute("ALTER TABLE s_stop ADD PRIMARY KEY (di, r, seq)")
    insert_select(RouteStop, {"tenant_id": "%(t)s", "distributor_id": "d.id", "route_id": "r.id",
                              "outlet_id": "s.outlet_id", "sequence": "s.seq", "weeks": "'[]'::jsonb",
                              "created_at": "%(joined)s", "updated_at": "%(joined)s"},
                  "FROM s_stop s JOIN s_route r ON r.di = s.di AND r.r = s.r JOIN s_dist d ON d.di = s.di", p, pk=None)
    # A weekly plan per booker, seven-day trade: on weekday w booker k covers route (k + w * bookers) mod routes.
    insert_select(Pjp, {"tenant_id": "%(t)s", "distributor_id": "d.id", "booker_id": "b.user_id", "cycle_weeks": "1",
                        "cycle_anchor": "%(anchor)s", "effective_from": "%(from)s", "note": "'scale seed'",
                        "created_at": "%(joined)s", "updated_at": "%(joined)s"},
                  "FROM s_booker b JOIN s_dist d USING (di)", p, pk="b.pjp_id")
    execute("""CREATE TEMP TABLE s_slot AS
        SELECT b.j, w, r.r, r.id AS route_id FROM s_booker b JOIN s_dist d USING (di)
        CROSS JOIN generate_series(0, 6) w
        JOIN s_route r ON r.di = b.di AND r.r = mod(b.k + w * d.n_book, d.n_routes)""")
    execute("ALTER TABLE s_slot ADD PRIMARY KEY (j, w)")
    insert_select(PjpSlot, {"tenant_id": "%(t)s", "distributor_id": "d.id", "pjp_id": "b.pjp_id", "week": "1",
                            "weekday": "s.w", "route_id": "s.route_id", "created_at": "%(joined)s",
                            "updated_at": "%(joined)s"},
                  "FROM s_slot s JOIN s_booker b USING (j) JOIN s_dist d ON d.di = b.di", p, pk=None)


# --- the staging of a session: read back from the database ----------------------------------------------------------

def load_staging(spec: ScaleSpec, tenant: Tenant) -> None:
    """The session's staging tables (each worker's connection has its own), read back from what the first phases
    wrote: distributors, outlets, SKUs with their price, discount and rate of each date, bookers with their phone and
    plan, routes and their stops, the plans' slots, vehicles."""
    drop(*SESSION_TABLES)
    user = get_user_model()
    p = {"t": tenant.pk, "slug": spec.slug, "pattern": like_escape(spec.slug) + ".booker%",
         "n": spec.orders_per_day, "b": spec.bookers}
    _stage_distributors(spec, list(Distributor.objects.order_by("code").values_list("pk", flat=True)))
    execute(f"""UPDATE s_dist d SET warehouse_id = w.id FROM {table(Warehouse)} w
              WHERE w.tenant_id = %(t)s AND w.distributor_id = d.id AND w.is_default""", p)
    execute(f"""UPDATE s_dist d SET delivery_id = u.id FROM {table(user)} u
              WHERE u.username = %(slug)s || '.delivery' || lpad((d.di + 1)::text, 4, '0')""", p)
    _stage_outlets(tenant.pk)
    _stage_catalogue(spec, tenant)
    execute(f"""CREATE TEMP TABLE s_booker AS
        SELECT u.j, d.di, u.j - d.b0 AS k, u.id AS user_id, dev.id AS device_id, pjp.id AS pjp_id,
            (%(n)s::bigint * (u.j + 1) / %(b)s - %(n)s::bigint * u.j / %(b)s)::int AS n_ord
        FROM (SELECT id, substring(username FROM '[0-9]+$')::int - 1 AS j FROM {table(user)}
              WHERE username LIKE %(pattern)s) u
        JOIN s_dist d ON u.j >= d.b0 AND u.j < d.b0 + d.n_book
        JOIN {table(Device)} dev ON dev.tenant_id = %(t)s AND dev.distributor_id = d.id AND dev.user_id = u.id
        JOIN {table(Pjp)} pjp ON pjp.tenant_id = %(t)s AND pjp.distributor_id = d.id AND pjp.booker_id = u.id""", p)
    execute("ALTER TABLE s_booker ADD PRIMARY KEY (j); CREATE UNIQUE INDEX ON s_booker (pjp_id)")
    execute(f"""CREATE TEMP TABLE s_route AS
        SELECT d.di, substring(r.code FROM 2)::int - 1 AS r, r.id
        FROM {table(Route)} r JOIN s_dist d ON d.id = r.distributor_id WHERE r.tenant_id = %(t)s""", p)
    execute("ALTER TABLE s_route ADD PRIMARY KEY (di, r); CREATE UNIQUE INDEX ON s_route (id)")
    execute(f"""CREATE TEMP TABLE s_stop AS
        SELECT r.di, r.r, st.sequence AS seq, o.oi, o.id AS outlet_id, o.lat, o.lng
        FROM {table(RouteStop)} st JOIN s_route r ON r.id = st.route_id JOIN s_outlet o ON o.id = st.outlet_id
        WHERE st.tenant_id = %(t)s""", p)
    execute("ALTER TABLE s_stop ADD PRIMARY KEY (di, r, seq)")
    execute(f"""CREATE TEMP TABLE s_slot AS
        SELECT b.j, sl.weekday AS w, r.r, r.id AS route_id
        FROM {table(PjpSlot)} sl JOIN s_booker b ON b.pjp_id = sl.pjp_id JOIN s_route r ON r.id = sl.route_id
        WHERE sl.tenant_id = %(t)s""", p)
    execute("ALTER TABLE s_slot ADD PRIMARY KEY (j, w)")
    execute(f"""CREATE TEMP TABLE s_vehicle AS
        SELECT d.di, substring(v.code FROM 7)::int - 1 AS v, v.id
        FROM {table(Vehicle)} v JOIN s_dist d ON d.id = v.distributor_id WHERE v.tenant_id = %(t)s""", p)
    execute("ALTER TABLE s_vehicle ADD PRIMARY KEY (di, v)")
    execute("ANALYZE s_dist, s_outlet, s_booker, s_route, s_stop, s_slot")


def _stage_catalogue(spec: ScaleSpec, tenant: Tenant) -> None:
    """s_sku (si = place in code order): units per case, base price, the flat scheme's percent and ids, weight and
    volume per case; s_day: the dates; s_dayrate: each tax class's rate on each date, as the pricing engine reads it."""
    scheme = Scheme.objects.filter(code__startswith="FLAT-").first()
    brands = set(SchemeBrand.objects.filter(scheme=scheme).values_list("brand_id", flat=True)) if scheme else set()
    prices = dict(PriceListItem.objects.filter(price_list__code="BASE").values_list("sku_id", "case_price"))
    skus = list(Sku.objects.order_by("code").values_list("pk", "units_per_case", "tax_class", "brand_id",
                                                         "weight_kg_per_case", "volume_l_per_case"))
    execute("""CREATE TEMP TABLE s_sku (si int PRIMARY KEY, id bigint, upc int, case_price numeric, tax_class text,
             pct numeric, scheme_ids jsonb, kg numeric, litres numeric)""")
    execute("""CREATE TEMP TABLE s_day (t int PRIMARY KEY, day date, age int, weekday int, t0 timestamptz,
             t1 timestamptz, fy int)""")
    execute("CREATE TEMP TABLE s_dayrate (t int, tax_class text, rate numeric, PRIMARY KEY (t, tax_class))")
    zone = ZoneInfo(spec.tz)
    rates = list(TaxRate.objects.values_list("tax_class", "rate", "valid_from", "valid_to"))

    def rate_on(tax_class: str, day: date) -> Decimal:
        valid = [(vf, rate) for cls, rate, vf, vt in rates
                 if cls == tax_class and vf <= day and (vt is None or vt >= day)]
        return max(valid)[1] if valid else Decimal("0")

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone)

    with connection.cursor() as cursor:
        execute_values(cursor.cursor, "INSERT INTO s_sku VALUES %s", [
            (i, pk, upc, prices[pk], tax_class, DISCOUNT_PERCENT if brand in brands else Decimal(0),
             f"[{scheme.pk}]" if scheme is not None and brand in brands else "[]", kg, litres)
            for i, (pk, upc, tax_class, brand, kg, litres) in enumerate(skus)], page_size=2000)
        execute_values(cursor.cursor, "INSERT INTO s_day VALUES %s", [
            (t, day, spec.days - 1 - t, day.weekday(), midnight(day), midnight(day + timedelta(days=1)),
             tenant.fiscal_year(day)) for t, day in enumerate(spec.dates())])
        execute_values(cursor.cursor, "INSERT INTO s_dayrate VALUES %s", [
            (t, cls, rate_on(cls, day)) for t, day in enumerate(spec.dates()) for cls in sorted({s[2] for s in skus})])
