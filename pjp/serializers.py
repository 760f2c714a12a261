"""Output serializers of the pjp API (input serializers live with their views, in apis.py)."""

from __future__ import annotations

from rest_framework import serializers

from .models import DailyJourney, OptimisationProposal, Route, RouteStop, Visit


class RouteOutput(serializers.ModelSerializer):
    stop_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Route
        fields = ["id", "distributor", "code", "name", "version", "active", "work_start", "work_end",
                  "default_service_minutes", "start_lat", "start_lng", "end_lat", "end_lng", "stop_count",
                  "updated_at"]


class RouteStopOutput(serializers.ModelSerializer):
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)
    outlet_name = serializers.CharField(source="outlet.name", read_only=True)
    outlet_active = serializers.BooleanField(source="outlet.active", read_only=True)

    class Meta:
        model = RouteStop
        fields = ["sequence", "outlet", "outlet_code", "outlet_name", "outlet_active", "service_minutes", "weeks"]


class RouteDetailOutput(serializers.ModelSerializer):
    stops = RouteStopOutput(many=True, read_only=True)

    class Meta:
        model = Route
        fields = ["id", "distributor", "code", "name", "version", "active", "work_start", "work_end",
                  "default_service_minutes", "start_lat", "start_lng", "end_lat", "end_lng", "stops", "updated_at"]


class ProposalOutput(serializers.ModelSerializer):
    class Meta:
        model = OptimisationProposal
        fields = ["id", "distributor", "kind", "status", "job", "route_versions", "before", "after", "diff", "plan",
                  "seed", "decided_by", "decided_at", "created_at"]


class VisitOutput(serializers.ModelSerializer):
    outlet_code = serializers.CharField(source="outlet.code", read_only=True)
    outlet_name = serializers.CharField(source="outlet.name", read_only=True)

    class Meta:
        model = Visit
        fields = ["id", "sequence", "outlet", "outlet_code", "outlet_name", "eta", "etd", "status", "window_missed"]


class JourneyOutput(serializers.ModelSerializer):
    booker_username = serializers.CharField(source="booker.username", read_only=True)
    route_code = serializers.CharField(source="route.code", read_only=True)
    route_name = serializers.CharField(source="route.name", read_only=True)
    visits = VisitOutput(many=True, read_only=True)

    class Meta:
        model = DailyJourney
        fields = ["id", "distributor", "date", "booker", "booker_username", "route", "route_code", "route_name",
                  "route_version", "planned_start", "planned_end", "planned_distance_m", "visits"]
