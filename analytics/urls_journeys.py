"""/api/v1/analytics/ journey analysis: plan against actual per booker day, common paths per route, outlet funnel."""

from django.urls import path

from . import apis_journeys as apis

urlpatterns = [
    path("journeys/", apis.JourneyListApi.as_view(), name="analytics-journeys"),
    path("journeys/<int:journey_id>/", apis.JourneyCompareApi.as_view(), name="analytics-journey"),
    path("routes/<int:route_id>/paths/", apis.RoutePathsApi.as_view(), name="analytics-route-paths"),
    path("funnel/", apis.FunnelApi.as_view(), name="analytics-funnel"),
]
