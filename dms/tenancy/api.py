"""TenantApi: the base of every tenant API view. Authenticates, builds the Scope once from the principal,
checks the role, and runs the view inside tenant_scope (one transaction, RLS settings)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import ExitStack
from typing import Any, ClassVar

from django.http import Http404
from rest_framework import exceptions, renderers, serializers
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dms.core.api import PdfRenderer, validated

from .authentication import ApiKeyAuthentication, DeviceTokenAuthentication
from .context import tenant_scope
from .enums import Role
from .models import ApiKey, Device
from .principals import scope_for_user
from .scope import Scope

STAFF_ROLES = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.MANUFACTURER_SYSTEM,
                         Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
# ApiKeyAuthentication first: its WWW-Authenticate header makes an unauthenticated call a 401, not a 403.
WEB_AND_KEY_AUTH: list[type[BaseAuthentication]] = [ApiKeyAuthentication, SessionAuthentication]
DEVICE_AUTH: list[type[BaseAuthentication]] = [DeviceTokenAuthentication]


class TenantApi(APIView):
    """Subclasses set `required_roles`; read-only analysts are refused writes by `write_roles`."""

    authentication_classes: list[type[BaseAuthentication]] = WEB_AND_KEY_AUTH
    required_roles: ClassVar[frozenset[str]] = STAFF_ROLES
    scope: Scope
    _stack: ExitStack | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme

        self.perform_authentication(request)
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        self.scope = self._scope_from_principal(request)
        if self.scope.role not in self.required_roles:
            raise exceptions.PermissionDenied("Your role may not use this endpoint.")
        self._stack = ExitStack()
        self._stack.enter_context(tenant_scope(self.scope))
        self.check_permissions(request)
        self.check_throttles(request)

    def _scope_from_principal(self, request: Request) -> Scope:
        auth = request.auth
        if isinstance(auth, ApiKey):
            return Scope.for_api_key(auth)
        if isinstance(auth, Device):
            return Scope.for_device(auth)
        scope = scope_for_user(request.user, request.session, request.headers.get("X-Tenant"))
        if scope is None:
            raise exceptions.PermissionDenied("You have no active membership in a tenant.")
        return scope

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        stack = getattr(self, "_stack", None)
        if stack is not None:
            self._stack = None
            if response.status_code >= 400:
                from django.db import transaction

                transaction.set_rollback(True)
            stack.close()
        return super().finalize_response(request, response, *args, **kwargs)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            stack = getattr(self, "_stack", None)
            if stack is not None:  # an exception escaped the handler: roll back
                self._stack = None
                stack.__exit__(RuntimeError, RuntimeError("request failed"), None)

    def require_role(self, roles: Collection[str], what: str) -> None:
        """403 unless the caller's role is one of `roles`: for a method stricter than the view's required_roles."""
        if self.scope.role not in roles:
            raise exceptions.PermissionDenied(f"Your role may not {what}.")

    def validated(self, serializer_class: type[serializers.Serializer], data: Any, **kw: Any) -> dict:
        return validated(serializer_class, data, **kw)

    def paginate(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        from dms.core.api import PageNumberPagination

        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)


class PdfApi(TenantApi):
    """A GET answered with a PDF, drawn after the request's transaction has ended (DRF renders the response after
    the view returns); errors keep the JSON error shape."""

    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = renderers.JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def pdf_response(self, request: Request, draw: Callable[[], bytes], *, filename: str) -> Response:
        """`draw` makes the bytes (functools.partial(pdf.render, document)); `filename` is without ".pdf"."""
        request.accepted_renderer, request.accepted_media_type = PdfRenderer(), PdfRenderer.media_type
        return Response(draw, headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'})


class DeviceApi(TenantApi):
    """Base of the order-booker app's endpoints: device tokens only."""

    authentication_classes = DEVICE_AUTH
    required_roles = frozenset({Role.ORDER_BOOKER})


def get_or_404(queryset: Any, **lookup: Any) -> Any:
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj
