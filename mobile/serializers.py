"""Output serializers of the order-booker app's sign-in and journey endpoints (inputs live with their views)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Outlet
from orders.models import SecondaryOrder
from pjp.models import JourneyNotification, Route


class SignedInUserOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="get_username")
    full_name = serializers.CharField(source="get_full_name")


class DeviceTokensOutput(serializers.Serializer):
    """mobile.auth.DeviceTokens: the new token pair and who it is for."""

    access = serializers.CharField(help_text="Bearer token for the mobile API, valid 15 minutes")
    refresh = serializers.CharField(help_text="single use: exchange it at auth/refresh/ for a new pair")
    access_expires_at = serializers.DateTimeField()
    refresh_expires_at = serializers.DateTimeField()
    device_id = serializers.IntegerField(source="device.pk")
    tenant_id = serializers.IntegerField(source="device.tenant_id")
    distributor_id = serializers.IntegerField(source="device.distributor_id")
    user = SignedInUserOutput(source="device.user")


class RouteBriefOutput(serializers.ModelSerializer):
    class Meta:
        model = Route
        fields = ["id", "code", "name"]


class JourneyOutletOutput(serializers.ModelSerializer):
    class Meta:
        model = Outlet
        fields = ["id", "code", "name", "channel", "address", "lat", "lng", "opening_hours", "credit_limit",
                  "tax_id"]


class LastOrderOutput(serializers.ModelSerializer):
    line_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SecondaryOrder
        fields = ["uuid", "booked_at", "status", "currency", "total", "line_count"]


class JourneyVisitOutput(serializers.Serializer):
    """mobile.journey.VisitCard."""

    visit_id = serializers.IntegerField(source="visit.pk")
    sequence = serializers.IntegerField(source="visit.sequence")
    status = serializers.CharField(source="visit.status")
    planned = serializers.BooleanField(source="visit.planned", help_text="false: an unplanned call, added by the app")
    eta = serializers.DateTimeField(source="visit.eta")
    etd = serializers.DateTimeField(source="visit.etd")
    window_missed = serializers.BooleanField(source="visit.window_missed",
                                             help_text="no opening hours fit this arrival; planned anyway")
    outlet = JourneyOutletOutput(source="visit.outlet")
    last_orders = LastOrderOutput(many=True, help_text="the outlet's 3 most recent orders of the last year, "
                                                       "newest first")
    open_invoices = serializers.SerializerMethodField(
        help_text="always empty for now: invoicing arrives with a later release")

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_open_invoices(self, card: Any) -> list[dict[str, Any]]:
        return []


class JourneyNotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = JourneyNotification
        fields = ["id", "date", "message", "delivered_at"]


class BookerDayOutput(serializers.Serializer):
    """mobile.journey.BookerDay. On an off day every journey field is null and `visits` is empty."""

    date = serializers.DateField()
    time_zone = serializers.CharField(help_text="the tenant's time zone; times are given in UTC")
    journey_id = serializers.IntegerField(allow_null=True)
    route = RouteBriefOutput(source="journey.route", allow_null=True)
    planned_start = serializers.DateTimeField(source="journey.planned_start", allow_null=True)
    planned_end = serializers.DateTimeField(source="journey.planned_end", allow_null=True)
    planned_distance_m = serializers.IntegerField(source="journey.planned_distance_m", allow_null=True)
    visits = JourneyVisitOutput(many=True)
    notification = JourneyNotificationOutput(allow_null=True)
