"""Pure generation of demo rows from the world and a seed: outlets and SKUs (no database)."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import string
from dataclasses import dataclass
from decimal import Decimal

from .world import (
    _BLESSINGS,
    _CHANNEL_WEIGHTS,
    _CHANNELS,
    _CREDIT,
    _NAMES,
    _SHOP_NAMES,
    _STREETS,
    DEFAULT_SEED,
    KM_PER_DEG_LAT,
    TENANTS,
    BrandSpec,
    City,
    Pack,
    Place,
    TenantSpec,
    _opening_hours,
)

# --- pure generation -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutletRow:
    code: str
    name: str
    channel: str
    address: str
    lat: Decimal
    lng: Decimal
    opening_hours: dict[str, list[list[str]]]
    credit_limit: Decimal
    tax_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class SkuRow:
    code: str
    name: str
    brand_code: str
    pack_size: str
    units_per_case: int
    weight_kg_per_case: Decimal
    volume_l_per_case: Decimal
    tax_class: str
    case_price: Decimal  # the base list price


def _point(rng: random.Random, city: City, place: Place) -> tuple[Decimal, Decimal]:
    """A gaussian draw around the neighbourhood centre, cut at 2.5 sigma and kept out of the water."""
    lat, lng = place.lat, place.lng
    for _ in range(20):
        north, east = rng.gauss(0, place.sigma_km), rng.gauss(0, place.sigma_km)
        if north * north + east * east > (2.5 * place.sigma_km) ** 2:
            continue
        cand_lat = place.lat + north / KM_PER_DEG_LAT
        cand_lng = place.lng + east / (111.320 * math.cos(math.radians(place.lat)))
        if not city.in_water(cand_lat, cand_lng):
            lat, lng = cand_lat, cand_lng
            break
    return Decimal(f"{lat:.6f}"), Decimal(f"{lng:.6f}")


def _tax_id(rng: random.Random, country: str) -> str:
    if country == "PK":  # NTN: seven digits and a check digit
        return f"{rng.randrange(10**6, 10**7)}-{rng.randrange(10)}"
    return f"P{rng.randrange(10**9):09d}{rng.choice(string.ascii_uppercase)}"  # KRA PIN of a business


def outlet_rows(*, spec: TenantSpec, city: City, n: int, seed: int = DEFAULT_SEED) -> list[OutletRow]:
    """`n` outlets of the distributor in `city`, deterministic for (seed, tenant, city); a prefix of any larger n."""
    rng = random.Random(f"{seed}:{spec.slug}:{city.code}:outlets")
    place_weights = list(itertools.accumulate(p.weight for p in city.places))
    channel_weights = list(itertools.accumulate(_CHANNEL_WEIGHTS))
    names, blessings, streets = _NAMES[spec.country], _BLESSINGS[spec.country], _STREETS[spec.country]
    rows = []
    for i in range(1, n + 1):  # every draw per row, so the first k rows are the same whatever n is
        place = city.places[bisect.bisect(place_weights, rng.random() * place_weights[-1])]
        channel = _CHANNELS[bisect.bisect(channel_weights, rng.random() * channel_weights[-1])]
        lat, lng = _point(rng, city, place)
        shop = rng.choice(_SHOP_NAMES[(spec.country, channel)]).format(n=rng.choice(names), b=rng.choice(blessings))
        street = rng.choice(streets).format(k=rng.randint(1, 240), j=rng.randint(1, 40),
                                            L=rng.choice(string.ascii_uppercase[:12]))
        low, high, step, cash_only, registered = _CREDIT[channel]
        credit = 0 if rng.random() < cash_only else round(rng.uniform(low, high) * spec.money_scale / step) * step
        rows.append(OutletRow(
            code=f"{city.code}{i:06d}", name=shop, channel=channel, address=f"{street}, {place.name}, {city.name}",
            lat=lat, lng=lng, opening_hours=_opening_hours(rng, spec.country, channel),
            credit_limit=Decimal(credit).quantize(Decimal("0.01")),
            tax_id=_tax_id(rng, spec.country) if rng.random() < registered else "",
            active=rng.random() >= 0.02,
        ))
    return rows


def _pack_weight_volume(pack: Pack) -> tuple[Decimal, Decimal]:
    """Gross case weight and outer volume from the pack: content plus containers plus a 0.4 kg carton."""
    content_kg = pack.size * pack.density if pack.liquid else pack.size
    weight = pack.units * (content_kg + pack.tare_kg) + 0.4
    volume = pack.units * pack.size * 1.25 if pack.liquid else pack.units * pack.size / pack.density
    return Decimal(f"{weight:.3f}"), Decimal(f"{volume:.3f}")


def sku_rows(*, spec: TenantSpec, n: int, seed: int = DEFAULT_SEED) -> list[SkuRow]:
    """`n` SKUs dealt round-robin across the brands from each brand's shuffled product x pack range."""
    rng = random.Random(f"{seed}:{spec.slug}:skus")
    ranges = []
    for brand in spec.brands:
        combos = [(product, pack) for product in brand.products for pack in brand.packs]
        rng.shuffle(combos)
        ranges.append((brand, combos))
    picked: list[tuple[BrandSpec, str, Pack]] = []
    edition = 0
    while len(picked) < n:
        for brand, combos in ranges:
            if edition < len(combos) and len(picked) < n:
                product, pack = combos[edition]
                picked.append((brand, product, pack))
        edition += 1
        if edition > max(len(c) for _, c in ranges) and len(picked) < n:  # more SKUs asked than the range has
            ranges = [(b, [(f"{p} Promo", pk) for p, pk in c]) for b, c in ranges]
            edition = 0
    rows = []
    for i, (brand, product, pack) in enumerate(picked, start=1):
        weight, volume = _pack_weight_volume(pack)
        places = rng.choice((2, 2, 2, 3, 4))
        price = Decimal(pack.unit_price * pack.units * rng.uniform(0.96, 1.05)).quantize(Decimal(1).scaleb(-places))
        rows.append(SkuRow(
            code=f"{spec.sku_prefix}-{10000 + i}", name=f"{brand.name} {product} {pack.label}", brand_code=brand.code,
            pack_size=f"{pack.label} x {pack.units}", units_per_case=pack.units, weight_kg_per_case=weight,
            volume_l_per_case=volume, tax_class=brand.tax_class, case_price=price,
        ))
    return rows


def demo_digest(*, seed: int = DEFAULT_SEED, outlets_per_distributor: int = 600, skus: int = 120) -> str:
    """A fingerprint of everything the seed generates, to show that a seed reproduces its data."""
    h = hashlib.sha256()
    for spec in TENANTS:
        for city in spec.cities:
            for row in outlet_rows(spec=spec, city=city, n=outlets_per_distributor, seed=seed):
                h.update(repr(row).encode())
        for sku in sku_rows(spec=spec, n=skus, seed=seed):
            h.update(repr(sku).encode())
    return h.hexdigest()
