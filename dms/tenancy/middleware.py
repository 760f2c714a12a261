"""Browser requests (admin, dashboards): enter the signed-in user's tenant around the view.

The REST API enters its scope itself after DRF has authenticated (TenantApi), so /api/ is skipped here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import SimpleTemplateResponse

from .context import tenant_scope
from .principals import scope_for_user


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.scope = None  # type: ignore[attr-defined]
        if request.path.startswith("/api/"):
            return self.get_response(request)
        scope = scope_for_user(request.user, request.session)
        if scope is None:
            return self.get_response(request)
        request.scope = scope  # type: ignore[attr-defined]
        with tenant_scope(scope):
            response = self.get_response(request)
            # Templates render lazily; render inside the tenant transaction so querysets see rows.
            if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                response.render()
            return response
