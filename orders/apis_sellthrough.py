"""Sell-through for the manufacturer (/api/v1/manufacturer/sell-through/): its distributors' secondary sales by
period, distributor and SKU, for its API keys (role manufacturer_system), admins and analysts.

Basis: "booked". Sales are the secondary orders that are not cancelled, on the tenant-local date they were booked,
at the quantities and values booked (net value = gross less discount, before tax). When invoicing lands, the
sell-through will move to invoiced (then delivered) quantities and say so in `basis`; a consumer should read it.

`date_from` and `date_to` (tenant-local, inclusive) are required and span at most 92 days; a week is labelled by
its Monday and a month by its first day, so the first and last period may be partial. One aggregate query (and
its count for the page pagination). Another tenant's distributor or SKU is a 404; distributor users get 403.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.selectors import sku_list
from dms.core.api import DateRangeSerializer, PageNumberPagination
from dms.core.errors import NotFound
from dms.tenancy.api import TenantApi
from dms.tenancy.enums import MANUFACTURER_ROLES

from . import selectors, selectors_primary, selectors_suggest

MAX_RANGE_DAYS = 92
BASIS = "booked"
GROUP_BY_CHOICES = ["day", "week", "month"]


class SellThroughRowOutput(serializers.Serializer):
    period = serializers.DateField(help_text="the local day, the Monday of the week or the first of the month")
    distributor_id = serializers.IntegerField()
    distributor_code = serializers.CharField()
    sku_id = serializers.IntegerField()
    sku_code = serializers.CharField()
    cases = serializers.IntegerField(help_text="whole cases as booked")
    units = serializers.IntegerField(help_text="loose units as booked")
    total_units = serializers.IntegerField(help_text="cases x units per case + units")
    net_value = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="gross less discount, no tax")
    order_count = serializers.IntegerField()


class SellThroughPageOutput(serializers.Serializer):
    basis = serializers.CharField(help_text='"booked": not-cancelled secondary orders by booking date')
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    group_by = serializers.CharField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SellThroughRowOutput(many=True)


class SellThroughApi(TenantApi):
    """Secondary sales by period, distributor and SKU (page pagination, `page` and `page_size`)."""

    required_roles = MANUFACTURER_ROLES

    class FilterSerializer(DateRangeSerializer):
        max_days = MAX_RANGE_DAYS
        distributor = serializers.IntegerField(required=False, source="distributor_id")
        sku = serializers.IntegerField(required=False, source="sku_id")
        group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, required=False, default="day")

    @extend_schema(parameters=[
        OpenApiParameter("date_from", OpenApiTypes.DATE, required=True, description="first local day (inclusive)"),
        OpenApiParameter("date_to", OpenApiTypes.DATE, required=True,
                         description=f"last local day (inclusive), at most {MAX_RANGE_DAYS} days after date_from"),
        OpenApiParameter("distributor", OpenApiTypes.INT),
        OpenApiParameter("sku", OpenApiTypes.INT),
        OpenApiParameter("group_by", OpenApiTypes.STR, enum=GROUP_BY_CHOICES, description="day (default)"),
        OpenApiParameter("page", OpenApiTypes.INT),
        OpenApiParameter("page_size", OpenApiTypes.INT),
    ], responses=SellThroughPageOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(self.FilterSerializer, request.query_params)
        distributor_id, sku_id = data.get("distributor_id"), data.get("sku_id")
        if distributor_id is not None and selectors_primary.distributor_in_scope(
                scope=self.scope, distributor_id=distributor_id) is None:
            raise NotFound("Distributor not found.")
        if sku_id is not None and not sku_list(scope=self.scope).filter(pk=sku_id).exists():
            raise NotFound("SKU not found.")
        tz = selectors.tenant_zone(scope=self.scope)
        start, end = selectors_suggest.local_days_bounds(data["date_from"], data["date_to"], tz)
        qs = selectors_suggest.sell_through(scope=self.scope, start=start, end=end, tz=tz, group_by=data["group_by"],
                                            distributor_id=distributor_id, sku_id=sku_id)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        assert page is not None and paginator.page is not None
        return Response(SellThroughPageOutput({
            "basis": BASIS, "date_from": data["date_from"], "date_to": data["date_to"], "group_by": data["group_by"],
            "count": paginator.page.paginator.count, "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(), "results": page}).data)
