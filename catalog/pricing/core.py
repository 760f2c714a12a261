"""The pricing rules as pure functions over plain data: no ORM, no I/O, no clock.

`compute()` takes the facts an order needs (SKUs, candidate price-list prices, schemes, tax rates),
already fetched by `resolve.load_facts()`, and returns the priced order. Keeping the rules pure lets
the property tests run thousands of examples without a database.

Rules
-----
Quantity: a line books `cases` and loose `units` (both whole, non-negative, not both zero; `units` may
exceed a case). qty_units = cases * units_per_case + units.

Price list: among the active lists valid on the date (valid_from <= d <= valid_to, open-ended when
valid_to is null) that price the SKU, are tenant-wide or narrowed to the outlet's distributor, and have
no channel or the outlet's channel, the most specific wins: distributor+channel > distributor >
channel > tenant-wide; a tie goes to the latest valid_from, then the highest id. A list narrowed to
another distributor or another channel is never used.

Line money: gross = money(case_price * qty_units / units_per_case), one rounding. Rounding is the one
rule of dms.core.money (half up to the cent, per line, DESIGN §9); nothing else rounds.

Schemes: live when active, valid on the date, tenant-wide or the outlet's distributor's, and with no
channels or the outlet's channel. A scheme covers a SKU when it has no SKU and no brand rules, or the
SKU is in its SKU rules, or the SKU's brand is in its brand rules. Its basis is summed over all the
booked lines it covers: cases (qty_units / units_per_case, exact) or gross value. The applied slab is
the one with the highest threshold <= basis; none reached, no benefit.
- percent off: discount = money(gross * benefit / 100); amount off: money(benefit * qty_units /
  units_per_case). Both are capped at the line's gross. A line takes at most one discount scheme, the
  one giving it the largest discount; tie: the lower priority number, then the lower id.
- free goods apply independently of discounts, every live one: floor(basis / threshold) * benefit
  cases of `free_sku` (whole units only). Each grant is an extra line with is_free=True, valued at its
  price-list price (0 when the free SKU has no price), fully discounted: net 0, tax 0, total 0.

Tax: the SKU's tax class rate valid on the date (latest valid_from; none = 0). tax = money(net * rate),
net = gross - discount, total = net + tax, per line. Order totals are plain sums of the rounded lines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from catalog.enums import SchemeKind, SlabBasis
from catalog.errors import CatalogError
from dms.core.errors import DomainError
from dms.core.money import ZERO, div, money, mul

NO_PRICE = Decimal("0.0000")
NO_RATE = Decimal("0.0000")


# --- public input and output ------------------------------------------------------------------------
@dataclass(frozen=True)
class LineInput:
    """One booked line: whole cases plus loose units of a SKU."""

    sku_id: int
    cases: int
    units: int = 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class PricedLine:
    """A priced line. `cases`/`units` echo what was booked; `qty_units` is the total in units."""

    index: int
    sku_id: int
    cases: int
    units: int
    qty_units: int
    case_price: Decimal
    price_list_id: int | None
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax_class: str
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    scheme_ids: tuple[int, ...] = ()
    is_free: bool = False
    free_of_scheme_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: Decimals as strings (never floats), tuples as lists."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    currency: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": [line.to_dict() for line in self.lines],
            **{name: str(getattr(self, name)) for name in ("gross", "discount", "net", "tax", "total")},
            "currency": self.currency,
        }


# --- facts: plain snapshots of the rows the rules need ---------------------------------------------
@dataclass(frozen=True)
class OutletFacts:
    distributor_id: int
    channel: str


@dataclass(frozen=True)
class SkuFacts:
    id: int
    code: str
    brand_id: int
    units_per_case: int
    tax_class: str
    active: bool = True


@dataclass(frozen=True)
class PriceFacts:
    """One SKU's case price on one price list, with the list's attributes."""

    price_list_id: int
    sku_id: int
    case_price: Decimal
    valid_from: date
    valid_to: date | None = None
    distributor_id: int | None = None
    channel: str = ""
    active: bool = True


@dataclass(frozen=True)
class SlabFacts:
    threshold: Decimal
    benefit: Decimal
    free_sku_id: int | None = None


@dataclass(frozen=True)
class SchemeFacts:
    id: int
    kind: str
    basis: str
    valid_from: date
    slabs: tuple[SlabFacts, ...]
    valid_to: date | None = None
    distributor_id: int | None = None
    channels: frozenset[str] = frozenset()
    sku_ids: frozenset[int] = frozenset()
    brand_ids: frozenset[int] = frozenset()
    priority: int = 100
    active: bool = True


@dataclass(frozen=True)
class TaxFacts:
    tax_class: str
    rate: Decimal
    valid_from: date
    valid_to: date | None = None


@dataclass(frozen=True)
class PricingFacts:
    """Everything compute() reads. Order of the sequences does not matter: the rules sort by id."""

    skus: Mapping[int, SkuFacts]
    prices: Sequence[PriceFacts] = ()
    schemes: Sequence[SchemeFacts] = ()
    tax_rates: Sequence[TaxFacts] = ()
    currency: str = ""


# --- rules --------------------------------------------------------------------------------------------
def _valid_on(valid_from: date, valid_to: date | None, on_date: date) -> bool:
    return valid_from <= on_date and (valid_to is None or valid_to >= on_date)


def price_usable(price: PriceFacts, *, outlet: OutletFacts, on_date: date) -> bool:
    return (price.active and _valid_on(price.valid_from, price.valid_to, on_date)
            and price.distributor_id in (None, outlet.distributor_id)
            and price.channel in ("", outlet.channel))


def price_rank(price: PriceFacts) -> tuple[int, int, date, int]:
    """Higher ranks win: (distributor-narrowed, channel-narrowed, valid_from, id)."""
    return (price.distributor_id is not None, bool(price.channel), price.valid_from, price.price_list_id)


def resolve_prices(prices: Iterable[PriceFacts], *, outlet: OutletFacts, on_date: date) -> dict[int, PriceFacts]:
    """The winning price of every SKU that any usable list prices."""
    best: dict[int, PriceFacts] = {}
    for price in prices:
        if not price_usable(price, outlet=outlet, on_date=on_date):
            continue
        current = best.get(price.sku_id)
        if current is None or price_rank(price) > price_rank(current):
            best[price.sku_id] = price
    return best


def line_gross(case_price: Decimal, qty_units: int, units_per_case: int) -> Decimal:
    return money(div(mul(case_price, qty_units), units_per_case))


def scheme_live(scheme: SchemeFacts, *, outlet: OutletFacts, on_date: date) -> bool:
    return (scheme.active and _valid_on(scheme.valid_from, scheme.valid_to, on_date)
            and scheme.distributor_id in (None, outlet.distributor_id)
            and (not scheme.channels or outlet.channel in scheme.channels))


def scheme_covers(scheme: SchemeFacts, sku: SkuFacts) -> bool:
    if not scheme.sku_ids and not scheme.brand_ids:
        return True
    return sku.id in scheme.sku_ids or sku.brand_id in scheme.brand_ids


def applied_slab(slabs: Iterable[SlabFacts], basis: Fraction) -> SlabFacts | None:
    """The slab with the highest threshold reached by the basis, if any."""
    reached = [s for s in slabs if Fraction(s.threshold) <= basis]
    return max(reached, key=lambda s: s.threshold, default=None)


def tax_rate_for(tax_rates: Iterable[TaxFacts], *, tax_class: str, on_date: date) -> Decimal:
    valid = [t for t in tax_rates if t.tax_class == tax_class and _valid_on(t.valid_from, t.valid_to, on_date)]
    latest = max(valid, key=lambda t: (t.valid_from, t.rate), default=None)
    return NO_RATE if latest is None else latest.rate


def line_discount(scheme: SchemeFacts, slab: SlabFacts, *, gross: Decimal, qty_units: int,
                  units_per_case: int) -> Decimal:
    if scheme.kind == SchemeKind.PERCENT_OFF:
        amount = money(div(mul(gross, slab.benefit), 100))
    else:
        amount = money(div(mul(slab.benefit, qty_units), units_per_case))
    return min(amount, gross)


# --- compute -----------------------------------------------------------------------------------------
@dataclass
class _Draft:
    index: int
    line: LineInput
    sku: SkuFacts
    qty_units: int
    price: PriceFacts
    gross: Decimal
    discount: Decimal = ZERO
    discount_key: tuple[Decimal, int, int] | None = None  # (-discount, priority, scheme id): lower wins
    discount_scheme_id: int | None = None
    free_scheme_ids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _FreeGrant:
    scheme_id: int
    sku_id: int
    qty_units: int


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(lines: Sequence[LineInput], facts: PricingFacts, prices: Mapping[int, PriceFacts]) -> None:
    """Refuse the whole order if any line is bad, naming every bad field; the code is the first problem's."""
    errors: dict[str, list[str]] = {}
    codes: list[str] = []

    def add(key: str, code: str, message: str) -> None:
        errors.setdefault(key, []).append(message)
        codes.append(code)

    for i, line in enumerate(lines):
        sku = facts.skus.get(line.sku_id) if _is_count(line.sku_id) else None
        if sku is None:
            add(f"lines[{i}].sku_id", CatalogError.UNKNOWN_SKU, f"Unknown SKU {line.sku_id!r}.")
        elif not sku.active:
            add(f"lines[{i}].sku_id", CatalogError.INACTIVE_SKU, f"SKU {sku.code} is not active.")
        if not _is_count(line.cases) or line.cases < 0:
            add(f"lines[{i}].cases", CatalogError.INVALID_QUANTITY, "Cases must be a whole number, 0 or more.")
        if not _is_count(line.units) or line.units < 0:
            add(f"lines[{i}].units", CatalogError.INVALID_QUANTITY, "Units must be a whole number, 0 or more.")
        elif _is_count(line.cases) and line.cases == 0 and line.units == 0:
            add(f"lines[{i}].cases", CatalogError.INVALID_QUANTITY, "Book at least one case or unit.")
        if sku is not None and sku.active and sku.id not in prices:
            add(f"lines[{i}].sku_id", CatalogError.NO_PRICE, f"No price list prices SKU {sku.code} for this outlet.")
    if codes:
        raise DomainError(codes[0], "Some order lines cannot be priced.", fields=errors)


def _apply_schemes(drafts: list[_Draft], *, facts: PricingFacts, outlet: OutletFacts,
                   on_date: date) -> list[_FreeGrant]:
    grants: list[_FreeGrant] = []
    for scheme in sorted(facts.schemes, key=lambda s: s.id):
        if not scheme_live(scheme, outlet=outlet, on_date=on_date):
            continue
        covered = [d for d in drafts if scheme_covers(scheme, d.sku)]
        if not covered:
            continue
        # Cases are summed as exact fractions: 3 x 4/12 must reach a 1-case threshold.
        if scheme.basis == SlabBasis.VALUE:
            basis = Fraction(sum((d.gross for d in covered), ZERO))
        else:
            basis = sum((Fraction(d.qty_units, d.sku.units_per_case) for d in covered), Fraction(0))
        slab = applied_slab(scheme.slabs, basis)
        if slab is None:
            continue
        if scheme.kind == SchemeKind.FREE_GOODS:
            free_sku = facts.skus.get(slab.free_sku_id) if slab.free_sku_id is not None else None
            if free_sku is None or slab.threshold <= 0:
                continue
            times = floor(basis / Fraction(slab.threshold))
            qty = floor(times * Fraction(slab.benefit) * free_sku.units_per_case)
            if qty > 0:
                grants.append(_FreeGrant(scheme_id=scheme.id, sku_id=free_sku.id, qty_units=qty))
                for d in covered:
                    d.free_scheme_ids.add(scheme.id)
            continue
        for d in covered:
            amount = line_discount(scheme, slab, gross=d.gross, qty_units=d.qty_units,
                                   units_per_case=d.sku.units_per_case)
            if amount <= 0:
                continue
            key = (-amount, scheme.priority, scheme.id)
            if d.discount_key is None or key < d.discount_key:
                d.discount_key, d.discount, d.discount_scheme_id = key, amount, scheme.id
    return grants


def _line(*, index: int, sku: SkuFacts, cases: int, units: int, qty_units: int, price: PriceFacts | None,
          gross: Decimal, discount: Decimal, rate: Decimal, scheme_ids: Iterable[int], is_free: bool = False,
          free_of_scheme_id: int | None = None) -> PricedLine:
    net = gross - discount
    tax = money(mul(net, rate))
    return PricedLine(
        index=index, sku_id=sku.id, cases=cases, units=units, qty_units=qty_units,
        case_price=NO_PRICE if price is None else price.case_price,
        price_list_id=None if price is None else price.price_list_id,
        gross=gross, discount=discount, net=net, tax_class=sku.tax_class, tax_rate=rate, tax=tax,
        total=net + tax, scheme_ids=tuple(sorted(scheme_ids)), is_free=is_free, free_of_scheme_id=free_of_scheme_id,
    )


def compute(*, outlet: OutletFacts, lines: Sequence[LineInput], on_date: date, facts: PricingFacts) -> PricedOrder:
    """Price an order from facts (see the module docstring for the rules). Raises DomainError on a bad line."""
    prices = resolve_prices(facts.prices, outlet=outlet, on_date=on_date)
    _validate(lines, facts, prices)

    drafts: list[_Draft] = []
    for i, line in enumerate(lines):
        sku = facts.skus[line.sku_id]
        qty = line.cases * sku.units_per_case + line.units
        price = prices[sku.id]
        drafts.append(_Draft(index=i, line=line, sku=sku, qty_units=qty, price=price,
                             gross=line_gross(price.case_price, qty, sku.units_per_case)))
    grants = _apply_schemes(drafts, facts=facts, outlet=outlet, on_date=on_date)

    def rate_of(sku: SkuFacts) -> Decimal:
        return tax_rate_for(facts.tax_rates, tax_class=sku.tax_class, on_date=on_date)

    priced = [
        _line(index=d.index, sku=d.sku, cases=d.line.cases, units=d.line.units, qty_units=d.qty_units,
              price=d.price, gross=d.gross, discount=d.discount, rate=rate_of(d.sku),
              scheme_ids=d.free_scheme_ids | ({d.discount_scheme_id} if d.discount_scheme_id is not None else set()))
        for d in drafts
    ]
    for grant in grants:
        sku = facts.skus[grant.sku_id]
        free_price = prices.get(sku.id)
        gross = ZERO if free_price is None else line_gross(free_price.case_price, grant.qty_units,
                                                           sku.units_per_case)
        cases, units = divmod(grant.qty_units, sku.units_per_case)
        priced.append(_line(index=len(priced), sku=sku, cases=cases, units=units, qty_units=grant.qty_units,
                            price=free_price, gross=gross, discount=gross, rate=rate_of(sku),
                            scheme_ids=(grant.scheme_id,), is_free=True, free_of_scheme_id=grant.scheme_id))

    def total(name: str) -> Decimal:
        return sum((getattr(p, name) for p in priced), ZERO)

    return PricedOrder(lines=tuple(priced), gross=total("gross"), discount=total("discount"), net=total("net"),
                       tax=total("tax"), total=total("total"), currency=facts.currency)
