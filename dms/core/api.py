"""API plumbing with no domain: the one error shape, pagination, input validation helper, named enum fields, the PDF
renderer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import exceptions, pagination, renderers, serializers
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import DomainError


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail -> {"field.path": ["message", ...]}; nested lists get their index in the path."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF keys a list's item errors by index
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                path = prefix or "non_field_errors"
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            out[prefix or "non_field_errors"] = [str(d) for d in detail]
        else:
            for i, item in enumerate(detail):
                if item:
                    for k, v in flatten_errors(item, f"{prefix}[{i}]").items():
                        out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"code": code, "message": message, "fields": fields or {}}
    body.update(extra)
    return {"error": body}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every 4xx leaves as {"error": {"code", "message", "fields"}}; the transaction is rolled back."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields, **exc.extra), status=exc.status_code)

    if isinstance(exc, exceptions.APIException):
        headers = {}
        auth_header, wait = getattr(exc, "auth_header", None), getattr(exc, "wait", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        if wait:
            headers["Retry-After"] = str(int(wait))
        if isinstance(exc, exceptions.ValidationError):
            fields = flatten_errors(exc.detail)
            first = next(iter(fields.items()), None)
            message = f"{first[0]}: {first[1][0]}" if first else "Invalid input."
            body = error_body("invalid", message, fields)
        else:
            code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
            body = error_body(str(code), str(exc.detail))
        set_rollback()
        return Response(body, status=exc.status_code, headers=headers)
    return None


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


# The query parameters of PageNumberPagination, for a list view's extend_schema(parameters=[...]).
PAGE_PARAMETERS = [OpenApiParameter("page", OpenApiTypes.INT), OpenApiParameter("page_size", OpenApiTypes.INT)]


def validated(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DateRangeSerializer(serializers.Serializer):
    """`date_from` and `date_to` (inclusive), at most `max_days` days; a report's filters subclass it."""

    max_days = 366
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs["date_from"], attrs["date_to"]
        if last < first:
            raise serializers.ValidationError({"date_to": ["date_to is before date_from."]})
        days = (last - first).days + 1
        if days > self.max_days:
            raise serializers.ValidationError({"date_to": [f"Ask for at most {self.max_days} days; this range has "
                                                           f"{days}."]})
        return attrs


def choice_field(choices: Sequence[tuple[str, Any]], component_name: str,
                 **defaults: Any) -> Callable[..., serializers.ChoiceField]:
    """A ChoiceField class whose enum is the schema component `component_name`. drf-spectacular would otherwise name
    the enum after the field ("status", "outcome", shared with other apps) and warn about the collision, which fails
    the schema check. `defaults` are the field's arguments (read_only=True for output)."""

    @extend_schema_field({"type": "string", "enum": [value for value, _label in choices]},
                         component_name=component_name)
    class NamedChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"choices": choices, **defaults, **kwargs})

    return NamedChoiceField


class PdfRenderer(renderers.BaseRenderer):
    """Draws a PDF when DRF renders the response, after the view has returned and the request's transaction has
    ended: the response's data is the drawing, a callable returning the bytes (see tenancy.api.PdfApi)."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Callable[[], bytes], accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:
        return data()
