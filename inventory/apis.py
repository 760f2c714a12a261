"""The inventory APIs: stock reads, and allocating secondary orders.

/api/v1/manufacturer/stock/ and stock/movements/: every distributor's stock and stock ledger for the manufacturer's
API keys (role manufacturer_system), admins and analysts; distributor users get 403 there.
/api/v1/inventory/stock/: the same balances for the browser's users: a distributor user sees its own
distributor's only (the scope filters; naming a sibling is a 404).

Cursor pagination by id (follow `next`). Balances change in place, so `updated_at` says how fresh a row is. The
movement ids are taken at insert: one committed late can carry a smaller id than one already read, so a consumer
that follows the ledger re-reads a few minutes back with `since` and drops the ids it has.
A distributor, warehouse or SKU of another tenant (or a sibling distributor) named in a filter is a 404.

/api/v1/inventory/allocations/...: preview an allocation (the fill rate each outlet would get, each line's units and
why), allocate orders (a result per order), start a day's allocation as a job (202), deallocate an order, and list
allocations. Distributor admins and staff and manufacturer admins act; manufacturer analysts may list. Another
tenant's or distributor's order or warehouse is a 404 (in a list of order ids: that order's result is not_found).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import STAFF_ROLES, TenantApi
from dms.tenancy.enums import MANUFACTURER_ROLES, Role
from orders import selectors as order_selectors
from orders.serializers import OrderDetailOutput
from orders.services import order_deallocate

from . import allocation, selectors
from .allocation.policy import FIFO, POLICIES
from .models import AllocationStatus
from .serializers import (
    AllocationOutput,
    AllocationPageOutput,
    AllocationPlanOutput,
    AllocationResultsOutput,
    StockBalanceOutput,
    StockBalancePageOutput,
    StockMovementOutput,
    StockMovementPageOutput,
)

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


# --- allocation ---------------------------------------------------------------------------------------------------

ALLOCATORS = frozenset({Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
ALLOCATION_READERS = ALLOCATORS | {Role.MANUFACTURER_ANALYST}
POLICY_HELP = "fifo: first come, first served (booking order); fair_share: a short SKU is shared in proportion"
WAREHOUSE_HELP = "the warehouse to allocate from; by default each distributor's default warehouse"


class AllocationOptions(serializers.Serializer):
    policy = serializers.ChoiceField(choices=list(POLICIES), default=FIFO, help_text=POLICY_HELP)
    warehouse_id = serializers.IntegerField(required=False, allow_null=True, default=None, help_text=WAREHOUSE_HELP)


class AllocationDayInput(AllocationOptions):
    date = serializers.DateField(help_text="the day of the queue")
    day_field = serializers.ChoiceField(choices=["booked", "delivery"], default="booked",
                                        help_text="booked: orders booked that day (tenant-local); delivery: orders "
                                                  "to be delivered that day")
    distributor_id = serializers.IntegerField(required=False, help_text="whose queue; a distributor user's own by "
                                                                        "default")


def _distributor(api: TenantApi, data: dict) -> int:
    distributor_id = data.pop("distributor_id", None) or api.scope.single_distributor_id
    if distributor_id is None:
        raise serializers.ValidationError({"distributor_id": ["Name the distributor whose queue it is."]})
    return int(distributor_id)


def _day(api: TenantApi, data: dict) -> dict:
    return {"distributor_id": _distributor(api, data), "day": data["date"], "day_field": data["day_field"],
            "policy": data["policy"], "warehouse_id": data["warehouse_id"]}


class AllocationPreviewApi(TenantApi):
    """What allocating would do now, writing nothing: per order and line the requested and proposed units with
    the reason, per outlet the fill rate (units and value), and the totals. Give `order_ids`, or a `date` (the
    distributor's confirmed orders of that day). Send `expected` back to the allocation to learn what changed."""

    required_roles = ALLOCATORS

    class AllocationPreviewInput(AllocationDayInput):
        order_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False,
                                          allow_empty=False, max_length=allocation.DAY_MAX_ORDERS)
        date = serializers.DateField(required=False, help_text="instead of order_ids: the day of the queue")

        def validate(self, attrs: dict) -> dict:
            if ("order_ids" in attrs) == ("date" in attrs):
                raise serializers.ValidationError({"order_ids": ["Give order_ids or a date (not both)."]})
            return attrs

    @extend_schema(request=AllocationPreviewInput, responses=AllocationPlanOutput)
    def post(self, request: Request) -> Response:
        data = self.validated(self.AllocationPreviewInput, request.data)
        if "order_ids" in data:
            plan = allocation.allocation_plan(scope=self.scope, order_ids=data["order_ids"], policy=data["policy"],
                                              warehouse_id=data["warehouse_id"])
        else:
            plan = allocation.allocation_plan_day(scope=self.scope, **_day(self, data))
        return Response(AllocationPlanOutput(plan).data)


class AllocationListApi(TenantApi):
    """GET: allocations, by id (cursor pagination), filtered by order, status and warehouse. POST: allocate
    confirmed orders (at most 500) with a policy: a result per order, in order id order. Stock is locked and the
    plan made again, so a preview may be out of date: pass its `expected` and the lines that differ are reported
    (the order is still allocated). An order that gets nothing stays confirmed; an allocated order is reported,
    never allocated twice."""

    required_roles = ALLOCATION_READERS

    class FilterSerializer(serializers.Serializer):
        order = serializers.IntegerField(required=False, source="order_id")
        status = serializers.ChoiceField(choices=AllocationStatus.choices, required=False)
        warehouse = serializers.IntegerField(required=False, source="warehouse_id")

    class AllocationInput(AllocationOptions):
        order_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                          max_length=allocation.MAX_ORDERS)
        expected = serializers.DictField(child=serializers.IntegerField(min_value=0), required=False,
                                         help_text="the preview's `expected`: order line id -> proposed units")
        reason = serializers.CharField(required=False, allow_blank=True, max_length=300)

        def validate_expected(self, value: dict) -> dict[int, int]:
            if any(not str(key).isdigit() for key in value):
                raise serializers.ValidationError("Keys are order line ids.")
            return {int(key): units for key, units in value.items()}

    @extend_schema(parameters=[OpenApiParameter("order", OpenApiTypes.INT),
                               OpenApiParameter("status", OpenApiTypes.STR, enum=AllocationStatus.values),
                               OpenApiParameter("warehouse", OpenApiTypes.INT), CURSOR, PAGE_SIZE],
                   responses=AllocationPageOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(self.FilterSerializer, request.query_params)
        if "order_id" in data:
            order_selectors.order_visible(scope=self.scope, pk=data["order_id"])
        if "warehouse_id" in data:
            selectors.warehouse_get(scope=self.scope, pk=data["warehouse_id"])
        qs = selectors.allocation_list(scope=self.scope, **data)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(AllocationOutput(page, many=True).data)

    @extend_schema(request=AllocationInput, responses=AllocationResultsOutput)
    def post(self, request: Request) -> Response:
        if self.scope.role not in ALLOCATORS:
            raise exceptions.PermissionDenied("Your role may not allocate orders.")
        data = self.validated(self.AllocationInput, request.data)
        results = allocation.orders_allocate(scope=self.scope, **data)
        done = sum(1 for r in results if r.ok and r.outcome != allocation.ALREADY)
        already = sum(1 for r in results if r.outcome == allocation.ALREADY)
        return Response(AllocationResultsOutput({"done": done, "already_allocated": already,
                                                 "refused": len(results) - done - already,
                                                 "results": results}).data)


class AllocationDayApi(TenantApi):
    """Allocate a distributor's confirmed orders of a day in the background: 202 with the job to poll at
    /api/v1/jobs/<id>/; its result counts the orders by outcome and lists each order's. Safe to start again."""

    required_roles = ALLOCATORS

    @extend_schema(request=AllocationDayInput, responses={202: dict})
    def post(self, request: Request) -> Response:
        from dms.tenancy.apis import JobOutput
        from dms.tenancy.jobs import job_progress

        data = self.validated(AllocationDayInput, request.data)
        job = allocation.allocate_day_start(scope=self.scope, **_day(self, data))
        return Response(JobOutput(job_progress(job)).data, status=202)


class OrderDeallocateInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class OrderDeallocateApi(TenantApi):
    """Allocated or partially allocated -> confirmed, with a reason (required): the order's reserved stock is
    released, and the order can be cancelled or allocated again. A confirmed order is returned as it is."""

    required_roles = ALLOCATORS

    @extend_schema(request=OrderDeallocateInput, responses=OrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        order_selectors.order_visible(scope=self.scope, pk=order_id)
        data = self.validated(OrderDeallocateInput, request.data)
        order_deallocate(scope=self.scope, order_id=order_id, reason=data["reason"])
        return Response(OrderDetailOutput(order_selectors.order_get(scope=self.scope, pk=order_id)).data)
