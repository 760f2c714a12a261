"""What the pull sends: the entities a booker's app keeps offline, who may see which row (Viewer), and how each
row is serialised. mobile.pull pages through them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from catalog.models import Brand, Outlet, PriceListItem, Scheme, SchemeBrand, SchemeSku, SchemeSlab, Sku, TaxRate
from orders.models import SecondaryOrder
from pjp.enums import UnproductiveReason
from pjp.models import DailyJourney, JourneyNotification, Visit

SCHEMA_VERSION = 1
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
WINDOW_DAYS = 7
ORDER_DAYS = 14
CURSOR_SALT = "mobile.pull.cursor"
TENANT_KEY = 0


@dataclass(frozen=True)
class Viewer:
    """Whose copy is being pulled: the device's tenant, distributor and booker, and the tenant-local day."""

    tenant_id: int
    distributor_id: int
    booker_id: int
    device_id: int
    today: date
    tz: ZoneInfo

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, dtime.min, tzinfo=self.tz)


# --- serialisation ------------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """JSON-ready: decimals as strings (never floats), dates and datetimes ISO 8601, UUIDs as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo("UTC")).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _values(qs: QuerySet[Any], fields: dict[str, str]) -> list[dict[str, Any]]:
    """`qs.values(...)` renamed (output name -> model path) and made JSON-ready: one query."""
    return [{out: _plain(row[path]) for out, path in fields.items()} for row in qs.values(*fields.values())]


def _for_distributor(viewer: Viewer, prefix: str = "") -> Q:
    return Q(**{f"{prefix}distributor__isnull": True}) | Q(**{f"{prefix}distributor_id": viewer.distributor_id})


def _live(viewer: Viewer, prefix: str = "") -> Q:
    """Valid today, or starting within WINDOW_DAYS."""
    return Q(**{f"{prefix}valid_from__lte": viewer.today + timedelta(days=WINDOW_DAYS)}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": viewer.today}))


def _crossed(old: date, new: date, prefix: str = "") -> Q:
    """Validity windows that entered or left the horizon between day `old` and day `new`."""
    return (Q(**{f"{prefix}valid_from__gt": old + timedelta(days=WINDOW_DAYS),
                 f"{prefix}valid_from__lte": new + timedelta(days=WINDOW_DAYS)})
            | Q(**{f"{prefix}valid_to__gte": old, f"{prefix}valid_to__lt": new}))


def _dates_crossed(old: date, new: date) -> Q:
    return (Q(date__gte=old, date__lt=new)
            | Q(date__gt=old + timedelta(days=WINDOW_DAYS), date__lte=new + timedelta(days=WINDOW_DAYS)))


@dataclass(frozen=True)
class Entity:
    """One kind of object the app keeps. `visible` is the device's set (a single source of truth for the full
    pull, the delta's re-reads and the tests); `rows` serialises a queryset of it in a fixed number of queries;
    `crossed(viewer, old, new)` narrows to the objects whose time window a change of day may have crossed."""

    name: str
    visible: Callable[[Viewer], QuerySet[Any]]
    rows: Callable[[QuerySet[Any]], list[dict[str, Any]]]
    crossed: Callable[[Viewer, date, date], QuerySet[Any]] | None = None


def _brands(v: Viewer) -> QuerySet[Any]:
    return Brand.objects.filter(tenant_id=v.tenant_id, active=True)


def _skus(v: Viewer) -> QuerySet[Any]:
    return Sku.objects.filter(tenant_id=v.tenant_id, active=True)


def _tax_rates(v: Viewer) -> QuerySet[Any]:
    return TaxRate.objects.filter(tenant_id=v.tenant_id)


def _price_base(v: Viewer) -> QuerySet[Any]:
    return PriceListItem.objects.filter(_for_distributor(v, "price_list__"), tenant_id=v.tenant_id,
                                        price_list__active=True)


def _prices(v: Viewer) -> QuerySet[Any]:
    return _price_base(v).filter(_live(v, "price_list__"))


def _scheme_base(v: Viewer) -> QuerySet[Any]:
    return Scheme.objects.filter(_for_distributor(v), tenant_id=v.tenant_id, active=True)


def _schemes(v: Viewer) -> QuerySet[Any]:
    return _scheme_base(v).filter(_live(v))


def _outlets(v: Viewer) -> QuerySet[Any]:
    return Outlet.objects.filter(tenant_id=v.tenant_id, distributor_id=v.distributor_id, active=True)


def _journey_base(v: Viewer) -> QuerySet[Any]:
    return DailyJourney.objects.filter(tenant_id=v.tenant_id, distributor_id=v.distributor_id, booker_id=v.booker_id)


def _journeys(v: Viewer) -> QuerySet[Any]:
    return _journey_base(v).filter(date__gte=v.today, date__lte=v.today + timedelta(days=WINDOW_DAYS))


def _notification_base(v: Viewer) -> QuerySet[Any]:
    return JourneyNotification.objects.filter(tenant_id=v.tenant_id, distributor_id=v.distributor_id,
                                              booker_id=v.booker_id)


def _notifications(v: Viewer) -> QuerySet[Any]:
    return _notification_base(v).filter(date__gte=v.today, date__lte=v.today + timedelta(days=WINDOW_DAYS))


def _order_base(v: Viewer) -> QuerySet[Any]:
    return SecondaryOrder.objects.filter(tenant_id=v.tenant_id, distributor_id=v.distributor_id,
                                         booker_id=v.booker_id)


def _orders(v: Viewer) -> QuerySet[Any]:
    return _order_base(v).filter(booked_at__gte=v.day_start(v.today - timedelta(days=ORDER_DAYS - 1)))


def _scheme_rows(qs: QuerySet[Any]) -> list[dict[str, Any]]:
    rows = _values(qs, {f: f for f in ("id", "code", "name", "kind", "basis", "distributor_id", "channels",
                                       "valid_from", "valid_to", "priority")})
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r.update(slabs=[], sku_ids=[], brand_ids=[])
    if by_id:
        for slab in _values(SchemeSlab.objects.filter(scheme_id__in=by_id).order_by("scheme_id", "threshold", "id"),
                            {"scheme_id": "scheme_id", "threshold": "threshold", "benefit": "benefit",
                             "free_sku_id": "free_sku_id"}):
            by_id[slab.pop("scheme_id")]["slabs"].append(slab)
        for scheme_id, sku_id in SchemeSku.objects.filter(scheme_id__in=by_id).order_by("sku_id").values_list(
                "scheme_id", "sku_id"):
            by_id[scheme_id]["sku_ids"].append(sku_id)
        for scheme_id, brand_id in SchemeBrand.objects.filter(scheme_id__in=by_id).order_by("brand_id").values_list(
                "scheme_id", "brand_id"):
            by_id[scheme_id]["brand_ids"].append(brand_id)
    return rows


def _journey_rows(qs: QuerySet[Any]) -> list[dict[str, Any]]:
    rows = _values(qs, {f: f for f in ("id", "date", "route_id", "planned_start", "planned_end",
                                       "planned_distance_m")})
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        r["visits"] = []
    if by_id:
        for visit in _values(Visit.objects.filter(journey_id__in=by_id).order_by("journey_id", "sequence", "id"),
                             {f: f for f in ("journey_id", "id", "sequence", "outlet_id", "eta", "etd", "status",
                                             "planned")}):
            by_id[visit.pop("journey_id")]["visits"].append(visit)
    return rows


ENTITIES: tuple[Entity, ...] = (
    Entity("brand", _brands, lambda qs: _values(qs, {f: f for f in ("id", "code", "name")})),
    Entity("sku", _skus, lambda qs: _values(qs, {f: f for f in (
        "id", "code", "name", "brand_id", "pack_size", "units_per_case", "weight_kg_per_case", "volume_l_per_case",
        "tax_class")})),
    Entity("tax_rate", _tax_rates, lambda qs: _values(qs, {f: f for f in (
        "id", "tax_class", "name", "rate", "valid_from", "valid_to")})),
    Entity("price", _prices, lambda qs: _values(qs, {
        "id": "id", "price_list_id": "price_list_id", "price_list_code": "price_list__code", "sku_id": "sku_id",
        "case_price": "case_price", "distributor_id": "price_list__distributor_id", "channel": "price_list__channel",
        "valid_from": "price_list__valid_from", "valid_to": "price_list__valid_to"}),
        crossed=lambda v, old, new: _price_base(v).filter(_crossed(old, new, "price_list__"))),
    Entity("scheme", _schemes, _scheme_rows, crossed=lambda v, old, new: _scheme_base(v).filter(_crossed(old, new))),
    Entity("outlet", _outlets, lambda qs: _values(qs, {f: f for f in (
        "id", "code", "name", "channel", "address", "lat", "lng", "opening_hours", "credit_limit", "tax_id")})),
    Entity("journey", _journeys, _journey_rows,
           crossed=lambda v, old, new: _journey_base(v).filter(_dates_crossed(old, new))),
    Entity("notification", _notifications,
           lambda qs: _values(qs, {f: f for f in ("id", "date", "journey_id", "message")}),
           crossed=lambda v, old, new: _notification_base(v).filter(_dates_crossed(old, new))),
    Entity("order", _orders, lambda qs: _values(qs, {f: f for f in (
        "id", "uuid", "outlet_id", "booked_at", "status", "total", "hold", "price_flag")}),
        crossed=lambda v, old, new: _order_base(v).filter(
            booked_at__gte=v.day_start(old - timedelta(days=ORDER_DAYS - 1)),
            booked_at__lt=v.day_start(new - timedelta(days=ORDER_DAYS - 1)))),
)
BY_NAME = {e.name: e for e in ENTITIES}
TIMED = tuple(e for e in ENTITIES if e.crossed is not None)
ENTITY_NAMES = ("reason", *BY_NAME)


def reasons() -> list[dict[str, str]]:
    return [{"id": str(value), "label": str(label)} for value, label in UnproductiveReason.choices]


def snapshot(viewer: Viewer) -> dict[str, dict[int | str, dict[str, Any]]]:
    """Everything the device may see now, by entity and id: what a converged copy equals (tests, support)."""
    out: dict[str, dict[int | str, dict[str, Any]]] = {"reason": {r["id"]: r for r in reasons()}}
    for e in ENTITIES:
        out[e.name] = {r["id"]: r for r in e.rows(e.visible(viewer).order_by("pk"))}
    return out
