"""The vehicle and load-form APIs: staff make a load form over their session (201; over capacity a 400 naming the
figures), read it, its pick list and its PDF, load it, send it out; the delivery man records deliveries and cash on
his own load form; settlement refused with the differences (409), then settled. Other tenants and sibling
distributors get 404, roles are enforced, errors keep the one shape, the list costs the same queries for any size."""

from __future__ import annotations

import re
import zlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.models import LoadForm
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.models import BackgroundJob
from dms.tenancy.scope import Scope
from invoicing.models import Invoice
from tests.factories.loading import (
    create,
    invoiced,
    lines_of,
    make_shop,
    make_vehicle,
    staff_scope,
)

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/dispatch"


@pytest.fixture
def staff(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DISTRIBUTOR_STAFF])


@pytest.fixture
def driver(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.users[Role.DELIVERY_MAN])


@pytest.fixture
def van(dist_a1: Any) -> Any:
    return make_vehicle(dist_a1, code="VAN-1", capacity_weight_kg=D("500"))


@pytest.fixture
def planned(cast_a: Any, invoices_xy: list[Invoice], van: Any, today: date) -> LoadForm:
    """A planned load form of two invoices, driven by A1's delivery man."""
    return create(staff_scope(cast_a), van, invoices_xy, today, delivery_man_id=cast_a.users[Role.DELIVERY_MAN].pk)


def test_staff_keep_vehicles_and_a_duplicate_code_names_the_field(staff, dist_a1):
    # when
    created = staff.post(f"{API}/vehicles/", {"code": "VAN-9", "registration": "LES-9", "capacity_weight_kg": "1500.5",
                                              "capacity_volume_l": "8000", "capacity_cases": 400}, format="json")
    again = staff.post(f"{API}/vehicles/", {"code": "van-9", "registration": "LES-10", "capacity_weight_kg": "1",
                                            "capacity_volume_l": "1", "capacity_cases": 1}, format="json")
    changed = staff.patch(f"{API}/vehicles/{created.json().get('id')}/", {"active": False}, format="json")
    # then
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["distributor"], body["capacity_weight_kg"], body["shift_start"]) == (dist_a1.pk, "1500.500",
                                                                                    "08:00:00")
    assert again.status_code == 400
    assert set(again.json()["error"]["fields"]) == {"code"}
    assert (changed.status_code, changed.json()["active"]) == (200, False)
    assert [v["code"] for v in staff.get(f"{API}/vehicles/").json()["results"]] == ["VAN-9"]


def test_staff_make_a_load_form_and_an_over_capacity_one_is_refused_with_the_figures(tid, goods, dist_a1, wh, van,
                                                                                   staff, today):
    # given: 60 cases of water (540 kg) on a 500 kg van
    heavy = invoiced(make_shop(dist_a1), [(goods.water, 60)], wh)
    light = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    # when
    refused = staff.post(f"{API}/load-forms/", {"date": today.isoformat(), "vehicle_id": van.pk,
                                                "invoice_ids": [heavy.pk, light.pk]}, format="json")
    made = staff.post(f"{API}/load-forms/", {"date": today.isoformat(), "vehicle_id": van.pk,
                                             "invoice_ids": [light.pk], "note": "morning run"}, format="json")
    # then
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "over_capacity"
    assert error["message"] == "The load is over the capacity of VAN-1: 546 kg > 500 kg capacity."
    assert error["fields"] == {"invoice_ids": ["546 kg > 500 kg capacity"]}
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["number"], body["status"], body["vehicle_code"], body["note"]) == ("LF-000001", "planned", "VAN-1",
                                                                                  "morning run")
    assert [(s["sequence"], s["invoice"], s["outcome"]) for s in body["stops"]] == [(1, light.pk, "pending")]
    assert body["total_value"] == str(light.total)


def test_the_round_through_the_api_settles_after_the_differences_are_corrected(tid, goods, planned, staff, driver):
    # given
    lf = f"{API}/load-forms/{planned.pk}"
    detail = staff.get(f"{lf}/").json()
    one, two = sorted(detail["stops"], key=lambda s: s["outlet_code"])
    pick = staff.get(f"{lf}/pick-list/")
    assert pick.status_code == 200
    assert [(p["sku_code"], p["cases"], p["units"]) for p in pick.json()["totals"]] == [
        ("CHIPS", 1, 0), ("COLA", 2, 0), ("WATER", 2, 0)]
    # when: loaded and sent out; the delivery man delivers X, returns half of Y's water, collects
    assert staff.post(f"{lf}/loaded/", {}, format="json").json()["status"] == "loaded"
    assert driver.post(f"{lf}/depart/", {}, format="json").status_code == 403  # staff send vehicles out
    assert staff.post(f"{lf}/depart/", {}, format="json").json()["status"] == "out_for_delivery"
    assert driver.post(f"{lf}/deliveries/", {"invoice_id": one["invoice"], "outcome": "delivered"},
                       format="json").json()["outcome"] == "delivered"
    with tenant_scope(Scope.system(tid)):
        from invoicing.models import Invoice

        water = next(ln for ln in lines_of(Invoice.objects.get(pk=two["invoice"])) if ln.sku_id == goods.water.pk)
    partial = driver.post(f"{lf}/deliveries/", {
        "invoice_id": two["invoice"], "outcome": "partially_delivered", "return_reason": "not ordered",
        "lines": [{"invoice_line_id": water.pk, "delivered_units": 6}]}, format="json")
    assert partial.status_code == 200, partial.content
    credited = Decimal(partial.json()["credited"])
    assert partial.json()["credit_note_number"] and credited > 0
    paid = driver.post(f"{lf}/cash/", {"outlet_id": one["outlet"], "amount": one["amount"], "method": "cash"},
                       format="json", HTTP_IDEMPOTENCY_KEY="x-1")
    assert paid.status_code == 201, paid.content
    assert paid.json()["load_form"]["collected_cash"] == one["amount"]
    # then: settling with Y unpaid is refused with the difference
    refused = staff.post(f"{lf}/settle/", {"counted_cash": one["amount"]}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "not_settled"
    assert [d["kind"] for d in error["differences"]] == ["collection_short"]
    assert error["figures"]["collected"]["cash"] == one["amount"]
    owed = Decimal(two["amount"]) - credited
    assert error["differences"][0]["difference"] == str(-owed)
    # when: Y pays by cheque, and the cheque is counted
    cheque = driver.post(f"{lf}/cash/", {"outlet_id": two["outlet"], "amount": str(owed), "method": "cheque",
                                         "reference": "CHQ-1", "idempotency_key": "y-1"}, format="json")
    assert cheque.status_code == 201, cheque.content
    settled = staff.post(f"{lf}/settle/", {"counted_cash": one["amount"], "counted_cheques": str(owed)},
                         format="json")
    # then
    assert settled.status_code == 200, settled.content
    body = settled.json()
    assert (body["status"], body["counted_cheques"], body["expected_cash"]) == (
        "settled", str(owed), str(Decimal(one["amount"]) + owed))


def pdf_text(content: bytes) -> str:
    """The text drawn on the pages: the page streams inflated (fpdf2 compresses them)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S)
    out = []
    for raw in streams:
        try:
            out.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(out)


def test_the_pdf_is_a_pdf_with_the_load_form_number(planned, staff, driver):
    # when
    response = staff.get(f"{API}/load-forms/{planned.pk}/pdf/")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="LF-000001.pdf"'
    content = response.content
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert b"/Title (Load form LF-000001)" in content
    text = pdf_text(content)
    for printed in ("LOAD FORM LF-000001", "Delivery sequence", "Pick list", "Loading order", "Shop X", "VAN-1"):
        assert printed in text, printed
    assert driver.get(f"{API}/load-forms/{planned.pk}/pdf/").status_code == 200  # his own


def test_a_delivery_man_sees_only_his_own_load_forms(cast_a, api_as, planned, dist_a1, van, goods, wh, today, driver):
    # given: another load form nobody drives
    other = create(staff_scope(cast_a), make_vehicle(dist_a1), [invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)],
                   today)
    # then
    assert [x["id"] for x in driver.get(f"{API}/load-forms/").json()["results"]] == [planned.pk]
    assert driver.get(f"{API}/load-forms/{other.pk}/").status_code == 404
    assert driver.post(f"{API}/load-forms/{other.pk}/deliveries/", {"invoice_id": 1, "outcome": "delivered"},
                       format="json").status_code == 404
    assert driver.post(f"{API}/load-forms/", {}, format="json").status_code == 403
    assert driver.get(f"{API}/vehicles/").status_code == 403
    analyst = api_as(cast_a.users[Role.MANUFACTURER_ANALYST])
    assert analyst.get(f"{API}/load-forms/{planned.pk}/").status_code == 200
    assert analyst.post(f"{API}/load-forms/{planned.pk}/loaded/", {}, format="json").status_code == 403


def test_other_tenants_and_sibling_distributors_get_404(api_as, cast_a, cast_b, planned, van):
    # given
    sibling = api_as(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}"])
    stranger = api_as(cast_b.users[Role.MANUFACTURER_ADMIN])
    lf = f"{API}/load-forms/{planned.pk}"
    for client in (sibling, stranger):
        for url in (f"{lf}/", f"{lf}/pick-list/", f"{lf}/pdf/", f"{API}/vehicles/{van.pk}/"):
            response = client.get(url)
            assert response.status_code == 404, url
            assert response.json()["error"]["code"] == "not_found"
        for action in ("loaded", "depart", "cancel", "deliveries", "cash", "settle"):
            response = client.post(f"{lf}/{action}/", {"reason": "x"}, format="json")
            assert response.status_code == 404, action
        assert client.get(f"{API}/load-forms/").json()["results"] == []
        # and naming the vehicle in a body finds nothing either
        made = client.post(f"{API}/load-forms/", {"date": "2030-01-07", "vehicle_id": van.pk, "invoice_ids": [1]},
                           format="json")
        assert made.status_code == 404
    with tenant_scope(Scope.system(planned.tenant_id)):
        assert LoadForm.objects.get(pk=planned.pk).status == "planned"


def test_wrong_state_answers_409_in_the_error_shape(planned, staff):
    response = staff.post(f"{API}/load-forms/{planned.pk}/depart/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    cancel = staff.post(f"{API}/load-forms/{planned.pk}/cancel/", {}, format="json")
    assert cancel.status_code == 400 and "reason" in cancel.json()["error"]["fields"]


def test_planning_answers_202_with_a_job(cast_a, goods, dist_a1, wh, van, staff, today,
                                         django_capture_on_commit_callbacks):
    # given
    invoice = invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{API}/load-forms/plan/", {"date": today.isoformat(), "vehicle_ids": [van.pk],
                                                          "time_limit": 1}, format="json")
    # then
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    job = staff.get(f"/api/v1/jobs/{job_id}/").json()
    assert job["status"] == "succeeded", job
    assert job["result"]["dropped"] == [] and len(job["result"]["load_form_ids"]) == 1
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert BackgroundJob.objects.get(pk=job_id).kind == "load_forms_plan"
        form = LoadForm.objects.get(pk=job["result"]["load_form_ids"][0])
    assert staff.get(f"{API}/load-forms/{form.pk}/").json()["stops"][0]["invoice"] == invoice.pk


def test_the_list_costs_the_same_queries_for_any_number_of_load_forms(cast_a, goods, dist_a1, wh, staff, today):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = staff.get(f"{API}/load-forms/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    create(staff_scope(cast_a), make_vehicle(dist_a1), [invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)], today)
    one = count()
    for _ in range(3):
        create(staff_scope(cast_a), make_vehicle(dist_a1), [invoiced(make_shop(dist_a1), [(goods.cola, 1)], wh)],
               today)
    assert count() == one
