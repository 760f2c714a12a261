"""Sync endpoints of the order-booker app: push (outbox upload, exactly once) and day close."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import DeviceApi
from dms.tenancy.context import tenant_scope
from dms.tenancy.models import Device

from .dayclose import DayCloseSerializer, day_close
from .push import PushSerializer, push_apply, push_failed

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
    description="A fresh UUID per batch; re-send the same batch with the same key after a timeout or 5xx.")
ITEM_RESULT = inline_serializer("PushItemResult", {
    "uuid": serializers.UUIDField(), "device_seq": serializers.IntegerField(),
    "kind": serializers.CharField(),
    "status": serializers.ChoiceField(choices=["applied", "duplicate", "rejected", "conflict"]),
    "message": serializers.CharField(required=False),
    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    "server": serializers.DictField(required=False)})
PUSH_RESPONSE = inline_serializer("PushResponse", {
    "results": ITEM_RESULT, "counts": serializers.DictField(child=serializers.IntegerField()),
    "high_water_seq": serializers.IntegerField()})
# Whole-push failures worth showing on the device's sync health (not 409: the first try is still running).
FAILURE_CODES = {400, 413, 422}


class PushApi(DeviceApi):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY], request=PushSerializer, responses={200: PUSH_RESPONSE},
        description=(
            "Upload the app's outbox: visits (check-in/out with GPS, outcome, unproductive reason) and secondary "
            "orders (client-generated uuid, lines in cases and units, the prices the app showed). Each item is "
            "applied on its own and gets its own result: applied, duplicate, rejected (with field errors) or "
            "conflict. The same Idempotency-Key with the same body replays the stored response "
            "(Idempotent-Replayed: true); with another body: 422; while the first is running: 409. Items are "
            "identified by uuid, so re-sending them under a new key never duplicates them."))
    def post(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]  # DeviceApi authenticates devices only
        outcome = push_apply(scope=self.scope, device=device, key=request.headers.get("Idempotency-Key", "").strip(),
                             body=request.data)
        response = Response(outcome.body, status=outcome.status_code)
        if outcome.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        device = request.auth if isinstance(request.auth, Device) else None
        if device is not None and response.status_code in FAILURE_CODES:
            error = (getattr(response, "data", None) or {}).get("error", {})
            with tenant_scope(self.scope):  # the request's transaction was rolled back: record it apart
                push_failed(device=device, message=f"{response.status_code}: {error.get('message', '')}")
        return response


class DayCloseApi(DeviceApi):
    @extend_schema(
        request=DayCloseSerializer,
        responses={200: inline_serializer("DayCloseResult", {
            "date": serializers.DateField(), "status": serializers.ChoiceField(choices=["ok", "gaps"]),
            "missing_seqs": serializers.ListField(child=serializers.ListField(child=serializers.IntegerField())),
            "mismatches": serializers.ListField(child=serializers.DictField()),
            "server_counts": serializers.DictField(), "device_counts": serializers.DictField(),
            "rejected": serializers.IntegerField()})},
        description=(
            "Close the booker's working day: the app's counts per kind (visit, order) and the first and last "
            "device_seq it used that day. The answer lists sequence numbers the server never received (as "
            "[first, last] ranges) and counts that differ; the app re-sends what is missing. Recorded on the "
            "device's sync health for distributor staff. Idempotent."))
    def post(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]
        data = self.validated(DayCloseSerializer, request.data)
        return Response(day_close(scope=self.scope, device=device, day=data["date"],
                                  first_seq=data["first_device_seq"], last_seq=data["last_device_seq"],
                                  counts=data["counts"]))
