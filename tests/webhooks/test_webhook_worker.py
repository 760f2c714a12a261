"""Webhooks through a real Celery worker on Redis: a committed event reaches the receiver signed; and an event is
never lost when the enqueue after the commit is lost or the worker dies while delivering: a new worker and the
re-drive (run through the broker, as the beat runs it) deliver it, with the same webhook-id."""

from __future__ import annotations

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import tasks
from webhooks.enums import DeliveryStatus, EventType
from webhooks.services.delivery import INTERRUPTED

from .conftest import attempts_of, deliveries_of, delivery, emit_now, make_endpoint, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _succeeded(cast, pk):  # type: ignore[no-untyped-def]
    return delivery(cast, pk).status == DeliveryStatus.SUCCEEDED


def _lease_ran_out(cast, pk) -> bool:  # type: ignore[no-untyped-def]
    lease = delivery(cast, pk).lease_until
    return lease is not None and lease < timezone.now()


def test_a_committed_event_is_delivered_by_the_worker_with_a_valid_signature(cast_a, workers, receiver):
    # given
    workers.start()
    hook = make_endpoint(cast_a, receiver.url)
    # when: the change commits (a real commit; the enqueue goes to Redis)
    event = emit_now(cast_a, event_type=EventType.GOODS_RECEIVED, data={"grn_id": 5, "cases": 12})
    # then
    (sent,) = deliveries_of(cast_a)
    wait_for(lambda: _succeeded(cast_a, sent.pk), timeout=30, interval=0.1)
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == event.msg_id
    assert Webhook(hook.secret).verify(request.body, request.headers)["data"] == {"grn_id": 5, "cases": 12}
    assert [(a.number, a.status_code) for a in attempts_of(cast_a, sent.pk)] == [(1, 200)]


def test_an_event_whose_enqueue_was_lost_after_the_commit_is_delivered_by_the_re_drive(cast_a, workers, receiver,
                                                                                       monkeypatch):
    # given: the process dies between the commit and the publish
    workers.start()
    hook = make_endpoint(cast_a, receiver.url)
    with monkeypatch.context() as lost:
        lost.setattr(tasks, "enqueue_deliveries", lambda tenant_id, ids: None)
        event = emit_now(cast_a)
    (pending,) = deliveries_of(cast_a)
    assert pending.status == DeliveryStatus.PENDING and pending.attempts == 0
    # when: the beat's re-drive runs, through the broker
    fanned_out = tasks.redrive_webhooks.delay()
    # then
    assert fanned_out.get(timeout=30) == {"tenants": [cast_a.tenant.pk]}
    wait_for(lambda: _succeeded(cast_a, pending.pk), timeout=30, interval=0.1)
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == event.msg_id
    Webhook(hook.secret).verify(request.body, request.headers)


def test_an_event_is_never_lost_when_the_worker_dies_while_delivering_it(cast_a, workers, receiver):
    # given: the receiver keeps the first request waiting
    first = workers.start()
    hook = make_endpoint(cast_a, receiver.url)
    receiver.hold_next()
    event = emit_now(cast_a)
    (sending,) = deliveries_of(cast_a)
    wait_for(lambda: len(receiver.requests) == 1, timeout=30, interval=0.05)
    held = delivery(cast_a, sending.pk)
    assert held.status == DeliveryStatus.PENDING and held.lease_until is not None and held.attempts == 1
    # when: the worker is killed mid-request, a new one starts, the lease runs out and the re-drive runs
    first.kill()
    first.wait(timeout=10)
    receiver.release()
    workers.start()
    wait_for(lambda: _lease_ran_out(cast_a, sending.pk), timeout=10, interval=0.1)
    assert delivery(cast_a, sending.pk).status == DeliveryStatus.PENDING  # nobody finished it
    tasks.redrive_webhooks.delay()
    # then
    wait_for(lambda: _succeeded(cast_a, sending.pk), timeout=30, interval=0.1)
    assert len(receiver.requests) == 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {event.msg_id}
    Webhook(hook.secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    assert receiver.requests[1].body == receiver.requests[0].body
    assert [(a.number, a.status_code, a.error) for a in attempts_of(cast_a, sending.pk)] == [
        (1, None, INTERRUPTED), (2, 200, "")]
    assert delivery(cast_a, sending.pk).attempts == 2
