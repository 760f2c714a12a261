"""Fetch the facts an order needs, in a constant number of queries whatever the number of lines.

Queries (at most 8; inside dms.core.memo.memo_scope the schemes, tax rates and currency only once):
schemes live on the date and their slabs, SKU rules and brand rules (prefetched),
the SKUs of the lines and of free-goods slabs, the candidate price-list prices of those SKUs, the tax
rates of their tax classes, and the tenant's currency. Every read goes through the scoped default
managers, so the caller must be inside tenant_scope. The database narrows the candidates; the pure
rules in core.py decide, so a row fetched too generously could never change a price.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from django.db.models import Prefetch, Q

from catalog.models import Outlet, PriceListItem, Scheme, SchemeBrand, SchemeSku, SchemeSlab, Sku, TaxRate
from dms.core.memo import memoized
from dms.tenancy.models import Tenant
from dms.tenancy.scope import Scope

from .core import PriceFacts, PricingFacts, SchemeFacts, SkuFacts, SlabFacts, TaxFacts


def _valid_on(on_date: date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": on_date}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": on_date}))


def _for_distributor(distributor_id: int, prefix: str = "") -> Q:
    return Q(**{f"{prefix}distributor__isnull": True}) | Q(**{f"{prefix}distributor_id": distributor_id})


def _schemes(*, scope: Scope, outlet: Outlet, on_date: date) -> list[SchemeFacts]:
    qs = (
        scope.filter_optional_distributor(Scheme.objects.all())
        .filter(_valid_on(on_date), _for_distributor(outlet.distributor_id), active=True)
        .order_by("id")
        .prefetch_related(
            Prefetch("slabs", queryset=SchemeSlab.objects.order_by("threshold", "id")),
            Prefetch("sku_rules", queryset=SchemeSku.objects.only("id", "scheme_id", "sku_id")),
            Prefetch("brand_rules", queryset=SchemeBrand.objects.only("id", "scheme_id", "brand_id")),
        )
    )
    return [
        SchemeFacts(
            id=s.pk, kind=s.kind, basis=s.basis, valid_from=s.valid_from, valid_to=s.valid_to,
            distributor_id=s.distributor_id, channels=frozenset(str(c) for c in (s.channels or [])),
            sku_ids=frozenset(r.sku_id for r in s.sku_rules.all()),
            brand_ids=frozenset(r.brand_id for r in s.brand_rules.all()),
            slabs=tuple(SlabFacts(threshold=sl.threshold, benefit=sl.benefit, free_sku_id=sl.free_sku_id)
                        for sl in s.slabs.all()),
            priority=s.priority, active=s.active,
        )
        for s in qs
    ]


def _sku_facts(scope: Scope, wanted: set[int]) -> dict[int, SkuFacts]:
    """SKU facts by id; inside a memo scope each SKU is read once (unknown ids are remembered as None)."""
    known: dict[int, SkuFacts | None] = memoized(("pricing_skus", scope.tenant_id), dict)
    missing = wanted - known.keys()
    if missing:
        rows = Sku.objects.filter(pk__in=missing).order_by("id").values(
            "id", "code", "brand_id", "units_per_case", "tax_class", "active")
        found = {row["id"]: SkuFacts(**row) for row in rows}
        known.update({i: found.get(i) for i in missing})
    return {i: facts for i in sorted(wanted) if (facts := known[i]) is not None}


def _price_facts(scope: Scope, outlet: Outlet, sku_ids: set[int], on_date: date) -> list[PriceFacts]:
    """Candidate prices of `sku_ids` for the outlet's distributor and channel on the date; inside a memo scope
    each (distributor, channel, date, SKU) is read once."""
    key = ("pricing_prices", scope.tenant_id, scope.distributor_ids, outlet.distributor_id, outlet.channel, on_date)
    loaded: dict[int, list[PriceFacts]] = memoized(key, dict)
    missing = sku_ids - loaded.keys()
    if missing:
        fetched: dict[int, list[PriceFacts]] = {i: [] for i in missing}
        for row in PriceListItem.objects.filter(
            _valid_on(on_date, "price_list__"), _for_distributor(outlet.distributor_id, "price_list__"),
            Q(price_list__channel="") | Q(price_list__channel=outlet.channel),
            sku_id__in=missing, price_list__active=True,
        ).order_by("price_list_id", "sku_id").values(
            "price_list_id", "sku_id", "case_price", "price_list__valid_from", "price_list__valid_to",
            "price_list__distributor_id", "price_list__channel", "price_list__active"):
            fetched[row["sku_id"]].append(PriceFacts(
                price_list_id=row["price_list_id"], sku_id=row["sku_id"], case_price=row["case_price"],
                valid_from=row["price_list__valid_from"], valid_to=row["price_list__valid_to"],
                distributor_id=row["price_list__distributor_id"], channel=row["price_list__channel"],
                active=row["price_list__active"]))
        loaded.update(fetched)
    return sorted((p for i in sku_ids for p in loaded[i]), key=lambda p: (p.price_list_id, p.sku_id))


def preload(*, scope: Scope, outlets: Collection[Outlet], sku_ids: Collection[int], on_date: date) -> None:
    """Inside a memo scope: read the SKUs and candidate prices a batch of orders will need at once (a query each
    per distributor and channel), so pricing each order reads nothing more. Outside one: does nothing useful."""
    wanted = {i for i in sku_ids if isinstance(i, int) and not isinstance(i, bool)}
    skus = set(_sku_facts(scope, wanted))
    for distributor_id, channel in sorted({(o.distributor_id, o.channel) for o in outlets}):
        outlet = next(o for o in outlets if (o.distributor_id, o.channel) == (distributor_id, channel))
        _price_facts(scope, outlet, skus, on_date)


def load_facts(*, scope: Scope, outlet: Outlet, sku_ids: Collection[int], on_date: date) -> PricingFacts:
    """The SKUs, candidate prices, live schemes and tax rates for pricing `sku_ids` at `outlet` on `on_date`."""
    schemes = memoized(("pricing_schemes", scope.tenant_id, scope.distributor_ids, outlet.distributor_id, on_date),
                       lambda: _schemes(scope=scope, outlet=outlet, on_date=on_date))
    wanted = {i for i in sku_ids if isinstance(i, int) and not isinstance(i, bool)}
    wanted |= {sl.free_sku_id for s in schemes for sl in s.slabs if sl.free_sku_id is not None}

    skus = _sku_facts(scope, wanted)
    prices = _price_facts(scope, outlet, set(skus), on_date)
    tax_classes = {s.tax_class for s in skus.values()}
    tax_rates = [rate for rate in memoized(("pricing_taxes", scope.tenant_id, on_date), lambda: [
        TaxFacts(**row) for row in TaxRate.objects.filter(_valid_on(on_date))
        .order_by("tax_class", "valid_from").values("tax_class", "rate", "valid_from", "valid_to")])
        if rate.tax_class in tax_classes]
    currency = memoized(("pricing_currency", scope.tenant_id), lambda: Tenant.objects.filter(
        pk=scope.tenant_id).values_list("currency", flat=True).first() or "")
    return PricingFacts(skus=skus, prices=prices, schemes=schemes, tax_rates=tax_rates, currency=currency)
