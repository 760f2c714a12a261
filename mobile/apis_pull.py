"""The order-booker app's delta pull (device tokens only): see mobile.pull for the protocol."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import DeviceApi
from dms.tenancy.models import Device

from .pull import DEFAULT_LIMIT, ENTITY_NAMES, MAX_LIMIT, pull_page

ENTITY_CHANGES = inline_serializer("PullEntityChanges", {
    "upserted": serializers.ListField(child=serializers.DictField()),
    "deleted": serializers.ListField(child=serializers.IntegerField())})
PULL_RESPONSE = inline_serializer("PullResponse", {
    "changes": inline_serializer("PullChanges", {name: ENTITY_CHANGES for name in ENTITY_NAMES}),
    "next_cursor": serializers.CharField(), "has_more": serializers.BooleanField(),
    "full": serializers.BooleanField()})


class PullApi(DeviceApi):
    class FilterSerializer(serializers.Serializer):
        cursor = serializers.CharField(required=False, allow_blank=True, max_length=4096, trim_whitespace=True)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, description="next_cursor of the previous page; none for a full pull"),
            OpenApiParameter("limit", int, description=f"objects per page (default {DEFAULT_LIMIT}, "
                                                       f"at most {MAX_LIMIT})")],
        responses={200: PULL_RESPONSE},
        description=(
            "Everything the app needs offline (outlets, SKUs, brands, tax rates, prices, schemes, journeys of the "
            "next days with their visits, notifications, the booker's recent orders, the reasons list) as pages of "
            "changes since a cursor. Without a cursor: a full pull (`full: true`; start from an empty copy). Apply "
            "each page's `upserted` (by id) and `deleted` (ids: deleted or no longer yours), keep `next_cursor`, "
            "and ask again while `has_more`. A cursor of another device, or altered: 400 (field `cursor`). 410 "
            "`cursor_expired`: the changes since it are no longer kept; pull everything again without a cursor."))
    def get(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]  # DeviceApi authenticates devices only
        params = self.validated(self.FilterSerializer, request.query_params)
        result = pull_page(scope=self.scope, device=device, cursor=params.get("cursor") or None,
                           limit=params["limit"])
        return Response(result.as_json())
