"""The orders API (/api/v1/orders/): secondary orders for distributor staff and manufacturers.

Distributor admins and staff and manufacturer admins read and act; manufacturer analysts read. Another tenant's
or distributor's order is a 404; views that take an order look it up before they read the body, so a stranger
learns nothing from a validation error either. Money is a string, never a float.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import TenantApi
from dms.tenancy.enums import Role

from . import selectors
from .enums import OrderStatus
from .filters import HOLD_CHOICES, OrderFilter
from .serializers import BulkOutput, OrderDetailOutput, OrderOutput
from .services import (
    KEEP,
    MAX_BULK,
    BookedLine,
    BulkResult,
    order_cancel,
    order_cancel_many,
    order_confirm,
    order_confirm_many,
    order_edit,
    order_release_hold,
)

WRITERS = frozenset({Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
READERS = WRITERS | {Role.MANUFACTURER_ANALYST}

FILTER_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=OrderStatus.values,
                     description="one or more statuses (repeat the parameter)"),
    OpenApiParameter("outlet", OpenApiTypes.INT),
    OpenApiParameter("booker", OpenApiTypes.INT, description="the order-booker's user id"),
    OpenApiParameter("distributor", OpenApiTypes.INT),
    OpenApiParameter("booked_from", OpenApiTypes.DATE, description="booked on or after (tenant-local date)"),
    OpenApiParameter("booked_to", OpenApiTypes.DATE, description="booked on or before (tenant-local date)"),
    OpenApiParameter("price_flag", OpenApiTypes.BOOL, description="the app showed other prices than the server's"),
    OpenApiParameter("hold", OpenApiTypes.STR, enum=[value for value, _label in HOLD_CHOICES]),
    OpenApiParameter("uuid", OpenApiTypes.UUID, description="the order's uuid from the booking app"),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT),
]


def _detail(api: TenantApi, order_id: int) -> Response:
    return Response(OrderDetailOutput(selectors.order_get(scope=api.scope, pk=order_id)).data)


def _bulk(results: list[BulkResult]) -> Response:
    done = sum(1 for r in results if r.ok)
    return Response(BulkOutput({"done": done, "refused": len(results) - done, "results": results}).data)


class OrderListApi(TenantApi):
    """Orders the caller may see, newest booking first, with filters and pagination."""

    required_roles = READERS

    @extend_schema(parameters=FILTER_PARAMETERS, responses=OrderOutput(many=True))
    def get(self, request: Request) -> Response:
        found = OrderFilter(request.query_params, queryset=selectors.order_list(scope=self.scope),
                            tz=selectors.tenant_zone(scope=self.scope))
        if not found.is_valid():
            raise serializers.ValidationError(found.errors)
        return self.paginate(found.qs, OrderOutput)


class LineInput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    cases = serializers.IntegerField(min_value=0)
    units = serializers.IntegerField(min_value=0, default=0)


class OrderEditInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="the version you edited; a newer one is a 409")
    lines = LineInput(many=True, required=False, help_text="the booked lines, replacing all of them (free goods "
                                                           "are added by the pricing engine)")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    delivery_date = serializers.DateField(required=False, allow_null=True, help_text="null clears it")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class OrderDetailApi(TenantApi):
    """GET: an order with its lines and events. PATCH: edit a booked order's lines, note or delivery date;
    `version` must be the order's current version (409 otherwise)."""

    required_roles = READERS

    @extend_schema(responses=OrderDetailOutput)
    def get(self, request: Request, order_id: int) -> Response:
        return _detail(self, order_id)

    @extend_schema(request=OrderEditInput, responses=OrderDetailOutput)
    def patch(self, request: Request, order_id: int) -> Response:
        if self.scope.role not in WRITERS:
            raise exceptions.PermissionDenied("Your role may not change orders.")
        selectors.order_visible(scope=self.scope, pk=order_id)
        data = self.validated(OrderEditInput, request.data)
        lines = data.get("lines")
        order_edit(scope=self.scope, order_id=order_id, version=data["version"], note=data.get("note"),
                   delivery_date=data["delivery_date"] if "delivery_date" in data else KEEP,
                   lines=None if lines is None else [BookedLine(**line) for line in lines],
                   reason=data.get("reason", ""))
        return _detail(self, order_id)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class RequiredReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class OrderConfirmApi(TenantApi):
    """Booked -> confirmed. An order on credit hold is a 409 (on_hold) until the hold is released; confirming a
    confirmed order changes nothing."""

    required_roles = WRITERS

    @extend_schema(request=ReasonInput, responses=OrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors.order_visible(scope=self.scope, pk=order_id)
        data = self.validated(ReasonInput, request.data)
        order_confirm(scope=self.scope, order_id=order_id, reason=data.get("reason", ""))
        return _detail(self, order_id)


class OrderCancelApi(TenantApi):
    """Booked or confirmed -> cancelled, with a reason (required)."""

    required_roles = WRITERS

    @extend_schema(request=RequiredReasonInput, responses=OrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors.order_visible(scope=self.scope, pk=order_id)
        data = self.validated(RequiredReasonInput, request.data)
        order_cancel(scope=self.scope, order_id=order_id, reason=data["reason"])
        return _detail(self, order_id)


class OrderReleaseHoldApi(TenantApi):
    """Release a booked order's credit hold, with a reason (required), so that it can be confirmed."""

    required_roles = WRITERS

    @extend_schema(request=RequiredReasonInput, responses=OrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors.order_visible(scope=self.scope, pk=order_id)
        data = self.validated(RequiredReasonInput, request.data)
        order_release_hold(scope=self.scope, order_id=order_id, reason=data["reason"])
        return _detail(self, order_id)


class BulkInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=MAX_BULK)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class BulkCancelInput(BulkInput):
    reason = serializers.CharField(max_length=300)


class OrderBulkConfirmApi(TenantApi):
    """Confirm many orders: a result per order (by id); one refused order (on hold, wrong state, not found)
    never blocks the others."""

    required_roles = WRITERS

    @extend_schema(request=BulkInput, responses=BulkOutput)
    def post(self, request: Request) -> Response:
        data: dict[str, Any] = self.validated(BulkInput, request.data)
        return _bulk(order_confirm_many(scope=self.scope, order_ids=data["ids"], reason=data.get("reason", "")))


class OrderBulkCancelApi(TenantApi):
    """Cancel many orders with one reason: a result per order (by id)."""

    required_roles = WRITERS

    @extend_schema(request=BulkCancelInput, responses=BulkOutput)
    def post(self, request: Request) -> Response:
        data: dict[str, Any] = self.validated(BulkCancelInput, request.data)
        return _bulk(order_cancel_many(scope=self.scope, order_ids=data["ids"], reason=data["reason"]))
