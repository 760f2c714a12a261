"""Retries and failure: growing, jittered delays; a delivery given up after WEBHOOK_MAX_ATTEMPTS; an endpoint
disabled after WEBHOOK_DISABLE_AFTER failed deliveries in a row (its other pending deliveries failed) and enabled
again; the lease that keeps two workers from sending one delivery, and the take-over after a worker died."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from dms.tenancy.context import tenant_scope
from webhooks import tasks
from webhooks.enums import DeliveryStatus, EventType
from webhooks.models import WebhookDelivery
from webhooks.services import deliver, endpoint_update, redrive, retry_delay
from webhooks.services.delivery import INTERRUPTED, _claim, _record, _send

from .conftest import (
    attempts_of,
    deliveries_of,
    delivery,
    emit_now,
    endpoint,
    make_due,
    make_endpoint,
    scope_of,
)

pytestmark = pytest.mark.django_db


def _lose_enqueues(monkeypatch):  # type: ignore[no-untyped-def]
    """The process dies between the commit and the publish: nothing reaches the broker."""
    monkeypatch.setattr(tasks, "enqueue_deliveries", lambda tenant_id, ids: None)


def test_retry_delays_grow_and_are_jittered_within_half_to_full_step(settings):
    # given
    settings.WEBHOOK_RETRY_SCHEDULE = [30, 120, 600, 3600]
    rng = random.Random(7)
    # when
    samples = {n: [retry_delay(failed_attempts=n, rng=rng).total_seconds() for _ in range(300)]
               for n in range(1, 7)}
    # then
    for n, step in ((1, 30), (2, 120), (3, 600), (4, 3600), (5, 3600), (6, 3600)):
        assert step / 2 <= min(samples[n]) and max(samples[n]) <= step, n
        assert len(set(samples[n])) > 250, n  # jitter, not a fixed delay
        assert max(samples[n]) - min(samples[n]) > step / 3, n  # spread over the range
    for n in (1, 2, 3):
        assert max(samples[n]) <= min(samples[n + 1])  # a later wait is never shorter


def test_a_failing_endpoint_is_retried_with_growing_delays_then_the_delivery_fails(
        cast_a, receiver, local_delivery, settings, django_capture_on_commit_callbacks):
    # given
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_RETRY_SCHEDULE = [10, 40, 160]
    receiver.default_status = 500
    hook = make_endpoint(cast_a, receiver.url)
    before = timezone.now()
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)  # try 1
    after = timezone.now()
    (pending,) = deliveries_of(cast_a)
    waits = []
    # when: each retry is made due and run, as the re-drive would when its time comes
    for tried, step in ((1, 10), (2, 40), (3, 160)):
        current = delivery(cast_a, pending.pk)
        assert current.status == DeliveryStatus.PENDING and current.attempts == tried
        assert current.last_status_code == 500 and current.lease_until is None
        longest, shortest = current.next_attempt_at - before, current.next_attempt_at - after
        assert timedelta(seconds=step / 2) <= longest and shortest <= timedelta(seconds=step)
        waits.append((shortest + longest) / 2)
        make_due(cast_a, pending.pk)
        before = timezone.now()
        result = deliver(scope=scope_of(cast_a), delivery_id=pending.pk)
        after = timezone.now()
        assert result == ("failed" if tried == 3 else "retrying")
    # then
    assert waits == sorted(waits) and len(set(waits)) == 3
    given_up = delivery(cast_a, pending.pk)
    assert given_up.status == DeliveryStatus.FAILED and given_up.attempts == 4 and given_up.lease_until is None
    log = attempts_of(cast_a, pending.pk)
    assert [(a.number, a.status_code, a.error) for a in log] == [(n, 500, "HTTP 500") for n in (1, 2, 3, 4)]
    assert all(a.response_excerpt.startswith("nope 500") and len(a.response_excerpt) == 500 for a in log)
    assert len(receiver.requests) == 4
    assert {r.headers["webhook-id"] for r in receiver.requests} == {given_up.event.msg_id}
    failing = endpoint(cast_a, hook.pk)
    assert failing.consecutive_failures == 1 and failing.active
    # a given-up delivery is not tried again by the re-drive
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(scope_of(cast_a)) as scope:
        assert redrive(scope=scope) == []
    assert len(receiver.requests) == 4


def test_repeated_failed_deliveries_disable_the_endpoint_and_fail_its_pending_ones_until_re_enabled(
        cast_a, receiver, local_delivery, settings, monkeypatch, django_capture_on_commit_callbacks):
    # given: one try per delivery; two failed deliveries in a row disable an endpoint
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER = 2
    receiver.path_status = {"/hooks/dms/bad": 503, "/hooks/dms/good": 200}
    bad = make_endpoint(cast_a, receiver.url + "/bad")
    good = make_endpoint(cast_a, receiver.url + "/good")
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert endpoint(cast_a, bad.pk).consecutive_failures == 1
    with monkeypatch.context() as lost:
        _lose_enqueues(lost)
        waiting = emit_now(cast_a, capture=django_capture_on_commit_callbacks)  # pending, never sent
    # when: the next failed delivery reaches the threshold
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    disabled = endpoint(cast_a, bad.pk)
    assert not disabled.active and disabled.disabled_at is not None
    assert "2 failed deliveries in a row" in disabled.disabled_reason and "HTTP 503" in disabled.disabled_reason
    (bad_waiting,) = deliveries_of(cast_a, event=waiting, endpoint_id=bad.pk)
    assert bad_waiting.status == DeliveryStatus.FAILED and bad_waiting.last_error == "endpoint disabled"
    assert bad_waiting.attempts == 0
    (good_waiting,) = deliveries_of(cast_a, event=waiting, endpoint_id=good.pk)
    assert good_waiting.status == DeliveryStatus.PENDING  # the healthy endpoint is not touched
    healthy = endpoint(cast_a, good.pk)
    assert healthy.active and healthy.consecutive_failures == 0
    assert len(receiver.to("/hooks/dms/bad")) == 2 and len(receiver.to("/hooks/dms/good")) == 2
    # a disabled endpoint gets no new deliveries
    later = emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert [d.endpoint_id for d in deliveries_of(cast_a, event=later)] == [good.pk]

    # when: it is enabled again (its receiver fixed)
    receiver.path_status["/hooks/dms/bad"] = 200
    with tenant_scope(scope_of(cast_a)) as scope:
        endpoint_update(scope=scope, endpoint_id=bad.pk, active=True)
    enabled = endpoint(cast_a, bad.pk)
    assert enabled.active and enabled.consecutive_failures == 0
    assert enabled.disabled_at is None and enabled.disabled_reason == ""
    again = emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    # then
    (sent,) = deliveries_of(cast_a, event=again, endpoint_id=bad.pk)
    assert sent.status == DeliveryStatus.SUCCEEDED and len(receiver.to("/hooks/dms/bad")) == 3


def test_a_success_resets_the_count_of_failed_deliveries(cast_a, receiver, local_delivery, settings,
                                                        django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    hook = make_endpoint(cast_a, receiver.url)
    receiver.fail(1)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert endpoint(cast_a, hook.pk).consecutive_failures == 1
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    assert endpoint(cast_a, hook.pk).consecutive_failures == 0
    assert [d.status for d in deliveries_of(cast_a)] == [DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED]


def test_a_delivery_that_is_not_due_held_by_a_worker_or_done_is_not_sent(cast_a, receiver, local_delivery,
                                                                          monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    # given: a pending delivery whose enqueue was lost
    make_endpoint(cast_a, receiver.url)
    _lose_enqueues(monkeypatch)
    emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (pending,) = deliveries_of(cast_a)
    scope = scope_of(cast_a)
    soon = timezone.now() + timedelta(minutes=5)

    def set_row(**values):  # type: ignore[no-untyped-def]
        with tenant_scope(scope):
            WebhookDelivery.objects.filter(pk=pending.pk).update(**values)

    # when / then: not due yet
    set_row(next_attempt_at=soon)
    assert deliver(scope=scope, delivery_id=pending.pk) == "skipped"
    # when / then: due, but another worker holds the lease
    set_row(next_attempt_at=timezone.now(), lease_until=soon)
    assert deliver(scope=scope, delivery_id=pending.pk) == "skipped"
    assert receiver.requests == [] and delivery(cast_a, pending.pk).attempts == 0
    # when / then: that lease ran out (the worker died): taken over and sent, once
    set_row(lease_until=timezone.now() - timedelta(seconds=1))
    assert deliver(scope=scope, delivery_id=pending.pk) == "succeeded"
    assert deliver(scope=scope, delivery_id=pending.pk) == "skipped"
    assert len(receiver.requests) == 1 and delivery(cast_a, pending.pk).status == DeliveryStatus.SUCCEEDED


def test_a_worker_that_died_mid_try_is_taken_over_and_its_late_result_cannot_overwrite(
        cast_a, receiver, local_delivery, settings, monkeypatch, django_capture_on_commit_callbacks):
    # given: worker 1 claimed the delivery, then stopped before sending
    settings.WEBHOOK_LEASE_SECONDS = 30
    make_endpoint(cast_a, receiver.url)
    with monkeypatch.context() as lost:
        _lose_enqueues(lost)
        emit_now(cast_a, capture=django_capture_on_commit_callbacks)
    (pending,) = deliveries_of(cast_a)
    scope = scope_of(cast_a)
    first = _claim(scope=scope, delivery_id=pending.pk)
    assert not isinstance(first, str) and first.number == 1
    held = delivery(cast_a, pending.pk)
    assert held.lease_until == first.lease_until and held.attempts == 1
    assert "secret" not in repr(first) and first.secret not in repr(first)
    # when: its lease runs out and the re-drive hands the delivery to worker 2
    with tenant_scope(scope):
        WebhookDelivery.objects.filter(pk=pending.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True), tenant_scope(scope) as redrive_scope:
        assert redrive(scope=redrive_scope) == [pending.pk]
    # then
    done = delivery(cast_a, pending.pk)
    assert done.status == DeliveryStatus.SUCCEEDED and done.attempts == 2
    assert [(a.number, a.status_code, a.error) for a in attempts_of(cast_a, pending.pk)] == [
        (1, None, INTERRUPTED), (2, 200, "")]
    # when: worker 1 comes back and records a failure for its old claim
    receiver.fail(1)
    late = _send(first)
    # then: only its own log line changes; the delivery stays succeeded
    assert _record(scope=scope, claim=first, outcome=late, duration_ms=5) == "stale"
    assert delivery(cast_a, pending.pk).status == DeliveryStatus.SUCCEEDED
    assert attempts_of(cast_a, pending.pk)[0].status_code == 500


def test_a_broker_outage_after_the_commit_is_logged_and_the_re_drive_sends_the_event(
        cast_a, receiver, local_delivery, monkeypatch, caplog, django_capture_on_commit_callbacks):
    # given
    make_endpoint(cast_a, receiver.url)

    def broker_down(**kwargs):  # type: ignore[no-untyped-def]
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # when: the change commits but the publish fails
    with monkeypatch.context() as outage, caplog.at_level(logging.WARNING, logger="webhooks"):
        outage.setattr(tasks.deliver_webhook, "delay", broker_down)
        event = emit_now(cast_a, event_type=EventType.GOODS_RECEIVED, capture=django_capture_on_commit_callbacks)
    # then: no error for the caller, the delivery waits, and the log says the re-drive will send it
    assert "re-drive will send them" in caplog.text
    (pending,) = deliveries_of(cast_a)
    assert pending.status == DeliveryStatus.PENDING and receiver.requests == []
    # when: the beat's re-drive runs once the broker is back
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.redrive_webhooks.delay(tenant_id=cast_a.tenant.pk).get() == {
            "tenant_id": cast_a.tenant.pk, "enqueued": 1}
    # then
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event.msg_id]
    assert delivery(cast_a, pending.pk).status == DeliveryStatus.SUCCEEDED
