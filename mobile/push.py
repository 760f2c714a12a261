"""Push: the order-booker app uploads its outbox (visits and secondary orders) in one request, exactly once.

Protocol (README "Mobile sync"):
- `POST /api/v1/mobile/sync/push/` with `Idempotency-Key: <uuid of the batch>` (required) and
  `{"items": [{"kind": "visit" | "order", "uuid", "device_seq", "client_ts"?, "payload": {...}}, ...]}`.
- The whole request runs in one transaction with the push record, so a stored response always describes
  committed work, and a push cut off half-way left nothing (the app sends it again under the same key).
- Each item is applied on its own (a savepoint), in `device_seq` order, and gets its own result:
  `applied`, `duplicate` (already held: the server's copy is returned), `rejected` (with the field errors;
  permanent, the app shows it to the booker) or `conflict` (the server moved on; its copy wins).
- Same key, same body: the stored response is replayed (`Idempotent-Replayed: true`). Same key, another
  body: 422. Same key while the first request is still running: 409 (an advisory lock on the key).
- Items are identified by their `uuid`, never by the key: re-sending them under a new key never duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from rest_framework import serializers

from dms.core.api import flatten_errors
from dms.core.bulk import insert_rows
from dms.core.errors import DomainError
from dms.core.memo import memo_scope
from dms.tenancy.models import Device
from dms.tenancy.scope import Scope
from orders.services import BookedLine, Booking, order_book, order_book_preload
from pjp.enums import UnproductiveReason
from pjp.models import Visit
from pjp.services.common import tenant_policy
from pjp.services.visits import VisitReport, visit_mark_productive, visit_report

from .models import PushBatch, SyncHealth, SyncItem

MAX_ITEMS = 200
MAX_KEY_LENGTH = 255


class PushItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["visit", "order"])
    uuid = serializers.UUIDField()
    device_seq = serializers.IntegerField(min_value=1)
    client_ts = serializers.DateTimeField(required=False)
    payload = serializers.DictField()


class PushSerializer(serializers.Serializer):
    items = PushItemSerializer(many=True, allow_empty=False, max_length=MAX_ITEMS)  # type: ignore[call-arg]

    def validate_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        errors: dict[int, dict[str, list[str]]] = {}
        seen_seq: set[int] = set()
        seen_uuid: set[Any] = set()
        for i, item in enumerate(items):
            if item["device_seq"] in seen_seq:
                errors.setdefault(i, {})["device_seq"] = ["Used by an earlier item of this batch."]
            if item["uuid"] in seen_uuid:
                errors.setdefault(i, {})["uuid"] = ["Used by an earlier item of this batch."]
            seen_seq.add(item["device_seq"])
            seen_uuid.add(item["uuid"])
        if errors:
            raise serializers.ValidationError(errors)  # type: ignore[arg-type]  # DRF takes {index: errors}
        return items


class VisitDataSerializer(serializers.Serializer):
    visit_id = serializers.IntegerField(required=False, allow_null=True)
    outlet_id = serializers.IntegerField()
    date = serializers.DateField()
    checked_in_at = serializers.DateTimeField()
    checked_out_at = serializers.DateTimeField(required=False, allow_null=True)
    lat = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                   min_value=-90, max_value=90)
    lng = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                   min_value=-180, max_value=180)
    accuracy_m = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    outcome = serializers.ChoiceField(choices=["", "productive", "unproductive"], required=False, default="")
    reason = serializers.ChoiceField(choices=["", *UnproductiveReason.values], required=False, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class OrderLineDataSerializer(serializers.Serializer):
    sku_id = serializers.IntegerField()
    cases = serializers.IntegerField(min_value=0, max_value=100_000)
    units = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0)
    case_price = serializers.DecimalField(max_digits=18, decimal_places=4, required=False, allow_null=True,
                                          min_value=0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["cases"] and not attrs.get("units"):
            raise serializers.ValidationError({"cases": ["A line needs cases or units."]})
        return attrs


class OrderDataSerializer(serializers.Serializer):
    outlet_id = serializers.IntegerField()
    visit_uuid = serializers.UUIDField(required=False, allow_null=True)
    booked_at = serializers.DateTimeField()
    delivery_date = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    total = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True, min_value=0)
    lines = OrderLineDataSerializer(many=True, allow_empty=False, max_length=200)  # type: ignore[call-arg]


@dataclass
class ItemResult:
    uuid: str
    device_seq: int
    kind: str
    status: str
    message: str = ""
    errors: dict[str, list[str]] | None = None
    server: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uuid": self.uuid, "device_seq": self.device_seq, "kind": self.kind,
                               "status": self.status}
        if self.message:
            out["message"] = self.message
        if self.errors:
            out["errors"] = self.errors
        if self.server is not None:
            out["server"] = self.server
        return out


@dataclass(frozen=True)
class PushOutcome:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no whitespace): equal bodies, equal prints."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _try_key_lock(device: Device, key: str) -> bool:
    """Hold a transaction-level advisory lock on (device, key); False when another request holds it.
    (SQLite, the single-process demo, has no concurrent requests: always True.)"""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"mobile-push:{device.tenant_id}:{device.pk}:{key}"])
        return bool(cursor.fetchone()[0])


def _visit_server(visit: Visit) -> dict[str, Any]:
    return {"visit_id": visit.pk, "status": visit.status, "planned": visit.planned, "distance_m": visit.distance_m}


def _apply_visit(scope: Scope, device: Device, item: dict[str, Any], data: dict[str, Any]) -> ItemResult:
    report = VisitReport(uuid=item["uuid"], outlet_id=data["outlet_id"], date=data["date"],
                         checked_in_at=data["checked_in_at"], visit_id=data.get("visit_id"),
                         checked_out_at=data.get("checked_out_at"), lat=data.get("lat"), lng=data.get("lng"),
                         accuracy_m=data.get("accuracy_m"), outcome=data["outcome"], reason=data["reason"],
                         note=data["note"])
    result = visit_report(scope=scope, booker_id=device.user_id, report=report)
    return ItemResult(str(item["uuid"]), item["device_seq"], "visit", result.outcome, result.message,
                      server=_visit_server(result.visit))


def _apply_order(scope: Scope, device: Device, item: dict[str, Any], data: dict[str, Any]) -> ItemResult:
    visit = None
    if data.get("visit_uuid"):
        visit = Visit.objects.select_related("journey").filter(uuid=data["visit_uuid"],
                                                               journey__booker_id=device.user_id).first()
        if visit is None:
            raise DomainError("invalid", "The visit this order was booked on is unknown.",
                              fields={"visit_uuid": ["No visit of yours with this uuid: push the visit first."]})
    booking = Booking(
        uuid=item["uuid"], outlet_id=data["outlet_id"], booked_at=min(data["booked_at"], timezone.now()),
        lines=tuple(BookedLine(sku_id=line["sku_id"], cases=line["cases"], units=line.get("units", 0),
                               device_case_price=line.get("case_price")) for line in data["lines"]),
        booker_id=device.user_id, device_id=device.pk, visit_id=visit.pk if visit else None,
        device_total=data.get("total"), note=data["note"], delivery_date=data.get("delivery_date"))
    result = order_book(scope=scope, booking=booking)
    order = result.order
    if visit is not None and result.outcome == "applied":
        visit_mark_productive(scope=scope, visit=visit)
    server = {"order_id": order.pk, "status": order.status, "total": str(order.total),
              "price_flag": order.price_flag, "hold": order.hold}
    return ItemResult(str(item["uuid"]), item["device_seq"], "order", result.outcome, result.message,
                      server=server)


APPLY: dict[str, tuple[type[serializers.Serializer], Callable[..., ItemResult]]] = {
    "visit": (VisitDataSerializer, _apply_visit),
    "order": (OrderDataSerializer, _apply_order),
}


def _apply_item(scope: Scope, device: Device, item: dict[str, Any], seen: dict[int, Any]) -> ItemResult:
    """One item in its own savepoint (the domain services' own): a rejected or conflicting item leaves nothing
    behind."""
    uuid, seq, kind = str(item["uuid"]), item["device_seq"], item["kind"]
    if seq in seen and str(seen[seq]) != uuid:
        return ItemResult(uuid, seq, kind, "rejected", "device_seq was already used by another item.",
                          errors={"device_seq": [f"Already used by item {seen[seq]}."]})
    serializer_class, apply = APPLY[kind]
    serializer = serializer_class(data=item["payload"])
    if not serializer.is_valid():
        errors = {f"payload.{k}": v for k, v in flatten_errors(serializer.errors).items()}
        return ItemResult(uuid, seq, kind, "rejected", "Invalid item.", errors=errors)
    try:  # order_book and visit_report are atomic (a savepoint here): a refused item leaves nothing behind
        return apply(scope, device, item, serializer.validated_data)
    except DomainError as exc:
        if exc.status_code == 409:
            return ItemResult(uuid, seq, kind, "conflict", exc.message, errors=exc.fields or None)
        fields = {f"payload.{k}": v if isinstance(v, list) else [str(v)] for k, v in exc.fields.items()}
        return ItemResult(uuid, seq, kind, "rejected", exc.message, errors=fields or None)


def sync_health_locked(device: Device) -> SyncHealth:
    """The device's sync-health row, created on first use, locked for this transaction."""
    health = SyncHealth.objects.select_for_update().filter(device=device).first()
    if health is None:
        SyncHealth.objects.get_or_create(distributor_id=device.distributor_id, device=device)
        health = SyncHealth.objects.select_for_update().get(device=device)
    return health


def _preload(scope: Scope, items: list[dict[str, Any]]) -> None:
    """Warm the memo with what the batch's orders will read (a guess from the raw payloads: a malformed one is
    skipped here and rejected when its item is applied)."""
    bookings = []
    for item in items:
        payload = item["payload"]
        if item["kind"] != "order" or not isinstance(payload, dict):
            continue
        try:
            booked_at = parse_datetime(str(payload["booked_at"])) or timezone.now()
            lines = tuple(BookedLine(sku_id=int(line["sku_id"]), cases=1) for line in payload["lines"])
            bookings.append(Booking(uuid=item["uuid"], outlet_id=int(payload["outlet_id"]), booked_at=booked_at,
                                    lines=lines))
        except (KeyError, TypeError, ValueError):
            continue
    if bookings:
        order_book_preload(scope=scope, bookings=bookings)


def push_apply(*, scope: Scope, device: Device, key: str, body: Any) -> PushOutcome:
    """Apply a push (see the module docstring); runs inside the request's transaction."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError("idempotency_key_required", "Send an Idempotency-Key header (1-255 characters) with "
                          "every push.", fields={"Idempotency-Key": ["Required, at most 255 characters."]})
    print_ = fingerprint(body)
    if not _try_key_lock(device, key):
        raise DomainError("push_in_progress", "A push with this Idempotency-Key is still being processed; "
                          "retry in a moment.", status_code=409)
    stored = PushBatch.objects.filter(device=device, key=key).first()
    if stored is not None:
        if stored.fingerprint != print_:
            raise DomainError("idempotency_key_reused", "This Idempotency-Key was used with a different body.",
                              fields={"Idempotency-Key": ["Reused with a different body."]}, status_code=422)
        return PushOutcome(stored.status_code, stored.response, replayed=True)
    serializer = PushSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    items = sorted(serializer.validated_data["items"], key=lambda i: i["device_seq"])
    seen = dict(SyncItem.objects.filter(device=device, device_seq__in=[i["device_seq"] for i in items])
                .values_list("device_seq", "object_uuid"))
    with memo_scope():  # the batch's policy, outlets, SKUs, prices, schemes, taxes and checks: read once
        _preload(scope, items)
        results = [_apply_item(scope, device, item, seen) for item in items]
    policy = tenant_policy(scope)
    today = policy.today()
    insert_rows(SyncItem, [
        {"tenant_id": device.tenant_id, "distributor_id": device.distributor_id, "device_id": device.pk,
         "device_seq": r.device_seq, "kind": r.kind, "object_uuid": r.uuid, "result": r.status,
         "work_date": _work_date(item, today, policy.tz)}
        for r, item in zip(results, items, strict=True) if r.device_seq not in seen
    ], ignore_conflicts=True)
    health = sync_health_locked(device)
    health.last_push_at = timezone.now()
    health.high_water_seq = max(health.high_water_seq, items[-1]["device_seq"])
    health.rejected_items += sum(1 for r in results if r.status == "rejected")
    health.failures, health.last_failure = 0, ""
    if health.status in (SyncHealth.Status.NEVER, SyncHealth.Status.FAILING):
        health.status = SyncHealth.Status.OK
    health.save()
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    response = {"results": [r.as_json() for r in results], "counts": counts, "high_water_seq": health.high_water_seq}
    PushBatch.objects.create(distributor_id=device.distributor_id, device=device, key=key, fingerprint=print_,
                             status_code=200, response=response, items=len(results))
    _after_push(device, {_work_date(item, today, policy.tz) for r, item in zip(results, items, strict=True)
                         if r.status == "applied"})
    return PushOutcome(200, response)


def _after_push(device: Device, work_dates: set[Any]) -> None:
    """The settings.MOBILE_AFTER_PUSH hooks (dotted paths; e.g. the analytics facts refresh of the synced dates),
    once per working day of the applied items. Each hook defers its own work to the commit."""
    for path in getattr(settings, "MOBILE_AFTER_PUSH", ()):
        hook = import_string(path)
        for day in sorted(work_dates):
            hook(tenant_id=device.tenant_id, distributor_id=device.distributor_id, business_date=day)


def _work_date(item: dict[str, Any], today: Any, tz: Any) -> Any:
    """The working day an item belongs to: the visit's date, else the order's booking time as a date in the
    tenant's zone (the app sends UTC: an order booked at 00:30 in Karachi is 19:30 the day before in UTC), else
    today."""
    data = item["payload"]
    if data.get("date"):
        try:
            return datetime.strptime(str(data["date"])[:10], "%Y-%m-%d").date()
        except ValueError:
            return today
    booked = parse_datetime(str(data.get("booked_at") or ""))
    if booked is None:
        return today
    return booked.astimezone(tz).date() if booked.tzinfo is not None else booked.date()


def push_failed(*, device: Device, message: str) -> None:
    """Record a push that failed as a whole (4xx/5xx) on the device's sync health; own transaction."""
    with transaction.atomic():
        health = sync_health_locked(device)
        health.failures += 1
        health.last_failure = message[:300]
        health.status = SyncHealth.Status.FAILING
        health.save(update_fields=["failures", "last_failure", "status", "updated_at"])
