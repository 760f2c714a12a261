"""TenantAdmin: the base ModelAdmin of every tenant-owned model.

Querysets come from the scoped default manager (and RLS), so changelists, related dropdowns and
autocompletes only ever hold the user's tenant and distributors. Permissions follow the membership role,
not Django's per-model permissions. A missing (or another tenant's) object is a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponseRedirect

from dms.core.errors import DomainError

from .enums import Role

MANUFACTURER_EDITORS = frozenset({Role.MANUFACTURER_ADMIN})
DISTRIBUTOR_EDITORS = frozenset({Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF})
ALL_ADMIN_VIEWERS = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST, Role.DISTRIBUTOR_ADMIN,
                               Role.DISTRIBUTOR_STAFF})


def request_role(request: HttpRequest) -> str | None:
    scope = getattr(request, "scope", None)
    return scope.role if scope is not None else None


class RoleInline(admin.TabularInline):
    """Inline permissions follow the membership role, like TenantAdmin (not Django's per-model ones). Read-only
    unless a subclass names `edit_roles`; visible to `view_roles`."""

    extra = 0
    view_roles: ClassVar[frozenset[Role]] = ALL_ADMIN_VIEWERS
    edit_roles: ClassVar[frozenset[Role]] = frozenset()

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.view_roles

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request_role(request) in self.edit_roles


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


class ServiceRefused(Exception):
    """A service refused an admin save: raised out of the change view's transaction so that it rolls back, then
    shown on the re-rendered form. `part` says which part of the page it concerns (an admin's own labels)."""

    def __init__(self, error: DomainError, part: str = "") -> None:
        super().__init__(error.message)
        self.error = error
        self.part = part


class VersionedChangeForm:
    """Mixin for change pages saved by one service call with the version the page was loaded with (a hidden
    `loaded_version` field). A POST from a page older than the object is refused before the formsets are bound
    (the object's child rows were replaced, so the old page's row ids would fail as "not a valid choice"), and
    a ServiceRefused raised by the save re-renders the form with the refusal (`refused_attr` on the request);
    a stale version found by the service under its lock redirects with a message. Nothing is saved either way.
    """

    stale_code: ClassVar[str]  # the DomainError code of a stale version
    refused_attr: ClassVar[str]  # request attribute carrying the ServiceRefused to the re-rendered form
    form_part: ClassVar[str] = ""  # the ServiceRefused.part shown on the main form (others go to inlines)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        refused: ServiceRefused | None = getattr(request, self.refused_attr, None)
        if refused is not None and refused.part == self.form_part:
            form = type(form.__name__, (form,), {"refused": refused.error})
        return form

    def stale_message(self, obj: Any, loaded: str) -> str:
        raise NotImplementedError

    def _stale(self, request: HttpRequest, obj: Any) -> str:
        loaded = request.POST.get("loaded_version", "")
        if not self.has_change_permission(request, obj) or not loaded.isdigit() or int(loaded) == obj.version:  # type: ignore[attr-defined]
            return ""
        return self.stale_message(obj, loaded)

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> Any:
        if request.method == "POST" and object_id is not None:
            obj = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
            stale = obj is not None and self._stale(request, obj)
            if stale:
                self.message_user(request, stale, messages.ERROR)  # type: ignore[attr-defined]
                return HttpResponseRedirect(request.path)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except ServiceRefused as refused:
            # The view's transaction (a savepoint) has rolled back: nothing of this save was kept.
            if refused.error.code == self.stale_code:
                self.message_user(request, f"{refused.error.message} Nothing was saved.",  # type: ignore[attr-defined]
                                  messages.ERROR)
                return HttpResponseRedirect(request.path)
            setattr(request, self.refused_attr, refused)
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
