"""TenantAdmin: the base ModelAdmin of every tenant-owned model.

Querysets come from the scoped default manager (and RLS), so changelists, related dropdowns and
autocompletes only ever hold the user's tenant and distributors. Permissions follow the membership role,
not Django's per-model permissions. A missing (or another tenant's) object is a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.http import Http404, HttpRequest

from .enums import Role

MANUFACTURER_EDITORS = frozenset({Role.MANUFACTURER_ADMIN})
DISTRIBUTOR_EDITORS = frozenset({Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
ALL_ADMIN_VIEWERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_ADMIN,
                               Role.DISTRIBUTOR_STAFF})


def request_role(request: HttpRequest) -> str | None:
    scope = getattr(request, "scope", None)
    return scope.role if scope is not None else None


class TenantAdmin(admin.ModelAdmin):
    view_roles: ClassVar[frozenset[str]] = ALL_ADMIN_VIEWERS
    edit_roles: ClassVar[frozenset[str]] = MANUFACTURER_EDITORS
    delete_roles: ClassVar[frozenset[str]] = frozenset()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request_role(request) in self.view_roles

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.view_roles

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request_role(request) in self.edit_roles

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.delete_roles

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Django redirects to the index with "doesn't exist"; another tenant's id must look like any
        # unknown id: a plain 404.
        raise Http404


class DistributorOwnedAdmin(TenantAdmin):
    """For DistributorModel rows: a distributor user never picks the distributor; it is theirs."""

    edit_roles = DISTRIBUTOR_EDITORS

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        scope = getattr(request, "scope", None)
        if scope is not None and scope.single_distributor_id is not None:
            exclude.append("distributor")
        return exclude

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        scope = request.scope  # type: ignore[attr-defined]
        if not change and scope.single_distributor_id is not None:
            obj.distributor_id = scope.single_distributor_id
        super().save_model(request, obj, form, change)

    def get_list_display(self, request: HttpRequest) -> Any:
        cols = list(super().get_list_display(request))
        scope = getattr(request, "scope", None)
        if scope is not None and scope.distributor_ids is None and "distributor" not in cols:
            cols.insert(1, "distributor")
        return cols


class OptionalDistributorAdmin(TenantAdmin):
    """Tenant master data that may be narrowed to one distributor (price lists, schemes): a distributor
    user sees the tenant-wide rows and its own distributor's, never a sibling's."""

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        scope = getattr(request, "scope", None)
        return scope.filter_optional_distributor(qs) if scope is not None else qs.none()
