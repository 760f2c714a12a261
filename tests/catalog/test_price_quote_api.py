"""Price quotes over HTTP: the pricing engine's figures, field-named errors, and no crossing of scopes."""

from __future__ import annotations

from decimal import Decimal

from dms.tenancy.enums import Role
from tests.factories.catalog import make_outlet, make_price_list, make_sku, make_tax_rate

URL = "/api/v1/catalog/price-quote/"


def _setup(cast):  # type: ignore[no-untyped-def]
    tid = cast.tenant.pk
    make_tax_rate(tid, tax_class="STD", rate=Decimal("0.1700"))
    sku = make_sku(tid, units_per_case=12, tax_class="STD")
    make_price_list(tid, prices={sku: Decimal("1234.5678")})
    return sku, make_outlet(cast.distributors[0]), make_outlet(cast.distributors[1])


def test_quote_prices_cases_and_units_to_the_cent(api_as, cast_a):
    # given
    sku, outlet, _ = _setup(cast_a)
    client = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    # when: 3 cases and 6 loose units = 3.5 cases
    response = client.post(URL, {"outlet": outlet.pk, "on_date": "2026-11-22",
                                 "lines": [{"sku_id": sku.pk, "cases": 3, "units": 6}]}, format="json")
    # then: 1234.5678 x 3.5 = 4320.9873 -> 4320.99; tax 17 % = 734.5683 -> 734.57
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["lines"][0]["gross"] == "4320.99"
    assert (body["net"], body["tax"], body["total"]) == ("4320.99", "734.57", "5055.56")
    assert body["currency"] == "PKR"


def test_quote_errors_name_the_line_and_field(api_as, cast_a, cast_b):
    sku, outlet, _ = _setup(cast_a)
    foreign_sku = make_sku(cast_b.tenant.pk)
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    response = client.post(URL, {"outlet": outlet.pk, "lines": [{"sku_id": sku.pk, "cases": 1},
                                                                 {"sku_id": foreign_sku.pk, "cases": 1}]},
                           format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["lines[1].sku_id"]
    response = client.post(URL, {"outlet": outlet.pk, "lines": [{"sku_id": sku.pk, "cases": -1}]}, format="json")
    assert response.status_code == 400 and "lines[0].cases" in response.json()["error"]["fields"]
    response = client.post(URL, {"outlet": outlet.pk, "lines": []}, format="json")
    assert response.status_code == 400 and "lines" in response.json()["error"]["fields"]


def test_quote_for_another_tenants_or_a_sibling_distributors_outlet_is_404(api_as, cast_a, cast_b):
    sku, _, sibling_outlet = _setup(cast_a)
    other_outlet = make_outlet(cast_b.distributors[0])
    staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    for outlet in (sibling_outlet, other_outlet):
        response = staff.post(URL, {"outlet": outlet.pk, "lines": [{"sku_id": sku.pk, "cases": 1}]}, format="json")
        assert response.status_code == 404
    manufacturer = api_as(cast_a.api_key_raw, kind="api_key")
    response = manufacturer.post(URL, {"outlet": other_outlet.pk, "lines": [{"sku_id": sku.pk, "cases": 1}]},
                                 format="json")
    assert response.status_code == 404
