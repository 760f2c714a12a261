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
from pjp.models import Visit
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
# 3 missed. Orders: 4,798.17 + 1,404.00. Nothing invoiced or delivered yet, nothing due (the orders are due
# tomorrow), no stock, no receivables. Time in market: see booker_day_kpis.
NONE = (None, D(0), D(0))
ZERO_COUNT = (D(0), D(0), None)
BOOKER_DAY = {
    "pjp_adherence": (D("0.7500"), D(3), D(4)),  # planned made = visits 4 - unplanned 1
    "in_sequence_rate": (D("0.6667"), D(2), D(3)),  # made 2, 1, 4: 2 (first) and 4 (after 1) in sequence
    "strike_rate": (D("0.5000"), D(2), D(4)),
    "lines_per_call": (D("1.5000"), D(3), D(2)),
    "drop_size": (D("3101.0850"), D("6202.17"), D(2)),
    "unique_outlets_called": (D(4), D(4), None),  # SHOP1, SHOP0, EXTRA, SHOP3
    "coverage": (D("0.8000"), D(4), D(5)),  # A1's 5 active outlets (SHOP0..3, EXTRA); SHOP2 was missed
    "fill_rate_orders": NONE,
    "fill_rate_lines": NONE,  # no order invoiced
    "fill_rate_units": (D("0.0000"), D(0), D(60)),
    "fill_rate_value": (D("0.0000"), D(0), D("6202.17")),
    "delivered_vs_invoiced": NONE,
    "otif": NONE, "on_time_rate": NONE, "in_full_rate": NONE,
    "sell_in_units": ZERO_COUNT, "sell_in_value": ZERO_COUNT, "sell_through_units": ZERO_COUNT,
    "sell_through_value": ZERO_COUNT, "sell_through_vs_sell_in": NONE,
    "stock_cover_days": NONE,  # no stock, nothing invoiced
    "receivables": ZERO_COUNT, "ar_0_30": ZERO_COUNT, "ar_31_60": ZERO_COUNT, "ar_61_90": ZERO_COUNT,
    "ar_over_90": ZERO_COUNT, "aged_over_90_share": NONE,
}


def booker_day_kpis(day: Any) -> dict[str, Any]:
    """BOOKER_DAY with the time in market: from the first check-in (visit 2) to the last check-out (visit 4) of the
    one booker day, in hours to 4 places (the visits' instants are those the app sent)."""
    with tenant_scope(Scope.system(day.journey.tenant_id)):
        visits = {v.sequence: v for v in Visit.objects.filter(journey_id=day.journey.pk)}
    seconds = D((visits[4].checked_out_at - visits[2].checked_in_at) // timedelta(microseconds=1)) / D(10**6)
    hours = (seconds / D(3600)).quantize(D("0.0001"))
    return {**BOOKER_DAY, "time_in_market": (hours, hours, D(1))}


def ask(client: Any, name: str = URL, **params: Any) -> Any:
    return client.get(reverse(name), params)


def test_the_serializer_lists_every_kpi() -> None:
    assert tuple(KpisOutput().fields) == KPI_NAMES


def test_booker_day_kpis_by_hand(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    expected = booker_day_kpis(day)
    assert D("0.6") < expected["time_in_market"][0] < D("0.7")  # about 40 minutes
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        assert values(kpi_summary(scope=scope, date_from=day.today, date_to=day.today)) == expected
        (row,) = kpi_series(scope=scope, date_from=day.today - timedelta(days=3), date_to=day.today)
    assert row["date"] == day.today
    assert values({k: v for k, v in row.items() if k != "date"}) == expected

    client = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    response = ask(client, date_from=day.today, date_to=day.today)
    assert response.status_code == 200, response.content
    body = response.json()
    assert values(body["kpis"]) == expected
    assert body["kpis"]["strike_rate"]["definition"].startswith("Strike rate: ")
    series = ask(client, SERIES_URL, date_from=day.today - timedelta(days=1), date_to=day.today).json()
    assert [r["date"] for r in series["results"]] == [day.today.isoformat()]
    assert values({k: v for k, v in series["results"][0].items() if k != "date"}) == expected


def test_coverage_narrows_to_the_route_and_the_bookers_routes(cast_a: Any, api_as: Any) -> None:
    # given: booker_day, whose route has SHOP0..3 (EXTRA is not on it); SHOP2 was missed
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    common = {"date_from": day.today, "date_to": day.today}
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        # when
        by_route = kpi_summary(scope=scope, route_id=day.journey.route_id, **common)["coverage"]
        by_booker = kpi_summary(scope=scope, booker_id=day.booker.pk, **common)["coverage"]
        other_booker = kpi_summary(scope=scope, booker_id=day.booker.pk + 1000, **common)["coverage"]
        a2 = kpi_summary(scope=scope, distributor_id=cast_a.distributors[1].pk, **common)["coverage"]
    # then: the route's 4 stops, 3 of them visited (EXTRA was visited but is not a stop)
    assert values({"c": by_route})["c"] == (D("0.7500"), D(3), D(4))
    assert values({"c": by_booker})["c"] == (D("0.7500"), D(3), D(4))  # the routes of the booker's journeys
    assert values({"c": other_booker})["c"] == NONE
    assert values({"c": a2})["c"] == NONE  # A2 has no outlets


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
    assert both["fill_rate_lines"] == (D("1.0000"), D(6), D(6))  # X 2, Y 2, Z 1, V 1: each invoiced in full
    assert both["fill_rate_orders"] == (D("1.0000"), D(4), D(4))  # W is not invoiced: not counted
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
    expected = booker_day_kpis(day)
    # booker and route narrow coverage to the route's 4 stops (3 visited)
    assert values(ask(client, **common, **{k: v for k, v in mine.items() if k != "brand"}).json()["kpis"]) \
        == {**expected, "coverage": (D("0.7500"), D(3), D(4))}
    for key in ("distributor", "booker", "route"):
        other = d2.pk if key == "distributor" else mine[key] + 100000
        kpis = values(ask(client, **common, **{key: other}).json()["kpis"])
        assert kpis["strike_rate"] == NONE, key
        assert kpis["fill_rate_units"] == NONE, key
        assert kpis["time_in_market"] == NONE, key
    # a brand narrows the brand facts only (units ordered: SKU 0's brand 24 + 12, SKU 1's 24)
    kpis = values(ask(client, **common, brand=brand + 100000).json()["kpis"])
    assert kpis["strike_rate"] == expected["strike_rate"]
    assert kpis["coverage"] == expected["coverage"]
    assert kpis["fill_rate_units"] == NONE
    kpis = values(ask(client, **common, brand=brand).json()["kpis"])
    assert kpis["fill_rate_units"] == (D("0.0000"), D(0), D(36))


def test_a_distributor_user_sees_only_its_distributor(cast_a: Any, api_as: Any) -> None:
    day, _ = booker_day(cast_a, api_as)  # at A1
    refresh(cast_a.tenant.pk, day.today)
    d1, d2 = cast_a.distributors
    common = {"date_from": day.today, "date_to": day.today}
    a1_staff = api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])
    a2_admin = api_as(cast_a.users[f"{Role.DISTRIBUTOR_ADMIN}@{d2.code}"])
    expected = booker_day_kpis(day)
    assert values(ask(a1_staff, **common).json()["kpis"]) == expected
    assert values(ask(a1_staff, **common, distributor=d1.pk).json()["kpis"]) == expected
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


def test_five_queries_whatever_the_range(cast_a: Any, api_as: Any, django_assert_num_queries: Any) -> None:
    # one per fact table (booker, brand, service), one for coverage, one for the stock and receivables snapshots
    day, _ = booker_day(cast_a, api_as)
    refresh(cast_a.tenant.pk, day.today)
    refresh(cast_a.tenant.pk, day.today - timedelta(days=1))
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_num_queries(5):
        kpi_summary(scope=scope, date_from=day.today - timedelta(days=300), date_to=day.today)
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope, django_assert_num_queries(5):
        kpi_series(scope=scope, date_from=day.today - timedelta(days=300), date_to=day.today)
