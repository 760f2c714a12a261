"""The dispatch APIs: the ERP issues a dispatch advice over its API key (201, 200 on a replay, 409 on other
content), the distributor reads it and records the receipt over its session, and closes the order once settled;
the error shape names the field and nothing is written on refusal; roles, tenants and sibling distributors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.services import AdviceLineInput
from dms.tenancy.enums import Role
from tests.factories.dispatch import batches_of, issue, make_approved_order, receive

from .conftest import counts, order_state

pytestmark = pytest.mark.django_db

MAN = "/api/v1/manufacturer"
API = "/api/v1/dispatch"
ISSUE = {"reference": "SAP-80001", "dispatched_on": "2025-06-02", "expected_on": "2025-06-04", "vehicle": "LES-1234",
         "lines": [{"line_no": 1, "batches": [{"batch": "B1", "expiry": "2027-01-31", "cases": 5},
                                              {"batch": "B2", "expiry": "2027-01-31", "manufactured_on": "2025-05-01",
                                               "cases": 2}]},
                   {"line_no": 2, "dispatched_cases": 5}]}


@pytest.fixture
def erp(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.api_key_raw, kind="api_key")


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


def dispatched(distributor: Any, cat: Any, reference: str) -> Any:
    """Another approved order of `distributor` (cola 2 of 2), dispatched in full under `reference`."""
    order = make_approved_order(distributor, [(cat.cola, 2, 2)])
    return issue(order, [AdviceLineInput(line_no=1, dispatched_cases=2)], reference=reference).advice


def issue_body(**over: Any) -> dict[str, Any]:
    return {**ISSUE, **over}


def test_the_erp_issues_an_advice_and_a_replay_returns_it(tid, cat, order, erp):
    # when
    created = erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(), format="json")
    again = erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(), format="json")
    # then
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["number"], body["status"], body["order_number"], body["order_status"]) == (
        "DA-000001", "issued", "PO-000001", "dispatched")
    assert (body["total_dispatched_cases"], body["dispatched_value"], body["receipt"]) == (12, "11041.97", None)
    assert [(x["line_no"], x["ordered_cases"], x["approved_cases"], x["dispatched_cases"], x["dispatched_value"])
            for x in body["lines"]] == [(1, 10, 8, 7, "8641.97"), (2, 5, 5, 5, "2400.00"), (3, 3, 0, 0, "0.00")]
    assert [(b["batch"], b["expiry"], b["cases"], b["received_cases"]) for b in body["lines"][0]["batches"]] == [
        ("B1", "2027-01-31", 5, None), ("B2", "2027-01-31", 2, None)]
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert counts(tid)["advices"] == 1


def test_other_content_under_the_reference_is_a_409_and_changes_nothing(tid, order, erp):
    erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(), format="json")
    before = counts(tid)
    response = erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(vehicle="LES-9999"),
                        format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reference_conflict" and "reference" in error["fields"]
    assert counts(tid) == before


def test_a_bad_batch_is_a_400_naming_it_and_writes_nothing(tid, order, erp):
    # given
    lines = [*ISSUE["lines"], {"line_no": 3, "batches": [{"batch": "W", "expiry": "2025-06-01", "cases": 1}]}]
    before, state = counts(tid), order_state(order)
    # when
    expired = erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(lines=lines), format="json")
    empty = erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/",
                     issue_body(lines=[{"line_no": 1, "batches": [{"batch": "B1", "cases": 0}]}]), format="json")
    # then
    assert expired.status_code == 400
    assert set(expired.json()["error"]["fields"]) == {"lines[2].batches[0].expiry", "lines[2].batches"}
    assert empty.status_code == 400 and list(empty.json()["error"]["fields"]) == ["lines[0].batches[0].cases"]
    assert counts(tid) == before and order_state(order) == state


def test_the_distributor_reads_the_advice_records_the_receipt_and_closes_the_order(tid, cat, order, advice, staff):
    # given
    b1, b2, chips = batches_of(advice)
    assert staff.get(f"{API}/advices/{advice.pk}/").json()["lines"][0]["dispatched_cases"] == 7
    # when
    recorded = staff.post(f"{API}/advices/{advice.pk}/receipt/", {"received_on": "2025-06-03", "lines": [
        {"batch_id": b1.pk, "received_cases": 4, "short_cases": 1},
        {"line_no": 1, "batch": "B2", "received_cases": 1, "damaged_cases": 1, "note": "crushed"},
        {"line_no": 2, "received_cases": 5}]}, format="json")
    # then
    assert recorded.status_code == 201, recorded.content
    grn = recorded.json()
    assert (grn["number"], grn["advice_number"], grn["received_value"]) == ("GRN-000001", "DA-000001", "8572.84")
    assert [(x["batch"], x["received_cases"], x["short_cases"], x["damaged_cases"], x["received_units"])
            for x in grn["lines"]] == [("B1", 4, 1, 0, 48), ("B2", 1, 0, 1, 12), ("", 5, 0, 0, 120)]
    document = staff.get(f"{API}/advices/{advice.pk}/").json()
    assert (document["status"], document["receipt_number"], document["order_status"]) == (
        "received", "GRN-000001", "received")
    assert [(x["received_cases"], x["short_cases"], x["damaged_cases"]) for x in document["lines"]] == [
        (5, 1, 1), (5, 0, 0), (None, None, None)]
    assert [(b["received_cases"], b["short_cases"]) for b in document["lines"][0]["batches"]] == [(4, 1), (1, 0)]
    # when: the shortage is settled
    no_reason = staff.post(f"{API}/primary-orders/{order.pk}/close/", {}, format="json")
    closed = staff.post(f"{API}/primary-orders/{order.pk}/close/", {"reason": "credit note CN-7"}, format="json")
    # then
    assert no_reason.status_code == 400 and list(no_reason.json()["error"]["fields"]) == ["reason"]
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_a_second_receipt_over_the_api_is_a_409(tid, advice, staff):
    receive(advice)
    before = counts(tid)
    response = staff.post(f"{API}/advices/{advice.pk}/receipt/", {"lines": [
        {"batch_id": b.pk, "received_cases": b.cases} for b in batches_of(advice)]}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_received"
    assert counts(tid) == before


def test_a_receipt_that_does_not_add_up_is_a_400_naming_the_line(tid, advice, staff):
    b1, b2, chips = batches_of(advice)
    before = counts(tid)
    response = staff.post(f"{API}/advices/{advice.pk}/receipt/", {"lines": [
        {"batch_id": b1.pk, "received_cases": 5}, {"batch_id": b2.pk, "received_cases": 1},
        {"batch_id": chips.pk, "received_cases": 5}], "received_on": "2025-06-03"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["lines[1].received_cases"]
    assert counts(tid) == before


def test_roles_the_erp_may_not_receive_and_the_distributor_may_not_issue(tid, cast_a, order, advice, api_as, erp,
                                                                         staff):
    before = counts(tid)
    body = {"lines": [{"batch_id": b.pk, "received_cases": b.cases} for b in batches_of(advice)]}
    analyst = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    assert erp.post(f"{API}/advices/{advice.pk}/receipt/", body, format="json").status_code == 403
    assert analyst.post(f"{API}/advices/{advice.pk}/receipt/", body, format="json").status_code == 403
    assert staff.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(),
                      format="json").status_code == 403
    assert analyst.get(f"{MAN}/dispatch-advices/{advice.pk}/").status_code == 200
    assert staff.get(f"{MAN}/dispatch-advices/").status_code == 403
    assert counts(tid) == before


def test_another_tenant_gets_404_everywhere_and_changes_nothing(tid, cast_b, order, advice, api_as):
    # given
    grn = receive(advice)
    before = counts(tid)
    intruder_erp = api_as(cast_b.api_key_raw, kind="api_key")
    intruder = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    # when
    answers = [
        intruder_erp.post(f"{MAN}/primary-orders/{order.pk}/dispatch-advice/", issue_body(reference="X"),
                          format="json"),
        intruder_erp.get(f"{MAN}/dispatch-advices/{advice.pk}/"), intruder_erp.get(f"{MAN}/goods-receipts/{grn.pk}/"),
        intruder.get(f"{API}/advices/{advice.pk}/"), intruder.get(f"{API}/receipts/{grn.pk}/"),
        intruder.post(f"{API}/advices/{advice.pk}/receipt/", {"lines": []}, format="json"),
        intruder.post(f"{API}/primary-orders/{order.pk}/close/", {"reason": "x"}, format="json"),
    ]
    # then
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.json()["error"]["code"] == "not_found" for a in answers)
    assert intruder_erp.get(f"{MAN}/dispatch-advices/").json()["results"] == []
    assert intruder.get(f"{API}/receipts/").json()["results"] == []
    assert counts(tid) == before


def test_a_sibling_distributors_advice_is_invisible_to_the_distributor_but_not_to_the_manufacturer(
        tid, cat, advice, dist_a2, staff, api_as, cast_a):
    # given
    sibling = dispatched(dist_a2, cat, "SAP-A2")
    # when
    listed = [a["id"] for a in staff.get(f"{API}/advices/").json()["results"]]
    detail = staff.get(f"{API}/advices/{sibling.pk}/")
    receipt = staff.post(f"{API}/advices/{sibling.pk}/receipt/", {"lines": []}, format="json")
    manufacturer = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    # then
    assert listed == [advice.pk]
    assert (detail.status_code, receipt.status_code) == (404, 404)
    assert {a["id"] for a in manufacturer.get(f"{API}/advices/").json()["results"]} == {advice.pk, sibling.pk}
    assert manufacturer.get(f"{API}/advices/{sibling.pk}/").status_code == 200


def test_the_manufacturers_lists_filter_and_page_with_a_cursor(tid, cat, advice, dist_a1, dist_a2, erp):
    # given: three more DAs, one of them received
    others = [dispatched(d, cat, f"SAP-{i}") for i, d in enumerate((dist_a1, dist_a2, dist_a2))]
    grn = receive(others[0])
    # when: page by page
    seen: list[int] = []
    url: str | None = f"{MAN}/dispatch-advices/?page_size=1"
    while url:
        page = erp.get(url).json()
        seen += [a["id"] for a in page["results"]]
        url = page["next"]
    # then
    assert seen == [o.pk for o in reversed(others)] + [advice.pk]  # newest first, each once
    received = erp.get(f"{MAN}/dispatch-advices/?status=received").json()["results"]
    assert [(a["id"], a["receipt"], a["receipt_number"]) for a in received] == [(others[0].pk, grn.pk, grn.number)]
    of_a2 = erp.get(f"{MAN}/dispatch-advices/", {"distributor": dist_a2.pk}).json()["results"]
    assert {a["id"] for a in of_a2} == {others[1].pk, others[2].pk}
    assert erp.get(f"{MAN}/dispatch-advices/", {"dispatched_from": "2025-06-03"}).json()["results"] == []
    assert [g["id"] for g in erp.get(f"{MAN}/goods-receipts/").json()["results"]] == [grn.pk]
    assert erp.get(f"{MAN}/goods-receipts/{grn.pk}/").json()["lines"][0]["received_cases"] == 2
    bad = erp.get(f"{MAN}/dispatch-advices/", {"dispatched_from": "soon"})
    assert bad.status_code == 400 and "dispatched_from" in bad.json()["error"]["fields"]


def test_list_endpoints_have_a_fixed_query_budget(tid, cat, dist_a1, advice, api_as, cast_a):
    client = api_as(cast_a.users[Role.MANUFACTURER_ADMIN])
    urls = [f"{API}/advices/", f"{API}/receipts/", f"{MAN}/dispatch-advices/", f"{MAN}/goods-receipts/"]

    def queries() -> list[int]:
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    receive(advice)
    few = queries()
    for i in range(4):
        receive(dispatched(dist_a1, cat, f"MORE-{i}"))
    assert queries() == few
