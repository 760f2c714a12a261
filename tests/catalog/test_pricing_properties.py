"""Properties of the pricing engine over random prices, quantities, tax rates, price lists and schemes.

The pure core (catalog.pricing.core.compute) takes thousands of examples; a smaller DB-backed property
checks that price_lines() fetches the same facts the core is given directly.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.enums import Channel, SchemeKind, SlabBasis
from catalog.models import Outlet
from catalog.pricing import LineInput, PricedOrder, price_lines
from catalog.pricing.core import (
    OutletFacts,
    PriceFacts,
    PricingFacts,
    SchemeFacts,
    SkuFacts,
    SlabFacts,
    TaxFacts,
    compute,
)
from dms.core.money import money, mul
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Distributor
from dms.tenancy.scope import Scope
from tests.conftest import TenantCast
from tests.factories.catalog import make_brand, make_outlet, make_price_list, make_scheme, make_sku, make_tax_rate

ON = date(2025, 6, 1)
GT, MT = Channel.GENERAL_TRADE.value, Channel.MODERN_TRADE.value
OUTLET = OutletFacts(distributor_id=1, channel=GT)
TAX_CLASSES = ("A", "B", "C")
DATES = st.sampled_from([date(2020, 1, 1), date(2025, 1, 1), date(2025, 6, 1), date(2025, 6, 2)])
VALID_TO = st.sampled_from([None, date(2025, 5, 31), date(2025, 6, 1), date(2030, 1, 1)])


def places(n: int, hi: int) -> st.SearchStrategy[Decimal]:
    """Decimals with exactly n places in [0, hi]."""
    return st.integers(0, hi * 10**n).map(lambda i: Decimal(i).scaleb(-n))


PRICE = places(4, 99_999)
RATE = places(4, 1)


def _line(*, sku_id: int, cases: int, units: int) -> LineInput:
    """A valid line: an all-zero draw books one case rather than being thrown away."""
    return LineInput(sku_id=sku_id, cases=cases or (0 if units else 1), units=units)


@st.composite
def pricing_cases(draw: Any) -> tuple[PricingFacts, list[LineInput]]:
    n_skus = draw(st.integers(1, 5))
    skus = {
        i: SkuFacts(id=i, code=f"S{i}", brand_id=draw(st.integers(1, 3)), units_per_case=draw(st.integers(1, 48)),
                    tax_class=draw(st.sampled_from(TAX_CLASSES)))
        for i in range(1, n_skus + 1)
    }
    # A tenant-wide open list prices every SKU, so every line can be priced; the others compete with it.
    prices = [PriceFacts(price_list_id=1, sku_id=i, case_price=draw(PRICE), valid_from=date(2020, 1, 1))
              for i in skus]
    for list_id in range(2, draw(st.integers(2, 6))):
        attrs = {"valid_from": draw(DATES), "valid_to": draw(VALID_TO), "active": draw(st.booleans()),
                 "distributor_id": draw(st.sampled_from([None, 1, 2])), "channel": draw(st.sampled_from(["", GT, MT]))}
        if attrs["valid_to"] is not None and attrs["valid_to"] < attrs["valid_from"]:
            attrs["valid_to"] = None
        for sku_id in draw(st.sets(st.sampled_from(sorted(skus)), min_size=1)):
            prices.append(PriceFacts(price_list_id=list_id, sku_id=sku_id, case_price=draw(PRICE), **attrs))
    schemes = []
    for scheme_id in range(1, draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(list(SchemeKind)))
        basis = draw(st.sampled_from(list(SlabBasis)))
        benefit = {SchemeKind.PERCENT_OFF: places(2, 120), SchemeKind.AMOUNT_OFF: places(4, 2_000),
                   SchemeKind.FREE_GOODS: places(1, 3)}[kind]
        thresholds = draw(st.sets(places(3, 60) if basis == SlabBasis.QUANTITY else places(2, 200_000),
                                  min_size=1, max_size=3))
        slabs = tuple(SlabFacts(threshold=t, benefit=draw(benefit),
                                free_sku_id=draw(st.sampled_from(sorted(skus))) if kind == SchemeKind.FREE_GOODS
                                else None)
                      for t in sorted(thresholds))
        schemes.append(SchemeFacts(
            id=scheme_id, kind=kind, basis=basis, slabs=slabs, valid_from=draw(DATES), valid_to=None,
            active=draw(st.booleans()) or draw(st.booleans()),
            distributor_id=draw(st.sampled_from([None, None, 1, 2])),
            channels=draw(st.sampled_from([frozenset(), frozenset({GT}), frozenset({MT}), frozenset({GT, MT})])),
            sku_ids=draw(st.frozensets(st.sampled_from(sorted(skus)), max_size=2)),
            brand_ids=draw(st.frozensets(st.integers(1, 3), max_size=1)),
            priority=draw(st.integers(1, 3)),
        ))
    tax_rates = [TaxFacts(tax_class=c, rate=draw(RATE), valid_from=date(2020, 1, 1)) for c in TAX_CLASSES[:2]]
    if draw(st.booleans()):
        # a later rate of class A (one rate per class and valid_from, as the table's unique constraint says)
        later = draw(st.sampled_from([date(2025, 1, 1), date(2025, 6, 1), date(2025, 6, 2)]))
        tax_rates.append(TaxFacts(tax_class="A", rate=draw(RATE), valid_from=later))
    lines = draw(st.lists(st.builds(_line, sku_id=st.sampled_from(sorted(skus)), cases=st.integers(0, 60),
                                    units=st.integers(0, 100)), max_size=8))
    facts = PricingFacts(skus=skus, prices=prices, schemes=schemes, tax_rates=tax_rates, currency="PKR")
    return facts, lines


AMOUNTS = ("gross", "discount", "net", "tax", "total")


def _rate_on(facts: PricingFacts, tax_class: str) -> Decimal:
    valid = [t for t in facts.tax_rates if t.tax_class == tax_class and t.valid_from <= ON
             and (t.valid_to is None or t.valid_to >= ON)]
    return max(valid, key=lambda t: t.valid_from).rate if valid else Decimal("0")


@settings(max_examples=600, deadline=None)
@given(pricing_cases())
def test_totals_are_exact_sums_of_two_place_lines_that_add_up(case: tuple[PricingFacts, list[LineInput]]) -> None:
    # given
    facts, lines = case
    # when
    order = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=facts)
    # then
    for name in AMOUNTS:
        assert getattr(order, name) == sum((getattr(ln, name) for ln in order.lines), Decimal("0"))
        assert getattr(order, name).as_tuple().exponent == -2
    for ln in order.lines:
        assert all(getattr(ln, name).as_tuple().exponent == -2 for name in AMOUNTS)
        assert ln.net == ln.gross - ln.discount
        assert ln.total == ln.net + ln.tax
        assert ln.tax == money(mul(ln.net, ln.tax_rate))
        assert ln.tax_rate == _rate_on(facts, ln.tax_class)
    assert [ln.index for ln in order.lines] == list(range(len(order.lines)))
    assert [(ln.sku_id, ln.cases, ln.units) for ln in order.lines[:len(lines)]] == [
        (ln.sku_id, ln.cases, ln.units) for ln in lines]


@settings(max_examples=600, deadline=None)
@given(pricing_cases())
def test_discount_is_never_negative_nor_above_gross(case: tuple[PricingFacts, list[LineInput]]) -> None:
    # given
    facts, lines = case
    # when
    order = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=facts)
    # then
    kinds = {s.id: s.kind for s in facts.schemes}
    for ln in order.lines:
        assert Decimal("0") <= ln.discount <= ln.gross
        discount_schemes = [s for s in ln.scheme_ids if kinds[s] != SchemeKind.FREE_GOODS]
        assert len(discount_schemes) == (0 if ln.is_free or not ln.discount else 1)
        if ln.is_free:
            assert (ln.discount, ln.net, ln.tax, ln.total) == (ln.gross, 0, 0, 0)


@settings(max_examples=500, deadline=None)
@given(pricing_cases(), st.randoms(use_true_random=False))
def test_the_same_input_gives_the_same_order_whatever_the_fetch_order(case: tuple[PricingFacts, list[LineInput]],
                                                                       rnd: random.Random) -> None:
    # given: the same facts, fetched in another order
    facts, lines = case
    shuffled = replace(facts, prices=rnd.sample(list(facts.prices), len(facts.prices)),
                       schemes=rnd.sample(list(facts.schemes), len(facts.schemes)),
                       tax_rates=rnd.sample(list(facts.tax_rates), len(facts.tax_rates)))
    # when
    first = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=facts)
    again = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=facts)
    reordered = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=shuffled)
    # then
    assert first == again == reordered
    assert first.to_dict() == reordered.to_dict()


def _specificity(p: PriceFacts) -> tuple[int, date, int]:
    return ((p.distributor_id is not None) * 2 + bool(p.channel), p.valid_from, p.price_list_id)


@settings(max_examples=500, deadline=None)
@given(pricing_cases())
def test_each_line_is_priced_by_the_most_specific_usable_list(case: tuple[PricingFacts, list[LineInput]]) -> None:
    # given
    facts, lines = case
    # when
    order = compute(outlet=OUTLET, lines=lines, on_date=ON, facts=facts)
    # then
    for ln in order.lines[:len(lines)]:
        usable = [p for p in facts.prices if p.sku_id == ln.sku_id and p.active and p.valid_from <= ON
                  and (p.valid_to is None or p.valid_to >= ON) and p.distributor_id in (None, 1)
                  and p.channel in ("", GT)]
        best = max(usable, key=_specificity)
        assert (ln.price_list_id, ln.case_price) == (best.price_list_id, best.case_price)


# --- the DB-backed wrapper gives what the core gives ------------------------------------------------------
@st.composite
def db_cases(draw: Any) -> dict[str, Any]:
    n_skus = draw(st.integers(1, 3))
    return {
        "skus": [{"upc": draw(st.integers(1, 24)), "brand": draw(st.integers(0, 1)),
                  "tax_class": draw(st.sampled_from(TAX_CLASSES)), "price": draw(PRICE),
                  "own_price": draw(st.none() | PRICE)} for _ in range(n_skus)],
        "rates": {c: draw(RATE) for c in TAX_CLASSES[:2]},
        "schemes": [{"kind": draw(st.sampled_from(list(SchemeKind))), "basis": draw(st.sampled_from(list(SlabBasis))),
                     "threshold": draw(places(3, 20)), "benefit": draw(places(2, 40)),
                     "sku": draw(st.none() | st.integers(0, n_skus - 1)), "priority": draw(st.integers(1, 2))}
                    for _ in range(draw(st.integers(0, 3)))],
        "lines": draw(st.lists(st.builds(_line, sku_id=st.integers(0, n_skus - 1), cases=st.integers(0, 30),
                                         units=st.integers(0, 30)), min_size=1, max_size=5)),
    }


@pytest.fixture
def outlet(dist_a1: Distributor) -> Outlet:
    return make_outlet(dist_a1, channel=GT)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=db_cases())
def test_price_lines_fetches_the_facts_the_core_is_given(cast_a: TenantCast, outlet: Outlet,
                                                         spec: dict[str, Any]) -> None:
    tid = cast_a.tenant.pk
    with tenant_scope(Scope.system(tid)) as scope, transaction.atomic():
        # given: rows in a savepoint that each example rolls back
        brands = [make_brand(tid), make_brand(tid)]
        skus = [make_sku(tid, brand=brands[s["brand"]], units_per_case=s["upc"], tax_class=s["tax_class"])
                for s in spec["skus"]]
        tenant_list = make_price_list(tid, {sku: s["price"] for sku, s in zip(skus, spec["skus"], strict=True)})
        own_list = make_price_list(tid, {sku: s["own_price"] for sku, s in zip(skus, spec["skus"], strict=True)
                                         if s["own_price"] is not None}, distributor=outlet.distributor)
        for tax_class, rate in spec["rates"].items():
            make_tax_rate(tid, tax_class=tax_class, rate=rate)
        schemes = [make_scheme(tid, kind=s["kind"], basis=s["basis"], priority=s["priority"],
                               slabs=[(s["threshold"], s["benefit"],
                                       skus[0] if s["kind"] == SchemeKind.FREE_GOODS else None)],
                               skus=[] if s["sku"] is None else [skus[s["sku"]]]) for s in spec["schemes"]]
        lines = [replace(ln, sku_id=skus[ln.sku_id].pk) for ln in spec["lines"]]
        facts = PricingFacts(
            skus={sku.pk: SkuFacts(id=sku.pk, code=sku.code, brand_id=sku.brand_id, units_per_case=sku.units_per_case,
                                   tax_class=sku.tax_class) for sku in skus},
            prices=[PriceFacts(price_list_id=tenant_list.pk, sku_id=sku.pk, case_price=s["price"],
                               valid_from=date(2020, 1, 1)) for sku, s in zip(skus, spec["skus"], strict=True)]
            + [PriceFacts(price_list_id=own_list.pk, sku_id=sku.pk, case_price=s["own_price"],
                          valid_from=date(2020, 1, 1), distributor_id=outlet.distributor_id)
               for sku, s in zip(skus, spec["skus"], strict=True) if s["own_price"] is not None],
            schemes=[SchemeFacts(id=sch.pk, kind=s["kind"], basis=s["basis"], valid_from=date(2020, 1, 1),
                                 priority=s["priority"], sku_ids=frozenset() if s["sku"] is None
                                 else frozenset({skus[s["sku"]].pk}),
                                 slabs=(SlabFacts(threshold=s["threshold"], benefit=s["benefit"],
                                                  free_sku_id=skus[0].pk if s["kind"] == SchemeKind.FREE_GOODS
                                                  else None),))
                     for sch, s in zip(schemes, spec["schemes"], strict=True)],
            tax_rates=[TaxFacts(tax_class=c, rate=r, valid_from=date(2020, 1, 1)) for c, r in spec["rates"].items()],
            currency="PKR",
        )
        # when
        fetched: PricedOrder = price_lines(scope=scope, outlet=outlet, lines=lines, on_date=ON)
        given_facts = compute(outlet=OutletFacts(distributor_id=outlet.distributor_id, channel=GT), lines=lines,
                              on_date=ON, facts=facts)
        transaction.set_rollback(True)
    # then
    assert fetched == given_facts
    assert fetched.to_dict() == given_facts.to_dict()
