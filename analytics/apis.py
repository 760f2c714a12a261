"""/api/v1/analytics/kpis/, /kpis/series/ and /kpis/breakdown/: the KPIs of analytics.selectors over a period, per
date, and per distributor, booker, route, brand or date, for the manufacturer (admins, analysts, API keys) and
distributor admins and staff (their own distributor only).

`date_from` and `date_to` (tenant-local, inclusive) are required and span at most 366 days; a 400 names the field.
`distributor` outside the caller's scope (another tenant's, or a sibling's for a distributor user) is a 404, as for
any foreign object; `booker`, `route` and `brand` only narrow the facts (an id that is not the caller's matches
nothing). The breakdown's `by` (distributor, booker, route, brand, date) is required; another value is a 400 naming
`by`. The breakdown is paginated like the other lists (`page`, `page_size`: 50 rows by default, at most 500; `count`,
`next`, `previous`): the rows are sorted by label first and only the page's KPIs are worked out and rendered (a
tenant's 500 distributors are 500 rows of 28 KPIs). A page past the last is a 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

from dms.core.api import PAGE_PARAMETERS, DateRangeSerializer, PageNumberPagination
from dms.core.errors import NotFound
from dms.tenancy.api import TenantApi
from dms.tenancy.enums import MANUFACTURER_ROLES, Role
from dms.tenancy.selectors import distributor_list

from . import selectors
from .serializers import KpiBreakdownOutput, KpiSeriesOutput, KpiSummaryOutput, breakdown_data, breakdown_definitions

MAX_RANGE_DAYS = 366
KPI_ROLES = MANUFACTURER_ROLES | {Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF}

PARAMETERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, required=True, description="first local day (inclusive)"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                     description=f"last local day (inclusive), at most {MAX_RANGE_DAYS} days from date_from"),
    OpenApiParameter("distributor", OpenApiTypes.INT, description="one distributor (404 if not yours)"),
    OpenApiParameter("booker", OpenApiTypes.INT, description="one order-booker (user id)"),
    OpenApiParameter("route", OpenApiTypes.INT, description="one route"),
    OpenApiParameter("brand", OpenApiTypes.INT,
                     description="one brand: narrows the KPIs of the brand facts only (unit and value fill, delivered "
                                 "against invoiced, sell-in, sell-through, stock cover)"),
]
BREAKDOWN_PARAMETERS = [
    OpenApiParameter("by", OpenApiTypes.STR, required=True, enum=list(selectors.BREAKDOWN_BY),
                     description="the grouping; each carries the KPIs of selectors.BREAKDOWN_KPIS[by]"),
    *PARAMETERS,
    *PAGE_PARAMETERS,
]


class KpiFilterSerializer(DateRangeSerializer):
    max_days = MAX_RANGE_DAYS
    distributor = serializers.IntegerField(required=False, min_value=1, source="distributor_id")
    booker = serializers.IntegerField(required=False, min_value=1, source="booker_id")
    route = serializers.IntegerField(required=False, min_value=1, source="route_id")
    brand = serializers.IntegerField(required=False, min_value=1, source="brand_id")


class KpiBreakdownFilterSerializer(KpiFilterSerializer):
    by = serializers.ChoiceField(choices=list(selectors.BREAKDOWN_BY))
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=PageNumberPagination.max_page_size,
                                         default=api_settings.PAGE_SIZE)


class KpiApi(TenantApi):
    required_roles = KPI_ROLES

    filter_serializer: type[KpiFilterSerializer] = KpiFilterSerializer

    def filters(self, request: Request) -> dict[str, Any]:
        """The validated query parameters as selector keywords; 404 for a distributor outside the scope."""
        data = self.validated(self.filter_serializer, request.query_params)
        distributor_id = data.get("distributor_id")
        if distributor_id is not None and not distributor_list(scope=self.scope).filter(pk=distributor_id).exists():
            raise NotFound("Distributor not found.")
        return data


class KpiSummaryApi(KpiApi):
    """The KPIs over a period (see each KPI's `definition`)."""

    @extend_schema(parameters=PARAMETERS, responses=KpiSummaryOutput)
    def get(self, request: Request) -> Response:
        data = self.filters(request)
        kpis = selectors.kpi_summary(scope=self.scope, **data)
        return Response(KpiSummaryOutput(
            {"date_from": data["date_from"], "date_to": data["date_to"], "kpis": kpis}).data)


class KpiSeriesApi(KpiApi):
    """The KPIs per date over a period, for charts: one row per date that has facts."""

    @extend_schema(parameters=PARAMETERS, responses=KpiSeriesOutput)
    def get(self, request: Request) -> Response:
        data = self.filters(request)
        rows = selectors.kpi_series(scope=self.scope, **data)
        return Response(KpiSeriesOutput(
            {"date_from": data["date_from"], "date_to": data["date_to"], "results": rows}).data)


class KpiBreakdownApi(KpiApi):
    """The KPIs per distributor, booker, route, brand or date over a period, for tables: one row per group that has
    facts, sorted by label, with the KPIs that make sense for the grouping."""

    filter_serializer = KpiBreakdownFilterSerializer

    @extend_schema(parameters=BREAKDOWN_PARAMETERS, responses=KpiBreakdownOutput)
    def get(self, request: Request) -> Response:
        data = self.filters(request)
        page, size = data.pop("page"), data.pop("page_size")
        count, rows = selectors.kpi_breakdown_page(scope=self.scope, offset=(page - 1) * size, limit=size, **data)
        if page > 1 and not rows:
            raise NotFound("Invalid page.")
        url = request.build_absolute_uri()
        return Response(breakdown_data(
            {"date_from": data["date_from"], "date_to": data["date_to"], "by": data["by"],
             "kpis": list(selectors.BREAKDOWN_KPIS[data["by"]]),
             "definitions": breakdown_definitions(selectors.BREAKDOWN_KPIS[data["by"]]), "count": count,
             "next": replace_query_param(url, "page", page + 1) if page * size < count else None,
             "previous": None if page == 1 else replace_query_param(url, "page", page - 1), "results": rows}))
