"""Day close: the app says what it sent for a working day; the server compares with what it holds.

The app sends its counts per kind and the first and last `device_seq` it used that day. Every sequence number
in that range that never arrived is a gap (an item still in the outbox, or lost); counts that differ from what
the server holds are mismatches. The result is stored on the device's SyncHealth, which distributor staff see
in the admin, and returned to the app (which re-sends what is missing). What the app said is also kept per device
and day (DayClose), for the nightly reconciliation to recompute against what arrived later. Idempotent: a
repeated day close recomputes the same answer from the same data.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from django.db.models import Count
from django.utils import timezone
from rest_framework import serializers

from dms.core.errors import DomainError
from dms.tenancy.models import Device
from dms.tenancy.scope import Scope
from pjp.services.common import tenant_policy

from .models import DayClose, SyncHealth, SyncItem
from .push import sync_health_locked

KINDS = ("visit", "order")
ACCEPTED = ("applied", "duplicate")
MAX_SPAN = 100_000


class DayCloseSerializer(serializers.Serializer):
    date = serializers.DateField()
    first_device_seq = serializers.IntegerField(min_value=1)
    last_device_seq = serializers.IntegerField(min_value=1)
    counts = serializers.DictField(child=serializers.IntegerField(min_value=0))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["last_device_seq"] < attrs["first_device_seq"]:
            raise serializers.ValidationError({"last_device_seq": ["Is below first_device_seq."]})
        if attrs["last_device_seq"] - attrs["first_device_seq"] > MAX_SPAN:
            raise serializers.ValidationError({"last_device_seq": [f"A day spans at most {MAX_SPAN} items."]})
        unknown = set(attrs["counts"]) - set(KINDS)
        if unknown:
            raise serializers.ValidationError({"counts": [f"Unknown kinds: {', '.join(sorted(unknown))}."]})
        return attrs


def ranges(numbers: list[int]) -> list[list[int]]:
    """Sorted integers as inclusive [first, last] runs: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    out: list[list[int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def day_close(*, scope: Scope, device: Device, day: date, first_seq: int, last_seq: int,
              counts: dict[str, int]) -> dict[str, Any]:
    """Compare the app's account of `day` with the server's; store it on SyncHealth and as the device's DayClose
    of `day` (upserted), and return it. Takes the device's SyncHealth lock first, so two day closes of one device
    are serialised."""
    if day > tenant_policy(scope).today():
        raise DomainError("invalid", "A day that has not come cannot be closed.",
                          fields={"date": ["Is in the future."]})
    health = sync_health_locked(device)
    now = timezone.now()
    DayClose.objects.update_or_create(
        distributor_id=device.distributor_id, device=device, date=day,
        defaults={"first_device_seq": first_seq, "last_device_seq": last_seq, "device_counts": dict(counts),
                  "reported_at": now})
    received = set(SyncItem.objects.filter(device=device, device_seq__gte=first_seq, device_seq__lte=last_seq)
                   .values_list("device_seq", flat=True))
    missing = ranges([s for s in range(first_seq, last_seq + 1) if s not in received])
    held = Counter(dict(SyncItem.objects.filter(device=device, work_date=day, result__in=ACCEPTED)
                        .values_list("kind").annotate(n=Count("object_uuid", distinct=True))))
    rejected = SyncItem.objects.filter(device=device, work_date=day, result="rejected").count()
    mismatches = [{"kind": kind, "device": counts.get(kind, 0), "server": held.get(kind, 0)}
                  for kind in KINDS if counts.get(kind, 0) != held.get(kind, 0)]
    status = SyncHealth.Status.GAPS if missing or mismatches else SyncHealth.Status.OK
    result = {"date": day.isoformat(), "status": status, "missing_seqs": missing, "mismatches": mismatches,
              "server_counts": {kind: held.get(kind, 0) for kind in KINDS}, "device_counts": counts,
              "rejected": rejected, "first_device_seq": first_seq, "last_device_seq": last_seq}
    health.status = status
    health.last_day_close_at = now
    health.last_day_close = result
    health.missing_seqs = missing
    health.save()
    return result
