"""Order-booker app sign-in, token refresh and sign-out.

Sign-in and refresh are the mobile API's only unauthenticated routes: they take credentials in the body, not a
principal, so they are plain APIViews; mobile.auth enters the tenant's scope once the credentials name it.
Every refusal is a 401 in the standard error shape, with a code the app can act on.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from dms.core.api import validated
from dms.tenancy.api import DeviceApi
from dms.tenancy.models import Device

from .auth import AuthError, AuthRefused, device_sign_in, device_sign_out, device_token_refresh
from .serializers import DeviceTokensOutput

REFUSED = OpenApiResponse(description='`{"error": {"code", "message", "fields"}}`; codes: '
                                      + ", ".join(f"`{e.value}`" for e in AuthError))


class SignInAddressThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address. Generous: a distributor's bookers may share one address.

    The address is DRF's (REMOTE_ADDR, or X-Forwarded-For trimmed by the NUM_PROXIES setting)."""

    scope = "mobile-sign-in"
    rate = "30/min"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInUsernameThrottle(SimpleRateThrottle):
    """Sign-in attempts per username, from any address: slows password guessing against one account."""

    scope = "mobile-sign-in-user"
    rate = "5/min"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        data = request.data if isinstance(request.data, Mapping) else {}
        username = str(data.get("username", "")).strip().lower()[:150]
        if not username:
            return None  # refused by validation anyway
        return self.cache_format % {"scope": self.scope, "ident": username}


class _CredentialsApi(APIView):
    """No authentication: the body carries the credentials. A refusal is a 401 with a Bearer challenge."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="dms-mobile"'


@contextmanager
def _refusals_as_401() -> Iterator[None]:
    try:
        yield
    except AuthRefused as exc:
        raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc


class SignInInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, style={"input_type": "password"})
    device_identifier = serializers.CharField(max_length=100, help_text="the app's install id, as registered")


class SignInApi(_CredentialsApi):
    """Sign an order-booker in on a device registered for them by the distributor. Starts a new session: the
    device's earlier refresh tokens stop working. Throttled per address and per username (429)."""

    throttle_classes = [SignInAddressThrottle, SignInUsernameThrottle]
    InputSerializer = SignInInput

    @extend_schema(auth=[], request=InputSerializer, responses={200: DeviceTokensOutput, 401: REFUSED})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        with _refusals_as_401():
            tokens = device_sign_in(**data)
        return Response(DeviceTokensOutput(tokens).data)


class RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class RefreshApi(_CredentialsApi):
    """Exchange a refresh token for a new access and refresh token. The presented one is used up: presenting
    it again revokes the session (`refresh_token_reused`), so keep only the newest. A revoked device, a
    disabled account or an ended session is refused too."""

    throttle_classes: list[Any] = []  # a refresh token is unguessable; a warehouse's bookers share addresses
    InputSerializer = RefreshInput

    @extend_schema(auth=[], request=InputSerializer, responses={200: DeviceTokensOutput, 401: REFUSED})
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        with _refusals_as_401():
            tokens = device_token_refresh(refresh=data["refresh"])
        return Response(DeviceTokensOutput(tokens).data)


class SignOutApi(DeviceApi):
    """End the device's session: its refresh tokens stop working at once; the access token in hand runs out
    within its 15 minutes. Idempotent."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        device: Device = request.auth  # type: ignore[assignment]  # DeviceApi authenticates devices only
        device_sign_out(scope=self.scope, device_id=device.pk)
        return Response(status=204)
