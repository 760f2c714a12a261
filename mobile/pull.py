"""Pull: everything the order-booker's app needs offline, as pages of changes since a cursor.

Protocol (`GET /api/v1/mobile/sync/pull/?cursor=<opaque>&limit=500`):

- No cursor: a full pull. Every object the device may see, entity by entity in id order (`full: true`, the
  reasons list in the first page); the app starts from an empty copy. The clocks read at its start are the
  positions the delta continues from once the full pull ends, so objects changed meanwhile come again (upserts
  are idempotent).
- With a cursor: a delta. The tenant clock's changes, then the device's distributor clock's, each in (seq, id)
  order from the cursor's position up to the clock value read at the start of the page. A page ends on a whole
  seq (one writer's transaction) unless that one transaction alone is larger than a page. Each changed object is
  re-read through the device's visibility: visible -> `upserted` (its current state), missing or not visible ->
  `deleted` (hard deletes and lost access alike).
- Time moves visibility too (journeys and notifications of today .. today + 7, prices and schemes valid today or
  starting within 7 days, orders of the last 14 days). The cursor carries the tenant-local day the copy was
  evaluated for; the first delta page of a new day re-evaluates the objects whose window it crossed.
- `next_cursor` is always returned; `has_more` says to ask again at once. A cursor is signed (django.core.signing)
  and bound to its tenant and device: tampered or foreign -> 400 (field "cursor"); behind the pruned change log,
  from another schema version, or older than the retention -> 410 `cursor_expired` (the app does a full pull).

Reads only, in the request's READ COMMITTED transaction: every seq up to a clock value read now is committed
(mobile.changes), so a page never skips a slow writer. Queries per page do not grow with its rows: one for
each entity present (schemes and journeys add their children), plus the clocks, the feeds and sync health.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core import signing
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from catalog.models import Brand, Outlet, PriceListItem, Scheme, SchemeBrand, SchemeSku, SchemeSlab, Sku, TaxRate
from dms.core.errors import DomainError
from dms.tenancy.models import Device, Tenant
from dms.tenancy.scope import Scope
from orders.models import SecondaryOrder
from pjp.enums import UnproductiveReason
from pjp.models import DailyJourney, JourneyNotification, Visit

from .changes import retention_days
from .models import SyncChange, SyncClock, SyncHealth

SCHEMA_VERSION = 1
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
WINDOW_DAYS = 7
ORDER_DAYS = 14
CURSOR_SALT = "mobile.pull.cursor"
TENANT_KEY = 0


class PullError(StrEnum):
    INVALID = "invalid"
    CURSOR_EXPIRED = "cursor_expired"


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


# --- cursor -------------------------------------------------------------------------------------------------------

Position = tuple[int, int]  # (seq, change id): everything before it delivered; id 0 = the whole seq


@dataclass
class Cursor:
    """Where a device is. `full`: scanning (`scan` = entity index, last id), then the delta starts at `tenant`
    and `distributor`. Delta: feeds delivered up to those positions; `shift_to` a day change being applied by
    scanning the TIMED entities; `day` the tenant-local day the copy was evaluated for."""

    full: bool
    day: date
    tenant: Position
    distributor: Position
    scan: tuple[int, int] | None = None
    shift_to: date | None = None

    def encode(self, viewer: Viewer) -> str:
        payload = {"v": SCHEMA_VERSION, "t": viewer.tenant_id, "dev": viewer.device_id, "d": viewer.distributor_id,
                   "b": viewer.booker_id, "at": int(time.time()),
                   "m": "f" if self.full else "d", "day": self.day.isoformat(), "tp": list(self.tenant),
                   "dp": list(self.distributor), "sc": list(self.scan) if self.scan else None,
                   "to": self.shift_to.isoformat() if self.shift_to else None}
        return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


def _invalid(message: str) -> DomainError:
    return DomainError(PullError.INVALID, message, fields={"cursor": [message]})


def _expired(message: str) -> DomainError:
    return DomainError(PullError.CURSOR_EXPIRED, f"{message} Pull everything again (no cursor).", status_code=410)


def _pair(value: Any) -> tuple[int, int]:
    a, b = value
    return int(a), int(b)


def decode_cursor(raw: str, viewer: Viewer) -> Cursor:
    """The cursor a device sent back. 400 when it is not ours (forged, altered, another device or tenant); 410 when
    it can no longer be served (another schema version, the device given to another booker or distributor, older
    than the change retention)."""
    try:
        payload = signing.loads(raw, salt=CURSOR_SALT)
    except signing.BadSignature as exc:
        raise _invalid("Invalid cursor.") from exc
    if not isinstance(payload, dict) or payload.get("t") != viewer.tenant_id or payload.get("dev") != viewer.device_id:
        raise _invalid("This cursor belongs to another device.")
    if payload.get("v") != SCHEMA_VERSION:
        raise _expired("The sync format changed.")
    if payload.get("d") != viewer.distributor_id or payload.get("b") != viewer.booker_id:
        raise _expired("The device was moved to another distributor or booker.")
    try:
        issued = int(payload["at"])
        cursor = Cursor(full=payload["m"] == "f", day=date.fromisoformat(payload["day"]),
                        tenant=_pair(payload["tp"]), distributor=_pair(payload["dp"]),
                        scan=_pair(payload["sc"]) if payload["sc"] else None,
                        shift_to=date.fromisoformat(payload["to"]) if payload["to"] else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid("Invalid cursor.") from exc
    if time.time() - issued > retention_days() * 86400:
        raise _expired("The cursor is older than the change log.")
    return cursor


# --- the page -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clock:
    last_seq: int = 0
    pruned_below: int = 0

    def serves(self, pos: Position) -> bool:
        """The changes after `pos` are all still in the log (and `pos` is one this clock issued)."""
        seq, cid = pos
        if seq > self.last_seq:
            return False
        return seq > self.pruned_below if cid else seq >= self.pruned_below


@dataclass
class Page:
    """What one response carries: rows already read (full scan) and ids still to re-read (delta)."""

    room: int
    upserted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, list[int]] = field(default_factory=dict)
    reread: dict[str, set[int]] = field(default_factory=dict)

    def take(self, n: int) -> None:
        self.room -= n

    def as_changes(self) -> dict[str, dict[str, list[Any]]]:
        return {name: {"upserted": self.upserted.get(name, []), "deleted": sorted(self.deleted.get(name, []))}
                for name in ENTITY_NAMES}


@dataclass(frozen=True)
class PullResult:
    changes: dict[str, dict[str, list[Any]]]
    next_cursor: str
    has_more: bool
    full: bool

    def as_json(self) -> dict[str, Any]:
        return {"changes": self.changes, "next_cursor": self.next_cursor, "has_more": self.has_more,
                "full": self.full}


def viewer_for(*, scope: Scope, device: Device) -> Viewer:
    tz = ZoneInfo(Tenant.objects.values_list("time_zone", flat=True).get(pk=scope.tenant_id))
    return Viewer(tenant_id=scope.tenant_id, distributor_id=device.distributor_id, booker_id=device.user_id,
                  device_id=device.pk, today=timezone.now().astimezone(tz).date(), tz=tz)


def _clocks(viewer: Viewer) -> tuple[Clock, Clock]:
    found = {key: Clock(last, pruned) for key, last, pruned in SyncClock.objects.filter(
        tenant_id=viewer.tenant_id, distributor_key__in=[TENANT_KEY, viewer.distributor_id]
    ).values_list("distributor_key", "last_seq", "pruned_below")}
    return found.get(TENANT_KEY, Clock()), found.get(viewer.distributor_id, Clock())


def _scan(page: Page, entities: Iterable[Entity], position: tuple[int, int],
          source: Callable[[Entity], QuerySet[Any]], *, read: bool) -> tuple[int, int] | None:
    """Walk `entities` (from `position`: index, last id) in id order while the page has room. `read`: serialise
    the rows now (full pull: `source` is the visible set); else collect the ids for the re-read. Returns where to
    resume, None when done."""
    entities = list(entities)
    index, after = position
    while index < len(entities):
        if page.room <= 0:
            return index, after
        entity = entities[index]
        qs = source(entity).filter(pk__gt=after).order_by("pk")
        if read:
            rows = entity.rows(qs[: page.room + 1])
            more, rows = len(rows) > page.room, rows[: page.room]
            page.upserted.setdefault(entity.name, []).extend(rows)
            ids = [r["id"] for r in rows]
        else:
            ids = list(qs.values_list("pk", flat=True)[: page.room + 1])
            more, ids = len(ids) > page.room, ids[: page.room]
            page.reread.setdefault(entity.name, set()).update(ids)
        page.take(len(ids))
        if more:
            return index, ids[-1]
        index, after = index + 1, 0
    return None


def _feed(page: Page, viewer: Viewer, key: int, pos: Position, upper: int) -> tuple[Position, bool]:
    """Collect the changes of clock `key` after `pos` up to `upper` (at most the page's room, ending on a whole
    seq unless one seq alone fills the page). Returns the new position and whether changes remain."""
    if pos[0] >= upper and not pos[1]:
        return pos, False
    if page.room <= 0:
        return pos, True
    feed = SyncChange.objects.filter(tenant_id=viewer.tenant_id, distributor_key=key, seq__lte=upper).order_by(
        "seq", "id")
    want = page.room + 1
    rows: list[tuple[int, int, str, int]] = []
    seq, cid = pos
    if cid:  # resuming inside one large transaction
        rows = list(feed.filter(seq=seq, id__gt=cid).values_list("id", "seq", "entity", "object_id")[:want])
    if len(rows) < want:
        rows += list(feed.filter(seq__gt=seq).values_list("id", "seq", "entity", "object_id")[: want - len(rows)])
    if len(rows) < want:
        taken, new_pos, more = rows, (upper, 0), False
    else:
        taken, following = rows[: page.room], rows[page.room]
        last = taken[-1]
        whole = [r for r in taken if r[1] != last[1]]
        if following[1] != last[1]:
            new_pos = (last[1], 0)
        elif whole:
            taken, new_pos = whole, (whole[-1][1], 0)
        else:
            new_pos = (last[1], last[0])
        more = True
    for _id, _seq, entity, object_id in taken:
        page.reread.setdefault(entity, set()).add(object_id)
    page.take(len(taken))
    return new_pos, more


def _reread(page: Page, viewer: Viewer) -> None:
    """Each collected object's current state through the visibility rule: one query per entity."""
    for name, ids in page.reread.items():
        entity = BY_NAME.get(name)
        if entity is None or not ids:
            continue
        rows = entity.rows(entity.visible(viewer).filter(pk__in=ids).order_by("pk"))
        page.upserted.setdefault(name, []).extend(rows)
        page.deleted.setdefault(name, []).extend(ids - {r["id"] for r in rows})


def _record_pull(device: Device) -> None:
    """Stamp the device's sync health. A plain UPDATE (no read lock): a push holding the row only delays it."""
    now = timezone.now()
    updated = SyncHealth.objects.filter(device=device).update(
        last_pull_at=now, updated_at=now,
        status=Case(When(status=SyncHealth.Status.NEVER, then=Value(SyncHealth.Status.OK)), default=F("status")))
    if not updated:
        health, created = SyncHealth.objects.get_or_create(
            distributor_id=device.distributor_id, device=device,
            defaults={"last_pull_at": now, "status": SyncHealth.Status.OK})
        if not created:
            SyncHealth.objects.filter(pk=health.pk).update(last_pull_at=now, updated_at=now)


def pull_page(*, scope: Scope, device: Device, cursor: str | None, limit: int = DEFAULT_LIMIT) -> PullResult:
    """One page of the device's pull (module docstring). Reads only, apart from the device's sync health; raises
    DomainError 400 (cursor not ours) or 410 `cursor_expired` (pull everything again)."""
    viewer = viewer_for(scope=scope, device=device)
    tenant_clock, dist_clock = _clocks(viewer)
    if cursor:
        state = decode_cursor(cursor, viewer)
    else:
        state = Cursor(full=True, day=viewer.today, tenant=(tenant_clock.last_seq, 0),
                       distributor=(dist_clock.last_seq, 0), scan=(0, 0))
    if not (tenant_clock.serves(state.tenant) and dist_clock.serves(state.distributor)):
        raise _expired("The changes since this cursor are no longer kept.")

    page = Page(room=max(1, min(limit, MAX_LIMIT)))
    was_full = state.full
    if state.full:
        if state.scan == (0, 0):
            page.upserted["reason"] = reasons()
        state.scan = _scan(page, ENTITIES, state.scan or (0, 0), lambda e: e.visible(viewer), read=True)
        if state.scan is None:
            state.full = False
            has_more = (state.tenant[0] < tenant_clock.last_seq or state.distributor[0] < dist_clock.last_seq
                        or state.day < viewer.today)
        else:
            has_more = True
    else:
        if state.shift_to is None and state.day < viewer.today:
            state.shift_to, state.scan = viewer.today, (0, 0)
        if state.shift_to is not None:
            old, new = state.day, state.shift_to
            state.scan = _scan(page, TIMED, state.scan or (0, 0),
                               lambda e: e.crossed(viewer, old, new) if e.crossed else e.visible(viewer), read=False)
            if state.scan is None:
                state.day, state.shift_to = new, None
        if state.shift_to is None:
            state.tenant, tenant_more = _feed(page, viewer, TENANT_KEY, state.tenant, tenant_clock.last_seq)
            state.distributor, dist_more = _feed(page, viewer, viewer.distributor_id, state.distributor,
                                                 dist_clock.last_seq)
            has_more = tenant_more or dist_more or state.day < viewer.today
        else:
            has_more = True
        _reread(page, viewer)
    _record_pull(device)
    return PullResult(changes=page.as_changes(), next_cursor=state.encode(viewer), has_more=has_more,
                      full=was_full)
