"""/api/v1/analytics/ journey analysis: the journeys of a period (the picker), one journey's plan against what
happened, a route's most common actual paths, and the outlet funnel. The selectors are analytics.journeys; their
module docstrings define every figure.

Who: the KPI roles (the manufacturer's admins, analysts and API keys; distributor admins and staff, their own
distributor only). `date_from` and `date_to` (tenant-local, inclusive) are required and span at most 366 days; a
400 names the field. A journey, route, outlet or distributor outside the caller's scope is a 404, as for any
foreign object; `booker` only narrows (an id that is not the caller's matches nothing).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.api import DateRangeSerializer
from dms.tenancy.api import TenantApi

from . import journeys
from .apis import KPI_ROLES, MAX_RANGE_DAYS
from .journeys.lists import MAX_JOURNEYS, MAX_PATHS

DATES = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, required=True, description="first local day (inclusive)"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                     description=f"last local day (inclusive), at most {MAX_RANGE_DAYS} days from date_from"),
]
DISTRIBUTOR = OpenApiParameter("distributor", OpenApiTypes.INT, description="one distributor (404 if not yours)")
ROUTE = OpenApiParameter("route", OpenApiTypes.INT, description="one route (404 if not yours)")
OUTLET = OpenApiParameter("outlet", OpenApiTypes.INT, description="one outlet (404 if not yours)")


# --- input ------------------------------------------------------------------------------------------------------

class JourneyListFilter(DateRangeSerializer):
    max_days = MAX_RANGE_DAYS
    distributor = serializers.IntegerField(required=False, min_value=1, source="distributor_id")
    route = serializers.IntegerField(required=False, min_value=1, source="route_id")
    booker = serializers.IntegerField(required=False, min_value=1, source="booker_id")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_JOURNEYS, default=200)


class RoutePathsFilter(DateRangeSerializer):
    max_days = MAX_RANGE_DAYS
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PATHS, default=5)


class FunnelFilter(DateRangeSerializer):
    max_days = MAX_RANGE_DAYS
    distributor = serializers.IntegerField(required=False, min_value=1, source="distributor_id")
    route = serializers.IntegerField(required=False, min_value=1, source="route_id")
    outlet = serializers.IntegerField(required=False, min_value=1, source="outlet_id")


# --- output -----------------------------------------------------------------------------------------------------

def _point(**kw: object) -> serializers.ListField:
    return serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, allow_null=True,
                                 **kw)  # type: ignore[arg-type]


class AnalyticsJourneyIdentityOutput(serializers.Serializer):
    """What names a journey: who, where and when (the header of a comparison, the start of a list row)."""

    journey_id = serializers.IntegerField()
    date = serializers.DateField()
    distributor_id = serializers.IntegerField()
    booker_id = serializers.IntegerField()
    booker_name = serializers.CharField()
    route_id = serializers.IntegerField()
    route_code = serializers.CharField()
    route_name = serializers.CharField()


class AnalyticsJourneyHeaderOutput(AnalyticsJourneyIdentityOutput):
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    start = _point(help_text="[lat, lng] the paths begin at: the route's start, else the distributor's location")
    end = _point(help_text="[lat, lng] the paths end at")


class AnalyticsPlannedStopOutput(serializers.Serializer):
    sequence = serializers.IntegerField()
    visit_id = serializers.IntegerField()
    outlet_id = serializers.IntegerField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    eta = serializers.DateTimeField()
    etd = serializers.DateTimeField()
    status = serializers.CharField()
    visit_order = serializers.IntegerField(allow_null=True, help_text="its place in the actual path; null: skipped")


class AnalyticsActualStopOutput(serializers.Serializer):
    visit_order = serializers.IntegerField()
    visit_id = serializers.IntegerField()
    outlet_id = serializers.IntegerField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    planned_sequence = serializers.IntegerField(allow_null=True, help_text="null: an added (unplanned) stop")
    checked_in_at = serializers.DateTimeField(allow_null=True)
    checked_out_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField()
    delay_minutes = serializers.IntegerField(allow_null=True, help_text="check-in minus ETA; null for an added stop")
    in_sequence = serializers.BooleanField(allow_null=True, help_text="on the longest increasing run of planned "
                                                                      "sequence numbers; null for an added stop")


class AnalyticsStopRefOutput(serializers.Serializer):
    outlet_id = serializers.IntegerField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    planned_sequence = serializers.IntegerField(allow_null=True)
    visit_order = serializers.IntegerField(allow_null=True)


class AnalyticsJourneyTotalsOutput(serializers.Serializer):
    travel_provider = serializers.CharField(help_text='"great-circle" or "osrm:<url>"')
    planned_distance_m = serializers.IntegerField(help_text="the planned stops in planned order, recomputed")
    planned_travel_s = serializers.IntegerField()
    stored_planned_distance_m = serializers.IntegerField(help_text="the journey builder's figure")
    visited_distance_m = serializers.IntegerField(help_text="the stops made, in planned order")
    visited_travel_s = serializers.IntegerField()
    actual_distance_m = serializers.IntegerField(help_text="the stops made, in check-in order")
    actual_travel_s = serializers.IntegerField()
    extra_distance_m = serializers.IntegerField(help_text="actual - planned")
    extra_distance_stops_m = serializers.IntegerField(help_text="visited - planned: skips and additions")
    extra_distance_order_m = serializers.IntegerField(help_text="actual - visited: swaps")
    extra_travel_s = serializers.IntegerField()
    extra_travel_stops_s = serializers.IntegerField()
    extra_travel_order_s = serializers.IntegerField()
    first_check_in = serializers.DateTimeField(allow_null=True)
    last_check_out = serializers.DateTimeField(allow_null=True)
    planned_day_s = serializers.IntegerField(help_text="planned_start to planned_end")
    planned_market_s = serializers.IntegerField(allow_null=True, help_text="first ETA to last ETD")
    actual_market_s = serializers.IntegerField(allow_null=True, help_text="first check-in to last check-out")
    extra_market_s = serializers.IntegerField(allow_null=True, help_text="actual_market_s - planned_market_s")


class AnalyticsJourneyComparisonOutput(serializers.Serializer):
    header = AnalyticsJourneyHeaderOutput()
    planned = AnalyticsPlannedStopOutput(many=True)
    actual = AnalyticsActualStopOutput(many=True)
    skipped = AnalyticsStopRefOutput(many=True)
    added = AnalyticsStopRefOutput(many=True)
    swapped = AnalyticsStopRefOutput(many=True)
    totals = AnalyticsJourneyTotalsOutput()


class AnalyticsJourneyRowOutput(AnalyticsJourneyIdentityOutput):
    planned = serializers.IntegerField()
    visited = serializers.IntegerField(help_text="visits made, planned or added")
    skipped = serializers.IntegerField()
    added = serializers.IntegerField()
    swapped = serializers.IntegerField()


class AnalyticsJourneyListOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    results = AnalyticsJourneyRowOutput(many=True, help_text="newest first, then booker")


class AnalyticsPathOutput(serializers.Serializer):
    path = serializers.ListField(child=serializers.CharField(), help_text="outlet codes in check-in order")
    journeys = serializers.IntegerField()
    share = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)
    equals_planned = serializers.BooleanField()
    planned_journeys = serializers.IntegerField()


class AnalyticsRoutePathsOutput(serializers.Serializer):
    route_id = serializers.IntegerField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    results = AnalyticsPathOutput(many=True, help_text="most frequent first")


class AnalyticsFunnelStageOutput(serializers.Serializer):
    stage = serializers.ChoiceField(choices=[(s, s) for s in journeys.STAGES])
    entered = serializers.IntegerField(help_text="calls that begin at this stage")
    reached = serializers.IntegerField()
    stopped = serializers.IntegerField(help_text="calls whose furthest stage this is")
    timed = serializers.IntegerField(help_text="calls whose step from the previous stage was timed")
    median_hours = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    p90_hours = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)


class AnalyticsFunnelOutletOutput(serializers.Serializer):
    outlet_id = serializers.IntegerField()
    outlet_code = serializers.CharField()
    outlet_name = serializers.CharField()
    calls = serializers.IntegerField()
    stopped_planned = serializers.IntegerField()
    stopped_visited = serializers.IntegerField()
    stopped_ordered = serializers.IntegerField()
    stopped_invoiced = serializers.IntegerField()
    stopped_delivered = serializers.IntegerField()
    stopped_paid = serializers.IntegerField()


class AnalyticsFunnelOutput(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    calls = serializers.IntegerField()
    stages = AnalyticsFunnelStageOutput(many=True)
    outlets = AnalyticsFunnelOutletOutput(many=True, help_text="most calls first; only with a distributor, route "
                                                                "or outlet filter (or a distributor user)")
    outlets_listed = serializers.BooleanField()
    outlets_truncated = serializers.BooleanField()


# --- views ------------------------------------------------------------------------------------------------------

class JourneyListApi(TenantApi):
    """The booker days of a period, with their planned, visited, skipped, added and swapped counts."""

    required_roles = KPI_ROLES

    @extend_schema(parameters=[*DATES, DISTRIBUTOR, ROUTE,
                               OpenApiParameter("booker", OpenApiTypes.INT, description="one order-booker (user id)"),
                               OpenApiParameter("limit", OpenApiTypes.INT, description="at most this many rows "
                                                f"(default 200, at most {MAX_JOURNEYS})")],
                   responses=AnalyticsJourneyListOutput, operation_id="v1_analytics_journeys_list")
    def get(self, request: Request) -> Response:
        data = self.validated(JourneyListFilter, request.query_params)
        rows = journeys.journey_list(scope=self.scope, **data)
        return Response(AnalyticsJourneyListOutput(
            {"date_from": data["date_from"], "date_to": data["date_to"], "results": rows}).data)


class JourneyCompareApi(TenantApi):
    """One journey: the plan against what happened (skipped, added and swapped stops, extra distance and time)."""

    required_roles = KPI_ROLES

    @extend_schema(responses=AnalyticsJourneyComparisonOutput)
    def get(self, request: Request, journey_id: int) -> Response:
        comparison = journeys.journey_compare(scope=self.scope, journey_id=journey_id)
        return Response(AnalyticsJourneyComparisonOutput(comparison).data)


class RoutePathsApi(TenantApi):
    """The most common actual visit orders on a route over a period."""

    required_roles = KPI_ROLES

    @extend_schema(parameters=[*DATES, OpenApiParameter(
        "limit", OpenApiTypes.INT, description=f"at most this many paths (default 5, at most {MAX_PATHS})")],
        responses=AnalyticsRoutePathsOutput)
    def get(self, request: Request, route_id: int) -> Response:
        data = self.validated(RoutePathsFilter, request.query_params)
        rows = journeys.common_paths(scope=self.scope, route_id=route_id, **data)
        return Response(AnalyticsRoutePathsOutput(
            {"route_id": route_id, "date_from": data["date_from"], "date_to": data["date_to"], "results": rows}).data)


class FunnelApi(TenantApi):
    """The outlet journey funnel: planned -> visited -> ordered -> invoiced -> delivered -> paid."""

    required_roles = KPI_ROLES

    @extend_schema(parameters=[*DATES, DISTRIBUTOR, ROUTE, OUTLET], responses=AnalyticsFunnelOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(FunnelFilter, request.query_params)
        return Response(AnalyticsFunnelOutput(journeys.outlet_funnel(scope=self.scope, **data)).data)
