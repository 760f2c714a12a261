"""Order-booker sign-in, refresh-token rotation with reuse detection, sign-out, and lock-out of revoked devices."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import Membership
from dms.tenancy.scope import Scope
from dms.tenancy.services import device_revoke
from mobile import auth
from mobile.auth import AuthRefused, device_token_refresh
from mobile.models import DeviceSession
from tests.conftest import PASSWORD
from tests.factories.mobile import make_booker, make_device

pytestmark = pytest.mark.django_db

SIGN_IN = "/api/v1/mobile/auth/sign-in/"
REFRESH = "/api/v1/mobile/auth/refresh/"
SIGN_OUT = "/api/v1/mobile/auth/sign-out/"
PROFILE = "/api/v1/mobile/profile/"


def sign_in(username: str, password: str = PASSWORD, identifier: str = "a-phone-1") -> Any:
    return APIClient().post(SIGN_IN, {"username": username, "password": password, "device_identifier": identifier},
                            format="json")


def refresh(token: str) -> Any:
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def sessions(tenant_id: int) -> list[DeviceSession]:
    with tenant_scope(Scope.system(tenant_id)):
        return list(DeviceSession.objects.order_by("pk"))


def refused(response: Any, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == code, response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- sign-in ------------------------------------------------------------------------------------------------

def test_booker_signs_in_on_a_registered_device_and_gets_a_working_token_pair(cast_a, booker, phone):
    # when
    before = timezone.now()
    response = sign_in(booker.username)
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["device_id"] == phone.pk and body["tenant_id"] == cast_a.tenant.pk
    assert body["distributor_id"] == cast_a.distributors[0].pk
    assert body["user"] == {"id": booker.pk, "username": booker.username, "full_name": ""}
    access_expires = parse_datetime(body["access_expires_at"])
    refresh_expires = parse_datetime(body["refresh_expires_at"])
    assert access_expires is not None and refresh_expires is not None
    assert timedelta(minutes=14) < access_expires - before <= timedelta(minutes=15, seconds=5)
    assert refresh_expires - before > timedelta(days=3)  # outlives the longest offline stretch (DESIGN §9)
    # the access token works where DeviceTokenAuthentication guards, for this device
    profile = bearer(body["access"]).get(PROFILE)
    assert profile.status_code == 200 and profile.json()["device_id"] == phone.pk
    # the refresh token is on record as the first session of a new family
    token = RefreshToken(body["refresh"])
    [session] = sessions(cast_a.tenant.pk)
    assert session.jti == token["jti"] and str(session.family) == token["family"]
    assert (token["tenant_id"], token["device_id"], token["user_id"]) == (cast_a.tenant.pk, phone.pk, booker.pk)
    assert session.device_id == phone.pk and session.expires_at == refresh_expires
    assert session.rotated_at is None and session.revoked_at is None


def test_wrong_password_unknown_user_and_disabled_account_get_one_and_the_same_answer(cast_a, booker):
    # given
    disabled = make_booker(cast_a.distributors[0], "a-disabled-booker")
    make_device(cast_a.distributors[0], disabled, "disabled-phone")
    disabled.is_active = False
    disabled.save()
    # when
    answers = [sign_in(booker.username, "wrong password"), sign_in("nobody-by-this-name"),
               sign_in(disabled.username, identifier="disabled-phone")]
    # then: nothing tells which usernames exist
    for response in answers:
        refused(response, "invalid_credentials")
    assert len({r.content for r in answers}) == 1
    assert answers[0].json()["error"]["message"] == "Wrong username or password."
    assert sessions(cast_a.tenant.pk) == []


def test_a_user_who_is_not_an_order_booker_is_refused(cast_a):
    for role in (Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ADMIN, Role.DELIVERY_MAN):
        refused(sign_in(cast_a.users[role].username), "not_order_booker")


def test_a_booker_whose_membership_ended_is_refused(cast_a, booker):
    Membership.objects.filter(user=booker).update(active=False)
    refused(sign_in(booker.username), "not_order_booker")


def test_an_unregistered_device_is_refused_with_its_own_message(cast_a, booker):
    response = sign_in(booker.username, identifier="some-other-phone")
    refused(response, "device_not_registered")
    assert "register" in response.json()["error"]["message"]


def test_a_device_registered_for_another_booker_is_not_registered_for_you(cast_a, phone):
    # given: a second booker of A1 with the right password, on the first booker's phone
    other = make_booker(cast_a.distributors[0], "a-a1-booker-2")
    # when / then
    refused(sign_in(other.username, identifier=phone.identifier), "device_not_registered")


def test_a_device_of_a_sibling_distributor_or_another_tenant_is_not_registered_for_you(cast_a, cast_b, booker):
    # given: A2's booker has a phone; tenant B's booker has "b-phone-1"
    a2_booker = cast_a.users[f"{Role.ORDER_BOOKER}@A2"]
    make_device(cast_a.distributors[1], a2_booker, "a2-phone")
    # then: A1's booker can use neither
    refused(sign_in(booker.username, identifier="a2-phone"), "device_not_registered")
    refused(sign_in(booker.username, identifier=cast_b.device.identifier), "device_not_registered")


def test_a_revoked_device_is_refused_at_sign_in(cast_a, booker, phone):
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        device_revoke(scope=scope, device_id=phone.pk)
    response = sign_in(booker.username)
    refused(response, "device_revoked")
    assert "revoked" in response.json()["error"]["message"]


def test_missing_fields_are_a_400_naming_them(cast_a):
    response = APIClient().post(SIGN_IN, {"username": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"password", "device_identifier"}


def test_sign_in_attempts_are_throttled_per_username(cast_a, booker):
    # given: five wrong passwords in a minute
    for _ in range(5):
        refused(sign_in(booker.username, "guess"), "invalid_credentials")
    # when: even the right password
    response = sign_in(booker.username)
    # then
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled" and int(response["Retry-After"]) > 0
    # another booker is not held back by it
    other = make_booker(cast_a.distributors[0], "a-a1-booker-2")
    make_device(cast_a.distributors[0], other, "other-phone")
    assert sign_in(other.username, identifier="other-phone").status_code == 200


def test_sign_in_attempts_are_throttled_per_address(cast_a):
    for n in range(30):
        assert sign_in(f"nobody-{n}").status_code == 401
    assert sign_in("nobody-else").status_code == 429


def test_signing_in_again_ends_the_previous_session(cast_a, booker):
    # given
    first = sign_in(booker.username).json()
    # when
    second = sign_in(booker.username).json()
    # then
    refused(refresh(first["refresh"]), "session_ended")
    assert refresh(second["refresh"]).status_code == 200


# --- refresh: rotation and reuse --------------------------------------------------------------------------

def test_refresh_rotates_the_token_within_its_family(cast_a, booker, phone):
    # given
    signed_in = sign_in(booker.username).json()
    # when
    response = refresh(signed_in["refresh"])
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["refresh"] != signed_in["refresh"] and body["access"] != signed_in["access"]
    assert body["device_id"] == phone.pk and body["user"]["username"] == booker.username
    first, second = sessions(cast_a.tenant.pk)
    assert first.rotated_at is not None and first.revoked_at is None
    assert second.family == first.family and second.jti == RefreshToken(body["refresh"])["jti"]
    assert second.rotated_at is None and second.revoked_at is None
    assert bearer(body["access"]).get(PROFILE).status_code == 200
    # and the new refresh token rotates in turn
    assert refresh(body["refresh"]).status_code == 200


def test_presenting_a_rotated_refresh_token_again_revokes_the_whole_family(cast_a, booker):
    # given: the token was rotated once and the new one is in the app's hands
    stolen = sign_in(booker.username).json()["refresh"]
    current = refresh(stolen).json()["refresh"]
    # when: the old copy comes back
    response = refresh(stolen)
    # then
    refused(response, "refresh_token_reused")
    assert response.json()["error"]["message"] == "refresh token reuse detected; sign in again"
    assert all(s.revoked_at is not None for s in sessions(cast_a.tenant.pk))
    # the legitimate newest token is dead too: the app must sign in again
    refused(refresh(current), "session_ended")
    assert sign_in(booker.username).status_code == 200


def test_a_reuse_in_one_family_leaves_another_devices_family_alone(cast_a, booker):
    # given: the booker has a second phone with its own session
    make_device(cast_a.distributors[0], booker, "second-phone")
    other = sign_in(booker.username, identifier="second-phone").json()["refresh"]
    stolen = sign_in(booker.username).json()["refresh"]
    refresh(stolen)
    # when
    refused(refresh(stolen), "refresh_token_reused")
    # then
    assert refresh(other).status_code == 200


def test_an_invalid_expired_or_never_issued_refresh_token_is_refused(cast_a, booker, phone):
    access = sign_in(booker.username).json()["access"]
    # a forged token with valid signature but no session on record (a jti the server never issued)
    unknown = RefreshToken()
    for claim, value in {"user_id": booker.pk, "tenant_id": cast_a.tenant.pk, "device_id": phone.pk,
                         "family": str(uuid.uuid4())}.items():
        unknown[claim] = value
    expired = RefreshToken()
    expired.set_exp(from_time=timezone.now() - timedelta(days=5))
    for token in ("not-a-token", access, str(unknown), str(expired)):
        refused(refresh(token), "invalid_refresh_token")


def test_refresh_with_a_missing_body_is_a_400():
    response = APIClient().post(REFRESH, {}, format="json")
    assert response.status_code == 400 and "refresh" in response.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_of_one_token_at_once_never_both_succeed(cast_a, booker, monkeypatch):
    # given: each refresh dawdles once it holds the family lock, so without the lock both would rotate
    token = sign_in(booker.username).json()["refresh"]
    lock = auth.lock_session_family

    def slow_lock(**kwargs: Any) -> Any:
        found = lock(**kwargs)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(auth, "lock_session_family", slow_lock)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            device_token_refresh(refresh=token)
            outcomes.append("rotated")
        except AuthRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # then: the second finds the token rotated, which is a reuse: the family is revoked
    assert sorted(outcomes) == ["refresh_token_reused", "rotated"]
    rows = sessions(cast_a.tenant.pk)
    assert len(rows) == 2 and all(s.revoked_at is not None for s in rows)


# --- revoked devices, disabled accounts, sign-out ---------------------------------------------------------

def test_a_revoked_device_is_locked_out_of_access_and_refresh(cast_a, booker, phone):
    # given
    tokens = sign_in(booker.username).json()
    assert bearer(tokens["access"]).get(PROFILE).status_code == 200
    # when
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        device_revoke(scope=scope, device_id=phone.pk)
    # then: the access token in hand fails at once, and no new one can be had
    assert bearer(tokens["access"]).get(PROFILE).status_code == 401
    assert bearer(tokens["access"]).get("/api/v1/mobile/journey/").status_code == 401
    refused(refresh(tokens["refresh"]), "device_revoked")
    # and the session is ended for good: re-registering the phone does not revive the old token
    assert all(s.revoked_at is not None for s in sessions(cast_a.tenant.pk))
    make_device(cast_a.distributors[0], booker, phone.identifier)
    refused(refresh(tokens["refresh"]), "session_ended")


def test_a_disabled_account_or_ended_membership_cannot_refresh(cast_a, booker):
    # given
    tokens = sign_in(booker.username).json()
    other = make_booker(cast_a.distributors[0], "a-a1-booker-2")
    make_device(cast_a.distributors[0], other, "other-phone")
    other_tokens = sign_in(other.username, identifier="other-phone").json()
    # when
    booker.is_active = False
    booker.save()
    Membership.objects.filter(user=other).update(active=False)
    # then
    refused(refresh(tokens["refresh"]), "not_order_booker")
    assert bearer(tokens["access"]).get(PROFILE).status_code == 401
    refused(refresh(other_tokens["refresh"]), "not_order_booker")


def test_sign_out_ends_the_devices_sessions(cast_a, booker):
    # given
    tokens = sign_in(booker.username).json()
    rotated = refresh(tokens["refresh"]).json()
    # when
    response = bearer(rotated["access"]).post(SIGN_OUT)
    # then
    assert response.status_code == 204
    assert all(s.revoked_at is not None for s in sessions(cast_a.tenant.pk))
    refused(refresh(rotated["refresh"]), "session_ended")
    # idempotent
    assert bearer(rotated["access"]).post(SIGN_OUT).status_code == 204


def test_sign_out_leaves_other_devices_signed_in(cast_a, booker):
    make_device(cast_a.distributors[0], booker, "second-phone")
    other = sign_in(booker.username, identifier="second-phone").json()
    tokens = sign_in(booker.username).json()
    assert bearer(tokens["access"]).post(SIGN_OUT).status_code == 204
    assert refresh(other["refresh"]).status_code == 200


# --- intruders --------------------------------------------------------------------------------------------

def test_sign_out_takes_device_tokens_only(api_as, cast_a, booker):
    for client in (api_as(booker), api_as(cast_a.users[Role.DISTRIBUTOR_ADMIN]),
                   api_as(cast_a.api_key_raw, kind="api_key"), APIClient()):
        response = client.post(SIGN_OUT)
        assert response.status_code == 401 and "error" in response.json()


def test_a_device_token_of_another_tenant_cannot_end_this_tenants_sessions(cast_a, cast_b, booker):
    # given
    tokens = sign_in(booker.username).json()
    # when: tenant B's device signs out
    assert bearer(cast_b.device_token).post(SIGN_OUT).status_code == 204
    # then
    assert refresh(tokens["refresh"]).status_code == 200


def test_the_routes_are_named_for_the_isolation_matrix():
    assert reverse("mobile-sign-in") == SIGN_IN and reverse("mobile-token-refresh") == REFRESH
    assert reverse("mobile-sign-out") == SIGN_OUT
