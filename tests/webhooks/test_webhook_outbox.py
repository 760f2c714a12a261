"""The outbox, with real commits and rollbacks: an event and its deliveries commit or roll back with the change that
emits them, are enqueued only after the commit, and go only to the active endpoints subscribed to their type."""

from __future__ import annotations

import pytest
from django.db import transaction

from dms.tenancy.context import tenant_scope
from webhooks import tasks
from webhooks.enums import DeliveryStatus, EventType
from webhooks.events import emit
from webhooks.models import OutboxEvent, WebhookDelivery
from webhooks.services import endpoint_update

from .conftest import make_endpoint, scope_of

pytestmark = pytest.mark.django_db(transaction=True)


class ChangeFailed(Exception):
    pass


@pytest.fixture
def enqueued(monkeypatch):  # type: ignore[no-untyped-def]
    """What reached the broker: (tenant_id, delivery ids) per publish."""
    calls: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(tasks, "enqueue_deliveries", lambda tenant_id, ids: calls.append((tenant_id, list(ids))))
    return calls


def _counts(cast) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with tenant_scope(scope_of(cast)):
        return OutboxEvent.objects.count(), WebhookDelivery.objects.count()


def test_an_event_emitted_in_a_transaction_that_rolls_back_leaves_nothing(cast_a, dns, enqueued):
    # given
    make_endpoint(cast_a, "https://hooks.example.com/in")
    # when: the change fails after emitting
    with pytest.raises(ChangeFailed), tenant_scope(scope_of(cast_a)) as scope:
        emit(scope=scope, event_type=EventType.PRIMARY_ORDER_CANCELLED, data={"order_id": 1})
        assert WebhookDelivery.objects.count() == 1  # written, inside the transaction
        raise ChangeFailed
    # then
    assert _counts(cast_a) == (0, 0)
    assert enqueued == []


def test_emitting_outside_a_transaction_is_refused(cast_a, dns, enqueued):
    make_endpoint(cast_a, "https://hooks.example.com/in")
    assert not transaction.get_connection().in_atomic_block
    with pytest.raises(RuntimeError, match="inside the transaction"):
        emit(scope=scope_of(cast_a), event_type=EventType.PRIMARY_ORDER_SUBMITTED, data={"order_id": 1})
    assert _counts(cast_a) == (0, 0) and enqueued == []


def test_a_committed_event_is_enqueued_after_the_commit_for_subscribed_active_endpoints_only(cast_a, cast_b, dns,
                                                                                             enqueued):
    # given: all types, orders only, GRNs only, an inactive one, and tenant B's
    every = make_endpoint(cast_a, "https://hooks.example.com/all")
    orders = make_endpoint(cast_a, "https://hooks.example.com/orders",
                           event_types=(EventType.PRIMARY_ORDER_SUBMITTED, EventType.PRIMARY_ORDER_CANCELLED))
    make_endpoint(cast_a, "https://hooks.example.com/grn", event_types=(EventType.GOODS_RECEIVED,))
    paused = make_endpoint(cast_a, "https://hooks.example.com/paused")
    with tenant_scope(scope_of(cast_a)) as scope:
        endpoint_update(scope=scope, endpoint_id=paused.pk, active=False)
    make_endpoint(cast_b, "https://hooks.example.com/b")
    # when
    with tenant_scope(scope_of(cast_a)) as scope:
        event = emit(scope=scope, event_type=EventType.PRIMARY_ORDER_CANCELLED, data={"order_id": 9},
                     distributor_id=cast_a.distributors[0].pk)
        assert enqueued == []  # not before the commit
    # then
    with tenant_scope(scope_of(cast_a)):
        deliveries = list(WebhookDelivery.objects.filter(event=event).order_by("endpoint_id"))
    assert [d.endpoint_id for d in deliveries] == sorted([every.pk, orders.pk])
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 0 for d in deliveries)
    assert [(tid, sorted(ids)) for tid, ids in enqueued] == [(cast_a.tenant.pk, sorted(d.pk for d in deliveries))]
    assert event.msg_id.startswith("msg_") and event.payload["type"] == "primary_order.cancelled"
    assert _counts(cast_b) == (0, 0)


def test_the_test_event_cannot_be_emitted(cast_a, enqueued):
    with pytest.raises(ValueError, match="never emitted"), tenant_scope(scope_of(cast_a)) as scope:
        emit(scope=scope, event_type=EventType.ENDPOINT_TEST, data={})
    assert _counts(cast_a) == (0, 0)
