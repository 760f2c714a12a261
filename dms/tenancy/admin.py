from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .admin_base import DistributorOwnedAdmin, TenantAdmin
from .enums import Role
from .models import ApiKey, BackgroundJob, Device, Distributor, Membership, Tenant, TenantSettings
from .principals import is_platform_operator


@admin.register(Tenant)
class TenantRegistryAdmin(admin.ModelAdmin):
    """Platform operators only."""

    list_display = ["name", "slug", "currency", "time_zone", "active"]
    search_fields = ["name", "slug"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_platform_operator(request.user, request.session)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_operator(request.user, request.session)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_platform_operator(request.user, request.session)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_platform_operator(request.user, request.session)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Distributor)
class DistributorAdmin(TenantAdmin):
    list_display = ["code", "name", "address", "active"]
    search_fields = ["code", "name"]


@admin.register(TenantSettings)
class TenantSettingsAdmin(TenantAdmin):
    list_display = ["tenant", "day_close_hour", "credit_check", "allocation_all_or_nothing"]
    view_roles = frozenset({Role.MANUFACTURER_ADMIN, Role.MANUFACTURER_ANALYST})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Global table: filtered here by the user's tenant (and distributor) explicitly."""

    list_display = ["user", "role", "distributor", "active"]
    list_filter = ["role", "active"]
    fields = ["user", "role", "distributor", "active"]
    raw_id_fields = ["user"]

    def _scope(self, request: HttpRequest) -> Any:
        return getattr(request, "scope", None)

    def get_queryset(self, request: HttpRequest) -> Any:
        scope = self._scope(request)
        if scope is None:
            return Membership.objects.none()
        qs = super().get_queryset(request).filter(tenant_id=scope.tenant_id).select_related("user", "distributor")
        return qs if scope.distributor_ids is None else qs.filter(distributor_id__in=scope.distributor_ids)

    def has_module_permission(self, request: HttpRequest) -> bool:
        scope = self._scope(request)
        return scope is not None and scope.role in {Role.MANUFACTURER_ADMIN, Role.DISTRIBUTOR_ADMIN}

    has_view_permission = lambda self, request, obj=None: self.has_module_permission(request)  # noqa: E731
    has_change_permission = has_view_permission
    has_add_permission = lambda self, request: False  # noqa: E731 - memberships are granted by command/service
    has_delete_permission = lambda self, request, obj=None: False  # noqa: E731

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        from django.http import Http404

        raise Http404


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "prefix", "expires_at", "revoked_at", "last_used_at", "created_at"]
    view_roles = edit_roles = frozenset({Role.MANUFACTURER_ADMIN})
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued through the API or `manage.py api_key_create`, which show the key once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from .services import api_key_revoke

        for key in queryset:
            api_key_revoke(scope=request.scope, key_id=key.pk)  # type: ignore[attr-defined]
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(Device)
class DeviceAdmin(DistributorOwnedAdmin):
    list_display = ["identifier", "name", "user", "platform", "active", "last_seen_at"]
    list_filter = ["active", "platform"]
    search_fields = ["identifier", "name", "user__username"]
    readonly_fields = ["revoked_at", "last_seen_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected devices")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        from .services import device_revoke

        for device in queryset:
            device_revoke(scope=request.scope, device_id=device.pk)  # type: ignore[attr-defined]
        self.message_user(request, "Revoked.")


@admin.register(BackgroundJob)
class BackgroundJobAdmin(TenantAdmin):
    """History of long work (imports, and later batch invoicing, optimisation, reconciliation)."""

    list_display = ["id", "kind", "status", "progress", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    fields = readonly_fields = ("kind", "status", "progress", "params", "result", "error", "requested_by",
                                "actor_role", "scope_distributor", "attempts", "created_at", "started_at",
                                "finished_at")
    edit_roles = frozenset()

    def get_queryset(self, request: HttpRequest) -> Any:
        from .selectors import job_list

        scope = getattr(request, "scope", None)
        return job_list(scope=scope).select_related("requested_by") if scope else BackgroundJob.objects.none()

    @admin.display(description="progress")
    def progress(self, obj: BackgroundJob) -> str:
        from .jobs import job_progress

        p = job_progress(obj)
        return f"{p['percent']} % {p['message']}".strip()
