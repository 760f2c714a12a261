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
from datetime import date
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from django.core import signing
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.models import Device, Tenant
from dms.tenancy.scope import Scope

from .changes import retention_days
from .models import SyncChange, SyncClock, SyncHealth
from .pull_entities import (
    BY_NAME,
    CURSOR_SALT,
    DEFAULT_LIMIT,
    ENTITIES,
    ENTITY_NAMES,
    MAX_LIMIT,
    SCHEMA_VERSION,
    TENANT_KEY,
    TIMED,
    Entity,
    Viewer,
    reasons,
)


class PullError(StrEnum):
    INVALID = "invalid"
    CURSOR_EXPIRED = "cursor_expired"


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
