"""The webhook APIs, under /api/v1/manufacturer/webhooks/, for the manufacturer's API keys (role
manufacturer_system) and admins; every other role gets 403, another tenant's endpoint or delivery 404.

endpoints/                      GET list (page pagination), POST register (the answer carries the secret, once)
endpoints/<id>/                 GET, PATCH (url, description, event_types, active), DELETE
endpoints/<id>/rotate-secret/   POST: a new secret, shown once
endpoints/<id>/test/            POST: a `webhook.test` event to this endpoint only
deliveries/                     GET, newest first, cursor pagination; filters endpoint, status, event_type
deliveries/<id>/                GET with the payload and the attempt log
deliveries/<id>/retry/          POST: a failed delivery is tried again
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import pagination, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dms.tenancy.api import TenantApi
from dms.tenancy.enums import Role

from . import selectors
from .enums import DeliveryStatus, EventType, subscribable_event_types
from .services import (
    body_of,
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)

MANUFACTURER = frozenset({Role.MANUFACTURER_SYSTEM, Role.MANUFACTURER_ADMIN})
EVENT_TYPES_HELP = "event types to receive; empty: every type"


# --- output ---------------------------------------------------------------------------------------------------

@extend_schema_field({"type": "string", "enum": DeliveryStatus.values}, component_name="WebhookDeliveryStatus")
class DeliveryStatusField(serializers.ChoiceField):
    """A schema component of its own: left to drf-spectacular, "status" would collide with other apps' statuses."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=DeliveryStatus.choices, **kwargs)


class EndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=subscribable_event_types()),
                                        help_text=EVENT_TYPES_HELP)
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    consecutive_failures = serializers.IntegerField(help_text="deliveries given up in a row; reset by a success")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointWithSecretOutput(EndpointOutput):
    secret = serializers.CharField(help_text='the signing secret, "whsec_<base64>"; shown only in this answer')


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    response_excerpt = serializers.CharField(help_text="the first 500 characters of the response body")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint_id = serializers.IntegerField()
    endpoint_url = serializers.CharField(source="endpoint.url")
    event_id = serializers.IntegerField()
    msg_id = serializers.CharField(source="event.msg_id", help_text="the webhook-id header of every try")
    event_type = serializers.ChoiceField(source="event.event_type", choices=EventType.choices)
    status = DeliveryStatusField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(help_text="when a pending delivery is tried next")
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliveryDetailOutput(DeliveryOutput):
    payload = serializers.JSONField(source="event.payload", help_text='the body sent: {"type", "timestamp", "data"}')
    body = serializers.SerializerMethodField(help_text="the exact body sent and signed")
    attempt_log = AttemptOutput(many=True)

    def get_body(self, delivery: Any) -> str:
        return body_of(delivery.event)


# --- endpoints ------------------------------------------------------------------------------------------------

class EndpointCreateInput(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    event_types = serializers.MultipleChoiceField(choices=subscribable_event_types(), required=False,
                                                  help_text=EVENT_TYPES_HELP)


class EndpointUpdateInput(serializers.Serializer):
    url = serializers.URLField(required=False, max_length=500)
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    event_types = serializers.MultipleChoiceField(choices=subscribable_event_types(), required=False,
                                                  help_text=EVENT_TYPES_HELP)
    active = serializers.BooleanField(required=False, help_text="true re-enables a disabled endpoint")


class WebhookEndpointListApi(TenantApi):
    """GET: the tenant's endpoints, newest first. POST: register one; the answer is the only time the secret is
    shown. A URL that is not https, or whose host resolves to a private, loopback or link-local address, is a 400
    naming `url`."""

    required_roles = MANUFACTURER

    @extend_schema(parameters=[OpenApiParameter("page", OpenApiTypes.INT),
                               OpenApiParameter("page_size", OpenApiTypes.INT)],
                   responses=EndpointOutput(many=True))
    def get(self, request: Request) -> Response:
        return self.paginate(selectors.endpoint_list(scope=self.scope), EndpointOutput)

    @extend_schema(request=EndpointCreateInput, responses={201: EndpointWithSecretOutput})
    def post(self, request: Request) -> Response:
        data = self.validated(EndpointCreateInput, request.data)
        endpoint = endpoint_create(scope=self.scope, url=data["url"], description=data["description"],
                                   event_types=data.get("event_types") or ())
        return Response(EndpointWithSecretOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(TenantApi):
    """GET an endpoint (never its secret), PATCH what is given, DELETE it with its deliveries and their log."""

    required_roles = MANUFACTURER

    @extend_schema(responses=EndpointOutput)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(EndpointOutput(selectors.endpoint_get(scope=self.scope, pk=endpoint_id)).data)

    @extend_schema(request=EndpointUpdateInput, responses=EndpointOutput)
    def patch(self, request: Request, endpoint_id: int) -> Response:
        selectors.endpoint_get(scope=self.scope, pk=endpoint_id)  # a stranger's id is a 404 before any 400
        data = self.validated(EndpointUpdateInput, request.data)
        endpoint = endpoint_update(scope=self.scope, endpoint_id=endpoint_id, url=data.get("url"),
                                   description=data.get("description"), event_types=data.get("event_types"),
                                   active=data.get("active"))
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        endpoint_delete(scope=self.scope, endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretApi(TenantApi):
    """A new signing secret, effective at once; the answer is the only time it is shown."""

    required_roles = MANUFACTURER

    @extend_schema(request=None, responses=EndpointWithSecretOutput)
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = endpoint_rotate_secret(scope=self.scope, endpoint_id=endpoint_id)
        return Response(EndpointWithSecretOutput(endpoint).data)


class WebhookEndpointTestApi(TenantApi):
    """Send a `webhook.test` event to this endpoint only; follow the returned delivery. 409 when inactive."""

    required_roles = MANUFACTURER

    @extend_schema(request=None, responses={202: DeliveryOutput})
    def post(self, request: Request, endpoint_id: int) -> Response:
        delivery = endpoint_send_test(scope=self.scope, endpoint_id=endpoint_id)
        return Response(DeliveryOutput(selectors.delivery_get(scope=self.scope, pk=delivery.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


# --- deliveries -----------------------------------------------------------------------------------------------

class DeliveryCursorPagination(pagination.CursorPagination):
    ordering = ("-id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class WebhookDeliveryListApi(TenantApi):
    """Deliveries, newest first, with cursor pagination (follow `next`)."""

    required_roles = MANUFACTURER

    class FilterSerializer(serializers.Serializer):
        endpoint = serializers.IntegerField(required=False)
        status = DeliveryStatusField(required=False)
        event_type = serializers.ChoiceField(choices=EventType.choices, required=False)

    @extend_schema(parameters=[
        OpenApiParameter("endpoint", OpenApiTypes.INT, description="an endpoint's id"),
        OpenApiParameter("status", OpenApiTypes.STR, enum=DeliveryStatus.values),
        OpenApiParameter("event_type", OpenApiTypes.STR, enum=EventType.values),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="from the previous page's `next` or `previous`"),
        OpenApiParameter("page_size", OpenApiTypes.INT),
    ], responses=DeliveryOutput(many=True))
    def get(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items() if k in {"endpoint", "status", "event_type"}}
        data = self.validated(self.FilterSerializer, params)
        qs = selectors.delivery_list(scope=self.scope, endpoint_id=data.get("endpoint"), status=data.get("status"),
                                     event_type=data.get("event_type"))
        paginator = DeliveryCursorPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(DeliveryOutput(page, many=True).data)


class WebhookDeliveryDetailApi(TenantApi):
    """A delivery with its payload, the exact body sent and its attempt log (oldest try first)."""

    required_roles = MANUFACTURER

    @extend_schema(responses=DeliveryDetailOutput)
    def get(self, request: Request, delivery_id: int) -> Response:
        return Response(DeliveryDetailOutput(selectors.delivery_get(scope=self.scope, pk=delivery_id)).data)


class WebhookDeliveryRetryApi(TenantApi):
    """Try a failed delivery again (now, in the background). A pending one is left as it is; a succeeded one, or
    one whose endpoint is inactive, is a 409."""

    required_roles = MANUFACTURER

    @extend_schema(request=None, responses={202: DeliveryDetailOutput})
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery_retry(scope=self.scope, delivery_id=delivery_id)
        return Response(DeliveryDetailOutput(selectors.delivery_get(scope=self.scope, pk=delivery_id)).data,
                        status=status.HTTP_202_ACCEPTED)
