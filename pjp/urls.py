from django.urls import path

from . import apis

urlpatterns = [
    path("routes/", apis.RouteListApi.as_view(), name="route-list"),
    path("routes/<int:route_id>/", apis.RouteDetailApi.as_view(), name="route-detail"),
    path("routes/<int:route_id>/stops/", apis.RouteStopsApi.as_view(), name="route-stops"),
    path("routes/<int:route_id>/optimise/", apis.RouteOptimiseApi.as_view(), name="route-optimise"),
    path("build-routes/", apis.BuildRoutesApi.as_view(), name="build-routes"),
    path("proposals/<int:proposal_id>/", apis.ProposalDetailApi.as_view(), name="proposal-detail"),
    path("proposals/<int:proposal_id>/accept/", apis.ProposalAcceptApi.as_view(), name="proposal-accept"),
    path("proposals/<int:proposal_id>/discard/", apis.ProposalDiscardApi.as_view(), name="proposal-discard"),
    path("journeys/", apis.JourneyListApi.as_view(), name="journey-list"),
]
