"""The order-booker's journey for a day, as the app downloads it (device tokens only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import DeviceApi
from dms.tenancy.models import Device
from pjp.services.common import tenant_policy
from pjp.services.journeys import journey_notification_deliver

from .journey import MAX_DAYS_AWAY, booker_day_get
from .serializers import BookerDayOutput


class JourneyFilter(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="YYYY-MM-DD; default: today in the tenant's time zone")

    def validate_date(self, value: dt.date) -> dt.date:
        today: dt.date = self.context["today"]
        if abs((value - today).days) > MAX_DAYS_AWAY:
            raise serializers.ValidationError(f"Must be within {MAX_DAYS_AWAY} days of today ({today.isoformat()}).")
        return value


class JourneyApi(DeviceApi):
    """The signed-in booker's journey for a day: visits in sequence with arrival (`eta`) and departure (`etd`)
    times in UTC, each outlet's details and its 3 most recent secondary orders (of the last year, newest
    first), and the day's notification, which is marked delivered when first served.

    An off day (no journey) is a 200 with `journey_id` null and no visits. `open_invoices` is always empty
    for now: invoicing arrives in a later release. Only the booker's own journey is ever served."""

    FilterSerializer = JourneyFilter

    @extend_schema(parameters=[FilterSerializer], responses=BookerDayOutput)
    def get(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]  # DeviceApi authenticates devices only
        policy = tenant_policy(self.scope)
        today = policy.today()
        filters: dict[str, Any] = self.validated(self.FilterSerializer, request.query_params,
                                                 context={"today": today})
        day = booker_day_get(scope=self.scope, booker_id=device.user_id, day=filters.get("date") or today,
                             time_zone=str(policy.tz))
        if day.notification is not None:
            journey_notification_deliver(scope=self.scope, notification=day.notification)
        return Response(BookerDayOutput(day).data)
