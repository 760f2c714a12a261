"""analytics.selectors.kpi_summary / kpi_series and /api/v1/analytics/kpis/: on the hand-made days of test_facts, each
KPI equals the figure worked out by hand from the scenario; filters narrow; a distributor user sees its distributor
only; a foreign distributor filter is a 404; bad query parameters are 400s naming the field."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from analytics.selectors import KPI_NAMES, kpi_series, kpi_summary
from analytics.serializers import KpisOutput
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from tests.analytics.test_facts import booker_day, refresh
from tests.factories.orders import BOOKED_AT
from tests.reconciliation.money_fixtures import clean_day

D = Decimal
URL = "analytics-kpis"
SERIES_URL = "analytics-kpis-series"


def values(kpis: dict[str, Any]) -> dict[str, Any]:
    """KPI name -> (value, numerator, denominator), as Decimals (the API's strings converted)."""
    def dec(x: Any) -> Decimal | None:
        return None if x is None else D(str(x))

    return {name: (dec(k["value"]), dec(k["numerator"]), dec(k["denominator"])) for name, k in kpis.items()}


# booker_day: planned 1..4; made 2 (productive, 2 lines), 1 (unproductive), an unplanned one, 4 (productive, 1 line);
# 3 missed. Orders: 4,798.17 + 1,404.00. Nothing invoiced or delivered yet.
BOOKER_DAY = {
    "pjp_adherence": (D("0.7500"), D(3), D(4)),  # planned made = visits 4 - unplanned 1
    "in_sequence_rate": (D("0.6667"), D(2), D(3)),  # made 2, 1, 4: 2 (first) and 4 (after 1) in sequence
    "strike_rate": (D("0.5000"), D(2), D(4)),
    "lines_per_call": (D("1.5000"), D(3), D(2)),
    "drop_size": (D("3101.0850"), D("6202.17"), D(2)),
    "unique_outlets_called": (D(4), D(4), None),  # SHOP1, SHOP0, EXTRA, SHOP3
    "fill_rate_lines": (D("0.0000"), D(0), D(3)),
    "fill_rate_units": (D("0.0000"), D(0), D(60)),
    "fill_rate_value": (D("0.0000"), D(0), D("6202.17")),
    "delivered_vs_invoiced": (None, D(0), D(0)),
}


def ask(client: Any, name: str = URL, **params: Any) -> Any:
    return client.get(reverse(name), params)


def test_the_serializer_lists_every_kpi() -> None:
    assert tuple(KpisOutput().fields) == KPI_NAMES


def test_booker_day_kpis_by_hand(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        assert values(kpi_summary(scope=scope, date_from=day.today, date_to=day.today)) == BOOKER_DAY
        (row,) = kpi_series(scope=scope, date_from=day.today - timedelta(days=3), date_to=day.today)
    assert row["date"] == day.today
    assert values({k: v for k, v in row.items() if k != "date"}) == BOOKER_DAY

    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    response = ask(client, date_from=day.today, date_to=day.today)
    assert response.status_code == 200, response.content
    body = response.json()
    assert values(body["kpis"]) == BOOKER_DAY
    assert body["kpis"]["strike_rate"]["definition"].startswith("Strike rate: ")
    series = ask(client, SERIES_URL, date_from=day.today - timedelta(days=1), date_to=day.today).json()
    assert [r["date"] for r in series["results"]] == [day.today.isoformat()]
    assert values({k: v for k, v in series["results"][0].items() if k != "date"}) == BOOKER_DAY


def test_fill_and_delivery_kpis_by_hand(cast_a: Any) -> None:
    """clean_day: 7 lines ordered on BOOKED_AT's date (162 units, 10,506.59); 6 of them invoiced today (150 units,
    9,102.59; W's cola 12 units 1,404.00 is not); delivered 6,996.59 (Y's 6 bottles back, Z's chips all back, V's
    not loaded)."""
    day = clean_day(cast_a)
    booked = BOOKED_AT.astimezone(cast_a.tenant.tz).date()
    refresh(cast_a.tenant.pk, day.today)
    refresh(cast_a.tenant.pk, booked)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        both = values(kpi_summary(scope=scope, date_from=booked, date_to=day.today))
        today = values(kpi_summary(scope=scope, date_from=day.today, date_to=day.today))
        by_date = {r["date"]: values({k: v for k, v in r.items() if k != "date"})
                   for r in kpi_series(scope=scope, date_from=booked, date_to=day.today)}
        other_brand = values(kpi_summary(scope=scope, date_from=booked, date_to=day.today,
                                         brand_id=day.goods.cola.brand_id + 1000))
    assert both["fill_rate_lines"] == (D("0.8571"), D(6), D(7))
    assert both["fill_rate_units"] == (D("0.9259"), D(150), D(162))
    assert both["fill_rate_value"] == (D("0.8664"), D("9102.59"), D("10506.59"))
    assert both["delivered_vs_invoiced"] == (D("0.7686"), D("6996.59"), D("9102.59"))
    assert both["strike_rate"] == (None, D(0), D(0))  # no journeys: counter orders have no booker day
    assert today["fill_rate_units"] == (None, D(150), D(0))  # ordered on another date
    assert today["delivered_vs_invoiced"] == both["delivered_vs_invoiced"]
    assert set(by_date) == {booked, day.today}
    assert by_date[booked]["fill_rate_units"] == (D("0.0000"), D(0), D(162))
    assert by_date[day.today]["delivered_vs_invoiced"] == both["delivered_vs_invoiced"]
    assert other_brand["fill_rate_units"] == (None, D(0), D(0))


def test_filters_narrow(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    client = api_as(cast_a.api_key_raw, kind="api_key")
    d1, d2 = cast_a.distributors
    brand = day.skus[0].brand_id
    common = {"date_from": day.today, "date_to": day.today}
    mine = {"distributor": d1.pk, "booker": day.booker.pk, "route": day.journey.route_id, "brand": brand}
    assert values(ask(client, **common, **{k: v for k, v in mine.items() if k != "brand"}).json()["kpis"]) \
        == BOOKER_DAY
    for key in ("distributor", "booker", "route"):
        other = d2.pk if key == "distributor" else mine[key] + 100000
        kpis = values(ask(client, **common, **{key: other}).json()["kpis"])
        assert kpis["strike_rate"] == (None, D(0), D(0)), key
        assert kpis["fill_rate_lines"] == (None, D(0), D(0)), key
    # a brand narrows the SKU facts only (order lines: SKU 0 twice, SKU 1 once)
    kpis = values(ask(client, **common, brand=brand + 100000).json()["kpis"])
    assert kpis["strike_rate"] == BOOKER_DAY["strike_rate"]
    assert kpis["fill_rate_lines"] == (None, D(0), D(0))
    kpis = values(ask(client, **common, brand=brand).json()["kpis"])
    assert kpis["fill_rate_lines"][2] == sum(1 for s in day.skus if s.brand_id == brand) + 1  # SKU 0 ordered twice


def test_a_distributor_user_sees_only_its_distributor(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)  # at A1
    refresh(cast_a.tenant.pk, day.today)
    d1, d2 = cast_a.distributors
    common = {"date_from": day.today, "date_to": day.today}
    a1_staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    a2_admin = api_as(cast_a.users[f"{Role.DISTRIBUTOR_ADMIN}@{d2.code}"])
    assert values(ask(a1_staff, **common).json()["kpis"]) == BOOKER_DAY
    assert values(ask(a1_staff, **common, distributor=d1.pk).json()["kpis"]) == BOOKER_DAY
    kpis = values(ask(a2_admin, **common).json()["kpis"])
    assert kpis["strike_rate"] == (None, D(0), D(0)) and kpis["unique_outlets_called"] == (D(0), D(0), None)
    for name in (URL, SERIES_URL):
        response = ask(a2_admin, name, **common, distributor=d1.pk)
        assert response.status_code == 404, response.content
    assert ask(a2_admin, SERIES_URL, **common).json()["results"] == []


@pytest.mark.parametrize("role", [Role.ORDER_BOOKER, Role.DELIVERY_MAN])
def test_bookers_and_delivery_men_get_403(cast_a: Any, api_as: Any, role: str) -> None:
    response = ask(api_as(cast_a.users[role]), date_from="2030-01-01", date_to="2030-01-01")
    assert response.status_code == 403


def test_another_tenant_sees_nothing_of_ours_and_404_for_our_distributor(cast_a: Any, cast_b: Any,
                                                                         api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    refresh(cast_b.tenant.pk, day.today)
    common = {"date_from": day.today, "date_to": day.today}
    b_admin = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    kpis = values(ask(b_admin, **common).json()["kpis"])
    assert all(v[1] == 0 for v in kpis.values())
    assert ask(b_admin, SERIES_URL, **common).json()["results"] == []
    for name in (URL, SERIES_URL):
        response = ask(b_admin, name, **common, distributor=cast_a.distributors[0].pk)
        assert response.status_code == 404
        assert response.json()["error"]["code"]


@pytest.mark.parametrize(("params", "field"), [
    ({"date_to": "2030-01-01"}, "date_from"),
    ({"date_from": "2030-01-01"}, "date_to"),
    ({"date_from": "2030-13-01", "date_to": "2030-01-01"}, "date_from"),
    ({"date_from": "2030-01-01", "date_to": "yesterday"}, "date_to"),
    ({"date_from": "2030-01-02", "date_to": "2030-01-01"}, "date_to"),
    ({"date_from": "2030-01-01", "date_to": "2031-01-02"}, "date_to"),  # 367 days
    ({"date_from": "2030-01-01", "date_to": "2030-01-01", "distributor": "x"}, "distributor"),
    ({"date_from": "2030-01-01", "date_to": "2030-01-01", "brand": "0"}, "brand"),
])
@pytest.mark.parametrize("name", [URL, SERIES_URL])
def test_bad_parameters_are_a_400_naming_the_field(cast_a: Any, api_as: Any, params: dict[str, str], field: str,
                                                   name: str) -> None:
    response = ask(api_as(cast_a.users[Role.MANUFACTURER_ADMIN]), name, **params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_366_days_are_allowed(cast_a: Any, api_as: Any) -> None:
    first = date(2030, 1, 1)
    response = ask(api_as(cast_a.users[Role.MANUFACTURER_ADMIN]), date_from=first,
                   date_to=first + timedelta(days=365))
    assert response.status_code == 200


def test_two_queries_whatever_the_range(cast_a: Any, api_as: Any, django_assert_max_num_queries: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_max_num_queries(2):
        kpi_summary(scope=scope, date_from=day.today - timedelta(days=300), date_to=day.today)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_max_num_queries(2):
        kpi_series(scope=scope, date_from=day.today - timedelta(days=300), date_to=day.today)
