"""The pricing engine against the database: resolution, schemes, tax, errors and the query budget.

Expected figures are worked by hand in each test; amounts round half up to the cent, per line.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from catalog.enums import Channel, SchemeKind, SlabBasis
from catalog.errors import CatalogError
from catalog.models import Outlet, PriceList
from catalog.pricing import LineInput, PricedLine, PricedOrder, price_lines
from dms.core.errors import DomainError, NotFound
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Actor, Scope
from tests.conftest import TenantCast
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_scheme, make_sku, make_tax_rate

ON = date(2025, 6, 1)
D = Decimal


def price(outlet: Outlet, lines: list[LineInput], *, on_date: date = ON, scope: Scope | None = None) -> PricedOrder:
    scope = scope or Scope.system(outlet.tenant_id)
    with tenant_scope(scope):
        return price_lines(scope=scope, outlet=outlet, lines=lines, on_date=on_date)


def figures(line: PricedLine) -> tuple[Decimal, ...]:
    return (line.gross, line.discount, line.net, line.tax, line.total)


@pytest.fixture
def tid(cast_a: TenantCast) -> int:
    return cast_a.tenant.pk


@pytest.fixture(autouse=True)
def tax_17(tid: int) -> None:
    make_tax_rate(tid, tax_class="STD", rate=D("0.1700"), valid_from=date(2020, 1, 1))


@pytest.fixture
def outlet(dist_a1: Distributor) -> Outlet:
    return make_outlet(dist_a1, channel=Channel.GENERAL_TRADE)


# --- line money and tax ------------------------------------------------------------------------------
def test_three_cases_at_1234_5678_with_17_percent_tax_are_priced_to_the_cent(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    pl = make_price_list(tid, {sku: D("1234.5678")})
    # when
    order = price(outlet, [LineInput(sku_id=sku.pk, cases=3)])
    # then: 3 x 1234.5678 = 3703.7034 -> 3703.70; tax 3703.70 x 0.17 = 629.629 -> 629.63
    (line,) = order.lines
    assert (line.case_price, line.price_list_id, line.qty_units) == (D("1234.5678"), pl.pk, 36)
    assert figures(line) == (D("3703.70"), D("0.00"), D("3703.70"), D("629.63"), D("4333.33"))
    assert (line.tax_class, line.tax_rate, line.scheme_ids, line.is_free) == ("STD", D("0.1700"), (), False)
    assert (order.gross, order.discount, order.net, order.tax, order.total) == figures(line)
    assert order.currency == "PKR"


def test_loose_units_are_priced_pro_rata_with_one_rounding(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("1234.5678")})
    # when
    order = price(outlet, [LineInput(sku_id=sku.pk, cases=2, units=5)])
    # then: 29 units: 1234.5678 x 29 / 12 = 2983.53885 -> 2983.54; tax 507.2018 -> 507.20
    (line,) = order.lines
    assert (line.cases, line.units, line.qty_units) == (2, 5, 29)
    assert figures(line) == (D("2983.54"), D("0.00"), D("2983.54"), D("507.20"), D("3490.74"))


def test_units_beyond_a_case_are_kept_as_booked_and_counted_in_qty_units(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("120.0000")})
    # when
    order = price(outlet, [LineInput(sku_id=sku.pk, cases=1, units=14)])
    # then
    (line,) = order.lines
    assert (line.cases, line.units, line.qty_units, line.gross) == (1, 14, 26, D("260.00"))


def test_tax_rate_is_the_latest_one_valid_on_the_date_and_zero_without_one(tid: int, outlet: Outlet) -> None:
    # given
    make_tax_rate(tid, tax_class="STD", rate=D("0.1800"), valid_from=date(2025, 7, 1))
    std = make_sku(tid, units_per_case=1)
    exempt = make_sku(tid, units_per_case=1, tax_class="EXEMPT")
    make_price_list(tid, {std: D("100.0000"), exempt: D("100.0000")})
    lines = [LineInput(sku_id=std.pk, cases=1), LineInput(sku_id=exempt.pk, cases=1)]
    # when
    june, july = price(outlet, lines, on_date=date(2025, 6, 30)), price(outlet, lines, on_date=date(2025, 7, 1))
    # then
    assert [(ln.tax_rate, ln.tax) for ln in june.lines] == [(D("0.1700"), D("17.00")), (D("0.0000"), D("0.00"))]
    assert [(ln.tax_rate, ln.tax) for ln in july.lines] == [(D("0.1800"), D("18.00")), (D("0.0000"), D("0.00"))]


def test_order_totals_are_sums_of_rounded_lines(tid: int, outlet: Outlet) -> None:
    # given: each line is 0.005 before rounding, so rounding the order's sum instead would differ
    skus = [make_sku(tid, units_per_case=1, tax_class="EXEMPT") for _ in range(3)]
    make_price_list(tid, dict.fromkeys(skus, D("0.0050")))
    # when
    order = price(outlet, [LineInput(sku_id=s.pk, cases=1) for s in skus])
    # then: 3 x money(0.005) = 3 x 0.01, not money(0.015) = 0.02
    assert [ln.gross for ln in order.lines] == [D("0.01")] * 3
    assert order.gross == order.total == D("0.03")


def test_to_dict_renders_decimals_as_strings_and_is_json(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("1234.5678")})
    # when
    data = price(outlet, [LineInput(sku_id=sku.pk, cases=3)]).to_dict()
    # then
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == "4333.33" and data["currency"] == "PKR"
    assert data["lines"][0]["case_price"] == "1234.5678" and data["lines"][0]["scheme_ids"] == []


# --- price list resolution -----------------------------------------------------------------------------
def _lists(tid: int, sku: Any, cast: TenantCast, names: set[str]) -> dict[str, PriceList]:
    d1, d2 = cast.distributors
    gt, mt = Channel.GENERAL_TRADE, Channel.MODERN_TRADE
    spec: dict[str, tuple[str, dict[str, Any]]] = {
        "tenant": ("100.0000", {}),
        "channel": ("90.0000", {"channel": gt}),
        "distributor": ("80.0000", {"distributor": d1}),
        "distributor_channel": ("70.0000", {"distributor": d1, "channel": gt}),
        "sibling": ("5.0000", {"distributor": d2}),
        "sibling_channel": ("4.0000", {"distributor": d2, "channel": gt}),
        "other_channel": ("3.0000", {"channel": mt}),
        "expired": ("1.0000", {"distributor": d1, "channel": gt, "valid_to": date(2025, 5, 31)}),
        "future": ("2.0000", {"distributor": d1, "channel": gt, "valid_from": date(2025, 6, 2)}),
        "inactive": ("6.0000", {"distributor": d1, "channel": gt, "active": False}),
    }
    return {name: make_price_list(tid, {sku: D(p)}, **kw) for name, (p, kw) in spec.items() if name in names}


NOISE = {"sibling", "sibling_channel", "other_channel", "expired", "future", "inactive"}


@pytest.mark.parametrize(("present", "winner"), [
    ({"tenant", "channel", "distributor", "distributor_channel"}, "distributor_channel"),
    ({"tenant", "channel", "distributor"}, "distributor"),
    ({"tenant", "channel"}, "channel"),
    ({"tenant"}, "tenant"),
])
def test_the_most_specific_visible_valid_list_prices_the_sku(tid: int, cast_a: TenantCast, outlet: Outlet,
                                                              present: set[str], winner: str) -> None:
    # given: every list that must never win is there too, each cheaper than any usable one
    sku = make_sku(tid)
    lists = _lists(tid, sku, cast_a, present | NOISE)
    # when
    (line,) = price(outlet, [LineInput(sku_id=sku.pk, cases=1)]).lines
    # then
    assert line.price_list_id == lists[winner].pk


def test_sibling_distributors_and_stale_lists_alone_leave_the_sku_unpriced(tid: int, cast_a: TenantCast,
                                                                          outlet: Outlet) -> None:
    # given
    sku = make_sku(tid)
    _lists(tid, sku, cast_a, NOISE)
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=sku.pk, cases=1)])
    # then
    assert exc.value.code == CatalogError.NO_PRICE
    assert list(exc.value.fields) == ["lines[0].sku_id"]


def test_the_sibling_distributors_own_list_prices_its_outlets(tid: int, cast_a: TenantCast) -> None:
    # given
    sku = make_sku(tid)
    lists = _lists(tid, sku, cast_a, {"tenant", "distributor", "sibling"})
    sibling_outlet = make_outlet(cast_a.distributors[1])
    # when
    (line,) = price(sibling_outlet, [LineInput(sku_id=sku.pk, cases=1)]).lines
    # then
    assert line.price_list_id == lists["sibling"].pk


def test_equally_specific_lists_tie_on_latest_valid_from_then_highest_id(tid: int, outlet: Outlet) -> None:
    # given
    a, b = make_sku(tid), make_sku(tid)
    make_price_list(tid, {a: D("10.0000")}, valid_from=date(2025, 1, 1))
    newest = make_price_list(tid, {a: D("11.0000")}, valid_from=date(2025, 3, 1))
    make_price_list(tid, {a: D("12.0000")}, valid_from=date(2024, 1, 1))
    make_price_list(tid, {b: D("20.0000")}, valid_from=date(2025, 1, 1))
    highest_id = make_price_list(tid, {b: D("21.0000")}, valid_from=date(2025, 1, 1))
    # when
    order = price(outlet, [LineInput(sku_id=a.pk, cases=1), LineInput(sku_id=b.pk, cases=1)])
    # then
    assert [ln.price_list_id for ln in order.lines] == [newest.pk, highest_id.pk]


# --- schemes ---------------------------------------------------------------------------------------------
def test_percent_off_applies_the_highest_slab_reached(tid: int, outlet: Outlet) -> None:
    # given: 5 % from 5 cases, 10 % from 10 cases
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("1234.5678")})
    scheme = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("5", "5"), ("10", "10")], skus=[sku])
    # when
    four, six, ten = (price(outlet, [LineInput(sku_id=sku.pk, cases=n)]).lines[0] for n in (4, 6, 10))
    # then: 4 cases reach no slab
    assert four.discount == D("0.00") and four.scheme_ids == ()
    # 6 x 1234.5678 = 7407.4068 -> 7407.41; 5 % = 370.3705 -> 370.37; net 7037.04; tax 1196.2968 -> 1196.30
    assert figures(six) == (D("7407.41"), D("370.37"), D("7037.04"), D("1196.30"), D("8233.34"))
    assert six.scheme_ids == (scheme.pk,)
    # 10 x 1234.5678 = 12345.678 -> 12345.68; 10 % = 1234.568 -> 1234.57; tax 1888.8887 -> 1888.89
    assert figures(ten) == (D("12345.68"), D("1234.57"), D("11111.11"), D("1888.89"), D("13000.00"))


def test_amount_off_is_per_case_pro_rata_for_loose_units(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.AMOUNT_OFF, slabs=[("1", "25.50")])
    # when
    (line,) = price(outlet, [LineInput(sku_id=sku.pk, cases=3, units=6)]).lines
    # then: 42 units = 3.5 cases; gross 350.00; 25.50 x 3.5 = 89.25; net 260.75; tax 44.3275 -> 44.33
    assert figures(line) == (D("350.00"), D("89.25"), D("260.75"), D("44.33"), D("305.08"))


def test_amount_off_never_exceeds_the_line_gross(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("10.0000")})
    make_scheme(tid, kind=SchemeKind.AMOUNT_OFF, slabs=[("0", "25.0000")])
    # when
    (line,) = price(outlet, [LineInput(sku_id=sku.pk, cases=2)]).lines
    # then
    assert figures(line) == (D("20.00"), D("20.00"), D("0.00"), D("0.00"), D("0.00"))


def test_each_line_takes_the_one_scheme_giving_it_the_largest_discount(tid: int, outlet: Outlet) -> None:
    # given: 10 % off vs 15.00 off per case, both on every SKU
    cheap, dear = make_sku(tid, units_per_case=12), make_sku(tid, units_per_case=12)
    make_price_list(tid, {cheap: D("100.0000"), dear: D("400.0000")})
    percent = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")])
    amount = make_scheme(tid, kind=SchemeKind.AMOUNT_OFF, slabs=[("1", "15.0000")])
    # when
    order = price(outlet, [LineInput(sku_id=cheap.pk, cases=2), LineInput(sku_id=dear.pk, cases=2)])
    # then: cheap 10 % of 200 = 20.00 < 30.00; dear 10 % of 800 = 80.00 > 30.00
    assert [(ln.discount, ln.scheme_ids) for ln in order.lines] == [
        (D("30.00"), (amount.pk,)), (D("80.00"), (percent.pk,))]
    assert order.discount == D("110.00")


def test_equal_discounts_go_to_the_lower_priority_number_then_the_lower_id(tid: int, outlet: Outlet) -> None:
    # given
    a, b = make_sku(tid), make_sku(tid)
    make_price_list(tid, {a: D("100.0000"), b: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], skus=[a], priority=100)
    urgent = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], skus=[a], priority=50)
    first = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], skus=[b], priority=70)
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], skus=[b], priority=70)
    # when
    order = price(outlet, [LineInput(sku_id=a.pk, cases=1), LineInput(sku_id=b.pk, cases=1)])
    # then
    assert [ln.scheme_ids for ln in order.lines] == [(urgent.pk,), (first.pk,)]


def test_slab_basis_sums_the_covered_lines_of_the_order_only(tid: int, outlet: Outlet) -> None:
    # given: 10 % on brand X from 5 cases
    brand_x, brand_y = make_brand(tid), make_brand(tid)
    p, q = make_sku(tid, brand=brand_x, units_per_case=12), make_sku(tid, brand=brand_x, units_per_case=12)
    r = make_sku(tid, brand=brand_y, units_per_case=12)
    make_price_list(tid, {p: D("100.0000"), q: D("100.0000"), r: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("5", "10")], brands=[brand_x])
    # when
    reached = price(outlet, [LineInput(sku_id=p.pk, cases=3), LineInput(sku_id=q.pk, cases=2),
                             LineInput(sku_id=r.pk, cases=10)])
    missed = price(outlet, [LineInput(sku_id=p.pk, cases=3), LineInput(sku_id=r.pk, cases=10)])
    # then: 3 + 2 brand-X cases reach 5; brand Y's cases neither count nor get a discount
    assert [ln.discount for ln in reached.lines] == [D("30.00"), D("20.00"), D("0.00")]
    assert [ln.discount for ln in missed.lines] == [D("0.00"), D("0.00")]


def test_loose_units_add_up_to_whole_cases_exactly(tid: int, outlet: Outlet) -> None:
    # given: three lines of 4 units of a 12-unit case make exactly one case
    sku = make_sku(tid, units_per_case=12)
    make_price_list(tid, {sku: D("120.0000")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")])
    # when
    order = price(outlet, [LineInput(sku_id=sku.pk, cases=0, units=4)] * 3)
    # then: each 40.00 gets 4.00 off
    assert [ln.discount for ln in order.lines] == [D("4.00")] * 3


def test_value_basis_compares_the_rounded_gross_with_the_threshold(tid: int, outlet: Outlet) -> None:
    # given: 5 % from 1,000.00 of gross
    sku = make_sku(tid, units_per_case=1)
    make_price_list(tid, {sku: D("333.3300")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, basis=SlabBasis.VALUE, slabs=[("1000", "5")])
    # when
    three, four = (price(outlet, [LineInput(sku_id=sku.pk, cases=n)]).lines[0] for n in (3, 4))
    # then: 999.99 misses; 1333.32 x 5 % = 66.666 -> 66.67
    assert three.discount == D("0.00")
    assert (four.gross, four.discount) == (D("1333.32"), D("66.67"))


@pytest.mark.parametrize(("kw", "applies"), [
    ({"channels": [Channel.MODERN_TRADE]}, False),
    ({"channels": [Channel.MODERN_TRADE, Channel.GENERAL_TRADE]}, True),
    ({"valid_to": date(2025, 5, 31)}, False),
    ({"valid_from": date(2025, 6, 2)}, False),
    ({"active": False}, False),
])
def test_scheme_applies_only_when_live_for_the_outlets_channel(tid: int, outlet: Outlet, kw: dict[str, Any],
                                                                applies: bool) -> None:
    # given
    sku = make_sku(tid)
    make_price_list(tid, {sku: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], **kw)
    # when
    (line,) = price(outlet, [LineInput(sku_id=sku.pk, cases=1)]).lines
    # then
    assert line.discount == (D("10.00") if applies else D("0.00"))


def test_a_distributors_scheme_serves_its_own_outlets_only(tid: int, cast_a: TenantCast, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid)
    make_price_list(tid, {sku: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")], distributor=cast_a.distributors[1])
    sibling_outlet = make_outlet(cast_a.distributors[1])
    # when
    ours, theirs = (price(o, [LineInput(sku_id=sku.pk, cases=1)]).lines[0] for o in (outlet, sibling_outlet))
    # then
    assert (ours.discount, theirs.discount) == (D("0.00"), D("10.00"))


def test_free_goods_add_a_fully_discounted_line(tid: int, outlet: Outlet) -> None:
    # given: buy 10 cases of A, get 1 case of F (50.0000 a case of 6)
    a, free = make_sku(tid, units_per_case=12), make_sku(tid, units_per_case=6)
    make_price_list(tid, {a: D("100.0000"), free: D("50.0000")})
    scheme = make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[("10", "1", free)], skus=[a])
    # when
    order = price(outlet, [LineInput(sku_id=a.pk, cases=25)])
    # then: floor(25 / 10) x 1 = 2 free cases
    paid, gift = order.lines
    assert figures(paid) == (D("2500.00"), D("0.00"), D("2500.00"), D("425.00"), D("2925.00"))
    assert paid.scheme_ids == (scheme.pk,)
    assert (gift.index, gift.sku_id, gift.cases, gift.units, gift.qty_units) == (1, free.pk, 2, 0, 12)
    assert (gift.is_free, gift.free_of_scheme_id, gift.scheme_ids) == (True, scheme.pk, (scheme.pk,))
    assert figures(gift) == (D("100.00"), D("100.00"), D("0.00"), D("0.00"), D("0.00"))
    assert (order.gross, order.discount, order.net, order.tax, order.total) == (
        D("2600.00"), D("100.00"), D("2500.00"), D("425.00"), D("2925.00"))


def test_free_goods_use_the_highest_slab_reached_and_need_its_threshold(tid: int, outlet: Outlet) -> None:
    # given: 1 free per 10 cases; from 20 cases, 3 free per 20
    a, free = make_sku(tid), make_sku(tid)
    make_price_list(tid, {a: D("100.0000")})
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[("10", "1", free), ("20", "3", free)])
    # when
    nine, forty_five = (price(outlet, [LineInput(sku_id=a.pk, cases=n)]) for n in (9, 45))
    # then: 9 cases get nothing; 45 cases: floor(45 / 20) x 3 = 6; the free SKU has no price, so gross 0
    assert len(nine.lines) == 1
    gift = forty_five.lines[1]
    assert (gift.cases, gift.price_list_id, gift.case_price) == (6, None, D("0.0000"))
    assert figures(gift) == (D("0.00"),) * 5


def test_free_goods_come_on_top_of_the_best_discount(tid: int, outlet: Outlet) -> None:
    # given
    a, free = make_sku(tid), make_sku(tid)
    make_price_list(tid, {a: D("100.0000"), free: D("100.0000")})
    percent = make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "10")])
    gift = make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[("5", "1", free)], skus=[a])
    # when
    order = price(outlet, [LineInput(sku_id=a.pk, cases=5)])
    # then
    assert order.lines[0].discount == D("50.00")
    assert order.lines[0].scheme_ids == tuple(sorted((percent.pk, gift.pk)))
    assert order.lines[1].is_free and order.lines[1].discount == D("100.00")


# --- errors --------------------------------------------------------------------------------------------
def test_unknown_sku_is_refused_naming_the_line(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid)
    make_price_list(tid, {sku: D("1.0000")})
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=sku.pk, cases=1), LineInput(sku_id=2_000_000_000, cases=1)])
    # then
    assert exc.value.code == CatalogError.UNKNOWN_SKU
    assert list(exc.value.fields) == ["lines[1].sku_id"]


def test_another_tenants_sku_is_unknown(tid: int, outlet: Outlet, cast_b: TenantCast) -> None:
    # given
    theirs = make_sku(cast_b.tenant.pk)
    make_price_list(cast_b.tenant.pk, {theirs: D("1.0000")})
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=theirs.pk, cases=1)])
    # then
    assert (exc.value.code, list(exc.value.fields)) == (CatalogError.UNKNOWN_SKU, ["lines[0].sku_id"])


def test_inactive_sku_is_refused(tid: int, outlet: Outlet) -> None:
    # given
    sku = make_sku(tid, active=False)
    make_price_list(tid, {sku: D("1.0000")})
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=sku.pk, cases=1)])
    # then
    assert (exc.value.code, list(exc.value.fields)) == (CatalogError.INACTIVE_SKU, ["lines[0].sku_id"])


@pytest.mark.parametrize(("cases", "units", "field"), [(0, 0, "cases"), (-1, 0, "cases"), (1, -1, "units")])
def test_invalid_quantity_is_refused_naming_the_field(tid: int, outlet: Outlet, cases: int, units: int,
                                                      field: str) -> None:
    # given
    sku = make_sku(tid)
    make_price_list(tid, {sku: D("1.0000")})
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=sku.pk, cases=cases, units=units)])
    # then
    assert (exc.value.code, list(exc.value.fields)) == (CatalogError.INVALID_QUANTITY, [f"lines[0].{field}"])


def test_every_bad_line_is_named_and_the_code_is_the_first_problems(tid: int, outlet: Outlet) -> None:
    # given
    unpriced = make_sku(tid)
    # when
    with pytest.raises(DomainError) as exc:
        price(outlet, [LineInput(sku_id=unpriced.pk, cases=1), LineInput(sku_id=unpriced.pk, cases=0)])
    # then
    assert exc.value.code == CatalogError.NO_PRICE
    assert sorted(exc.value.fields) == ["lines[0].sku_id", "lines[1].cases", "lines[1].sku_id"]


def test_outlet_of_a_distributor_outside_the_scope_is_not_found(tid: int, cast_a: TenantCast,
                                                                outlet: Outlet) -> None:
    # given
    sku = make_sku(tid)
    make_price_list(tid, {sku: D("1.0000")})
    sibling_scope = Scope(tenant_id=tid, distributor_ids=frozenset({cast_a.distributors[1].pk}),
                          actor=Actor.system())
    # when / then
    with pytest.raises(NotFound):
        price(outlet, [LineInput(sku_id=sku.pk, cases=1)], scope=sibling_scope)


def test_no_lines_price_to_an_empty_order(tid: int, outlet: Outlet) -> None:
    # when
    order = price(outlet, [])
    # then
    assert (order.lines, order.total, order.currency) == ((), D("0.00"), "PKR")


# --- determinism and query budget ----------------------------------------------------------------------
def test_query_count_does_not_grow_with_the_number_of_lines(tid: int, outlet: Outlet,
                                                            django_assert_max_num_queries: Any) -> None:
    # given: 30 priced SKUs over two brands, a SKU scheme, a brand scheme and a free-goods scheme
    brands = [make_brand(tid), make_brand(tid)]
    skus = [make_sku(tid, brand=brands[i % 2]) for i in range(30)]
    make_price_list(tid, {s: D("10.0000") + i for i, s in enumerate(skus)})
    make_price_list(tid, {s: D("9.0000") for s in skus[::3]}, distributor=outlet.distributor)
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "5"), ("10", "7")], skus=skus[::2])
    make_scheme(tid, kind=SchemeKind.AMOUNT_OFF, slabs=[("1", "1.5")], brands=brands[:1])
    make_scheme(tid, kind=SchemeKind.FREE_GOODS, slabs=[("2", "1", skus[-1])])
    counts = []
    # when: counting inside the scope, so its SAVEPOINT and SET LOCAL are not the engine's
    for n in (3, 30):
        lines = [LineInput(sku_id=s.pk, cases=2, units=1) for s in skus[:n]]
        with tenant_scope(Scope.system(tid)) as scope:  # noqa: SIM117
            with django_assert_max_num_queries(8) as captured:
                order = price_lines(scope=scope, outlet=outlet, lines=lines, on_date=ON)
        counts.append(len(captured))
        assert len(order.lines) == n + 1
    # then: schemes + slabs + SKU rules + brand rules, SKUs, prices, tax rates, currency
    assert counts == [8, 8]


def test_the_same_order_prices_the_same_twice(tid: int, outlet: Outlet) -> None:
    # given
    skus = [make_sku(tid) for _ in range(4)]
    make_price_list(tid, {s: D("12.3456") for s in skus})
    make_scheme(tid, kind=SchemeKind.PERCENT_OFF, slabs=[("1", "3")])
    make_scheme(tid, kind=SchemeKind.AMOUNT_OFF, slabs=[("1", "0.3700")])
    lines = [LineInput(sku_id=s.pk, cases=i + 1, units=i) for i, s in enumerate(skus)]
    # when
    first, second = price(outlet, lines), price(outlet, lines)
    # then
    assert first == second
