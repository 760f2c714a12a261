"""The manufacturer's webhook API: registering shows the secret once, reads never; roles; another tenant's
endpoint or delivery is a 404; event types are validated; the delivery log, its filters and the manual retry."""

from __future__ import annotations

import base64

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from webhooks import tasks
from webhooks.enums import DeliveryStatus, EventType
from webhooks.models import WebhookEndpoint
from webhooks.services import deliver

from .conftest import deliveries_of, emit_now, endpoint, make_due, make_endpoint, scope_of

pytestmark = pytest.mark.django_db

BASE = "/api/v1/manufacturer/webhooks"
ENDPOINTS = f"{BASE}/endpoints/"
DELIVERIES = f"{BASE}/deliveries/"


@pytest.fixture
def manufacturer(api_as, cast_a):  # type: ignore[no-untyped-def]
    return api_as(cast_a.api_key_raw, kind="api_key")


def test_registering_returns_the_secret_once_and_reads_never_show_it(api_as, cast_a, dns, manufacturer):
    # given
    body = {"url": "https://hooks.example.com/dms", "description": "ERP",
            "event_types": [EventType.PRIMARY_ORDER_SUBMITTED, EventType.GOODS_RECEIVED]}
    # when
    created = manufacturer.post(ENDPOINTS, body, format="json")
    # then
    assert created.status_code == 201, created.content
    data = created.json()
    secret = data["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert data["event_types"] == ["goods_receipt.recorded", "primary_order.submitted"]
    assert data["active"] is True and data["consecutive_failures"] == 0
    assert endpoint(cast_a, data["id"]).secret == secret
    admin = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    for client in (manufacturer, admin):
        for url in (ENDPOINTS, f"{ENDPOINTS}{data['id']}/"):
            response = client.get(url)
            assert response.status_code == 200
            assert secret not in response.content.decode() and "secret" not in response.content.decode()
    patched = manufacturer.patch(f"{ENDPOINTS}{data['id']}/", {"description": "ERP v2"}, format="json")
    assert patched.status_code == 200 and "secret" not in patched.json()
    # rotating shows the new one, once
    rotated = admin.post(f"{ENDPOINTS}{data['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != secret
    assert endpoint(cast_a, data["id"]).secret == rotated.json()["secret"]


def test_event_types_are_validated_and_the_error_names_the_field(dns, manufacturer):
    for event_types in (["order.shipped"], [EventType.GOODS_RECEIVED, "nope"], [EventType.ENDPOINT_TEST],
                        "primary_order.submitted"):
        response = manufacturer.post(ENDPOINTS, {"url": "https://hooks.example.com/dms",
                                                 "event_types": event_types}, format="json")
        assert response.status_code == 400, event_types
        assert list(response.json()["error"]["fields"]) == ["event_types"], event_types
    created = manufacturer.post(ENDPOINTS, {"url": "https://hooks.example.com/dms"}, format="json").json()
    assert created["event_types"] == []  # none given: every event type
    response = manufacturer.patch(f"{ENDPOINTS}{created['id']}/", {"event_types": ["x"]}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["event_types"]


@pytest.mark.parametrize("role", [Role.DISTRIBUTOR_ADMIN, Role.DISTRIBUTOR_STAFF, Role.MANUFACTURER_ANALYST])
def test_other_roles_are_refused(api_as, cast_a, dns, role):
    hook = make_endpoint(cast_a, "https://hooks.example.com/dms")
    client = api_as(cast_a.users[role])
    assert client.get(ENDPOINTS).status_code == 403
    assert client.post(ENDPOINTS, {"url": "https://hooks.example.com/x"}, format="json").status_code == 403
    assert client.get(f"{ENDPOINTS}{hook.pk}/").status_code == 403
    assert client.post(f"{ENDPOINTS}{hook.pk}/rotate-secret/").status_code == 403
    assert client.get(DELIVERIES).status_code == 403
    assert api_as(cast_a.device_token, kind="device").get(ENDPOINTS).status_code in (401, 403)


def test_another_tenants_endpoint_and_delivery_are_not_found(api_as, cast_a, cast_b, receiver, local_delivery,
                                                              django_capture_on_commit_callbacks):
    # given: tenant B's endpoint with a failed delivery
    local_delivery.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.default_status = 500
    theirs = make_endpoint(cast_b, receiver.url)
    emit_now(cast_b, capture=django_capture_on_commit_callbacks)
    (their_delivery,) = deliveries_of(cast_b)
    intruder = api_as(cast_a.api_key_raw, kind="api_key")
    # when / then
    calls = [("get", f"{ENDPOINTS}{theirs.pk}/", None), ("patch", f"{ENDPOINTS}{theirs.pk}/", {"active": False}),
             ("delete", f"{ENDPOINTS}{theirs.pk}/", None), ("post", f"{ENDPOINTS}{theirs.pk}/rotate-secret/", None),
             ("post", f"{ENDPOINTS}{theirs.pk}/test/", None), ("get", f"{DELIVERIES}{their_delivery.pk}/", None),
             ("post", f"{DELIVERIES}{their_delivery.pk}/retry/", None)]
    for method, url, body in calls:
        response = getattr(intruder, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert intruder.get(ENDPOINTS).json()["results"] == []
    assert intruder.get(DELIVERIES).json()["results"] == []
    assert intruder.get(DELIVERIES, {"endpoint": theirs.pk}).json()["results"] == []
    # nothing of theirs changed
    untouched = endpoint(cast_b, theirs.pk)
    assert untouched.active and untouched.secret == theirs.secret
    assert deliveries_of(cast_b)[0].status == DeliveryStatus.FAILED


def test_the_delivery_log_lists_filters_and_shows_every_attempt(api_as, cast_a, receiver, local_delivery,
                                                                 django_capture_on_commit_callbacks):
    # given: an order endpoint that failed once then succeeded, and a GRN-only endpoint
    orders = make_endpoint(cast_a, receiver.url, event_types=(EventType.PRIMARY_ORDER_SUBMITTED,))
    grn = make_endpoint(cast_a, receiver.url + "/grn", event_types=(EventType.GOODS_RECEIVED,))
    receiver.fail(1)
    submitted = emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (retrying,) = deliveries_of(cast_a, endpoint_id=orders.pk)
    make_due(cast_a, retrying.pk)
    assert deliver(scope=scope_of(cast_a), delivery_id=retrying.pk) == "succeeded"
    emit_now(cast_a, event_type=EventType.GOODS_RECEIVED, data={"grn": 1}, capture=django_capture_on_commit_callbacks)
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    # when
    listed = client.get(DELIVERIES).json()
    by_endpoint = client.get(DELIVERIES, {"endpoint": grn.pk}).json()["results"]
    by_type = client.get(DELIVERIES, {"event_type": EventType.PRIMARY_ORDER_SUBMITTED}).json()["results"]
    by_status = client.get(DELIVERIES, {"status": "failed"}).json()["results"]
    detail = client.get(f"{DELIVERIES}{retrying.pk}/").json()
    # then
    assert [d["event_type"] for d in listed["results"]] == ["goods_receipt.recorded", "primary_order.submitted"]
    assert [d["endpoint_id"] for d in by_endpoint] == [grn.pk]
    assert [d["id"] for d in by_type] == [retrying.pk] and by_status == []
    assert detail["status"] == "succeeded" and detail["attempts"] == 2 and detail["msg_id"] == submitted.msg_id
    assert [(a["number"], a["status_code"], a["error"]) for a in detail["attempt_log"]] == [
        (1, 500, "HTTP 500"), (2, 200, "")]
    assert detail["attempt_log"][1]["response_excerpt"] == "ok"
    assert detail["payload"] == submitted.payload
    assert detail["body"].encode() == receiver.to("/hooks/dms")[0].body
    assert client.get(DELIVERIES, {"status": "lost"}).status_code == 400


def test_the_delivery_list_pages_with_a_cursor_and_a_fixed_number_of_queries(api_as, cast_a, receiver,
                                                                              local_delivery, monkeypatch):
    monkeypatch.setattr(tasks, "enqueue_deliveries", lambda tenant_id, ids: None)
    make_endpoint(cast_a, receiver.url)
    make_endpoint(cast_a, receiver.url + "/2")
    client = api_as(cast_a.api_key_raw, kind="api_key")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(DELIVERIES, {"page_size": 50}).status_code == 200
        return len(ctx.captured_queries)

    emit_now(cast_a)
    few = queries()
    for _ in range(10):
        emit_now(cast_a)
    assert queries() == few
    first = client.get(DELIVERIES, {"page_size": 15}).json()
    second = client.get(first["next"]).json()
    ids = [d["id"] for d in first["results"] + second["results"]]
    assert len(ids) == 22 == len(set(ids)) and ids == sorted(ids, reverse=True)


def test_a_failed_delivery_is_retried_on_request_and_a_succeeded_one_is_a_409(
        api_as, cast_a, receiver, local_delivery, django_capture_on_commit_callbacks):
    # given: a delivery that used up its single try
    local_delivery.WEBHOOK_MAX_ATTEMPTS = 1
    receiver.fail(1)
    hook = make_endpoint(cast_a, receiver.url)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (failed,) = deliveries_of(cast_a)
    assert failed.status == DeliveryStatus.FAILED
    client = api_as(cast_a.api_key_raw, kind="api_key")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{DELIVERIES}{failed.pk}/retry/")
    # then
    assert response.status_code == 202 and response.json()["status"] == "pending"
    done = deliveries_of(cast_a)[0]
    assert done.status == DeliveryStatus.SUCCEEDED and done.attempts == 2 and len(receiver.requests) == 2
    again = client.post(f"{DELIVERIES}{failed.pk}/retry/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_not_failed"
    # a failed delivery of an inactive endpoint waits for the endpoint to be enabled
    receiver.fail(1)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert client.patch(f"{ENDPOINTS}{hook.pk}/", {"active": False}, format="json").json()["active"] is False
    latest = deliveries_of(cast_a)[-1]
    refused = client.post(f"{DELIVERIES}{latest.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "endpoint_disabled"


def test_re_enabling_over_the_api_clears_the_disabled_mark(api_as, cast_a, receiver, local_delivery,
                                                           django_capture_on_commit_callbacks):
    # given: an endpoint disabled by its failures
    local_delivery.WEBHOOK_MAX_ATTEMPTS = 1
    local_delivery.WEBHOOK_DISABLE_AFTER = 1
    receiver.fail(1)
    hook = make_endpoint(cast_a, receiver.url)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    shown = client.get(f"{ENDPOINTS}{hook.pk}/").json()
    assert shown["active"] is False and shown["disabled_at"] and "1 failed deliveries" in shown["disabled_reason"]
    # when
    response = client.patch(f"{ENDPOINTS}{hook.pk}/", {"active": True}, format="json")
    # then
    assert response.status_code == 200
    assert response.json() | {"updated_at": None} == shown | {
        "active": True, "disabled_at": None, "disabled_reason": "", "consecutive_failures": 0, "updated_at": None}
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert deliveries_of(cast_a)[-1].status == DeliveryStatus.SUCCEEDED


def test_a_test_event_goes_to_that_endpoint_only_and_delete_removes_it(api_as, cast_a, receiver, local_delivery,
                                                                       django_capture_on_commit_callbacks):
    # given
    one = make_endpoint(cast_a, receiver.url + "/one")
    make_endpoint(cast_a, receiver.url + "/two")
    client = api_as(cast_a.api_key_raw, kind="api_key")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{ENDPOINTS}{one.pk}/test/")
    # then
    assert response.status_code == 202 and response.json()["event_type"] == "webhook.test"
    assert [r.path for r in receiver.requests] == ["/hooks/dms/one"]
    assert deliveries_of(cast_a)[0].status == DeliveryStatus.SUCCEEDED
    # when: deleted
    assert client.delete(f"{ENDPOINTS}{one.pk}/").status_code == 204
    # then
    assert client.get(f"{ENDPOINTS}{one.pk}/").status_code == 404
    assert deliveries_of(cast_a) == []
    with tenant_scope(scope_of(cast_a)):
        assert list(WebhookEndpoint.objects.values_list("url", flat=True)) == [receiver.url + "/two"]
