"""Writing the demo: tenants, distributors, people, catalogue, prices, schemes, outlets, routes and plans."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

from catalog.enums import Channel, SchemeKind, SlabBasis
from catalog.models import (
    Brand,
    Outlet,
    PriceList,
    PriceListItem,
    Scheme,
    SchemeBrand,
    SchemeSku,
    SchemeSlab,
    Sku,
    TaxRate,
)
from catalog.services import brand_create
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Distributor, Membership, Tenant
from dms.tenancy.scope import Scope
from dms.tenancy.services import api_key_create, device_register, distributor_create, membership_grant, tenant_create

from .rows import OutletRow, _tax_id, outlet_rows, sku_rows
from .world import (
    _PEOPLE,
    BOOKERS_PER_DISTRIBUTOR,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    OUTLET_BATCH,
    PLATFORM_USERNAME,
    TENANTS,
    City,
    TenantSpec,
)

# --- writing --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Credential:
    username: str
    password: str
    role: str
    tenant: str
    distributor: str


@dataclass
class DemoSummary:
    credentials: list[Credential] = field(default_factory=list)
    api_keys: list[tuple[str, str]] = field(default_factory=list)  # (tenant slug, raw key)
    counts: dict[str, int] = field(default_factory=dict)


def demo_usernames() -> list[str]:
    names = [PLATFORM_USERNAME]
    for spec in TENANTS:
        names += [f"{spec.slug}.admin", f"{spec.slug}.analyst"]
        for city in spec.cities:
            prefix = f"{spec.slug}.{city.code.lower()}"
            names += [f"{prefix}.admin", f"{prefix}.staff", f"{prefix}.delivery"]
            names += [f"{prefix}.booker{i}" for i in range(1, BOOKERS_PER_DISTRIBUTOR + 1)]
    return names


def demo_present() -> list[str]:
    """What of the demo already exists: tenant slugs and usernames."""
    slugs = list(Tenant.objects.filter(slug__in=[s.slug for s in TENANTS]).values_list("slug", flat=True))
    users = list(get_user_model().objects.filter(username__in=demo_usernames()).values_list("username", flat=True))
    return slugs + users


def demo_reset() -> None:
    """Delete the demo tenants with every row they own, and the demo users."""
    from dms.tenancy.ddl import tenant_models

    for tenant in Tenant.objects.filter(slug__in=[s.slug for s in TENANTS]):
        with tenant_scope(Scope.system(tenant.pk)):
            if connection.vendor == "postgresql":  # the append-only stock ledger lets this tenant's teardown through
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('dms.purge_tenant', %s, true)", [str(tenant.pk)])
            # Raw deletes skip the collector, whose PROTECT checks would need a parent-last order across
            # apps; every foreign key is DEFERRABLE INITIALLY DEFERRED, so the commit checks the end state.
            for model in tenant_models():
                model._default_manager.all()._raw_delete(model._default_manager.db)
            Membership.objects.filter(tenant=tenant).delete()
            tenant.delete()
    get_user_model().objects.filter(username__in=demo_usernames()).delete()


def outlets_insert(*, tenant_id: int, distributor_id: int, rows: Sequence[OutletRow],
                   batch_size: int = OUTLET_BATCH) -> int:
    """Insert generated outlets in the tenant's scope. bulk_create skips save(), so the owner ids are set here."""
    for start in range(0, len(rows), batch_size):
        Outlet.objects.bulk_create([
            Outlet(tenant_id=tenant_id, distributor_id=distributor_id, code=r.code, name=r.name, channel=r.channel,
                   address=r.address, lat=r.lat, lng=r.lng, opening_hours=r.opening_hours,
                   credit_limit=r.credit_limit, tax_id=r.tax_id, active=r.active)
            for r in rows[start:start + batch_size]
        ], batch_size=batch_size)
    return len(rows)


class _People:
    """Demo users: one shared password hash, realistic names drawn from the tenant's country."""

    def __init__(self, *, seed: int, summary: DemoSummary) -> None:
        # user_create hashes per call (PBKDF2, ~0.5 s), ~40 users would spend 20 s on one public password;
        # hash it once and share the encoded value (only the salt is shared).
        self.password_hash = make_password(DEMO_PASSWORD)
        self.seed = seed
        self.summary = summary

    def add(self, username: str, role: str, *, country: str = "PK", tenant: str = "", distributor: str = "") -> Any:
        first_names, last_names = _PEOPLE[country]
        rng = random.Random(f"{self.seed}:{username}")
        user = get_user_model()(username=username, email=f"{username}@example.com", first_name=rng.choice(first_names),
                                last_name=rng.choice(last_names), password=self.password_hash)
        user.save()
        self.summary.credentials.append(Credential(username, DEMO_PASSWORD, role, tenant, distributor))
        return user


def seed_demo(*, seed: int = DEFAULT_SEED, outlets_per_distributor: int = 600, skus: int = 120,
              today: date | None = None, log: Callable[[str], None] | None = None) -> DemoSummary:
    """Create the demo data set. The caller checks `demo_present()` first: nothing here is idempotent."""
    today = today or timezone.localdate()
    summary = DemoSummary()
    people = _People(seed=seed, summary=summary)
    operator = people.add(PLATFORM_USERNAME, Role.PLATFORM_OPERATOR)
    membership_grant(scope=None, user=operator, role=Role.PLATFORM_OPERATOR)
    for spec in TENANTS:
        _seed_tenant(spec, people=people, seed=seed, outlets_per_distributor=outlets_per_distributor, skus=skus,
                     today=today, log=log or (lambda _: None))
    return summary


def _seed_tenant(spec: TenantSpec, *, people: _People, seed: int, outlets_per_distributor: int, skus: int,
                 today: date, log: Callable[[str], None]) -> None:
    from dispatch import demo as dispatch_demo  # apps above catalog: imported here, at demo time only
    from pjp import demo as pjp_demo

    summary = people.summary
    tenant = tenant_create(name=spec.name, slug=spec.slug, currency=spec.currency, time_zone=spec.time_zone,
                           fiscal_year_start_month=spec.fiscal_year_start_month)
    with tenant_scope(Scope.system(tenant.pk)) as scope:
        admin = people.add(f"{spec.slug}.admin", Role.MANUFACTURER_ADMIN, country=spec.country, tenant=spec.slug)
        membership_grant(scope=scope, user=admin, role=Role.MANUFACTURER_ADMIN)
        analyst = people.add(f"{spec.slug}.analyst", Role.MANUFACTURER_ANALYST, country=spec.country,
                             tenant=spec.slug)
        membership_grant(scope=scope, user=analyst, role=Role.MANUFACTURER_ANALYST)
        issued = api_key_create(scope=scope, name="ERP (demo)", created_by=admin)
        summary.api_keys.append((spec.slug, issued.raw))

        sku_list = _seed_catalogue(spec, scope=scope, seed=seed, skus=skus, today=today)
        distributors = []
        for n, city in enumerate(spec.cities, start=1):
            rng = random.Random(f"{seed}:{spec.slug}:{city.code}:distributor")
            dist = distributor_create(scope=scope, code=f"{city.code}-{n:02d}", name=city.distributor,
                                      address=city.warehouse, lat=Decimal(f"{city.lat:.6f}"),
                                      lng=Decimal(f"{city.lng:.6f}"), tax_id=_tax_id(rng, spec.country))
            distributors.append(dist)
            bookers = _seed_distributor_people(spec, city, dist, scope=scope, people=people)
            rows = outlet_rows(spec=spec, city=city, n=outlets_per_distributor, seed=seed)
            outlets_insert(tenant_id=tenant.pk, distributor_id=dist.pk, rows=rows)
            planned = pjp_demo.seed_routes_and_plans(scope=scope, distributor=dist, booker_ids=bookers)
            for key, value in [("outlets", len(rows)), *planned.items()]:
                summary.counts[key] = summary.counts.get(key, 0) + value
            log(f"{spec.name}: {dist.code} {city.name}: {len(rows)} outlets, {planned['routes']} routes")
        _seed_prices_and_schemes(spec, sku_list, distributors, seed=seed, today=today)
        erp = dispatch_demo.erp_scope(tenant.pk, issued.key.pk)
        for dist in distributors:
            history = dispatch_demo.seed_primary_history(scope=scope, erp=erp, distributor_id=dist.pk,
                                                         sku_ids=[s.pk for s in sku_list[:40]], today=today, seed=seed)
            for key, value in history.items():
                summary.counts[key] = summary.counts.get(key, 0) + value
        summary.counts["skus"] = summary.counts.get("skus", 0) + len(sku_list)
        summary.counts["distributors"] = summary.counts.get("distributors", 0) + len(distributors)
        summary.counts["tenants"] = summary.counts.get("tenants", 0) + 1
        summary.counts["journeys"] = summary.counts.get("journeys", 0) + pjp_demo.build_journeys(scope=scope)


def _seed_distributor_people(spec: TenantSpec, city: City, dist: Distributor, *, scope: Scope,
                             people: _People) -> list[int]:
    """The distributor's users, one per role and BOOKERS_PER_DISTRIBUTOR order bookers with a device each;
    returns the bookers' user ids."""
    bookers = []
    prefix = f"{spec.slug}.{city.code.lower()}"
    roles = [("admin", Role.DISTRIBUTOR_ADMIN), ("staff", Role.DISTRIBUTOR_STAFF), ("delivery", Role.DELIVERY_MAN)]
    roles += [(f"booker{i}", Role.ORDER_BOOKER) for i in range(1, BOOKERS_PER_DISTRIBUTOR + 1)]
    for suffix, role in roles:
        user = people.add(f"{prefix}.{suffix}", role, country=spec.country, tenant=spec.slug, distributor=dist.code)
        membership_grant(scope=scope, user=user, role=role, distributor=dist)
        if role == Role.ORDER_BOOKER:
            bookers.append(user.pk)
            device_register(scope=scope, user=user, distributor_id=dist.pk, identifier=f"demo-{user.username}",
                            name=f"{user.first_name}'s phone", platform="android")
    return bookers


def _seed_catalogue(spec: TenantSpec, *, scope: Scope, seed: int, skus: int, today: date) -> list[Sku]:
    tenant_id = scope.tenant_id
    for tax_class, name, rate, valid_from, valid_to in spec.taxes:
        TaxRate.objects.create(tax_class=tax_class, name=name, rate=Decimal(rate), valid_from=valid_from,
                               valid_to=valid_to)
    brands = {b.code: brand_create(scope=scope, code=b.code, name=b.name) for b in spec.brands}
    rows = sku_rows(spec=spec, n=skus, seed=seed)
    sku_list = Sku.objects.bulk_create([
        Sku(tenant_id=tenant_id, code=r.code, name=r.name, brand=brands[r.brand_code], pack_size=r.pack_size,
            units_per_case=r.units_per_case, weight_kg_per_case=r.weight_kg_per_case,
            volume_l_per_case=r.volume_l_per_case, tax_class=r.tax_class)
        for r in rows
    ])
    base = PriceList.objects.create(code="BASE", name=f"{spec.name} list price", valid_from=date(today.year - 1, 1, 1))
    PriceListItem.objects.bulk_create([
        PriceListItem(tenant_id=tenant_id, price_list=base, sku=sku, case_price=r.case_price)
        for sku, r in zip(sku_list, rows, strict=True)
    ])
    return sku_list


def _seed_prices_and_schemes(spec: TenantSpec, sku_list: list[Sku], distributors: list[Distributor], *, seed: int,
                             today: date) -> None:
    rng = random.Random(f"{seed}:{spec.slug}:pricing")
    tenant_id = distributors[0].tenant_id
    base = {i.sku_id: i.case_price for i in PriceListItem.objects.filter(price_list__code="BASE")}
    start = date(today.year - 1, 1, 1)

    def narrowed(code: str, name: str, share: float, low: float, high: float, **where: Any) -> None:
        price_list = PriceList.objects.create(code=code, name=name, valid_from=start, **where)
        chosen = [s for s in sku_list if rng.random() < share]
        PriceListItem.objects.bulk_create([
            PriceListItem(tenant_id=tenant_id, price_list=price_list, sku=s,
                          case_price=(base[s.pk] * Decimal(f"{rng.uniform(low, high):.4f}")).quantize(Decimal("0.01")))
            for s in chosen
        ])

    narrowed("WHOLESALE", "Wholesale channel price", 0.5, 0.94, 0.98, channel=Channel.WHOLESALE)
    port = distributors[1] if len(distributors) > 1 else distributors[0]  # the port city: lower freight
    narrowed(f"DIST-{port.code}", f"{port.name} landed price", 0.25, 0.97, 0.99, distributor=port)

    valid_from = today.replace(day=1)
    valid_to = (valid_from + timedelta(days=95)).replace(day=1) - timedelta(days=1)  # end of the third month
    brand, amount_brand, hero_brand, channel_brand = (Brand.objects.get(code=spec.brands[i].code) for i in range(4))
    amount_skus = [s for s in sku_list if s.brand_id == amount_brand.pk][:3] or sku_list[:3]
    hero = next((s for s in sku_list if s.brand_id == hero_brand.pk), sku_list[0])
    money = Decimal(str(spec.money_scale))

    def scheme(code: str, name: str, kind: str, slabs: list[tuple[str, str]], *, basis: str = SlabBasis.QUANTITY,
               channels: list[str] | None = None, brands: Sequence[Brand] = (), skus: Sequence[Sku] = (),
               free_sku: Sku | None = None) -> None:
        s = Scheme.objects.create(code=code, name=name, kind=kind, basis=basis, channels=channels or [],
                                  valid_from=valid_from, valid_to=valid_to)
        SchemeBrand.objects.bulk_create([SchemeBrand(tenant_id=tenant_id, scheme=s, brand=b) for b in brands])
        SchemeSku.objects.bulk_create([SchemeSku(tenant_id=tenant_id, scheme=s, sku=k) for k in skus])
        SchemeSlab.objects.bulk_create([
            SchemeSlab(tenant_id=tenant_id, scheme=s, threshold=Decimal(t), benefit=Decimal(b), free_sku=free_sku)
            for t, b in slabs
        ])

    scheme("SLAB-" + brand.code, f"{brand.name} volume slabs", SchemeKind.PERCENT_OFF,
           [("5", "2.5"), ("10", "4"), ("25", "6")], brands=[brand])
    per_case = (base[amount_skus[0].pk] * Decimal("0.03")).quantize(Decimal("1"))
    scheme("OFF-" + amount_brand.code, f"{amount_brand.name}: {per_case:,} {spec.currency} off per case",
           SchemeKind.AMOUNT_OFF, [("1", str(per_case))], skus=amount_skus)
    scheme("B10G1", f"Buy 10 get 1: {hero.name}", SchemeKind.FREE_GOODS, [("10", "1")], skus=[hero], free_sku=hero)
    scheme("MT-VALUE", f"{channel_brand.name}: modern trade value slabs", SchemeKind.PERCENT_OFF,
           [(str(50_000 * money), "1.5"), (str(150_000 * money), "3")], basis=SlabBasis.VALUE,
           channels=[Channel.MODERN_TRADE], brands=[channel_brand])
