"""Query-level contracts: list endpoints have fixed query budgets, every query on a tenant table names its
tenant (the Citus routing contract, DESIGN §5), and no request leaves a tenant on the connection."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import PriceListItem, Scheme, SchemeSku, SchemeSlab
from dms.tenancy.context import tenant_scope
from dms.tenancy.ddl import tenant_tables
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_sku

LISTS = ["/api/v1/catalog/outlets/", "/api/v1/catalog/skus/", "/api/v1/catalog/brands/",
         "/api/v1/catalog/price-lists/", "/api/v1/catalog/schemes/", "/api/v1/catalog/tax-rates/",
         "/api/v1/distributors/", "/api/v1/jobs/"]


def _grow(cast, n: int) -> None:
    """n more rows of every listed kind, with children, so N+1 queries would show."""
    tid = cast.tenant.pk
    with tenant_scope(Scope.system(tid)):
        brand = make_brand(tid)
        skus = [make_sku(tid, brand=brand) for _ in range(n)]
        for _ in range(n):
            make_outlet(cast.distributors[0])
            pl = make_price_list(tid, prices={s: Decimal("10.5000") for s in skus[:3]})
            scheme = Scheme.objects.create(code=f"S{pl.pk}", name="s", kind="percent_off",
                                           valid_from=date(2020, 1, 1))
            SchemeSlab.objects.create(scheme=scheme, threshold=Decimal("1"), benefit=Decimal("2"))
            SchemeSku.objects.create(scheme=scheme, sku=skus[0])


def _queries(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:200])
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("url", LISTS)
def test_list_endpoints_have_a_fixed_query_budget(api_as, cast_a, url):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    _grow(cast_a, 2)
    few = len(_queries(client, url))
    _grow(cast_a, 12)
    many = len(_queries(client, url))
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
    assert few <= 12


def test_every_query_on_a_tenant_table_names_its_tenant(api_as, cast_a):
    """Row-level security guarantees isolation; the explicit predicate is what lets Citus route a query
    to one shard instead of all of them (research notes §1.2, pitfall 7)."""
    _grow(cast_a, 3)
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        ids = {
            "outlet": make_outlet(cast_a.distributors[0]).pk,
            "sku": PriceListItem.objects.values_list("sku_id", flat=True).first(),
            "price_list": PriceListItem.objects.values_list("price_list_id", flat=True).first(),
            "scheme": Scheme.objects.values_list("pk", flat=True).first(),
        }
    tables = set(tenant_tables())
    offenders, checked = [], 0
    for principal, kind in ((cast_a.users[Role.MANUFACTURER_ADMIN], "user"),
                            (cast_a.users[Role.DISTRIBUTOR_STAFF], "user"), (cast_a.api_key_raw, "api_key")):
        client = api_as(principal, kind=kind)
        urls = [*LISTS, f"/api/v1/catalog/outlets/{ids['outlet']}/", f"/api/v1/catalog/skus/{ids['sku']}/",
                f"/api/v1/catalog/price-lists/{ids['price_list']}/", f"/api/v1/catalog/schemes/{ids['scheme']}/",
                "/api/v1/me/"]
        for url in urls:
            for sql in _queries(client, url):
                touched = {t for t in re.findall(r'(?:FROM|JOIN|UPDATE|INTO)\s+"(\w+)"', sql) if t in tables}
                checked += bool(touched)
                if touched and '"tenant_id" = ' not in sql and '"tenant_id" IN' not in sql:
                    offenders.append(f"{url}: {sql[:160]}")
    assert offenders == [], "\n".join(offenders)
    assert checked >= 60  # the check saw the real queries, not none


def test_no_request_leaves_a_tenant_on_the_connection(api_as, cast_a, cast_b):
    from django.test import Client

    def setting() -> tuple[str | None, str | None]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('app.tenant_id', true), "
                           "current_setting('app.distributor_ids', true)")
            return cursor.fetchone()

    for principal, kind in ((cast_a.users[Role.DISTRIBUTOR_STAFF], "user"), (cast_b.api_key_raw, "api_key"),
                            (cast_a.device_token, "device")):
        api_as(principal, kind=kind).get("/api/v1/me/" if kind != "device" else "/api/v1/mobile/profile/")
        assert setting() in (("", ""), (None, None))
    browser = Client()
    browser.force_login(cast_a.users[Role.DISTRIBUTOR_STAFF])
    assert browser.get("/admin/catalog/outlet/").status_code == 200
    assert setting() in (("", ""), (None, None))
    # a failed request rolls back and leaves nothing either
    api_as(cast_a.users[Role.DISTRIBUTOR_STAFF]).post("/api/v1/catalog/outlets/", {"code": ""}, format="json")
    assert setting() in (("", ""), (None, None))
