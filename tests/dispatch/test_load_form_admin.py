"""The load-form admin: vehicles; "Build load forms" (the day's invoices and vehicles -> a plan job with progress
-> planned load forms and the invoices dropped); a load form's page (sequence, pick list, PDF, next step); the
settlement screen, which lists the differences when it cannot settle and keeps what was recorded; a sibling's load
form is a 404 and analysts only read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dispatch.models import LoadForm, Vehicle
from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from invoicing.models import Invoice
from tests.factories.loading import (
    create,
    invoiced,
    lines_of,
    make_shop,
    make_vehicle,
    on_the_road,
    reload_load_form,
    staff_scope,
    stops,
)

pytestmark = pytest.mark.django_db
D = Decimal
LOAD_FORMS = "/admin/dispatch/loadform/"


def client_for(cast: Any, role: str) -> Client:
    client = Client()
    client.force_login(cast.users[role])
    return client


@pytest.fixture
def staff(cast_a: Any) -> Client:
    return client_for(cast_a, Role.DISTRIBUTOR_STAFF)


@pytest.fixture
def planned(cast_a: Any, dist_a1: Any, invoices_xy: list[Invoice], today: date) -> LoadForm:
    return create(staff_scope(cast_a), make_vehicle(dist_a1, code="VAN-7"), invoices_xy, today)


def test_staff_add_a_vehicle_and_a_duplicate_code_is_a_form_error(staff, dist_a1):
    data = {"code": "VAN-1", "registration": "LES-1", "capacity_weight_kg": "1500", "capacity_volume_l": "6000",
            "capacity_cases": "300", "shift_start": "07:00", "shift_end": "19:00", "active": "on"}
    assert staff.post("/admin/dispatch/vehicle/add/", data).status_code == 302
    again = staff.post("/admin/dispatch/vehicle/add/", {**data, "registration": "LES-2"})
    assert again.status_code == 200
    assert "This distributor has a vehicle with this code already." in again.content.decode()
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        assert list(Vehicle.objects.values_list("code", "distributor_id")) == [("VAN-1", dist_a1.pk)]


def test_the_load_form_page_shows_the_sequence_and_pick_list_and_takes_the_next_step(cast_a, planned, staff):
    # when
    listed = staff.get(LOAD_FORMS)
    page = staff.get(f"{LOAD_FORMS}{planned.pk}/change/")
    # then
    assert listed.status_code == 200 and "LF-000001" in listed.content.decode()
    assert "Build load forms" in listed.content.decode()
    body = page.content.decode()
    assert page.status_code == 200
    for text in ("LF-000001", "VAN-7", "Shop X", "Shop Y", 'id="pick-list"', "CHIPS", 'id="loading-order"',
                 f"{LOAD_FORMS}{planned.pk}/pdf/", 'name="_loaded"'):
        assert text in body, text
    # and "Mark loaded" loads it
    loaded = staff.post(f"{LOAD_FORMS}{planned.pk}/change/", {"_loaded": "1"})
    assert loaded.status_code == 302
    assert reload_load_form(planned).status == "loaded"
    assert 'name="_depart"' in staff.get(f"{LOAD_FORMS}{planned.pk}/change/").content.decode()
    # and the PDF prints
    printed = staff.get(f"{LOAD_FORMS}{planned.pk}/pdf/")
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    assert b"".join(printed.streaming_content).startswith(b"%PDF-")  # type: ignore[arg-type]


def test_analysts_read_and_siblings_get_404(cast_a, planned):
    analyst = client_for(cast_a, Role.MANUFACTURER_ANALYST)
    page = analyst.get(f"{LOAD_FORMS}{planned.pk}/change/")
    assert page.status_code == 200 and 'name="_loaded"' not in page.content.decode()
    assert analyst.post(f"{LOAD_FORMS}{planned.pk}/change/", {"_loaded": "1"}).status_code == 403
    assert analyst.get(f"{LOAD_FORMS}build/").status_code == 403
    sibling = client_for(cast_a, f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}")
    for url in ("change/", "pdf/", "settle/", "history/"):
        assert sibling.get(f"{LOAD_FORMS}{planned.pk}/{url}").status_code == 404, url
    assert sibling.get(f"{LOAD_FORMS}{planned.pk}/delete/").status_code == 403  # nobody deletes load forms
    assert "LF-000001" not in sibling.get(LOAD_FORMS).content.decode()


def test_build_load_forms_plans_the_day_and_shows_the_result(cast_a, goods, dist_a1, wh, today, staff,
                                                             django_capture_on_commit_callbacks):
    # given
    first = invoiced(make_shop(dist_a1, code="P", name="Shop P"), [(goods.cola, 1)], wh)
    second = invoiced(make_shop(dist_a1, code="Q", name="Shop Q", lat=None, lng=None), [(goods.cola, 1)], wh)
    van = make_vehicle(dist_a1, code="VAN-B")
    form = staff.get(f"{LOAD_FORMS}build/?date={today.isoformat()}")
    assert form.status_code == 200
    html = form.content.decode()
    assert "2 invoices waiting" in html and first.number_text in html and "VAN-B" in html
    # when
    with django_capture_on_commit_callbacks(execute=True):
        started = staff.post(f"{LOAD_FORMS}build/", {"date": today.isoformat(), "vehicles": [van.pk],
                                                     "time_limit": "1"})
    # then
    assert started.status_code == 302, started.content.decode()[:2000]
    result = staff.get(started["Location"])
    body = result.content.decode()
    assert result.status_code == 200
    assert "LF-000001" in body and "VAN-B" in body
    assert second.number_text in body and "no coordinates" in body
    with tenant_scope(Scope.system(dist_a1.tenant_id)):
        made = LoadForm.objects.get()
    assert [s.invoice_id for s in stops(made)] == [first.pk]


def test_the_settlement_screen_lists_the_differences_then_settles(cast_a, planned, staff, goods):
    # given
    on_the_road(staff_scope(cast_a), planned)
    x, y = sorted(stops(planned), key=lambda s: s.invoice_id)  # Shop X's invoice was issued first
    url = f"{LOAD_FORMS}{planned.pk}/settle/"
    page = staff.get(url)
    assert page.status_code == 200 and f'name="stop-{x.pk}-outcome"' in page.content.decode()
    water = next(ln for ln in lines_of(y.invoice) if ln.sku_id == goods.water.pk)
    # when: X delivered and paid 10.00 short, Y partly delivered (6 of 12 water units back, saleable) and unpaid
    short = x.amount - D("10.00")
    refused = staff.post(url, {
        "token": "t1", f"stop-{x.pk}-outcome": "delivered", f"stop-{y.pk}-outcome": "partially_delivered",
        f"line-{water.pk}-delivered": "6", f"stop-{y.pk}-reason": "not ordered", f"stop-{y.pk}-restock": "saleable",
        f"cash-{x.outlet_id}": str(short), "counted_cash": str(short), "_settle": "1"})
    # then: the differences are listed, and what was recorded is kept
    assert refused.status_code == 200
    body = refused.content.decode()
    assert 'id="settle-differences"' in body and "short" in body and 'data-kind="collection_short"' in body
    outcomes = {s.invoice_id: s.outcome for s in stops(planned)}
    assert outcomes == {x.invoice_id: "delivered", y.invoice_id: "partially_delivered"}
    fresh = reload_load_form(planned)
    assert (fresh.status, fresh.collected_cash) == ("out_for_delivery", short)
    # when: the rest is collected and counted
    owed_y = fresh.expected_cash - x.amount
    settled = staff.post(url, {"token": "t2", f"cash-{x.outlet_id}": "10.00", f"cash-{y.outlet_id}": str(owed_y),
                               "counted_cash": str(x.amount + owed_y), "_settle": "1"})
    # then
    assert settled.status_code == 302, settled.content.decode()[:3000]
    fresh = reload_load_form(planned)
    assert (fresh.status, fresh.counted_cash, fresh.collected_cash) == ("settled", x.amount + owed_y,
                                                                       x.amount + owed_y)
