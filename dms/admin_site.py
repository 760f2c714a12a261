"""The admin site: open to users whose active membership has an admin role; order-bookers never."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver


class DmsLoginForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        from dms.tenancy.principals import can_use_admin

        if not user.is_active or not can_use_admin(user):
            raise forms.ValidationError(
                "This account cannot use the admin. Order-bookers and delivery men use the mobile app.",
                code="invalid_login",
            )


class DmsAdminSite(admin.AdminSite):
    site_header = "dms administration"
    site_title = "dms"
    index_title = "Distribution management"
    login_form = DmsLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        from dms.tenancy.principals import can_use_admin

        return request.user.is_active and can_use_admin(request.user, request.session)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        from analytics.admin import admin_urls  # the dashboards: admin pages without a model

        return [*admin_urls(self), *super().get_urls()]

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        from analytics.admin import app_entry

        apps = super().get_app_list(request, app_label)
        entry = app_entry(request) if app_label in (None, "analytics") else None
        if entry is not None:
            apps = sorted([*(a for a in apps if a["app_label"] != "analytics"), entry],
                          key=lambda a: a["name"].lower())
        return apps

    def each_context(self, request: HttpRequest) -> dict:
        from dms.tenancy.principals import active_membership, memberships_of

        ctx = super().each_context(request)
        if request.user.is_authenticated:
            ctx["dms_membership"] = active_membership(request.user, request.session)
            ctx["dms_memberships"] = memberships_of(request.user)
        return ctx
