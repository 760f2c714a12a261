"""/api/v1/analytics/: the KPIs over the daily facts."""

from django.urls import path

from . import apis

urlpatterns = [
    path("kpis/", apis.KpiSummaryApi.as_view(), name="analytics-kpis"),
    path("kpis/series/", apis.KpiSeriesApi.as_view(), name="analytics-kpis-series"),
]
