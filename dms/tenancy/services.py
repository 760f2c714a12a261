"""Writes on the tenant registry: tenants, distributors, memberships, API keys, devices."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from dms.core.errors import DomainError, NotFound

from .authentication import hash_api_key
from .enums import DISTRIBUTOR_ROLES, MANUFACTURER_ROLES, Role
from .models import ApiKey, Device, Distributor, Membership, Tenant, TenantSettings
from .scope import Scope
from .signals import device_revoked

MAX_ACTIVE_API_KEYS = 2  # two at once, so a manufacturer can rotate without downtime
_ALNUM = string.ascii_letters + string.digits


@transaction.atomic
def tenant_create(*, name: str, slug: str, currency: str = "USD", time_zone: str = "UTC",
                  fiscal_year_start_month: int = 1) -> Tenant:
    """Platform operators only (management command). The tenant's settings row is made in its scope."""
    from .context import tenant_scope

    if Tenant.objects.filter(slug=slug).exists():
        raise DomainError("duplicate", f"A tenant with slug '{slug}' exists.", fields={"slug": ["Already used."]})
    tenant = Tenant(name=name, slug=slug, currency=currency, time_zone=time_zone,
                    fiscal_year_start_month=fiscal_year_start_month)
    tenant.full_clean()
    tenant.save()
    with tenant_scope(Scope.system(tenant.pk), durable=False):
        TenantSettings.objects.create()
    return tenant


@transaction.atomic
def distributor_create(*, scope: Scope, code: str, name: str, **fields: Any) -> Distributor:
    if scope.distributor_ids is not None:
        raise DomainError("forbidden", "Distributor users cannot create distributors.", status_code=403)
    if Distributor.objects.filter(code=code).exists():
        raise DomainError("duplicate", f"Distributor code '{code}' exists.", fields={"code": ["Already used."]})
    return Distributor.objects.create(code=code, name=name, **fields)


@transaction.atomic
def membership_grant(*, scope: Scope | None, user: Any, role: str, tenant: Tenant | None = None,
                     distributor: Distributor | None = None) -> Membership:
    """Give a user a role. With a scope, only within that scope's tenant and distributors."""
    tenant_id: int | None
    if scope is not None:
        tenant_id = scope.tenant_id
        if tenant is not None and tenant.pk != tenant_id:
            raise NotFound()
        if distributor is not None and not scope.can_access_distributor(distributor.pk):
            raise NotFound()
    else:
        tenant_id = tenant.pk if tenant else None
    if distributor is not None and distributor.tenant_id != tenant_id:
        raise DomainError("invalid", "The distributor belongs to another tenant.", fields={"distributor": ["Invalid."]})
    if role in DISTRIBUTOR_ROLES and distributor is None:
        raise DomainError("invalid", "A distributor role needs a distributor.", fields={"distributor": ["Required."]})
    if role in MANUFACTURER_ROLES and distributor is not None:
        raise DomainError("invalid", "A manufacturer role has no distributor.",
                          fields={"distributor": ["Not allowed."]})
    membership, _ = Membership.objects.update_or_create(
        user=user, tenant_id=tenant_id,
        defaults={"role": role, "distributor": distributor, "active": True},
    )
    return membership


def user_create(*, username: str, password: str, email: str = "", first_name: str = "", last_name: str = "") -> Any:
    User = get_user_model()
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_password(password)
    user.save()
    return user


@dataclass(frozen=True)
class IssuedApiKey:
    key: ApiKey
    raw: str  # shown once, never stored


@transaction.atomic
def api_key_create(*, scope: Scope, name: str, expires_at: datetime | None = None,
                   created_by: Any = None) -> IssuedApiKey:
    """Issue a key for the scope's tenant. At most two active keys (rotation): revoke one first."""
    if scope.distributor_ids is not None:
        raise DomainError("forbidden", "Only manufacturer users issue API keys.", status_code=403)
    now = timezone.now()
    active = ApiKey.objects.select_for_update().filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
    if len(list(active)) >= MAX_ACTIVE_API_KEYS:
        raise DomainError("too_many_keys", f"A tenant may have {MAX_ACTIVE_API_KEYS} active keys; revoke one first.")
    prefix = "".join(secrets.choice(_ALNUM) for _ in range(8))
    raw = f"dms_{scope.tenant_id}_{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=hash_api_key(raw), expires_at=expires_at,
                                created_by=created_by)
    return IssuedApiKey(key=key, raw=raw)


@transaction.atomic
def api_key_revoke(*, scope: Scope, key_id: int) -> ApiKey:
    """Idempotent: revoking a revoked key keeps the first revocation time."""
    key = ApiKey.objects.select_for_update().filter(pk=key_id).first()
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


@transaction.atomic
def device_register(*, scope: Scope, user: Any, distributor_id: int, identifier: str, name: str = "",
                    platform: str = "") -> Device:
    """Register (or re-activate) an order-booker's device for a distributor of the scope."""
    if not scope.can_access_distributor(distributor_id):
        raise NotFound()
    membership = Membership.objects.filter(user=user, tenant_id=scope.tenant_id, active=True).first()
    if membership is None or membership.role != Role.ORDER_BOOKER or membership.distributor_id != distributor_id:
        raise DomainError("invalid", "The user is not an order-booker of this distributor.",
                          fields={"user": ["Not an order-booker of this distributor."]})
    device, _ = Device.objects.update_or_create(
        distributor_id=distributor_id, identifier=identifier,
        defaults={"user": user, "name": name, "platform": platform, "active": True, "revoked_at": None},
    )
    return device


@transaction.atomic
def device_revoke(*, scope: Scope, device_id: int) -> Device:
    device = Device.objects.select_for_update().filter(pk=device_id).first()
    if device is None:
        raise NotFound()
    if device.active:
        device.active = False
        device.revoked_at = timezone.now()
        device.save(update_fields=["active", "revoked_at", "updated_at"])
    device_revoked.send(sender=Device, device=device)
    return device


def device_access_token(*, device: Device) -> str:
    """A short-lived access token bound to the device (the full sign-in/refresh flow is the mobile app's)."""
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["user_id"] = device.user_id
    token["tenant_id"] = device.tenant_id
    token["device_id"] = device.pk
    return str(token)
