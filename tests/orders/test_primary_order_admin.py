"""The primary-order admin: the changelist and the read-only page, submit and cancel (with a reason) as actions
through the services; another distributor's order is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dms.tenancy.enums import Role
from orders.enums import PrimaryOrderStatus as Status
from tests.factories.orders import make_primary_order

from .test_primary_order_apis import snapshot

pytestmark = pytest.mark.django_db
URL = "/admin/orders/primaryorder/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


def test_staff_submit_a_draft_and_cancel_a_submitted_order_with_a_reason(cat, cast_a, dist_a1):
    # given
    draft = make_primary_order(dist_a1, [(cat.cola, 1)])
    submitted = make_primary_order(dist_a1, [(cat.cola, 1)], submit=True)
    client = client_for(cast_a, Role.DISTRIBUTOR_STAFF)
    assert client.get(URL).status_code == 200 and client.get(f"{URL}{draft.pk}/change/").status_code == 200
    # when
    client.post(URL, {"action": "submit_selected", "_selected_action": [draft.pk]})
    asked = client.post(URL, {"action": "cancel_selected", "_selected_action": [submitted.pk]})
    client.post(URL, {"action": "cancel_selected", "_selected_action": [submitted.pk], "apply_reason": "yes",
                      "reason": "ordered twice"})
    # then
    assert "reason" in asked.content.decode()
    assert snapshot(draft.pk, cast_a.tenant.pk)[0] == Status.SUBMITTED
    assert snapshot(submitted.pk, cast_a.tenant.pk)[0] == Status.CANCELLED


def test_a_sibling_distributors_order_is_a_404(cat, cast_a, dist_a2):
    order = make_primary_order(dist_a2, [(cat.cola, 1)])
    response = client_for(cast_a, Role.DISTRIBUTOR_STAFF).get(f"{URL}{order.pk}/change/")
    assert response.status_code == 404
