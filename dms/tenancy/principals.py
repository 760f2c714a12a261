"""Authenticated principals and their Scope. The only module that reads Membership unscoped."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from .enums import ADMIN_ROLES, Role
from .models import Membership
from .scope import Scope

SESSION_MEMBERSHIP_KEY = "dms_membership_id"


class MachinePrincipal(AnonymousUser):
    """request.user for an API key: authenticated, but not a person."""

    def __init__(self, label: str) -> None:
        self.label = label

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    def __str__(self) -> str:
        return self.label


def active_membership(user: Any, session: Any = None, tenant_slug: str | None = None) -> Membership | None:
    """The membership a signed-in user acts with: the one chosen (session or X-Tenant), else the first."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    memberships = list(
        Membership.objects.filter(user_id=user.pk, active=True).select_related("tenant", "user").order_by("id")
    )
    memberships = [m for m in memberships if m.tenant is None or m.tenant.active]
    if tenant_slug:
        return next((m for m in memberships if m.tenant and m.tenant.slug == tenant_slug), None)
    chosen = session.get(SESSION_MEMBERSHIP_KEY) if session is not None else None
    if chosen:
        found = next((m for m in memberships if m.pk == chosen), None)
        if found:
            return found
    return memberships[0] if memberships else None


def memberships_of(user: Any) -> list[Membership]:
    return list(Membership.objects.filter(user_id=user.pk, active=True).select_related("tenant", "distributor")
                .order_by("id"))


def scope_for_user(user: Any, session: Any = None, tenant_slug: str | None = None) -> Scope | None:
    membership = active_membership(user, session, tenant_slug)
    if membership is None or membership.tenant_id is None:
        return None
    return Scope.for_membership(membership)


def can_use_admin(user: Any, session: Any = None) -> bool:
    membership = active_membership(user, session)
    return membership is not None and membership.role in ADMIN_ROLES


def is_platform_operator(user: Any, session: Any = None) -> bool:
    membership = active_membership(user, session)
    return membership is not None and membership.role == Role.PLATFORM_OPERATOR
