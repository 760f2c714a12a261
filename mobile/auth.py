"""Order-booker sign-in: device-bound tokens, rotating refresh tokens with reuse detection, sign-out.

A sign-in checks the password, the user's order-booker membership and the Device registered for that user under
the app's install id, and starts a session *family*: a refresh token (SIMPLE_JWT lifetime, 4 days: longer than
the 3 days a device may stay offline) and an access token (15 minutes) with the claims DeviceTokenAuthentication
reads (user_id, tenant_id, device_id). Every refresh token issued is a DeviceSession row, found by its `jti`.

Refreshing rotates: the presented row gets `rotated_at` and a new token of the same family is issued. A rotated
token presented again means two copies of it exist (a stolen one, or a replay): the whole family is revoked and
the app must sign in again (OAuth 2.0 Security BCP, refresh token rotation). A device has one signed-in session:
signing in again ends the previous family, and sign-out ends all of the device's sessions.

The tenant is not known until the credentials are checked, so sign-in and refresh enter the tenant's scope
themselves, as DeviceTokenAuthentication does: call them with no tenant in context.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import authenticate
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from dms.core.errors import DomainError
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Device
from dms.tenancy.principals import memberships_of
from dms.tenancy.scope import Scope

from .models import DeviceSession

logger = logging.getLogger(__name__)


class AuthError(models.TextChoices):
    """Why the app may not have tokens. One code for a bad username or password: no account oracle."""

    INVALID_CREDENTIALS = "invalid_credentials", "Wrong username or password."
    NOT_ORDER_BOOKER = "not_order_booker", "This account is not an active order-booker's; the app is for order-bookers."
    DEVICE_NOT_REGISTERED = "device_not_registered", (
        "This device is not registered for you; ask your distributor to register it.")
    DEVICE_REVOKED = "device_revoked", "This device has been revoked; ask your distributor."
    INVALID_REFRESH = "invalid_refresh_token", "Invalid or expired refresh token; sign in again."
    REFRESH_REUSED = "refresh_token_reused", "refresh token reuse detected; sign in again"
    SESSION_ENDED = "session_ended", "This session has ended; sign in again."


class AuthRefused(DomainError):
    """The credentials do not entitle the caller to tokens (401)."""

    status_code = 401

    def __init__(self, error: AuthError) -> None:
        super().__init__(error.value, str(error.label))


@dataclass(frozen=True)
class DeviceTokens:
    """What a sign-in or refresh hands the app. `refresh` replaces any refresh token the app held."""

    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    device: Device


@dataclass(frozen=True)
class _RefreshClaims:
    tenant_id: int
    device_id: int
    user_id: int
    family: uuid.UUID
    jti: str


def device_sign_in(*, username: str, password: str, device_identifier: str) -> DeviceTokens:
    """Check the booker's password, membership and registered device; start a new session family.

    Ends the device's earlier sessions (one signed-in session per device). Enters the tenant's scope itself.
    Raises AuthRefused: a bad username or password (or a disabled account) all read the same.
    """
    user = authenticate(username=username, password=password)  # runs the hasher for unknown names too
    if user is None:
        raise AuthRefused(AuthError.INVALID_CREDENTIALS)
    bookings = [m for m in memberships_of(user)
                if m.role == Role.ORDER_BOOKER and m.tenant is not None and m.tenant.active]
    if not bookings:
        raise AuthRefused(AuthError.NOT_ORDER_BOOKER)
    refusal = AuthRefused(AuthError.DEVICE_NOT_REGISTERED)
    # A person may book for distributors of several tenants (one membership each); the install id tells which.
    for membership in bookings:
        if membership.tenant_id is None or membership.distributor_id is None:
            continue  # the membership_role_shape constraint rules this out
        with tenant_scope(Scope.system(membership.tenant_id, "auth")):
            device = (Device.objects.select_related("user", "distributor")
                      .filter(distributor_id=membership.distributor_id, identifier=device_identifier,
                              user_id=user.pk).first())
            if device is None:
                continue
            if not device.active or not device.distributor.active:
                refusal = AuthRefused(AuthError.DEVICE_REVOKED)
                continue
            _end(_device_sessions(device), now=timezone.now())
            return _issue(device=device, family=uuid.uuid4())
    raise refusal


def device_token_refresh(*, refresh: str) -> DeviceTokens:
    """Rotate a refresh token: its session gets `rotated_at`, a new pair of the same family is issued.

    Refused (AuthRefused) when the token is invalid or expired, its session ended, the device is revoked or the
    booker may no longer book; a rotated token presented again revokes its whole family. Refusals that end
    sessions are committed before they are raised. Enters the tenant's scope itself; serialised per family by
    lock_session_family, so two refreshes of one token never both succeed.
    """
    claims = _refresh_claims(refresh)
    with tenant_scope(Scope.system(claims.tenant_id, "auth")):
        outcome = _rotate(claims)
    if isinstance(outcome, AuthRefused):
        raise outcome  # outside the scope: the sessions it ended stay ended
    return outcome


def device_sign_out(*, scope: Scope, device_id: int) -> int:
    """End every live session of the device (its refresh tokens stop working; access tokens run out within
    their 15 minutes). Idempotent; returns how many sessions it ended."""
    device = scope.filter(Device.objects.filter(pk=device_id)).first()
    if device is None:
        return 0
    return _end(_device_sessions(device), now=timezone.now())


# --- internals ---------------------------------------------------------------------------------------------

def _refresh_claims(raw: str) -> _RefreshClaims:
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import RefreshToken

    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]  # a str is accepted
        return _RefreshClaims(tenant_id=int(token["tenant_id"]), device_id=int(token["device_id"]),
                              user_id=int(token["user_id"]), family=uuid.UUID(str(token["family"])),
                              jti=str(token["jti"]))
    except (TokenError, KeyError, ValueError, TypeError) as exc:
        raise AuthRefused(AuthError.INVALID_REFRESH) from exc


def lock_session_family(*, distributor_id: int, family: uuid.UUID) -> DeviceSession | None:
    """Lock the family's first session row: the family's mutex. Rotation and reuse revocation both take it
    first, so a revocation always sees (and ends) the token a concurrent rotation issued."""
    return (DeviceSession.objects.select_for_update(no_key=True, of=("self",))
            .filter(distributor_id=distributor_id, family=family).order_by("pk").first())


def _rotate(claims: _RefreshClaims) -> DeviceTokens | AuthRefused:
    """Inside the tenant's scope. Returns the refusal instead of raising it, so the scope commits what it ended."""
    device = Device.objects.select_related("user", "distributor").filter(pk=claims.device_id).first()
    if device is None or device.user_id != claims.user_id:
        return AuthRefused(AuthError.INVALID_REFRESH)
    if lock_session_family(distributor_id=device.distributor_id, family=claims.family) is None:
        return AuthRefused(AuthError.INVALID_REFRESH)
    session = (DeviceSession.objects.select_for_update(no_key=True, of=("self",))
               .filter(distributor_id=device.distributor_id, device_id=device.pk, jti=claims.jti).first())
    if session is None or session.family != claims.family:
        return AuthRefused(AuthError.INVALID_REFRESH)
    now = timezone.now()
    if not device.active:  # said first: revoking a device also ends its sessions (tenancy's device_revoked)
        _end(_device_sessions(device), now=now)
        return AuthRefused(AuthError.DEVICE_REVOKED)
    if session.revoked_at is not None:
        return AuthRefused(AuthError.SESSION_ENDED)
    if session.rotated_at is not None:
        ended = _end(DeviceSession.objects.filter(distributor_id=device.distributor_id, family=claims.family),
                     now=now)
        logger.warning("refresh token reuse: device %s family %s revoked (%s live sessions ended)",
                       device.pk, claims.family, ended)
        return AuthRefused(AuthError.REFRESH_REUSED)
    # A refusal that outlives the session (device revoked, account or membership ended) ends the device's
    # sessions, so re-activating the device or the account later does not revive these tokens.
    if not device.active or not device.distributor.active:
        _end(_device_sessions(device), now=now)
        return AuthRefused(AuthError.DEVICE_REVOKED)
    if not _may_book(device):
        _end(_device_sessions(device), now=now)
        return AuthRefused(AuthError.NOT_ORDER_BOOKER)
    session.rotated_at = now
    session.save(update_fields=["rotated_at", "updated_at"])
    return _issue(device=device, family=claims.family)


def _may_book(device: Device) -> bool:
    user = device.user
    return user.is_active and any(
        m.role == Role.ORDER_BOOKER and m.tenant_id == device.tenant_id and m.distributor_id == device.distributor_id
        and m.tenant is not None and m.tenant.active for m in memberships_of(user))


def _issue(*, device: Device, family: uuid.UUID) -> DeviceTokens:
    """Mint a refresh token of `family` (recorded as a DeviceSession) and its access token."""
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = RefreshToken()
    claims: dict[str, Any] = {"user_id": device.user_id, "tenant_id": device.tenant_id, "device_id": device.pk,
                              "family": str(family)}
    for claim, value in claims.items():
        refresh[claim] = value
    access = refresh.access_token  # the same claims (user_id, tenant_id, device_id, family), its own jti and exp
    refresh_expires_at = datetime.fromtimestamp(refresh["exp"], tz=UTC)
    DeviceSession.objects.create(distributor_id=device.distributor_id, device=device, jti=refresh["jti"],
                                 family=family, expires_at=refresh_expires_at)
    return DeviceTokens(access=str(access), refresh=str(refresh),
                        access_expires_at=datetime.fromtimestamp(access["exp"], tz=UTC),
                        refresh_expires_at=refresh_expires_at, device=device)


def _device_sessions(device: Device) -> QuerySet[DeviceSession]:
    return DeviceSession.objects.filter(distributor_id=device.distributor_id, device_id=device.pk)


def _end(sessions: QuerySet[DeviceSession], *, now: datetime) -> int:
    return sessions.filter(revoked_at__isnull=True).update(revoked_at=now, updated_at=now)


def end_sessions_of_revoked_device(*, device: Device, **_: Any) -> None:
    """Receiver of tenancy's `device_revoked`: every session of the device ends with the revocation."""
    _end(_device_sessions(device), now=timezone.now())
