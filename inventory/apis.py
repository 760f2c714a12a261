"""The inventory read APIs.

/api/v1/manufacturer/stock/ and stock/movements/: every distributor's stock and stock ledger for the manufacturer's
API keys (role manufacturer_system), admins and analysts; distributor users get 403 there.
/api/v1/inventory/stock/: the same balances for the browser's users: a distributor user sees its own
distributor's only (the scope filters; naming a sibling is a 404).

Cursor pagination by id (follow `next`). Balances change in place, so `updated_at` says how fresh a row is. The
movement ids are taken at insert: one committed late can carry a smaller id than one already read, so a consumer
that follows the ledger re-reads a few minutes back with `since` and drops the ids it has.
A distributor, warehouse or SKU of another tenant (or a sibling distributor) named in a filter is a 404.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import STAFF_ROLES, TenantApi
from dms.tenancy.enums import MANUFACTURER_ROLES

from . import selectors
from .serializers import StockBalanceOutput, StockBalancePageOutput, StockMovementOutput, StockMovementPageOutput

CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="from the previous page's `next` or `previous`")
PAGE_SIZE = OpenApiParameter("page_size", OpenApiTypes.INT)


class IdCursorPagination(pagination.CursorPagination):
    ordering = ("id",)
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class StockFilter(serializers.Serializer):
    """The list filters, named like every other list's (`distributor`, `warehouse`, `sku`: ids)."""

    distributor = serializers.IntegerField(required=False, source="distributor_id")
    warehouse = serializers.IntegerField(required=False, source="warehouse_id")
    sku = serializers.IntegerField(required=False, source="sku_id")


STOCK_PARAMETERS = [OpenApiParameter("distributor", OpenApiTypes.INT),
                    OpenApiParameter("warehouse", OpenApiTypes.INT), OpenApiParameter("sku", OpenApiTypes.INT),
                    CURSOR, PAGE_SIZE]


class StockBalanceListApi(TenantApi):
    """On hand, reserved and available stock per distributor, warehouse and SKU, in units and in cases."""

    required_roles = STAFF_ROLES

    @extend_schema(parameters=STOCK_PARAMETERS, responses=StockBalancePageOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(StockFilter, request.query_params)
        selectors.stock_filter_check(scope=self.scope, **data)
        qs = selectors.balance_list(scope=self.scope, **data)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(StockBalanceOutput(page, many=True).data)


class ManufacturerStockBalanceListApi(StockBalanceListApi):
    """Every distributor's stock, for the manufacturer."""

    required_roles = MANUFACTURER_ROLES


class ManufacturerStockMovementListApi(TenantApi):
    """The stock ledger: every receipt, allocation, release, dispatch, return and adjustment, by id."""

    required_roles = MANUFACTURER_ROLES

    class FilterSerializer(StockFilter):
        since = serializers.DateTimeField(required=False, help_text="movements created at or after")

    @extend_schema(parameters=[*STOCK_PARAMETERS[:3],
                               OpenApiParameter("since", OpenApiTypes.DATETIME,
                                                description="movements created at or after (ISO 8601)"),
                               CURSOR, PAGE_SIZE],
                   responses=StockMovementPageOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(self.FilterSerializer, request.query_params)
        since = data.pop("since", None)
        selectors.stock_filter_check(scope=self.scope, **data)
        qs = selectors.movement_list(scope=self.scope, since=since, **data)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(StockMovementOutput(page, many=True).data)
