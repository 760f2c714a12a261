"""Day close history: every device's account of every day it closed is kept (DayClose), not only the last one on
SyncHealth; a repeated day close updates its day's row; staff see the rows read-only in the admin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from dms.tenancy.context import tenant_scope
from dms.tenancy.enums import Role
from dms.tenancy.scope import Scope
from mobile.models import DayClose, SyncHealth
from tests.mobile.sync_setup import Day, order_item, push_ok, visit_item, working_day

pytestmark = pytest.mark.django_db

CLOSE = "mobile-day-close"


@pytest.fixture
def day(cast_a: Any) -> Day:
    return working_day(cast_a)


@pytest.fixture
def app(api_as: Any, cast_a: Any) -> Any:
    return api_as(cast_a.device_token, kind="device")


def close_body(date: Any, first: int, last: int, **counts: int) -> dict[str, Any]:
    return {"date": date.isoformat(), "first_device_seq": first, "last_device_seq": last, "counts": counts}


def closes(cast: Any) -> list[tuple[Any, ...]]:
    with tenant_scope(Scope.system(cast.tenant.pk)):
        return list(DayClose.objects.order_by("date").values_list(
            "distributor_id", "device_id", "date", "first_device_seq", "last_device_seq", "device_counts"))


def test_a_day_close_is_kept_with_what_the_device_said(cast_a, day, app):
    # given
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2)])
    # when
    response = app.post(reverse(CLOSE), close_body(day.today, 1, 3, visit=1, order=2), format="json")
    # then: the answer (a gap at 3, one order short) is unchanged; the device's account is stored beside it
    assert response.status_code == 200, response.content
    assert response.json()["missing_seqs"] == [[3, 3]]
    assert closes(cast_a) == [(cast_a.distributors[0].pk, cast_a.device.pk, day.today, 1, 3,
                               {"visit": 1, "order": 2})]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        stored = DayClose.objects.get()
        health = SyncHealth.objects.get(device=cast_a.device)
    assert stored.reported_at == health.last_day_close_at
    assert health.status == SyncHealth.Status.GAPS


def test_closing_the_same_day_again_updates_its_row(cast_a, day, app):
    # given
    push_ok(app, [visit_item(day, 0, 1), order_item(day, 0, 2)])
    app.post(reverse(CLOSE), close_body(day.today, 1, 3, visit=1, order=2), format="json")
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        first_at = DayClose.objects.get().reported_at
    # when: the app re-closes after correcting its counts
    response = app.post(reverse(CLOSE), close_body(day.today, 1, 2, visit=1, order=1), format="json")
    # then
    assert response.json()["status"] == "ok"
    assert closes(cast_a) == [(cast_a.distributors[0].pk, cast_a.device.pk, day.today, 1, 2,
                               {"visit": 1, "order": 1})]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert DayClose.objects.get().reported_at > first_at


def test_each_day_keeps_its_own_close(cast_a, day, app):
    # given: yesterday was closed
    yesterday = day.today - timedelta(days=1)
    app.post(reverse(CLOSE), close_body(yesterday, 1, 4, visit=2, order=2), format="json")
    # when
    app.post(reverse(CLOSE), close_body(day.today, 5, 6, visit=1, order=1), format="json")
    # then: both days are kept; SyncHealth shows only the last
    assert [(c[2], c[3], c[4]) for c in closes(cast_a)] == [(yesterday, 1, 4), (day.today, 5, 6)]
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        assert SyncHealth.objects.get(device=cast_a.device).last_day_close["date"] == day.today.isoformat()


def test_a_day_to_come_is_refused_and_nothing_is_kept(cast_a, day, app):
    # when
    response = app.post(reverse(CLOSE), close_body(day.today + timedelta(days=1), 1, 1, visit=1), format="json")
    # then
    assert response.status_code == 400
    assert closes(cast_a) == []


def test_another_tenant_sees_no_day_close(cast_a, cast_b, day, app):
    # given
    app.post(reverse(CLOSE), close_body(day.today, 1, 1, visit=1), format="json")
    # when
    with tenant_scope(Scope.system(cast_b.tenant.pk)):
        seen = DayClose.objects.count()
    # then
    assert (len(closes(cast_a)), seen) == (1, 0)


def test_staff_see_day_closes_read_only_in_the_admin(cast_a, day, app):
    # given
    app.post(reverse(CLOSE), close_body(day.today, 1, 2, visit=1, order=1), format="json")
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        stored = DayClose.objects.get()
    client = Client()
    client.force_login(cast_a.users[Role.DISTRIBUTOR_STAFF])
    # when
    listing = client.get("/admin/mobile/dayclose/")
    detail = client.get(f"/admin/mobile/dayclose/{stored.pk}/change/")
    add = client.get("/admin/mobile/dayclose/add/")
    # then
    assert listing.status_code == 200
    assert cast_a.device.name in listing.content.decode()
    assert detail.status_code == 200
    assert b'name="first_device_seq"' not in detail.content  # shown, not editable
    assert add.status_code == 403


def test_staff_of_another_distributor_do_not_see_the_devices_day_close(cast_a, day, app):
    # given
    app.post(reverse(CLOSE), close_body(day.today, 1, 2, visit=1, order=1), format="json")
    with tenant_scope(Scope.system(cast_a.tenant.pk)):
        stored = DayClose.objects.get()
    client = Client()
    client.force_login(cast_a.users[f"{Role.DISTRIBUTOR_STAFF}@{cast_a.distributors[1].code}"])
    # when
    listing = client.get("/admin/mobile/dayclose/")
    detail = client.get(f"/admin/mobile/dayclose/{stored.pk}/change/")
    # then
    assert listing.status_code == 200 and cast_a.device.name not in listing.content.decode()
    assert detail.status_code == 404
