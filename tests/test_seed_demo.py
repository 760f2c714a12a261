"""`manage.py seed_demo`: the demo data set is complete, plausible, repeatable and never duplicated."""

from __future__ import annotations

import math
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import connection

from catalog import demo
from catalog.enums import SchemeKind
from catalog.models import Brand, Outlet, PriceList, PriceListItem, Scheme, Sku, TaxRate
from catalog.validation import validate_opening_hours
from dms.tenancy.authentication import hash_api_key
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import MEMBERSHIP_ROLES, Role
from dms.tenancy.models import ApiKey, Device, Distributor, Membership, Tenant
from dms.tenancy.scope import Scope

OUTLETS, SKUS = 30, 20


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--outlets-per-distributor", str(OUTLETS), "--skus", str(SKUS), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def output(db: None) -> str:
    return seed()


def km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lng2 - lng1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def test_each_tenant_gets_three_distributors_with_outlets_skus_prices_and_schemes(output):
    # given / when: the seeded demo
    tenants = Tenant.objects.filter(slug__in=["crescent", "savanna"]).order_by("slug")
    # then
    assert [(t.slug, t.currency, t.time_zone, t.fiscal_year_start_month) for t in tenants] == [
        ("crescent", "PKR", "Asia/Karachi", 7), ("savanna", "KES", "Africa/Nairobi", 1)]
    for tenant in tenants:
        with tenant_scope(Scope.system(tenant.pk)):
            distributors = list(Distributor.objects.all())
            assert len(distributors) == 3
            for d in distributors:
                assert Outlet.objects.filter(distributor=d).count() == OUTLETS
            assert Sku.objects.count() == SKUS
            assert Brand.objects.count() == 8
            assert set(TaxRate.objects.values_list("tax_class", flat=True)) == {"STD", "REDUCED", "EXEMPT"}
            base = PriceList.objects.get(code="BASE")
            assert base.distributor_id is None and base.channel == ""
            assert PriceListItem.objects.filter(price_list=base).count() == SKUS
            assert PriceList.objects.filter(channel="wholesale").exists()
            assert PriceList.objects.filter(distributor__isnull=False).exists()
            kinds = set(Scheme.objects.values_list("kind", flat=True))
            assert kinds == {SchemeKind.PERCENT_OFF, SchemeKind.AMOUNT_OFF, SchemeKind.FREE_GOODS}
            assert Scheme.objects.filter(channels=["modern_trade"]).count() == 1
            free = Scheme.objects.get(kind=SchemeKind.FREE_GOODS).slabs.get()
            assert (free.threshold, free.benefit) == (10, 1) and free.free_sku_id is not None


def test_every_role_has_a_user_and_every_order_booker_a_device(output):
    # given
    memberships = Membership.objects.select_related("user", "distributor").all()
    # then
    assert {m.role for m in memberships} == {r for r, _ in MEMBERSHIP_ROLES}
    assert memberships.get(role=Role.PLATFORM_OPERATOR).tenant_id is None
    for tenant in Tenant.objects.filter(slug__in=["crescent", "savanna"]):
        with tenant_scope(Scope.system(tenant.pk)):
            for d in Distributor.objects.all():
                roles = [m.role for m in memberships if m.distributor_id == d.pk]
                assert sorted(set(roles)) == sorted({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF,
                                                     Role.ORDER_BOOKER, Role.DELIVERY_MAN})
                bookers = [m.user_id for m in memberships if m.distributor_id == d.pk and m.role == Role.ORDER_BOOKER]
                assert len(bookers) >= 2
                assert set(Device.objects.filter(distributor=d, active=True).values_list("user_id", flat=True)) == set(
                    bookers)


def test_printed_credentials_and_api_keys_work(output):
    # then: every user in the table signs in with the printed password
    for username in demo.demo_usernames():
        assert username in output
        assert authenticate(username=username, password=demo.DEMO_PASSWORD) is not None, username
    assert demo.DEMO_PASSWORD in output
    raw_keys = [line.split()[1] for line in output.splitlines() if line.strip().startswith(("crescent ", "savanna "))]
    assert len(raw_keys) == 2
    for raw in raw_keys:
        tenant_id = int(raw.split("_")[1])
        with tenant_scope(Scope.system(tenant_id)):
            assert ApiKey.objects.get(prefix=raw.split("_")[2].split(".")[0]).key_hash == hash_api_key(raw)


def test_outlets_lie_near_their_distributor_and_carry_valid_masters(output):
    for tenant in Tenant.objects.filter(slug__in=["crescent", "savanna"]):
        with tenant_scope(Scope.system(tenant.pk)):
            for d in Distributor.objects.all():
                for o in Outlet.objects.filter(distributor=d):
                    assert km(float(d.lat), float(d.lng), float(o.lat), float(o.lng)) < 30, (d.code, o.code)
                    assert o.lat.as_tuple().exponent == -6
                    assert validate_opening_hours(o.opening_hours)
                    assert o.credit_limit >= 0
            for sku in Sku.objects.all():
                assert sku.units_per_case >= 1 and sku.weight_kg_per_case > 0 and sku.volume_l_per_case > 0
                assert sku.pack_size.endswith(f" x {sku.units_per_case}")


def test_running_again_reports_the_demo_and_creates_nothing(output):
    # given
    counts = (Tenant.objects.count(), Membership.objects.count())
    # when
    again = seed()
    # then
    assert "already present" in again
    assert (Tenant.objects.count(), Membership.objects.count()) == counts


def test_reset_rebuilds_the_demo_without_leftovers(output):
    # given
    old_ids = set(Tenant.objects.filter(slug__in=["crescent", "savanna"]).values_list("pk", flat=True))
    # when
    rebuilt = seed("--reset")
    # then
    assert "Removed the previous demo" in rebuilt
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys hold at commit
    tenants = Tenant.objects.filter(slug__in=["crescent", "savanna"])
    assert tenants.count() == 2 and not old_ids & {t.pk for t in tenants}
    assert Membership.objects.count() == len(demo.demo_usernames())
    for tenant in tenants:
        with tenant_scope(Scope.system(tenant.pk)):
            assert Outlet.objects.count() == 3 * OUTLETS


def test_the_same_seed_generates_the_same_data_and_another_seed_other_data(output):
    # given
    spec = demo.TENANTS[0]
    city = spec.cities[0]
    # when / then: the builder is deterministic
    assert demo.demo_digest(seed=42, outlets_per_distributor=OUTLETS, skus=SKUS) == demo.demo_digest(
        seed=42, outlets_per_distributor=OUTLETS, skus=SKUS)
    assert demo.demo_digest(seed=42, outlets_per_distributor=OUTLETS, skus=SKUS) != demo.demo_digest(
        seed=43, outlets_per_distributor=OUTLETS, skus=SKUS)
    # and the database holds exactly what the builder generates for the default seed
    rows = demo.outlet_rows(spec=spec, city=city, n=OUTLETS, seed=42)
    tenant = Tenant.objects.get(slug=spec.slug)
    with tenant_scope(Scope.system(tenant.pk)):
        stored = list(Outlet.objects.filter(distributor__code__startswith=city.code).order_by("code")
                      .values_list("code", "lat", "lng", "channel"))
    assert stored == [(r.code, r.lat, r.lng, r.channel) for r in rows]


def test_a_smaller_run_generates_a_prefix_of_a_larger_one():
    spec = demo.TENANTS[1]
    short = demo.outlet_rows(spec=spec, city=spec.cities[2], n=10, seed=7)
    longer = demo.outlet_rows(spec=spec, city=spec.cities[2], n=50, seed=7)
    assert short == longer[:10]
    assert len({r.code for r in longer}) == 50


def test_the_pricing_engine_prices_a_demo_order_with_its_schemes_and_current_tax(output):
    from catalog.pricing import LineInput, price_lines

    # given: a general-trade outlet of Lahore (base prices apply) and the buy-10-get-1 SKU
    tenant = Tenant.objects.get(slug="crescent")
    with tenant_scope(Scope.system(tenant.pk)) as scope:
        scheme = Scheme.objects.get(code="B10G1")
        hero = scheme.sku_rules.get().sku
        base_price = PriceListItem.objects.get(price_list__code="BASE", sku=hero).case_price
        outlet = Outlet.objects.filter(channel="general_trade", distributor__code="LHE-01").first()
        # when
        order = price_lines(scope=scope, outlet=outlet, lines=[LineInput(sku_id=hero.pk, cases=11)],
                            on_date=scheme.valid_from)
    # then: the list price, the 18 % sales tax in force since February 2023, and one free case
    paid, free = order.lines
    assert paid.case_price == base_price and hero.tax_class == "STD"
    assert paid.tax_rate == Decimal("0.18")
    assert free.is_free and free.sku_id == hero.pk and free.qty_units == hero.units_per_case and free.total == 0


def test_every_booker_has_a_weekly_plan_of_routes_and_journeys_with_etas(output):
    # given / when: the seeded demo (30 outlets per distributor, 3 bookers x 7 days)
    from pjp.models import DailyJourney, Pjp, Route, RouteStop, Visit

    for tenant in Tenant.objects.filter(slug__in=["crescent", "savanna"]):
        with tenant_scope(Scope.system(tenant.pk)):
            bookers = set(Membership.objects.filter(tenant=tenant, role=Role.ORDER_BOOKER)
                          .values_list("user_id", flat=True))
            # then: each booker has one plan in force and every active outlet with a location sits on one route
            assert set(Pjp.objects.values_list("booker_id", flat=True)) == bookers
            for distributor in Distributor.objects.all():
                routes = Route.objects.filter(distributor=distributor)
                assert 1 <= routes.count() <= 21
                on_routes = list(RouteStop.objects.filter(route__distributor=distributor)
                                 .values_list("outlet_id", flat=True))
                routable = Outlet.objects.filter(distributor=distributor, active=True, lat__isnull=False)
                assert sorted(on_routes) == sorted(routable.values_list("pk", flat=True))
            # and the build-ahead journeys exist with ordered ETAs
            journeys = DailyJourney.objects.all()
            assert journeys.exists() and set(journeys.values_list("booker_id", flat=True)) <= bookers
            for journey in journeys[:5]:
                visits = list(Visit.objects.filter(journey=journey).order_by("sequence"))
                assert visits and all(v.eta is not None for v in visits)
                assert [v.eta for v in visits] == sorted(v.eta for v in visits)


def test_each_distributor_has_a_primary_history_with_stock_in_transit_and_a_claim(output):
    from dispatch.models import DispatchAdvice, GoodsReceipt, Vehicle
    from inventory.models import StockBalance, StockNorm
    from inventory.selectors import ledger_mismatches
    from orders.models import PrimaryOrder

    for tenant in Tenant.objects.filter(slug__in=["crescent", "savanna"]):
        with tenant_scope(Scope.system(tenant.pk)) as scope:
            for d in Distributor.objects.all():
                statuses = sorted(PrimaryOrder.objects.filter(distributor=d).values_list("status", flat=True))
                assert statuses == ["closed", "dispatched", "received", "submitted"], (d.code, statuses)
                assert DispatchAdvice.objects.filter(distributor=d, status="issued").count() == 1  # in transit
                claim = GoodsReceipt.objects.get(distributor=d, advice__order__status="received")
                assert (claim.total_short_cases, claim.total_damaged_cases) == (1, 1)
                assert StockBalance.objects.filter(distributor=d, on_hand__gt=0).count() == SKUS
                assert StockNorm.objects.filter(distributor=d).exists()
                assert Vehicle.objects.filter(distributor=d).count() == 2
            assert ledger_mismatches(scope=scope) == []
