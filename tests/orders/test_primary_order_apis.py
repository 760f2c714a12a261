"""The primary-order APIs: the distributor drafts and submits over its session, the manufacturer's ERP decides
over its API key; cursor pagination, error shape with field names, nothing changed on refusal, intruders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from dms.tenancy.services import api_key_revoke
from orders.models import PrimaryOrder, PrimaryOrderEvent, PrimaryOrderLine
from tests.factories.orders import make_primary_order

pytestmark = pytest.mark.django_db

API = "/api/v1/orders/primary"
MAN = "/api/v1/manufacturer/primary-orders"
D = Decimal


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


@pytest.fixture
def erp(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.api_key_raw, kind="api_key")


def snapshot(order_id: int, tenant_id: int) -> tuple[Any, ...]:
    with tenant_scope(Scope.system(tenant_id)):
        o = PrimaryOrder.objects.get(pk=order_id)
        lines = list(PrimaryOrderLine.objects.filter(order_id=order_id).order_by("line_no").values_list(
            "ordered_cases", "approved_cases", "approved_value"))
        events = PrimaryOrderEvent.objects.filter(order_id=order_id).count()
        return (o.status, o.version, o.total_approved, lines, events)


def test_draft_submit_and_a_partial_decision_by_the_erp_over_http(cat, cast_a, staff, erp):
    # given: the distributor drafts and submits
    created = staff.post(f"{API}/", {"lines": [{"sku_id": cat.cola.pk, "cases": 3}, {"sku_id": cat.water.pk,
                                                                                     "cases": 2}],
                                     "note": "for the festival"}, format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert (order["status"], order["number"], order["total_ordered"]) == ("draft", "PO-000001", "3903.68")
    submitted = staff.post(f"{API}/{order['id']}/submit/", {}, format="json")
    assert submitted.json()["status"] == "submitted"
    # when: the manufacturer's ERP decides over its API key
    decided = erp.post(f"{MAN}/{order['id']}/decision/", {"decisions": [
        {"sku_id": cat.cola.pk, "approved_cases": 1, "note": "short of cola"},
        {"line_no": 2, "approved_cases": 2}], "reason": "allocation"}, format="json")
    # then
    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert body["status"] == "partially_approved"
    assert (body["total_ordered"], body["total_approved"]) == ("3903.68", "1434.55")
    assert [(x["approved_cases"], x["approved_value"], x["decision_note"]) for x in body["lines"]] == [
        (1, "1234.57", "short of cola"), (2, "199.98", "")]
    assert body["events"][-1]["actor_kind"] == "api_key"
    assert staff.get(f"{API}/{order['id']}/").json()["status"] == "partially_approved"


def test_approving_above_the_ordered_cases_is_a_400_naming_the_field_and_changes_nothing(cat, cast_a, dist_a1, erp):
    # given
    order = make_primary_order(dist_a1, [(cat.cola, 3), (cat.water, 2)], submit=True)
    before = snapshot(order.pk, cast_a.tenant.pk)
    # when
    response = erp.post(f"{MAN}/{order.pk}/decision/", {"decisions": [
        {"line_no": 1, "approved_cases": 3}, {"line_no": 2, "approved_cases": 3}]}, format="json")
    # then
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["decisions[1].approved_cases"]
    assert snapshot(order.pk, cast_a.tenant.pk) == before


def test_an_unknown_sku_is_a_field_error_on_create_and_on_decision(cat, cast_a, dist_a1, staff, erp):
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    before = snapshot(order.pk, cast_a.tenant.pk)
    created = staff.post(f"{API}/", {"lines": [{"sku_id": 987654, "cases": 1}]}, format="json")
    decided = erp.post(f"{MAN}/{order.pk}/decision/", {"decisions": [{"sku_id": 987654, "approved_cases": 1}]},
                       format="json")
    assert created.status_code == 400 and list(created.json()["error"]["fields"]) == ["lines[0].sku_id"]
    assert decided.status_code == 400 and list(decided.json()["error"]["fields"]) == ["decisions[0].sku_id"]
    assert snapshot(order.pk, cast_a.tenant.pk) == before
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert PrimaryOrder.objects.count() == 1


def test_deciding_a_decided_order_is_a_409_and_changes_nothing(cat, cast_a, dist_a1, erp):
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    first = erp.post(f"{MAN}/{order.pk}/decision/", {"decisions": [{"line_no": 1, "approved_cases": 3}]},
                     format="json")
    assert first.json()["status"] == "approved"
    before = snapshot(order.pk, cast_a.tenant.pk)
    again = erp.post(f"{MAN}/{order.pk}/decision/", {"decisions": [{"line_no": 1, "approved_cases": 0}]},
                     format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert "status" in again.json()["error"]["fields"]
    assert snapshot(order.pk, cast_a.tenant.pk) == before


def test_submitting_a_cancelled_order_is_a_409(cat, dist_a1, staff):
    order = make_primary_order(dist_a1, [(cat.cola, 3)])
    assert staff.post(f"{API}/{order.pk}/cancel/", {"reason": "typo"}, format="json").json()["status"] == "cancelled"
    response = staff.post(f"{API}/{order.pk}/submit/", {}, format="json")
    assert response.status_code == 409


def test_another_tenants_erp_gets_404_and_changes_nothing(cat, cast_a, cast_b, dist_a1, api_as):
    # given
    order = make_primary_order(dist_a1, [(cat.cola, 3)], submit=True)
    before = snapshot(order.pk, cast_a.tenant.pk)
    intruder = api_as(cast_b.api_key_raw, kind="api_key")
    # when
    decided = intruder.post(f"{MAN}/{order.pk}/decision/", {"decisions": [{"line_no": 1, "approved_cases": 3}]},
                            format="json")
    read = intruder.get(f"{MAN}/{order.pk}/")
    # then
    assert (decided.status_code, read.status_code) == (404, 404)
    assert snapshot(order.pk, cast_a.tenant.pk) == before


def test_a_draft_is_not_in_the_manufacturers_queue(cat, dist_a1, erp):
    draft = make_primary_order(dist_a1, [(cat.cola, 3)])
    assert erp.get(f"{MAN}/").json()["results"] == []
    assert erp.get(f"{MAN}/{draft.pk}/").status_code == 404


def test_cursor_pagination_returns_every_order_once(cat, dist_a1, dist_a2, erp):
    # given
    made = {make_primary_order(d, [(cat.cola, 1)], submit=True).pk for d in (dist_a1, dist_a2) for _ in range(3)}
    make_primary_order(dist_a1, [(cat.cola, 1)])  # a draft: not in the queue
    # when
    seen: list[int] = []
    url: str | None = f"{MAN}/?page_size=2"
    pages = 0
    while url:
        response = erp.get(url)
        assert response.status_code == 200, response.content
        seen += [row["id"] for row in response.json()["results"]]
        url = response.json()["next"]
        pages += 1
    # then
    assert sorted(seen) == sorted(made) and len(seen) == len(made) and pages == 3


def test_the_queue_filters_by_status_distributor_and_submission_date(cat, dist_a1, dist_a2, erp):
    a1 = make_primary_order(dist_a1, [(cat.cola, 1)], submit=True)
    a2 = make_primary_order(dist_a2, [(cat.cola, 1)], submit=True)
    erp.post(f"{MAN}/{a2.pk}/decision/", {"decisions": [{"line_no": 1, "approved_cases": 0}]}, format="json")

    def ids(query: dict[str, Any]) -> list[int]:
        response = erp.get(f"{MAN}/", query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids({"status": "submitted"}) == [a1.pk]
    assert ids({"status": ["submitted", "rejected"]}) == [a1.pk, a2.pk]
    assert ids({"distributor": dist_a2.pk}) == [a2.pk]
    assert ids({"submitted_from": "2000-01-01", "submitted_to": "2999-01-01"}) == [a1.pk, a2.pk]
    assert ids({"submitted_to": "2000-01-01"}) == []
    assert erp.get(f"{MAN}/", {"status": "nonsense"}).status_code == 400


def test_a_revoked_api_key_gets_401(cast_a, erp):
    with tenant_scope(Scope.system(cast_a.tenant.pk)) as scope:
        api_key_revoke(scope=scope, key_id=cast_a.api_key.pk)
    response = erp.get(f"{MAN}/")
    assert response.status_code == 401 and "error" in response.json()


def test_an_api_key_on_a_mobile_route_gets_401(erp):
    response = erp.get("/api/v1/mobile/journey/")
    assert response.status_code == 401


def test_distributor_users_see_only_their_distributors_orders(cat, api_as, cast_a, dist_a1, dist_a2, staff):
    # given
    own = make_primary_order(dist_a1, [(cat.cola, 1)])
    sibling = make_primary_order(dist_a2, [(cat.cola, 1)], submit=True)
    # when
    listed = staff.get(f"{API}/")
    everything = api_as(cast_a.users[Role.MANUFACTURER_ADMIN]).get(f"{API}/")
    # then
    assert [row["id"] for row in listed.json()["results"]] == [own.pk]
    assert {row["id"] for row in everything.json()["results"]} == {own.pk, sibling.pk}
    assert staff.get(f"{API}/{sibling.pk}/").status_code == 404
    assert staff.post(f"{API}/{sibling.pk}/cancel/", {"reason": "x"}, format="json").status_code == 404
    assert staff.get(f"{MAN}/").status_code == 403  # the manufacturer's queue is not theirs


def test_a_manufacturer_admin_reads_but_does_not_place_orders(cat, api_as, cast_a, dist_a1):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    response = client.post(f"{API}/", {"distributor_id": dist_a1.pk, "lines": [{"sku_id": cat.cola.pk, "cases": 1}]},
                           format="json")
    assert response.status_code == 403


def test_editing_a_draft_needs_the_current_version(cat, dist_a1, staff):
    order = make_primary_order(dist_a1, [(cat.cola, 1)])
    edited = staff.patch(f"{API}/{order.pk}/", {"version": 1, "lines": [{"sku_id": cat.chips.pk, "cases": 2}]},
                         format="json")
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["total_ordered"] == "960.00"
    stale = staff.patch(f"{API}/{order.pk}/", {"version": 1, "note": "x"}, format="json")
    assert stale.status_code == 409 and list(stale.json()["error"]["fields"]) == ["version"]


def test_the_queue_reads_a_constant_number_of_queries(cat, dist_a1, erp):
    make_primary_order(dist_a1, [(cat.cola, 1)], submit=True)
    with CaptureQueriesContext(connection) as one:
        erp.get(f"{MAN}/")
    for _ in range(4):
        make_primary_order(dist_a1, [(cat.cola, 1), (cat.water, 1)], submit=True)
    with CaptureQueriesContext(connection) as five:
        assert len(erp.get(f"{MAN}/").json()["results"]) == 5
    assert len(five.captured_queries) == len(one.captured_queries)
