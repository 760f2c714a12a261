"""What a receiver gets: the Standard Webhooks headers and a signature that verifies with the endpoint's secret, and
fails for a tampered body, a replay more than five minutes later, or another endpoint's (or a rotated) secret."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

import pytest
import standardwebhooks.webhooks as swh
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dms.tenancy.context import tenant_scope
from webhooks.enums import DeliveryStatus, EventType
from webhooks.services import endpoint_rotate_secret, redrive

from .conftest import deliveries_of, emit_now, make_due, make_endpoint, scope_of

pytestmark = pytest.mark.django_db


def test_a_delivery_carries_the_standard_webhooks_headers_and_a_valid_signature(
        cast_a, receiver, local_delivery, django_capture_on_commit_callbacks):
    # given
    hook = make_endpoint(cast_a, receiver.url)
    # when
    event = emit_now(cast_a, data={"order_id": 42, "total": "99.50", "note": "é"},
                     capture=django_capture_on_commit_callbacks)
    # then
    (request,) = receiver.requests
    assert request.path == "/hooks/dms"
    assert request.headers["webhook-id"] == event.msg_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "dms-webhooks/1"
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = Webhook(hook.secret).verify(request.body, request.headers)
    assert payload == {"type": "primary_order.submitted", "timestamp": event.payload["timestamp"],
                       "data": {"order_id": 42, "total": "99.50", "note": "é"}}
    assert request.body == json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    (sent,) = deliveries_of(cast_a)
    assert sent.status == DeliveryStatus.SUCCEEDED and sent.attempts == 1 and sent.last_status_code == 200


def test_a_tampered_body_or_another_endpoints_secret_fails_verification(
        cast_a, receiver, local_delivery, django_capture_on_commit_callbacks):
    # given
    hook = make_endpoint(cast_a, receiver.url)
    other = make_endpoint(cast_a, receiver.url + "/other", event_types=(EventType.GOODS_RECEIVED,))
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    Webhook(hook.secret).verify(request.body, request.headers)
    # when / then: one byte changed
    tampered = request.body.replace(b'"order_id":7', b'"order_id":8')
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(hook.secret).verify(tampered, request.headers)
    # when / then: the other endpoint's secret
    assert other.secret != hook.secret
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(other.secret).verify(request.body, request.headers)


def test_a_recorded_delivery_replayed_six_minutes_later_fails_verification(
        cast_a, receiver, local_delivery, django_capture_on_commit_callbacks, monkeypatch):
    # given: a delivery that verifies now
    hook = make_endpoint(cast_a, receiver.url)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (request,) = receiver.requests
    Webhook(hook.secret).verify(request.body, request.headers)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return datetime.now(tz) + timedelta(minutes=6)

    # when: the same bytes and headers arrive again six minutes later
    monkeypatch.setattr(swh, "datetime", Later)
    # then
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(hook.secret).verify(request.body, request.headers)


def test_after_rotation_only_the_new_secret_verifies(cast_a, receiver, local_delivery,
                                                       django_capture_on_commit_callbacks):
    # given
    hook = make_endpoint(cast_a, receiver.url)
    with tenant_scope(scope_of(cast_a)) as scope:
        rotated = endpoint_rotate_secret(scope=scope, endpoint_id=hook.pk)
    # when
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    (request,) = receiver.requests
    assert rotated.secret != hook.secret and rotated.secret.startswith("whsec_")
    Webhook(rotated.secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(hook.secret).verify(request.body, request.headers)


def test_the_secret_and_the_signature_never_reach_the_logs(cast_a, receiver, local_delivery, caplog,
                                                           django_capture_on_commit_callbacks):
    # given
    hook = make_endpoint(cast_a, receiver.url)
    receiver.fail(1)
    # when: a failed try and a successful one, everything logged
    with caplog.at_level(logging.DEBUG):
        emit_now(cast_a, capture=django_capture_on_commit_callbacks)
        (pending,) = deliveries_of(cast_a)
        make_due(cast_a, pending.pk)
        with django_capture_on_commit_callbacks(execute=True), tenant_scope(scope_of(cast_a)) as scope:
            redrive(scope=scope)
    # then
    assert len(receiver.requests) == 2
    assert "webhook delivery" in caplog.text  # the tries were logged
    secret_b64 = hook.secret.removeprefix("whsec_")
    for request in receiver.requests:
        assert request.headers["webhook-signature"].split(",", 1)[1] not in caplog.text
    assert secret_b64 not in caplog.text
