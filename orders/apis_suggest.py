"""The suggested primary order over the API (distributor side, /api/v1/orders/primary/suggestion/).

GET: what the distributor should order now and why, per SKU (orders.services.suggest explains the numbers).
Distributor admins and staff read their own distributor's; manufacturer admins and analysts name the distributor.
POST draft/: a new draft from the suggestion (cases per SKU may be changed), 201 with the order and, under
`suggestion`, the suggestion behind it (also kept in the order's "suggested" event). Distributor admins and staff
only, like every other primary-order write.

Another tenant's or distributor's distributor is a 404. Quantities are integers, rates and money are strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import TenantApi
from inventory.models import SALES_WINDOW_DAYS

from . import selectors_primary
from .apis_primary import DISTRIBUTOR_READERS, DISTRIBUTOR_WRITERS
from .serializers_primary import PrimaryOrderDetailOutput
from .services import SuggestedLine, primary_order_create_suggested, primary_order_suggest
from .services.suggest import MAX_WINDOW_DAYS


class SuggestedLineOutput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    sku_code = serializers.CharField()
    sku_name = serializers.CharField()
    units_per_case = serializers.IntegerField()
    window_days = serializers.IntegerField()
    sold_units = serializers.IntegerField(help_text="units sold over the window (booked, not cancelled)")
    avg_daily_units = serializers.DecimalField(max_digits=18, decimal_places=3)
    avg_daily_cases = serializers.DecimalField(max_digits=18, decimal_places=3)
    cover_days = serializers.IntegerField()
    safety_cases = serializers.IntegerField()
    min_order_cases = serializers.IntegerField()
    has_norm = serializers.BooleanField(help_text="false: the defaults stand in for a stock norm")
    target_units = serializers.DecimalField(max_digits=18, decimal_places=3,
                                            help_text="average daily units x cover days + safety")
    on_hand_units = serializers.IntegerField()
    reserved_units = serializers.IntegerField()
    available_units = serializers.IntegerField(help_text="on hand less reserved: what covers the days ahead")
    in_transit_cases = serializers.IntegerField(help_text="dispatched, not yet received")
    on_order_cases = serializers.IntegerField(help_text="submitted or approved, not yet dispatched")
    needed_cases = serializers.IntegerField(help_text="what the numbers call for, priced or not")
    suggested_cases = serializers.IntegerField(help_text="needed_cases when the SKU has a primary price, else 0")
    orderable = serializers.BooleanField(help_text="false: no primary price on the day")
    case_price = serializers.DecimalField(max_digits=18, decimal_places=4, allow_null=True)
    suggested_value = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True)
    reason = serializers.CharField()


class SuggestionOutput(serializers.Serializer):
    distributor_id = serializers.IntegerField()
    window_days = serializers.IntegerField()
    lines = SuggestedLineOutput(many=True)
    total_cases = serializers.IntegerField()
    total_value = serializers.DecimalField(max_digits=18, decimal_places=2)


class SuggestedDraftOutput(PrimaryOrderDetailOutput):
    """The new draft, with the suggestion it was made from."""

    suggestion = serializers.SerializerMethodField()

    class Meta(PrimaryOrderDetailOutput.Meta):
        fields = [*PrimaryOrderDetailOutput.Meta.fields, "suggestion"]

    @extend_schema_field(SuggestedLineOutput(many=True))
    def get_suggestion(self, obj: Any) -> Any:
        return SuggestedLineOutput(self.context["suggestion"], many=True).data


def _suggestion_body(distributor_id: int, window_days: int, lines: list[SuggestedLine]) -> dict[str, Any]:
    return {"distributor_id": distributor_id, "window_days": window_days, "lines": lines,
            "total_cases": sum(line.suggested_cases for line in lines),
            "total_value": sum((line.suggested_value for line in lines if line.suggested_value is not None),
                               Decimal("0.00"))}


class PrimaryOrderSuggestionApi(TenantApi):
    """What to order now, SKU by SKU, with the numbers and a sentence saying why. `distributor_id` is needed only
    by a user who sees several distributors. A read: nothing is written."""

    required_roles = DISTRIBUTOR_READERS

    class FilterSerializer(serializers.Serializer):
        distributor_id = serializers.IntegerField(required=False)
        window_days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_WINDOW_DAYS,
                                               default=SALES_WINDOW_DAYS)

    @extend_schema(parameters=[
        OpenApiParameter("distributor_id", OpenApiTypes.INT, description="needed by a manufacturer user"),
        OpenApiParameter("window_days", OpenApiTypes.INT,
                         description=f"days of sales to average over (default {SALES_WINDOW_DAYS})"),
    ], responses=SuggestionOutput)
    def get(self, request: Request) -> Response:
        data = self.validated(self.FilterSerializer, request.query_params)
        distributor_id = data.get("distributor_id")
        lines = primary_order_suggest(scope=self.scope, distributor_id=distributor_id,
                                      window_days=data["window_days"])
        resolved = distributor_id if distributor_id is not None else self.scope.single_distributor_id
        assert resolved is not None  # the service refused otherwise
        return Response(SuggestionOutput(_suggestion_body(resolved, data["window_days"], lines)).data)


class SuggestedCasesInput(serializers.Serializer):
    sku_id = serializers.IntegerField()
    cases = serializers.IntegerField(min_value=0, help_text="0 leaves the SKU out")


class SuggestedDraftInput(serializers.Serializer):
    distributor_id = serializers.IntegerField(required=False)
    lines = SuggestedCasesInput(many=True, required=False, default=list,
                                help_text="changes to the suggested cases; SKUs not named keep the suggestion")
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    requested_delivery_date = serializers.DateField(required=False, allow_null=True, default=None)
    window_days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_WINDOW_DAYS,
                                           default=SALES_WINDOW_DAYS)

    def validate_lines(self, value: list[dict[str, int]]) -> list[dict[str, int]]:
        seen = [line["sku_id"] for line in value]
        if len(seen) != len(set(seen)):
            raise serializers.ValidationError("Name each SKU once.")
        return value


class PrimaryOrderSuggestionDraftApi(TenantApi):
    """A new draft from the suggestion (201): the suggested cases, changed where `lines` says so. Nothing to order
    is a 400 on `lines`."""

    required_roles = DISTRIBUTOR_WRITERS

    @extend_schema(request=SuggestedDraftInput, responses={201: SuggestedDraftOutput})
    def post(self, request: Request) -> Response:
        data = self.validated(SuggestedDraftInput, request.data)
        draft = primary_order_create_suggested(
            scope=self.scope, distributor_id=data.get("distributor_id"), note=data["note"],
            requested_delivery_date=data["requested_delivery_date"], window_days=data["window_days"],
            cases={line["sku_id"]: line["cases"] for line in data["lines"]})
        order = selectors_primary.primary_order_get(scope=self.scope, pk=draft.order.pk)
        body = SuggestedDraftOutput(order, context={"suggestion": draft.suggestion}).data
        return Response(body, status=status.HTTP_201_CREATED)
