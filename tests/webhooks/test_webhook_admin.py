"""The webhooks admin: manufacturer admins only; adding an endpoint or rotating its secret shows the secret once, in
a message; a refused URL is a form error; deliveries are read-only with the attempt log inline and a Retry action;
another tenant's rows are a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from webhooks.enums import DeliveryStatus, EventType
from webhooks.models import WebhookEndpoint

from .conftest import deliveries_of, emit_now, endpoint, make_endpoint, scope_of

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def _endpoints(cast: Any) -> list[WebhookEndpoint]:
    with tenant_scope(scope_of(cast)):
        return list(WebhookEndpoint.objects.order_by("pk"))


def test_adding_an_endpoint_shows_its_secret_once_and_a_private_url_is_a_form_error(cast_a, dns):
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    # when: a loopback URL
    refused = client.post(f"{ENDPOINTS}add/", {"url": "https://127.0.0.1/in", "description": "",
                                               "event_types": [EventType.GOODS_RECEIVED], "active": "on"})
    # then
    assert refused.status_code == 200 and "loopback address" in refused.content.decode()
    assert _endpoints(cast_a) == []
    # when: a public one
    added = client.post(f"{ENDPOINTS}add/", {"url": "https://hooks.example.com/in", "description": "ERP",
                                             "event_types": [EventType.GOODS_RECEIVED], "active": "on"}, follow=True)
    # then
    (created,) = _endpoints(cast_a)
    assert created.event_types == [EventType.GOODS_RECEIVED] and created.active
    assert created.created_by_id == cast_a.users[Role.MANUFACTURER_ADMIN].pk
    assert created.secret in added.content.decode()
    for page in (ENDPOINTS, f"{ENDPOINTS}{created.pk}/change/"):
        response = client.get(page)
        assert response.status_code == 200 and created.secret not in response.content.decode()
    # changing it goes through the service
    client.post(f"{ENDPOINTS}{created.pk}/change/", {"url": "https://hooks.example.com/v2", "description": "ERP",
                                                     "event_types": [], "active": ""})
    changed = endpoint(cast_a, created.pk)
    assert (changed.url, changed.event_types, changed.active) == ("https://hooks.example.com/v2", [], False)
    assert changed.disabled_reason.startswith("Deactivated by")


def test_rotating_the_secret_shows_the_new_one_in_a_message(cast_a, dns):
    hook = make_endpoint(cast_a, "https://hooks.example.com/in")
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    response = client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [hook.pk]}, follow=True)
    rotated = endpoint(cast_a, hook.pk).secret
    assert rotated != hook.secret and rotated in response.content.decode()
    assert rotated not in client.get(ENDPOINTS).content.decode()  # once


def test_deliveries_are_read_only_with_the_attempt_log_and_a_retry_action(
        cast_a, cast_b, receiver, local_delivery, django_capture_on_commit_callbacks):
    # given: a delivery that failed its only try, and tenant B's endpoint
    local_delivery.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.fail(1, status=502)
    make_endpoint(cast_a, receiver.url)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (failed,) = deliveries_of(cast_a)
    theirs = make_endpoint(cast_b, receiver.url + "/b")
    client = client_for(cast_a, Role.MANUFACTURER_ADMIN)
    # when
    page = client.get(f"{DELIVERIES}{failed.pk}/change/")
    # then
    body = page.content.decode()
    assert page.status_code == 200 and "attempt log" in body.lower() and "HTTP 502" in body
    assert 'name="_save"' not in body  # read-only
    assert client.get(DELIVERIES).status_code == 200
    assert client.get(f"{ENDPOINTS}{theirs.pk}/change/").status_code == 404
    assert receiver.url + "/b" not in client.get(ENDPOINTS).content.decode()
    # when: retried
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELIVERIES, {"action": "retry", "_selected_action": [failed.pk]}, follow=True)
    # then
    assert "1 delivery queued again." in response.content.decode()
    done = deliveries_of(cast_a)[0]
    assert done.status == DeliveryStatus.SUCCEEDED and done.attempts == 2


@pytest.mark.parametrize("role", [Role.DISTRIBUTOR_STAFF, Role.DISTRIBUTOR_ADMIN, Role.MANUFACTURER_ANALYST])
def test_other_roles_do_not_get_the_webhook_pages(cast_a, dns, role):
    hook = make_endpoint(cast_a, "https://hooks.example.com/in")
    client = client_for(cast_a, role)
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(f"{ENDPOINTS}{hook.pk}/change/").status_code in (403, 404)
    assert client.get(DELIVERIES).status_code == 403
    assert "webhook" not in client.get("/admin/").content.decode().lower()
