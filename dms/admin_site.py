"""The admin site: open to users whose active membership has an admin role; order-bookers never."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest


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

    def each_context(self, request: HttpRequest) -> dict:
        from dms.tenancy.principals import active_membership, memberships_of

        ctx = super().each_context(request)
        if request.user.is_authenticated:
            ctx["dms_membership"] = active_membership(request.user, request.session)
            ctx["dms_memberships"] = memberships_of(request.user)
        return ctx
