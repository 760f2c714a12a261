"""The dispatch APIs: dispatch advices (DA) and goods receipts (GRN) of primary orders.

/api/v1/manufacturer/: the manufacturer's systems (API keys, role manufacturer_system) and admins issue a DA against
an approved order (201; 200 when the same reference and content come again) and read DAs and GRNs (analysts read
too), with cursor pagination (follow `next`: nothing added while you page is skipped or repeated).
/api/v1/dispatch/: the distributor's side. Its admins and staff read their DAs (the document: per line ordered,
approved and dispatched), record the GRN against one and close a received order once a shortage or damage is
settled; the manufacturer's admin may do the same for any distributor, its analysts read.

Another tenant's or distributor's DA, GRN or order is a 404; views that take one look it up before they read the
body, so a stranger learns nothing from a validation error either. Money is a string, never a float.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import pagination, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.core.api import PAGE_PARAMETERS
from dms.tenancy.api import TenantApi
from dms.tenancy.enums import Role
from orders.selectors_primary import primary_order_get, primary_order_visible
from orders.serializers_primary import PrimaryOrderDetailOutput
from orders.services import primary_order_close

from . import selectors
from .enums import AdviceStatus
from .serializers import (
    DispatchAdviceDetailOutput,
    DispatchAdviceOutput,
    GoodsReceiptDetailOutput,
    GoodsReceiptOutput,
)
from .services import AdviceLineInput, BatchInput, ReceiptLineInput, advice_issue, receipt_record

MANUFACTURER_WRITERS = frozenset({Role.MANUFACTURER_SYSTEM, Role.MANUFACTURER_ADMIN})
MANUFACTURER_READERS = MANUFACTURER_WRITERS | {Role.MANUFACTURER_ANALYST}
DISTRIBUTOR_WRITERS = frozenset({Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ADMIN})
DISTRIBUTOR_READERS = DISTRIBUTOR_WRITERS | {Role.MANUFACTURER_ANALYST}
CLOSERS = DISTRIBUTOR_WRITERS | {Role.MANUFACTURER_SYSTEM}


class NewestFirstCursorPagination(pagination.CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _advice(api: TenantApi, advice_id: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(DispatchAdviceDetailOutput(selectors.advice_get(scope=api.scope, pk=advice_id)).data,
                    status=code)


def _params(request: Request, names: set[str]) -> dict[str, Any]:
    params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k in names}
    if request.query_params.getlist("status"):
        params["status"] = request.query_params.getlist("status")
    return params


class AdviceFilter(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=AdviceStatus.choices, required=False)
    distributor = serializers.IntegerField(required=False)
    order = serializers.IntegerField(required=False)
    dispatched_from = serializers.DateField(required=False, help_text="dispatched on or after")
    dispatched_to = serializers.DateField(required=False, help_text="dispatched on or before")


class ReceiptFilter(serializers.Serializer):
    distributor = serializers.IntegerField(required=False)
    advice = serializers.IntegerField(required=False)
    received_from = serializers.DateField(required=False, help_text="received on or after")
    received_to = serializers.DateField(required=False, help_text="received on or before")


ADVICE_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, many=True, enum=AdviceStatus.values,
                     description="one or more statuses (repeat the parameter)"),
    OpenApiParameter("distributor", OpenApiTypes.INT),
    OpenApiParameter("order", OpenApiTypes.INT, description="the primary order"),
    OpenApiParameter("dispatched_from", OpenApiTypes.DATE, description="dispatched on or after"),
    OpenApiParameter("dispatched_to", OpenApiTypes.DATE, description="dispatched on or before"),
]
RECEIPT_PARAMETERS = [
    OpenApiParameter("distributor", OpenApiTypes.INT),
    OpenApiParameter("advice", OpenApiTypes.INT, description="the dispatch advice"),
    OpenApiParameter("received_from", OpenApiTypes.DATE, description="received on or after"),
    OpenApiParameter("received_to", OpenApiTypes.DATE, description="received on or before"),
]
CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="from the previous page's `next` or `previous`"),
    OpenApiParameter("page_size", OpenApiTypes.INT),
]


def _advices(api: TenantApi, request: Request) -> Any:
    data = api.validated(AdviceFilter, _params(request, {"distributor", "order", "dispatched_from",
                                                         "dispatched_to"}))
    return selectors.advice_list(scope=api.scope, statuses=sorted(data.get("status") or []),
                                 distributor_id=data.get("distributor"), order_id=data.get("order"),
                                 dispatched_from=data.get("dispatched_from"), dispatched_to=data.get("dispatched_to"))


def _receipts(api: TenantApi, request: Request) -> Any:
    data = api.validated(ReceiptFilter, _params(request, {"distributor", "advice", "received_from", "received_to"}))
    return selectors.receipt_list(scope=api.scope, distributor_id=data.get("distributor"),
                                  advice_id=data.get("advice"), received_from=data.get("received_from"),
                                  received_to=data.get("received_to"))


def _cursor_page(api: TenantApi, request: Request, qs: Any, serializer: type[serializers.Serializer]) -> Response:
    paginator = NewestFirstCursorPagination()
    page = paginator.paginate_queryset(qs, request, view=api)
    return paginator.get_paginated_response(serializer(page, many=True).data)


# --- the manufacturer's side ------------------------------------------------------------------------------------

class DispatchBatchInput(serializers.Serializer):
    batch = serializers.CharField(required=False, allow_blank=True, max_length=60, default="",
                                  help_text="the manufacturing batch code; empty for goods without one")
    expiry = serializers.DateField(required=False, allow_null=True, default=None)
    manufactured_on = serializers.DateField(required=False, allow_null=True, default=None)
    cases = serializers.IntegerField(min_value=1)


class DispatchAdviceLineInput(serializers.Serializer):
    sku_id = serializers.IntegerField(required=False, help_text="the order line's SKU (or give line_no)")
    line_no = serializers.IntegerField(required=False, min_value=1, help_text="the order line (or give sku_id)")
    dispatched_cases = serializers.IntegerField(required=False, min_value=0,
                                                help_text="the cases dispatched, when no batches are given")
    batches = DispatchBatchInput(many=True, required=False, help_text="the cases dispatched, batch by batch")


class DispatchAdviceIssueInput(serializers.Serializer):
    reference = serializers.CharField(max_length=60, help_text="your document number: sending it again with the "
                                      "same content returns the same dispatch advice")
    dispatched_on = serializers.DateField()
    expected_on = serializers.DateField(required=False, allow_null=True, default=None)
    vehicle = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")
    transporter = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    lines = DispatchAdviceLineInput(many=True, allow_empty=False,
                                    help_text="the order lines dispatched; lines not given dispatch nothing")


class ManufacturerDispatchAdviceIssueApi(TenantApi):
    """Issue the dispatch advice of an approved (or partially approved) order: each line 0..approved cases, in
    batches or as a plain count; the order becomes `dispatched`. 201 with the DA; 200 with the same DA when the
    same reference comes again with the same content; 409 when the reference names other content or another
    order, or the order has its DA already; 400 naming the field (`lines[2].batches[0].expiry`)."""

    required_roles = MANUFACTURER_WRITERS

    @extend_schema(request=DispatchAdviceIssueInput,
                   responses={201: DispatchAdviceDetailOutput, 200: DispatchAdviceDetailOutput})
    def post(self, request: Request, order_id: int) -> Response:
        selectors.primary_order_for_dispatch(scope=self.scope, pk=order_id)
        data = self.validated(DispatchAdviceIssueInput, request.data)
        lines = [AdviceLineInput(sku_id=line.get("sku_id"), line_no=line.get("line_no"),
                                 dispatched_cases=line.get("dispatched_cases"),
                                 batches=[BatchInput(**b) for b in line.get("batches") or []])
                 for line in data.pop("lines")]
        result = advice_issue(scope=self.scope, order_id=order_id, lines=lines, **data)
        return _advice(self, result.advice.pk, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ManufacturerDispatchAdviceListApi(TenantApi):
    """Dispatch advices of every distributor, newest first, with cursor pagination."""

    required_roles = MANUFACTURER_READERS

    @extend_schema(parameters=[*ADVICE_PARAMETERS, *CURSOR_PARAMETERS], responses=DispatchAdviceOutput(many=True))
    def get(self, request: Request) -> Response:
        return _cursor_page(self, request, _advices(self, request), DispatchAdviceOutput)


class ManufacturerDispatchAdviceDetailApi(TenantApi):
    """A dispatch advice with its lines and batches and, once received, what arrived per line and batch."""

    required_roles = MANUFACTURER_READERS

    @extend_schema(responses=DispatchAdviceDetailOutput)
    def get(self, request: Request, advice_id: int) -> Response:
        return _advice(self, advice_id)


class ManufacturerGoodsReceiptListApi(TenantApi):
    """Goods receipts of every distributor, newest first, with cursor pagination."""

    required_roles = MANUFACTURER_READERS

    @extend_schema(parameters=[*RECEIPT_PARAMETERS, *CURSOR_PARAMETERS], responses=GoodsReceiptOutput(many=True))
    def get(self, request: Request) -> Response:
        return _cursor_page(self, request, _receipts(self, request), GoodsReceiptOutput)


class ManufacturerGoodsReceiptDetailApi(TenantApi):
    required_roles = MANUFACTURER_READERS

    @extend_schema(responses=GoodsReceiptDetailOutput)
    def get(self, request: Request, receipt_id: int) -> Response:
        return Response(GoodsReceiptDetailOutput(selectors.receipt_get(scope=self.scope, pk=receipt_id)).data)


# --- the distributor's side -----------------------------------------------------------------------------------

class DispatchAdviceListApi(TenantApi):
    """The caller's dispatch advices (a distributor user's own), newest first (page pagination)."""

    required_roles = DISTRIBUTOR_READERS

    @extend_schema(parameters=[*ADVICE_PARAMETERS, *PAGE_PARAMETERS], responses=DispatchAdviceOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(_advices(self, request), DispatchAdviceOutput)


class DispatchAdviceDetailApi(TenantApi):
    """The DA document: per line the cases ordered, approved and dispatched, the batches and the totals; once
    received, what arrived per line and batch and the GRN's id and number."""

    required_roles = DISTRIBUTOR_READERS

    @extend_schema(responses=DispatchAdviceDetailOutput)
    def get(self, request: Request, advice_id: int) -> Response:
        return _advice(self, advice_id)


class GoodsReceiptLineInput(serializers.Serializer):
    batch_id = serializers.IntegerField(required=False, help_text="the dispatch batch (or give line_no and batch)")
    line_no = serializers.IntegerField(required=False, min_value=1, help_text="the DA line (or give batch_id)")
    batch = serializers.CharField(required=False, allow_blank=True, max_length=60,
                                  help_text="with line_no: the batch code, unless the line came in one batch")
    received_cases = serializers.IntegerField(min_value=0, help_text="in good condition: these go into stock")
    short_cases = serializers.IntegerField(required=False, min_value=0, default=0)
    damaged_cases = serializers.IntegerField(required=False, min_value=0, default=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class GoodsReceiptRecordInput(serializers.Serializer):
    lines = GoodsReceiptLineInput(many=True, allow_empty=False,
                                  help_text="every batch of the DA once: received + short + damaged = dispatched")
    warehouse_id = serializers.IntegerField(required=False, allow_null=True, default=None,
                                            help_text="where the goods go; the default warehouse when omitted")
    received_on = serializers.DateField(required=False, allow_null=True, default=None,
                                        help_text="today (tenant-local) when omitted")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class DispatchAdviceReceiptApi(TenantApi):
    """Record the goods receipt (GRN) of a DA in transit: per batch the cases received in good condition, short and
    damaged. The good cases go into stock; the order becomes `received`, and `closed` when nothing was short or
    damaged. A DA has one GRN: recording another is a 409, so a retry never receives twice."""

    required_roles = DISTRIBUTOR_WRITERS

    @extend_schema(request=GoodsReceiptRecordInput, responses={201: GoodsReceiptDetailOutput})
    def post(self, request: Request, advice_id: int) -> Response:
        selectors.advice_visible(scope=self.scope, pk=advice_id)
        data = self.validated(GoodsReceiptRecordInput, request.data)
        lines = [ReceiptLineInput(**line) for line in data.pop("lines")]
        receipt = receipt_record(scope=self.scope, advice_id=advice_id, lines=lines, **data)
        return Response(GoodsReceiptDetailOutput(selectors.receipt_get(scope=self.scope, pk=receipt.pk)).data,
                        status=status.HTTP_201_CREATED)


class GoodsReceiptListApi(TenantApi):
    """The caller's goods receipts, newest first (page pagination)."""

    required_roles = DISTRIBUTOR_READERS

    @extend_schema(parameters=[*RECEIPT_PARAMETERS, *PAGE_PARAMETERS], responses=GoodsReceiptOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(_receipts(self, request), GoodsReceiptOutput)


class GoodsReceiptDetailApi(TenantApi):
    required_roles = DISTRIBUTOR_READERS

    @extend_schema(responses=GoodsReceiptDetailOutput)
    def get(self, request: Request, receipt_id: int) -> Response:
        return Response(GoodsReceiptDetailOutput(selectors.receipt_get(scope=self.scope, pk=receipt_id)).data)


class PrimaryOrderCloseInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="how the shortage or damage was settled")


class PrimaryOrderCloseApi(TenantApi):
    """Received -> closed, once a shortage or damage is settled, with the reason. Closing a closed order changes
    nothing; an order not yet received is a 409."""

    required_roles = CLOSERS

    @extend_schema(request=PrimaryOrderCloseInput, responses=PrimaryOrderDetailOutput)
    def post(self, request: Request, order_id: int) -> Response:
        primary_order_visible(scope=self.scope, pk=order_id)
        data = self.validated(PrimaryOrderCloseInput, request.data)
        primary_order_close(scope=self.scope, order_id=order_id, reason=data["reason"])
        return Response(PrimaryOrderDetailOutput(primary_order_get(scope=self.scope, pk=order_id)).data)
