"""/api/v1/analytics/: the KPIs over the daily facts, and the journey analysis (analytics/urls_journeys.py)."""

from django.urls import include, path

from . import apis

urlpatterns = [
    path("kpis/", apis.KpiSummaryApi.as_view(), name="analytics-kpis"),
    path("kpis/series/", apis.KpiSeriesApi.as_view(), name="analytics-kpis-series"),
    path("kpis/breakdown/", apis.KpiBreakdownApi.as_view(), name="analytics-kpis-breakdown"),
    path("", include("analytics.urls_journeys")),
]
