"""DRF authentication for machine principals: manufacturer API keys and order-bookers' device tokens.

Both credentials name their tenant (the API key in its public part, the device token in a signed claim),
so the key or device row is looked up under that tenant's row-level security and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from django.utils import timezone
from rest_framework import authentication, exceptions

from .context import tenant_scope
from .models import ApiKey, Device
from .principals import MachinePrincipal
from .scope import Scope

API_KEY_RE = re.compile(r"^dms_(?P<tenant>\d{1,12})_(?P<prefix>[A-Za-z0-9]{8})\.(?P<secret>[A-Za-z0-9_-]{20,128})$")


def hash_api_key(raw: str) -> str:
    return hashlib.sha512(raw.encode()).hexdigest()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key dms_<tenant>_<prefix>.<secret>`. The key itself is never logged."""

    keyword = "Api-Key"

    def authenticate_header(self, request) -> str:
        return self.keyword

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        raw = header[len(self.keyword) + 1:].strip()
        match = API_KEY_RE.match(raw)
        if not match:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        tenant_id, prefix = int(match["tenant"]), match["prefix"]
        now = timezone.now()
        with tenant_scope(Scope.system(tenant_id, "auth")):
            key = ApiKey.objects.filter(prefix=prefix).first()
            if (key is None or key.revoked_at is not None or (key.expires_at and key.expires_at <= now)
                    or not hmac.compare_digest(key.key_hash, hash_api_key(raw))):
                raise exceptions.AuthenticationFailed("Invalid API key.")
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return MachinePrincipal(f"api-key:{prefix}"), key


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <jwt>` minted for one registered device (claims: tenant_id, device_id)."""

    keyword = "Bearer"

    def authenticate_header(self, request) -> str:
        return self.keyword

    def authenticate(self, request):
        from rest_framework_simplejwt.exceptions import TokenError
        from rest_framework_simplejwt.tokens import AccessToken

        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        try:
            token = AccessToken(header[len(self.keyword) + 1:].strip())  # type: ignore[arg-type]  # str is accepted
            tenant_id, device_id = int(token["tenant_id"]), int(token["device_id"])
        except (TokenError, KeyError, ValueError, TypeError) as exc:
            raise exceptions.AuthenticationFailed("Invalid or expired device token.") from exc
        with tenant_scope(Scope.system(tenant_id, "auth")):
            device = Device.objects.select_related("user").filter(pk=device_id, active=True).first()
            if device is None or not device.user.is_active or device.user_id != token.get("user_id"):
                raise exceptions.AuthenticationFailed("Device is not registered or has been revoked.")
        return device.user, device
