"""Exactly once under concurrency: the same push, and the same items under different keys, from 10 threads
at once against PostgreSQL (each thread its own connection, as concurrent requests are)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from dms.tenancy.context import tenant_scope
from dms.tenancy.scope import Scope
from mobile.models import PushBatch
from orders.models import SecondaryOrder, SecondaryOrderLine
from pjp.models import Visit
from tests.mobile.sync_setup import order_item, visit_item, working_day

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 10


def _storm(token: str, bodies: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Send every (key, body) at once from its own thread; the responses in order."""
    barrier = threading.Barrier(len(bodies))
    responses: list[Any] = [None] * len(bodies)

    def send(i: int, key: str, body: dict[str, Any]) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=20)
            responses[i] = client.post(reverse("mobile-push"), body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, key, body)) for i, (key, body) in enumerate(bodies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return responses


def test_the_same_push_from_ten_threads_is_applied_once(cast_a):
    # given
    day = working_day(cast_a)
    body = {"items": [visit_item(day, 0, 1), order_item(day, 0, 2), order_item(day, 1, 3)]}
    key = str(uuid.uuid4())
    # when
    responses = _storm(cast_a.device_token, [(key, body)] * THREADS)
    replay = _storm(cast_a.device_token, [(key, body)])[0]
    # then: each answer is the result (200) or "still running" (409), never a second application
    assert {r.status_code for r in responses} <= {200, 409} and 200 in {r.status_code for r in responses}
    done = [r.json() for r in responses if r.status_code == 200]
    assert all(d == done[0] for d in done) and replay.json() == done[0]
    assert [r["status"] for r in done[0]["results"]] == ["applied"] * 3
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert SecondaryOrder.objects.count() == 2 and SecondaryOrderLine.objects.count() == 4
        assert PushBatch.objects.count() == 1
        assert Visit.objects.filter(uuid=body["items"][0]["uuid"]).count() == 1


def test_the_same_items_under_ten_different_keys_at_once_are_applied_once(cast_a):
    # given: an app that lost track of its batch and re-sends the items under fresh keys, all at once
    day = working_day(cast_a)
    body = {"items": [visit_item(day, 0, 1), order_item(day, 0, 2), order_item(day, 1, 3)]}
    # when
    responses = _storm(cast_a.device_token, [(str(uuid.uuid4()), body) for _ in range(THREADS)])
    # then: every push succeeds; each item is applied by exactly one of them and a duplicate in the others
    assert {r.status_code for r in responses} == {200}, [r.content[:200] for r in responses]
    for index in range(3):
        statuses = sorted(r.json()["results"][index]["status"] for r in responses)
        assert statuses == ["applied"] + ["duplicate"] * (THREADS - 1), statuses
    order_ids = {r.json()["results"][1]["server"]["order_id"] for r in responses}
    assert len(order_ids) == 1
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert SecondaryOrder.objects.count() == 2 and SecondaryOrderLine.objects.count() == 4
        assert PushBatch.objects.count() == THREADS
