"""The primary-order APIs.

/api/v1/orders/primary/: the distributor's side. Distributor admins and staff draft, edit, submit and cancel
their distributor's orders; manufacturer admins and analysts read every distributor's.
/api/v1/manufacturer/primary-orders/: the manufacturer's side, for its API keys (role manufacturer_system) and
admins: the queue of submitted orders (cursor pagination by submission time) and the line-by-line decision.

Another tenant's or distributor's order is a 404; views that take an order look it up before they read the body,
so a stranger learns nothing from a validation error either. Money is a string, never a float.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import TenantApi
from dms.tenancy.enums import Role

from . import selectors, selectors_primary
from .enums import PrimaryOrderStatus
from .serializers_primary import PrimaryOrderDetailOutput, PrimaryOrderOutput
from .services import (
    LineDecision,
    PrimaryLine,
    primary_order_cancel,
    primary_order_create,
    primary_order_decide,
    primary_order_submit,
    primary_order_update_lines,
)

DISTRIBUTOR_WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
DISTRIBUTOR_READERS = DISTRIBUTOR_WRITERS | {Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST}
MANUFACTURER = frozenset({Role.MANUFACTURER_SYSTEM, Role.MANUFACTURER_ADMIN})


def _detail(api: TenantApi, order_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(PrimaryOrderDetailOutput(selectors_primary.primary_order_get(scope=api.scope, pk=order_id)).data,
                    status=code)


class PrimaryLineInput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    cases = serializers.IntegerField(min_value=1)


# --- the distributor's side -----------------------------------------------------------------------------------

class PrimaryOrderCreateInput(serializers.Serializer):
    distributor_id = serializers.IntegerField(required=False)
    lines = PrimaryLineInput(many=True, allow_empty=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    requested_delivery_date = serializers.DateField(required=False, allow_null=True, default=None)


class PrimaryOrderListApi(TenantApi):
    """GET: primary orders the caller may see, newest first (page pagination). POST: a new draft for the caller's
    distributor (a distributor user's own; `distributor_id` is needed only by a user of several)."""

    required_roles = DISTRIBUTOR_READERS

    class FilterSerializer(serializers.Serializer):
        status = serializers.MultipleChoiceField(choices=PrimaryOrderStatus.choices, required=False)
        distributor = serializers.IntegerField(required=False)

    @extend_schema(parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=PrimaryOrderStatus.values,
                         description="one or more statuses (repeat the parameter)"),
        OpenApiParameter("distributor", OpenApiTypes.INT),
        OpenApiParameter("page", OpenApiTypes.INT),
        OpenApiParameter("page_size", OpenApiTypes.INT),
    ], responses=PrimaryOrderOutput(many=True))
    def get(self, request: Request) -> Response:
        params = {"status": request.query_params.getlist("status"), **{
            k: v for k, v in request.query_params.items() if k == "distributor"}}
        if not params["status"]:
            del params["status"]
        data = self.validated(self.FilterSerializer, params)
        qs = selectors_primary.primary_order_list(scope=self.scope)
        if data.get("status"):
            qs = qs.filter(status__in=sorted(data["status"]))
        if data.get("distributor") is not None:
            qs = qs.filter(distributor_id=data["distributor"])
        return self.paginate(qs, PrimaryOrderOutput)

    @extend_schema(request=PrimaryOrderCreateInput, responses={201: PrimaryOrderDetailOutput})
    def post(self, request: Request) -> Response:
        if self.scope.role not in DISTRIBUTOR_WRITERS:
            raise exceptions.PermissionDenied("Your role may not place primary orders.")
        data = self.validated(PrimaryOrderCreateInput, request.data)
        order = primary_order_create(scope=self.scope, distributor_id=data.get("distributor_id"),
                                     lines=[PrimaryLine(**line) for line in data["lines"]], note=data["note"],
                                     requested_delivery_date=data["requested_delivery_date"])
        return _detail(self, order.pk, status.HTTP_201_CREATED)


class PrimaryOrderEditInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="the version you edited; a newer one is a 409")
    lines = PrimaryLineInput(many=True, required=False, allow_empty=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)
    requested_delivery_date = serializers.DateField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class PrimaryOrderDetailApi(TenantApi):
    """GET: a primary order with its lines and events. PATCH: a draft's lines (all replaced), note or requested
    delivery date; `version` must be the order's current version (409 otherwise)."""

    required_roles = DISTRIBUTOR_READERS

    @extend_schema(responses=PrimaryOrderDetailOutput)
    def get(self, request: Request, order_id: int) -> Response:
        return _detail(self, order_id)

    @extend_schema(request=PrimaryOrderEditInput, responses=PrimaryOrderDetailOutput)
    def patch(self, request: Request, order_id: int) -> Response:
        selectors_primary.primary_order_visible(scope=self.scope, pk=order_id)
        if self.scope.role not in DISTRIBUTOR_WRITERS:
            raise exceptions.PermissionDenied("Your role may not change primary orders.")
        data = self.validated(PrimaryOrderEditInput, request.data)
        lines = data.get("lines")
        primary_order_update_lines(scope=self.scope, order_id=order_id, version=data["version"],
                                   lines=None if lines is None else [PrimaryLine(**line) for line in lines],
                                   note=data.get("note"), requested_delivery_date=data.get("requested_delivery_date"),
                                   reason=data["reason"])
        return _detail(self, order_id)


class PrimaryOrderSubmitInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class PrimaryOrderSubmitApi(TenantApi):
    """Draft -> submitted: the order goes to the manufacturer. Submitting a submitted order changes nothing."""

    required_roles = DISTRIBUTOR_WRITERS

    @extend_schema(request=PrimaryOrderSubmitInput, responses=PrimaryOrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors_primary.primary_order_visible(scope=self.scope, pk=order_id)
        data = self.validated(PrimaryOrderSubmitInput, request.data)
        primary_order_submit(scope=self.scope, order_id=order_id, reason=data["reason"])
        return _detail(self, order_id)


class PrimaryOrderCancelInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class PrimaryOrderCancelApi(TenantApi):
    """Draft or submitted -> cancelled, with a reason (required)."""

    required_roles = DISTRIBUTOR_WRITERS

    @extend_schema(request=PrimaryOrderCancelInput, responses=PrimaryOrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors_primary.primary_order_visible(scope=self.scope, pk=order_id)
        data = self.validated(PrimaryOrderCancelInput, request.data)
        primary_order_cancel(scope=self.scope, order_id=order_id, reason=data["reason"])
        return _detail(self, order_id)


# --- the manufacturer's side ------------------------------------------------------------------------------------

class SubmittedCursorPagination(pagination.CursorPagination):
    ordering = ("submitted_at", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ManufacturerPrimaryOrderListApi(TenantApi):
    """Submitted primary orders of every distributor, oldest submission first, with cursor pagination (follow
    `next`): an order decided or added while you page is never skipped or repeated."""

    required_roles = MANUFACTURER

    class FilterSerializer(serializers.Serializer):
        status = serializers.MultipleChoiceField(choices=PrimaryOrderStatus.choices, required=False)
        distributor = serializers.IntegerField(required=False)
        submitted_from = serializers.DateField(required=False, help_text="on or after (tenant-local date)")
        submitted_to = serializers.DateField(required=False, help_text="on or before (tenant-local date)")

    @extend_schema(parameters=[
        OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=PrimaryOrderStatus.values,
                         description="one or more statuses (repeat the parameter)"),
        OpenApiParameter("distributor", OpenApiTypes.INT),
        OpenApiParameter("submitted_from", OpenApiTypes.DATE, description="submitted on or after (tenant-local)"),
        OpenApiParameter("submitted_to", OpenApiTypes.DATE, description="submitted on or before (tenant-local)"),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="from the previous page's `next` or `previous`"),
        OpenApiParameter("page_size", OpenApiTypes.INT),
    ], responses=PrimaryOrderOutput(many=True))
    def get(self, request: Request) -> Response:
        params: dict[str, Any] = {k: v for k, v in request.query_params.items()
                                  if k in {"distributor", "submitted_from", "submitted_to"}}
        if request.query_params.getlist("status"):
            params["status"] = request.query_params.getlist("status")
        data = self.validated(self.FilterSerializer, params)
        tz = selectors.tenant_zone(scope=self.scope)

        def start_of(day: Any) -> datetime:
            return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)

        qs = selectors_primary.primary_order_list_submitted(
            scope=self.scope, statuses=sorted(data.get("status") or []), distributor_id=data.get("distributor"),
            submitted_from=start_of(data["submitted_from"]) if "submitted_from" in data else None,
            submitted_before=start_of(data["submitted_to"] + timedelta(days=1)) if "submitted_to" in data else None)
        paginator = SubmittedCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(PrimaryOrderOutput(page, many=True).data)


class ManufacturerPrimaryOrderDetailApi(TenantApi):
    """A submitted (or later) primary order with its lines and events; a draft is not found."""

    required_roles = MANUFACTURER

    @extend_schema(responses=PrimaryOrderDetailOutput)
    def get(self, request: Request, order_id: int) -> Response:
        order = selectors_primary.primary_order_get_submitted(scope=self.scope, pk=order_id)
        return Response(PrimaryOrderDetailOutput(order).data)


class PrimaryLineDecisionInput(serializers.Serializer):
    sku_id = serializers.IntegerField(required=False, help_text="the line's SKU (or give line_no)")
    line_no = serializers.IntegerField(required=False, min_value=1, help_text="the line's number (or give sku_id)")
    approved_cases = serializers.IntegerField(min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class PrimaryOrderDecisionInput(serializers.Serializer):
    decisions = PrimaryLineDecisionInput(many=True, allow_empty=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ManufacturerPrimaryOrderDecisionApi(TenantApi):
    """Decide every line of a submitted order at once: all approved in full -> approved, all 0 -> rejected, else
    partially_approved. A decision above the ordered cases names `decisions[i].approved_cases`; nothing changes
    unless every decision is valid. A decided order is a 409."""

    required_roles = MANUFACTURER

    @extend_schema(request=PrimaryOrderDecisionInput, responses=PrimaryOrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        selectors_primary.primary_order_get_submitted(scope=self.scope, pk=order_id)
        data = self.validated(PrimaryOrderDecisionInput, request.data)
        primary_order_decide(scope=self.scope, order_id=order_id, reason=data["reason"],
                             decisions=[LineDecision(**d) for d in data["decisions"]])
        return _detail(self, order_id)
